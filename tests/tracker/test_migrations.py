"""Schema migrations: a fresh store equals the declared schema; a version-1 store upgrades in place."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from peppol_response.errors import StoreError
from peppol_response.process import State
from peppol_response.tracker import Tracker
from peppol_response.tracker import schema as sch
from peppol_response.tracker.core import make_engine

from .conftest import BUYER, SELLER, response


def _shape(engine: sa.Engine) -> dict[str, tuple[set[str], set[str], set[str]]]:
    insp = sa.inspect(engine)
    return {t: ({c["name"] for c in insp.get_columns(t)},
                {str(i["name"]) for i in insp.get_indexes(t) if not i.get("duplicates_constraint")},
                {str(u["name"]) for u in insp.get_unique_constraints(t)})
            for t in insp.get_table_names() if t.startswith("pr_")}


def test_a_fresh_store_has_exactly_the_declared_schema(store_url: str) -> None:
    engine = make_engine(store_url)
    assert sch.migrate(engine) == sch.LATEST
    declared = {t.name: ({c.name for c in t.columns}, {str(i.name) for i in t.indexes},
                         {str(u.name) for u in t.constraints if isinstance(u, sa.UniqueConstraint)})
                for t in sch.metadata.sorted_tables}
    assert _shape(engine) == declared
    assert sch.migrate(engine) == sch.LATEST  # idempotent
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
        conn.execute(sch.schema_version_table.insert().values(version=99, description="future",
                                                               applied_at=dt.datetime(2030, 1, 1)))
    with pytest.raises(StoreError, match="99"):
        Tracker(store_url)
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
