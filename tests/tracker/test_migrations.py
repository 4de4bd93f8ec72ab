"""Schema migrations: a fresh store equals the declared schema; older stores upgrade in place, including
stores of the release that kept the tracker's versions in ``pr_schema_version``."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from peppol_response import db
from peppol_response.db import make_engine
from peppol_response.errors import StoreError
from peppol_response.process import State
from peppol_response.tracker import InvoiceKey, Mark, Tracker
from peppol_response.tracker import schema as sch

from .conftest import BUYER, SELLER, response
from .legacy import APPLIED, DESCRIPTIONS, create_legacy_store


def _shape(engine: sa.Engine) -> dict[str, tuple[set[str], set[str], set[str]]]:
    insp = sa.inspect(engine)
    return {t: ({c["name"] for c in insp.get_columns(t)},
                {str(i["name"]) for i in insp.get_indexes(t) if not i.get("duplicates_constraint")},
                {str(u["name"]) for u in insp.get_unique_constraints(t)})
            for t in insp.get_table_names() if t.startswith("pr_")}


def _versions(engine: sa.Engine) -> list[tuple[int, str, dt.datetime]]:
    mt = db.migrations_table
    with engine.connect() as conn:
        rows = conn.execute(sa.select(mt.c.version, mt.c.description, mt.c.applied_at)
                            .where(mt.c.component == sch.COMPONENT).order_by(mt.c.version)).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_a_fresh_store_has_exactly_the_declared_schema(store_url: str) -> None:
    engine = make_engine(store_url)
    assert sch.migrate(engine) == sch.LATEST
    declared = {t.name: ({c.name for c in t.columns}, {str(i.name) for i in t.indexes},
                         {str(u.name) for u in t.constraints if isinstance(u, sa.UniqueConstraint)})
                for t in sch.metadata.sorted_tables}
    shape = _shape(engine)
    assert shape.pop(db.migrations_table.name) == ({"component", "version", "description", "applied_at"}, set(),
                                                   set())
    assert shape == declared
    assert [(v, d) for v, d, _ in _versions(engine)] == [(m.version, m.description) for m in sch.MIGRATIONS]
    assert sch.migrate(engine) == sch.LATEST  # idempotent
    with engine.connect() as conn:
        assert sch.schema_version(conn) == sch.LATEST
    engine.dispose()


def test_a_version_1_store_is_upgraded_with_its_data(store_url: str) -> None:
    engine = make_engine(store_url)
    assert sch.migrate(engine, target=1) == 1
    shape = _shape(engine)
    assert "pr_webhook" not in shape
    assert "clock_start" not in shape["pr_invoice"][0]
    now = dt.datetime(2026, 3, 2, 9)
    with engine.begin() as conn:  # what a version-1 release wrote
        conn.execute(sa.text(
            "INSERT INTO pr_invoice (direction, invoice_no, seller, buyer, type_code, issue_date, recorded_at, "
            "updated_at, delivered_at) VALUES ('outbound', 'OLD-1', :s, :b, '380', :d, :n, :n, :dl), "
            "('outbound', 'OLD-2', :s, :b, '380', :d, :n, :n, NULL)"),
            {"s": SELLER, "b": BUYER, "d": dt.date(2026, 2, 20), "n": now, "dl": dt.datetime(2026, 2, 23, 10)})
    engine.dispose()
    with Tracker(store_url) as t:
        with t.engine.connect() as conn:
            assert sch.schema_version(conn) == sch.LATEST
            starts = dict(conn.execute(sa.select(sch.invoices.c.invoice_no, sch.invoices.c.clock_start)).all())
        assert starts == {"OLD-1": dt.date(2026, 2, 23), "OLD-2": dt.date(2026, 2, 20)}
        # the old invoices work with the new features
        # OLD-1 delivered Monday 23 Feb: due Thursday 26; OLD-2 only issued Friday 20: due Wednesday 25
        assert {o.invoice.invoice_id for o in t.overdue(today=dt.date(2026, 2, 26))} == {"OLD-2"}
        assert {o.invoice.invoice_id for o in t.overdue(today=dt.date(2026, 2, 27))} == {"OLD-1", "OLD-2"}
        t.add_webhook("w", "http://127.0.0.1:9/x")
        r = t.ingest(response("OLD-1-r", "AP", doc="OLD-1"))
        assert r.current is State.AP
        assert t.outbox_counts() == {"pending": 1}


def test_an_outdated_or_newer_store_is_refused(store_url: str) -> None:
    engine = make_engine(store_url)
    sch.migrate(engine, target=1)
    with pytest.raises(StoreError, match="version 1"):
        Tracker(store_url, migrate=False)
    sch.migrate(engine)
    with engine.begin() as conn:
        conn.execute(db.migrations_table.insert().values(component=sch.COMPONENT, version=99, description="future",
                                                         applied_at=dt.datetime(2030, 1, 1)))
    with pytest.raises(StoreError, match="99"):
        Tracker(store_url)
    engine.dispose()


def _fill_legacy(engine: sa.Engine) -> None:
    """What the previous release wrote for an invoice answered with AP, one event and a webhook."""
    t0 = dt.datetime(2026, 3, 2, 9)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO pr_invoice (direction, invoice_no, seller, buyer, type_code, issue_date, transport_state, "
            "transport_at, as4_message_id, delivered_at, status, status_since, status_response, first_response_at, "
            "recorded_at, updated_at, clock_start) VALUES ('outbound', 'OLD-1', :s, :b, '380', :d, 'receipted', :t, "
            "'out-1@ap', :t, 'AP', :t, 1, :t, :t, :t, :d)"), {"s": SELLER, "b": BUYER, "d": dt.date(2026, 3, 1),
                                                              "t": t0})
        inv = conn.execute(sa.text("SELECT id FROM pr_invoice WHERE invoice_no = 'OLD-1'")).scalar_one()
        conn.execute(sa.text(
            "INSERT INTO pr_response (invoice_id, direction, sender, receiver, response_id, variant, content_hash, "
            "code, state, issue_date, issued_at, doc_id, doc_type_code, seller_keys, buyer_keys, mark, stale, "
            "received_at, as4_message_id) VALUES (:i, 'received', :b, :s, 'OLD-1-ap', 0, 'x', 'AP', 'AP', :d, :t, "
            "'OLD-1', '380', :sk, :bk, 'accepted', :f, :t, 'in-1@ap')"),
            {"i": inv, "s": SELLER, "b": BUYER, "d": dt.date(2026, 3, 2), "t": t0, "sk": f'["{SELLER}"]',
             "bk": f'["{BUYER}"]', "f": False})
        conn.execute(sa.text(
            "INSERT INTO pr_event (created_at, kind, invoice_id, response_row, previous, current, payload) "
            "VALUES (:t, 'status.changed', :i, 1, NULL, 'AP', '{}')"), {"t": t0, "i": inv})
        conn.execute(sa.text("INSERT INTO pr_webhook (name, url, secret, active, created_at) "
                             "VALUES ('erp', 'http://127.0.0.1:9/x', :k, :a, :t)"),
                     {"k": "whsec_" + "A" * 44, "a": True, "t": t0})


def test_a_store_of_the_previous_release_is_adopted_with_everything_in_it(store_url: str) -> None:
    create_legacy_store(store_url)
    engine = sa.create_engine(store_url)
    _fill_legacy(engine)
    # opening it without migrating refuses it, and leaves it as it was
    with pytest.raises(StoreError, match=f"version 2, this release needs {sch.LATEST}"):
        Tracker(store_url, migrate=False)
    assert {"pr_schema_version", "pr_invoice"} <= set(sa.inspect(engine).get_table_names())
    assert db.migrations_table.name not in sa.inspect(engine).get_table_names()

    with Tracker(store_url) as t:
        # the versions came over with their descriptions and times; the old table is gone
        assert _versions(t.engine)[:2] == [(v, DESCRIPTIONS[v], APPLIED[v]) for v in (1, 2)]
        assert [v for v, _, _ in _versions(t.engine)] == [m.version for m in sch.MIGRATIONS]
        assert "pr_schema_version" not in sa.inspect(t.engine).get_table_names()
        with t.engine.connect() as conn:
            assert sch.schema_version(conn) == sch.LATEST
        # nothing lost: the invoice, its response, its event, the webhook; and they keep working
        key = InvoiceKey(SELLER, BUYER, "OLD-1")
        st = t.status(key)
        assert st.state is State.AP
        assert [(h.response_id, h.mark, h.evidence.as4_message_id) for h in st.history] == [
            ("OLD-1-ap", Mark.ACCEPTED, "in-1@ap")]
        assert st.invoice.as4_message_id == "out-1@ap"
        assert st.transport == ()
        assert [e.kind for e in t.events()] == ["status.changed"]
        assert [w["name"] for w in t.webhooks()] == ["erp"]
        r = t.ingest(response("OLD-1-pd", "PD", doc="OLD-1", day=dt.date(2026, 3, 20)))
        assert (r.previous, r.current) == (State.AP, State.PD)
        assert t.outbox_counts() == {"pending": 1}
        assert t.transport_history(key) == ()
    # opened again: adopted once, nothing applied twice
    with Tracker(store_url, migrate=False) as t:
        assert t.status(InvoiceKey(SELLER, BUYER, "OLD-1")).state is State.PD
    assert len(_versions(engine)) == sch.LATEST
    engine.dispose()


def test_a_version_1_store_of_the_previous_release_is_adopted_and_upgraded(store_url: str) -> None:
    create_legacy_store(store_url, version=1)
    with Tracker(store_url) as t:
        assert _versions(t.engine)[0] == (1, DESCRIPTIONS[1], APPLIED[1])
        assert [v for v, _, _ in _versions(t.engine)] == [m.version for m in sch.MIGRATIONS]
        t.record_invoice(seller=SELLER, buyer=BUYER, invoice_id="NEW-1", issue_date=dt.date(2026, 3, 1))
        assert t.ingest(response("NEW-1-ab", "AB", doc="NEW-1")).current is State.AB


def test_a_previous_release_store_newer_than_the_code_is_refused_and_left_alone(store_url: str) -> None:
    create_legacy_store(store_url)
    engine = sa.create_engine(store_url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO pr_schema_version (version, description, applied_at) "
                             "VALUES (99, 'future', :a)"), {"a": dt.datetime(2030, 1, 1)})
    with pytest.raises(StoreError, match="99"):
        Tracker(store_url)
    with pytest.raises(StoreError, match="99"):
        Tracker(store_url, migrate=False)
    # the failed adoption rolled back with the migration transaction
    assert "pr_schema_version" in sa.inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM pr_schema_version")).scalar() == 3
    engine.dispose()


def test_the_fast_sqlite_writer_formats_values_exactly_as_sqlalchemy() -> None:
    from sqlalchemy.dialects import sqlite

    from peppol_response.tracker.core import _sqlite_date, _sqlite_datetime

    d = sqlite.dialect()
    as_sa = sa.DateTime().dialect_impl(d).bind_processor(d)
    as_sa_date = sa.Date().dialect_impl(d).bind_processor(d)
    values = (dt.datetime(2026, 3, 2), dt.datetime(999, 1, 2, 3, 4, 5, 6),
              dt.datetime(2026, 12, 31, 23, 59, 59, 999999))
    for v in values:
        assert _sqlite_datetime(v) == as_sa(v)
        assert _sqlite_date(v.date()) == as_sa_date(v.date())
