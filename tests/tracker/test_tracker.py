"""The tracker on SQLite and PostgreSQL: matching, identity, marks, the buyer's guard, queries, events."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from peppol_response import parse
from peppol_response.errors import ConfigError, LocalOrderError, NotFoundError, TransportStateError
from peppol_response.model import PartyId
from peppol_response.process import State
from peppol_response.tracker import (
    InvoiceKey,
    Mark,
    NewInvoice,
    Outcome,
    Tracker,
    TransportEvidence,
    TransportState,
    WorkingCalendar,
)

from ..conftest import official_invoice_response_examples
from .conftest import BUYER, SELLER, response, unique

D = dt.date(2026, 3, 2)


def record(tracker: Tracker, doc: str, **kw: object) -> int:
    fields: dict[str, object] = {"seller": SELLER, "buyer": BUYER, "invoice_id": doc, "issue_date": D}
    fields.update(kw)
    return tracker.record_invoice(**fields).pk


def test_record_is_idempotent_and_keeps_the_fields(tracker: Tracker) -> None:
    doc = unique()
    r1 = tracker.record_invoice(seller=SELLER.upper(), buyer=BUYER, invoice_id=doc, issue_date=D, amount="1250.50",
                                currency="EUR", due_date=D + dt.timedelta(days=30), seller_name="Seller AS")
    r2 = tracker.record_invoice(seller=SELLER, buyer=BUYER, invoice_id=doc, issue_date=D)
    assert r1.pk == r2.pk
    assert r2.amount == Decimal("1250.50")
    assert r2.currency == "EUR"
    assert r2.seller == SELLER.lower()
    assert r2.status is None
    assert r2.transport_state is None
    assert tracker.invoice(InvoiceKey(SELLER, BUYER, doc)).pk == r1.pk


def test_bad_invoice_fields_are_refused(tracker: Tracker) -> None:
    with pytest.raises(ConfigError, match="scheme:value"):
        tracker.record_invoice(seller="7300010000001", buyer=BUYER, invoice_id="X", issue_date=D)
    with pytest.raises(ConfigError, match="amount"):
        tracker.record_invoice(seller=SELLER, buyer=BUYER, invoice_id="X", issue_date=D, amount="12,5")
    with pytest.raises(NotFoundError):
        tracker.status(InvoiceKey(SELLER, BUYER, "never-recorded"))


def test_ignored_response_is_kept_with_its_rule_and_does_not_move_the_status(tracker: Tracker) -> None:
    doc = unique()
    pk = record(tracker, doc)
    assert tracker.ingest(response(f"{doc}-1", "AP", doc=doc)).current is State.AP
    r = tracker.ingest(response(f"{doc}-2", "UQ", doc=doc, day=D + dt.timedelta(days=1)))
    assert (r.outcome, r.mark, r.rule, r.previous, r.current) == (
        Outcome.STORED, Mark.IGNORED, "OP-BR111-R005", State.AP, State.AP)
    assert r.error is not None
    assert r.error.rule == "OP-BR111-R005"
    assert r.error.origin.value == "remote"
    r = tracker.ingest(response(f"{doc}-3", "PD", doc=doc, day=D + dt.timedelta(days=2)))
    assert r.current is State.PD
    assert r.mark is Mark.ACCEPTED
    r = tracker.ingest(response(f"{doc}-4", "PD", doc=doc, day=D + dt.timedelta(days=3), partial=True))
    assert r.rule == "OP-BR111-R004"
    st = tracker.status(pk)
    assert [(h.response_id[-1], h.mark.value, h.rule) for h in st.history] == [
        ("1", "accepted", None), ("2", "ignored", "OP-BR111-R005"), ("3", "accepted", None),
        ("4", "ignored", "OP-BR111-R004")]
    assert st.invoice.is_final
    assert st.current is not None
    assert st.current.response_id == f"{doc}-3"


def test_late_arrival_is_stale_and_the_status_follows_issue_order(tracker: Tracker) -> None:
    doc = unique()
    pk = record(tracker, doc)
    tracker.ingest(response(f"{doc}-re", "RE", doc=doc, day=D + dt.timedelta(days=5)))
    assert tracker.invoice(pk).status is State.RE
    # an AP issued *before* the RE arrives later: in issue order AP then RE, and RE after AP breaks R005
    r = tracker.ingest(response(f"{doc}-ap", "AP", doc=doc, day=D + dt.timedelta(days=1)))
    assert r.stale
    assert r.mark is Mark.ACCEPTED
    assert (r.previous, r.current) == (State.RE, State.AP)
    marks = {h.response_id: (h.mark, h.rule, h.stale) for h in tracker.history(pk)}
    assert marks == {f"{doc}-ap": (Mark.ACCEPTED, None, True), f"{doc}-re": (Mark.IGNORED, "OP-BR111-R005", False)}
    kinds = [e.kind for e in tracker.events(invoice=pk)]
    assert kinds == ["status.changed", "status.changed", "response.ignored"]


def test_same_day_responses_without_time_follow_the_status_order(tracker: Tracker) -> None:
    doc = unique()
    pk = record(tracker, doc)
    tracker.ingest_many([response(f"{doc}-b", "AP", doc=doc), response(f"{doc}-a", "AB", doc=doc)])
    assert tracker.invoice(pk).status is State.AP
    assert [h.mark for h in tracker.history(pk)] == [Mark.ACCEPTED, Mark.ACCEPTED]
    # a time with a zone is compared as an instant: 01:00+02:00 on day 2 is 23:00Z on day 1
    doc2 = unique()
    pk2 = record(tracker, doc2)
    tracker.ingest(response(f"{doc2}-1", "AP", doc=doc2, day=D, time=dt.time(0, 30)))
    r = tracker.ingest(response(f"{doc2}-2", "UQ", doc=doc2, day=D, time=dt.time(1, 0, tzinfo=dt.timezone(
        dt.timedelta(hours=2)))))
    assert r.stale
    assert r.mark is Mark.ACCEPTED
    assert tracker.invoice(pk2).status is State.AP


def test_identity_duplicate_and_conflict(tracker: Tracker) -> None:
    doc = unique()
    pk = record(tracker, doc)
    model = response(f"{doc}-1", "AB", doc=doc)
    xml = model.to_xml()
    first = tracker.ingest(xml, evidence=TransportEvidence("as4-1@ap", "sbdh-1", dt.datetime(2026, 3, 2, 8), "PDK000"))
    assert first.outcome is Outcome.STORED
    assert tracker.ingest(model).outcome is Outcome.DUPLICATE  # model and XML of one document: same identity
    dup = tracker.ingest(xml, evidence=TransportEvidence("as4-2@ap"))
    assert (dup.outcome, dup.response_pk) == (Outcome.DUPLICATE, first.response_pk)
    # same sender and ID, different content: kept as a conflict, never counted
    other = tracker.ingest(response(f"{doc}-1", "RE", doc=doc))
    assert (other.outcome, other.mark) == (Outcome.CONFLICT, Mark.CONFLICT)
    st = tracker.status(pk)
    assert st.state is State.AB
    assert len(st.history) == 2
    h = next(h for h in st.history if h.mark is Mark.ACCEPTED)
    assert h.evidence == TransportEvidence("as4-1@ap", "sbdh-1", dt.datetime(2026, 3, 2, 8), "PDK000")
    assert tracker.response_xml(h.pk) == xml
    # the same response ID from another sender is another response
    r = tracker.ingest(response(f"{doc}-1", "AB", doc=doc, buyer="0088:7300010000099"))
    assert r.outcome is Outcome.ORPHAN


def test_orphan_is_attached_when_its_invoice_is_recorded(tracker: Tracker) -> None:
    doc = unique()
    r = tracker.ingest(response(f"{doc}-1", "UQ", doc=doc))
    assert (r.outcome, r.invoice_pk, r.mark) == (Outcome.ORPHAN, None, Mark.ORPHAN)
    assert any(o.pk == r.response_pk for o in tracker.orphans(limit=10000))
    pk = record(tracker, doc)
    st = tracker.status(pk)
    assert st.state is State.UQ
    assert st.history[0].mark is Mark.ACCEPTED
    assert all(o.pk != r.response_pk for o in tracker.orphans(limit=10000))
    assert [e.kind for e in tracker.events(invoice=pk)] == ["status.changed"]


def test_issue_date_disambiguates_and_ambiguity_stays_orphan_until_attached(tracker: Tracker) -> None:
    doc = unique()
    old = record(tracker, doc, issue_date=dt.date(2025, 1, 10))
    new = record(tracker, doc, issue_date=dt.date(2026, 1, 10))
    r = tracker.ingest(response(f"{doc}-1", "AP", doc=doc, doc_date=dt.date(2026, 1, 10)))
    assert r.invoice_pk == new
    r = tracker.ingest(response(f"{doc}-2", "AB", doc=doc))  # no issue date: two invoices fit
    assert r.outcome is Outcome.ORPHAN
    attached = tracker.attach(r.response_pk, old)
    assert attached.invoice_pk == old
    assert tracker.invoice(old).status is State.AB
    with pytest.raises(ConfigError, match="issue date"):
        tracker.invoice(InvoiceKey(SELLER, BUYER, doc))


def test_type_code_must_match(tracker: Tracker) -> None:
    doc = unique()
    record(tracker, doc, type_code="381")
    assert tracker.ingest(response(f"{doc}-1", "AB", doc=doc, type_code="380")).outcome is Outcome.ORPHAN
    assert tracker.ingest(response(f"{doc}-2", "AB", doc=doc, type_code="381")).outcome is Outcome.STORED


def test_credit_note_has_no_paid_status(tracker: Tracker) -> None:
    doc = unique()
    pk = record(tracker, doc, type_code="381")
    tracker.ingest(response(f"{doc}-1", "AP", doc=doc, type_code="381"))
    r = tracker.ingest(response(f"{doc}-2", "PD", doc=doc, type_code="381", day=D + dt.timedelta(days=1)))
    assert (r.mark, r.rule, r.current) == (Mark.IGNORED, "OP-BR111-R012", State.AP)
    with pytest.raises(LocalOrderError, match="credit note"):
        tracker.can_send(pk, "PD")


def test_self_billing_swaps_the_roles(tracker: Tracker) -> None:
    doc = unique()
    pk = record(tracker, doc, type_code="389")
    # the seller sends the response to the buyer who issued the self-billed invoice
    r = tracker.ingest(response(f"{doc}-1", "RE", doc=doc, type_code="389", self_billing=True))
    assert r.invoice_pk == pk
    assert r.current is State.RE
    # a buyer->seller response for a self-billed invoice names the wrong parties
    doc2 = unique()
    record(tracker, doc2, type_code="389")
    assert tracker.ingest(response(f"{doc2}-1", "AB", doc=doc2, type_code="389")).outcome is Outcome.ORPHAN


def test_response_on_the_buyers_behalf_matches_through_recipient_party(tracker: Tracker) -> None:
    doc = unique()
    pk = record(tracker, doc, buyer_aliases=("0192:987654321",))
    service = "0196:6963495890"  # an invoice processing service sends for the buyer (use case 8)
    plain = response(f"{doc}-1", "AB", doc=doc, buyer=service)
    assert tracker.ingest(plain).outcome is Outcome.ORPHAN  # nothing says whom it speaks for
    on_behalf = response(f"{doc}-2", "AP", doc=doc, buyer=service, recipient_id=PartyId(BUYER.split(":")[1], "0088"))
    assert tracker.ingest(on_behalf).invoice_pk == pk
    by_alias = response(f"{doc}-3", "PD", doc=doc, buyer=service, recipient_id=PartyId("987654321", "0192"),
                        day=D + dt.timedelta(days=1))
    assert tracker.ingest(by_alias).current is State.PD


def test_buyer_side_guard_and_record_sent(tracker: Tracker) -> None:
    doc = unique()
    pk = record(tracker, doc, direction="inbound")
    assert tracker.can_send(pk, "AB") is State.AB
    sent = tracker.record_sent(response(f"{doc}-1", "AP", doc=doc))
    assert sent.current is State.AP
    st = tracker.status(pk)
    assert st.history[0].direction == "sent"
    assert st.history[0].transport_state is TransportState.QUEUED
    with pytest.raises(LocalOrderError) as err:
        tracker.can_send(pk, "RE")
    assert err.value.rule == "OP-BR111-R005"
    assert err.value.origin.value == "local"
    with pytest.raises(LocalOrderError, match="R005"):
        tracker.record_sent(response(f"{doc}-2", "UQ", doc=doc, day=D + dt.timedelta(days=1)))
    assert len(tracker.history(pk)) == 1  # refused: nothing stored, no event
    assert [e.kind for e in tracker.events(invoice=pk)] == ["status.changed"]
    # backdated: accepted by the table but issued before the current status
    with pytest.raises(LocalOrderError, match="dated before"):
        tracker.record_sent(response(f"{doc}-3", "PD", doc=doc, day=D - dt.timedelta(days=1)))
    forced = tracker.record_sent(response(f"{doc}-4", "UQ", doc=doc, day=D + dt.timedelta(days=2)), force=True)
    assert (forced.mark, forced.rule) == (Mark.IGNORED, "OP-BR111-R005")
    tracker.set_response_transport(sent.response_pk, "sent")
    tracker.set_response_transport(sent.response_pk, "receipted", as4_message_id="m-1@ap")
    with pytest.raises(TransportStateError):
        tracker.set_response_transport(sent.response_pk, "queued")
    with pytest.raises(NotFoundError):
        tracker.record_sent(response(f"{unique()}-1", "AB", doc="not-recorded"))


def test_transport_state_is_separate_from_the_status(tracker: Tracker) -> None:
    doc = unique()
    pk = record(tracker, doc, transport_state="queued")
    tracker.ingest(response(f"{doc}-1", "AB", doc=doc))
    rec = tracker.set_transport(pk, "sent", at=dt.datetime(2026, 3, 2, 10), as4_message_id="out-1@ap")
    assert rec.transport_state is TransportState.SENT
    assert rec.status is State.AB
    rec = tracker.set_transport(pk, TransportState.RECEIPTED)
    assert rec.delivered_at == dt.datetime(2026, 3, 2, 10)
    assert rec.status is State.AB
    with pytest.raises(TransportStateError, match="receipted to failed"):
        tracker.set_transport(pk, "failed")
    assert "transport.changed" in [e.kind for e in tracker.events(invoice=pk)]


def test_overdue_uses_working_days_and_holidays(store_url: str) -> None:
    now = [dt.datetime(2026, 3, 2, 12)]  # a Monday
    cal = WorkingCalendar(holidays=frozenset({dt.date(2026, 3, 4)}))
    with Tracker(store_url, calendar=cal, clock=lambda: now[0]) as t:
        a = t.record_invoice(seller=SELLER, buyer=BUYER, invoice_id="A", issue_date=dt.date(2026, 2, 27),
                             transport_state="receipted", delivered_at=dt.datetime(2026, 3, 2, 9)).pk
        b = t.record_invoice(seller=SELLER, buyer=BUYER, invoice_id="B", issue_date=dt.date(2026, 3, 2)).pk
        c = t.record_invoice(seller=SELLER, buyer=BUYER, invoice_id="C", issue_date=dt.date(2026, 3, 2)).pk
        t.ingest(response("C-1", "UQ", doc="C", day=dt.date(2026, 3, 2)))
        # delivered Monday 2 March; Wednesday 4 is a holiday: the 3 working days are Tue 3, Thu 5, Fri 6
        assert t.calendar.deadline(dt.date(2026, 3, 2)) == dt.date(2026, 3, 6)
        assert {o.invoice.pk for o in t.overdue(today=dt.date(2026, 3, 6))} == set()
        late = t.overdue(today=dt.date(2026, 3, 7))
        assert {o.invoice.pk for o in late} == {a, b}
        assert {o.rule for o in late} == {"OP-BR111-R006"}
        stuck = t.overdue(today=dt.date(2026, 3, 20), uq_days=14)
        assert [(o.invoice.pk, o.reason) for o in stuck if o.reason == "stuck-in-uq"] == [(c, "stuck-in-uq")]
        assert not [o for o in t.overdue(today=dt.date(2026, 3, 10), uq_days=14) if o.reason == "stuck-in-uq"]


def test_lists_and_counts(tracker: Tracker) -> None:
    other = "0088:7300010000077"
    docs = [unique() for _ in range(4)]
    record(tracker, docs[0])
    record(tracker, docs[1], issue_date=dt.date(2026, 1, 5))
    record(tracker, docs[2], seller=other)
    record(tracker, docs[3])
    tracker.ingest_many([response(f"{docs[0]}-1", "AP", doc=docs[0]),
                         response(f"{docs[1]}-1", "AP", doc=docs[1]),
                         response(f"{docs[2]}-1", "RE", doc=docs[2], seller=other)])
    assert {r.invoice_id for r in tracker.list_invoices(status="AP")} == {docs[0], docs[1]}
    assert {r.invoice_id for r in tracker.list_invoices(seller=other)} == {docs[2]}
    assert {r.invoice_id for r in tracker.list_invoices(issued_to=dt.date(2026, 2, 1))} == {docs[1]}
    assert {r.invoice_id for r in tracker.list_invoices(no_status=True)} == {docs[3]}
    counts = tracker.counts()
    assert (counts["AP"], counts["RE"], counts["none"], counts["PD"]) == (2, 1, 1, 0)
    assert tracker.counts(seller=other)["RE"] == 1


def test_subscribers_get_committed_events_only(tracker: Tracker) -> None:
    seen: list[tuple[str, str | None]] = []
    stop = tracker.subscribe(lambda e: seen.append((e.kind, e.current)))
    doc = unique()
    pk = record(tracker, doc, direction="inbound")
    tracker.ingest(response(f"{doc}-1", "AB", doc=doc))
    with pytest.raises(LocalOrderError):
        tracker.record_sent(response(f"{doc}-2", "AB", doc=doc, day=D + dt.timedelta(days=1)))
    stop()
    tracker.ingest(response(f"{doc}-3", "AP", doc=doc))
    assert seen == [("status.changed", "AB")]
    assert tracker.invoice(pk).status is State.AP


def test_new_invoice_dataclass_and_batch_recording(tracker: Tracker) -> None:
    docs = [unique() for _ in range(3)]
    batch = [*(NewInvoice(SELLER, BUYER, d, D) for d in docs), NewInvoice(SELLER, BUYER, docs[0], D)]
    ids = tracker.record_invoices(batch)
    assert ids[0] == ids[3]
    assert len(set(ids)) == 3


@pytest.mark.conformance
@pytest.mark.parametrize("path", official_invoice_response_examples(), ids=lambda p: p.name)
def test_official_examples_attach_to_their_invoices(tracker: Tracker, path: Path) -> None:
    data = path.read_bytes()
    model = parse(data)
    self_billing = model.document.type_code in ("389", "261", "527")
    seller, buyer = (model.sender, model.receiver) if self_billing else (model.receiver, model.sender)
    rec = tracker.record_invoice(seller=str(seller.endpoint), buyer=str(buyer.endpoint), invoice_id=model.document.id,
                                 type_code=model.document.type_code, issue_date=model.document.issue_date or D)
    result = tracker.ingest(data)
    assert result.invoice_pk == rec.pk, path.name
    assert result.current is State.of(model.code, model.is_partial_payment)
    assert tracker.ingest(data).outcome is Outcome.DUPLICATE


def test_content_hash_covers_every_field_of_the_model() -> None:
    import dataclasses

    from peppol_response.model import InvoiceResponse
    from peppol_response.tracker import content_hash

    # when the model gains a field, content_hash must learn it (then update this list)
    assert [f.name for f in dataclasses.fields(InvoiceResponse)] == [
        "id", "issue_date", "sender", "receiver", "code", "document", "clarifications", "effective_date",
        "issue_time", "note", "issuer_party", "recipient_party", "customization_id", "profile_id"]
    base = response("H-1", "RE", doc="X", note="n")
    variants = [
        base.replace(note="m"), base.replace(issue_time=dt.time(10)), base.replace(effective_date=D),
        base.replace(id="H-2"), base.replace(code="UQ"), response("H-1", "RE", doc="Y", note="n"),
        base.replace(profile_id="urn:peppol:bis:billing_with_response"),
        response("H-1", "RE", doc="X", note="n", recipient_id=PartyId("1", "0088")),
    ]
    hashes = {content_hash(v) for v in variants}
    assert len(hashes) == len(variants)
    assert content_hash(base) not in hashes
    assert content_hash(base) == content_hash(parse(base.to_xml(pretty=True)))


def test_invoices_recorded_from_xml_match_the_example_replies(tracker: Tracker) -> None:
    invoice_mod = pytest.importorskip("peppol_response.invoice", reason="the document layer has not landed yet")
    examples = Path(__file__).resolve().parents[2] / "examples"
    invoices = sorted((examples / "invoices").glob("*.xml"))
    responses = sorted((examples / "responses").glob("*.xml"))
    if not invoices or not responses:
        pytest.skip("no example invoices and responses in examples/")
    recorded = {}
    for path in invoices:
        summary = invoice_mod.read_invoice(path.read_bytes())
        rec = tracker.record_invoice_xml(path.read_bytes(), as4_message_id=f"{path.stem}@ap")
        assert (rec.invoice_id, rec.type_code, rec.amount) == (summary.id, str(summary.type_code),
                                                                summary.payable_amount)
        assert rec.as4_message_id == f"{path.stem}@ap"
        recorded[(rec.invoice_id, rec.type_code)] = rec.pk
    matched = 0
    for path in responses:
        model = parse(path.read_bytes())
        result = tracker.ingest(path.read_bytes())
        expected = recorded.get((model.document.id, str(model.document.type_code)))
        if expected is not None:
            assert result.invoice_pk == expected, path.name
            matched += 1
    assert matched >= len(invoices)


def test_a_response_in_its_sbdh_envelope_records_the_instance_identifier(tracker: Tracker) -> None:
    from peppol_response.sbdh import wrap

    doc = unique()
    pk = record(tracker, doc)
    model = response(f"{doc}-1", "AB", doc=doc)
    enveloped = wrap(model.to_xml(), country_c1="NO", instance_identifier="8d5c1e7a-0000-4000-8000-000000000001")
    r = tracker.ingest_delivery(enveloped, TransportEvidence(as4_message_id="in-1@ap", sender_ap="PNO000001"))
    assert r.invoice_pk == pk
    h = tracker.history(pk)[0]
    assert h.evidence.sbdh_instance_id == "8d5c1e7a-0000-4000-8000-000000000001"
    assert (h.evidence.as4_message_id, h.evidence.sender_ap) == ("in-1@ap", "PNO000001")
    assert tracker.ingest(model).outcome is Outcome.DUPLICATE  # the envelope is not part of the identity


def test_status_by_key_pk_and_record_agree_with_the_history(tracker: Tracker) -> None:
    doc = unique()
    pk = record(tracker, doc)
    empty = tracker.status(pk)
    assert (empty.invoice.pk, empty.invoice.status, empty.history) == (pk, None, ())
    tracker.ingest(response(f"{doc}-2", "AP", doc=doc, day=D + dt.timedelta(days=2)))
    tracker.ingest(response(f"{doc}-1", "AB", doc=doc))
    by_pk = tracker.status(pk)
    assert [e.state for e in by_pk.history] == [State.AB, State.AP]
    assert by_pk.invoice.status is State.AP
    assert tracker.status(InvoiceKey(SELLER, BUYER, doc)) == by_pk
    assert tracker.status(InvoiceKey(SELLER, BUYER, doc, issue_date=D)) == by_pk
    assert tracker.status(by_pk.invoice) == by_pk
    with pytest.raises(NotFoundError, match="issued 2026-03-03"):
        tracker.status(InvoiceKey(SELLER, BUYER, doc, issue_date=D + dt.timedelta(days=1)))
    with pytest.raises(NotFoundError, match="#"):
        tracker.status(10**9)
    with pytest.raises(ConfigError, match="InvoiceKey"):
        tracker.status("INV-1")  # type: ignore[arg-type]
    record(tracker, doc, issue_date=D + dt.timedelta(days=5))
    with pytest.raises(ConfigError, match="issue date"):
        tracker.status(InvoiceKey(SELLER, BUYER, doc))
    assert tracker.status(InvoiceKey(SELLER, BUYER, doc, issue_date=D)) == by_pk


def test_status_survives_a_dropped_postgresql_connection(postgres_url: str) -> None:
    import sqlalchemy as sa

    with Tracker(postgres_url) as t:
        doc = unique()
        pk = record(t, doc)
        t.ingest(response(f"{doc}-1", "AB", doc=doc))
        assert t.status(pk).invoice.status is State.AB
        reader = t._reader.conn  # the thread's autocommit read connection
        backend = reader.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        killer = sa.create_engine(postgres_url)
        with killer.begin() as conn:
            assert conn.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": backend}).scalar()
        killer.dispose()
        assert t.status(pk).invoice.status is State.AB  # run again on a fresh connection
        assert t._reader.conn is not reader
