"""The transport history: each attempt the AS4 sender reports is kept, and moves the transport state."""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peppol_response.as4.sender import Attempt, AttemptOutcome
from peppol_response.errors import ConfigError, NotFoundError
from peppol_response.tracker import InvoiceKey, NewInvoice, Tracker, TransportState
from peppol_response.tracker.transport import TRANSPORT_TRANSITIONS

from .conftest import BUYER, SELLER, response, unique

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
_mids = itertools.count()


def attempt(number: int, outcome: AttemptOutcome, *, mid: str = "m-1@ap", status: int | None = 200,
            at: dt.datetime | None = None, **kw: object) -> Attempt:
    """A real sender Attempt record, as ``Sender.deliver`` passes it to ``on_attempt``."""
    when = at or T0 + dt.timedelta(seconds=10 * number)
    return Attempt(number, mid, "https://ap.example/as4", when, 0.25, outcome, status, **kw)  # type: ignore[arg-type]


def outbound(t: Tracker, invoice_id: str | None = None, **kw: object) -> InvoiceKey:
    rec = t.record_invoice(NewInvoice(SELLER, BUYER, invoice_id or unique(), dt.date(2026, 3, 1), **kw))  # type: ignore[arg-type]
    return rec.key


def test_an_invoice_sent_after_a_502_shows_both_attempts_and_is_receipted(tracker: Tracker) -> None:
    key = outbound(tracker, transport_state="queued")
    record = tracker.attempt_recorder(key)
    record(attempt(1, AttemptOutcome.RETRYABLE, status=502, error="HTTP 502 with text/html: not an AS4 signal",
                   error_code="EBMS:0301"))
    mid_state = tracker.invoice(key)
    assert mid_state.transport_state is TransportState.SENT
    assert mid_state.delivered_at == T0.replace(tzinfo=None) + dt.timedelta(seconds=10)  # the R006 clock starts
    record(attempt(2, AttemptOutcome.RECEIPTED, receipt_message_id="r-1@them"))

    st_ = tracker.status(key)
    assert st_.invoice.transport_state is TransportState.RECEIPTED
    assert st_.invoice.as4_message_id == "m-1@ap"
    assert [(a.number, a.outcome, a.http_status, a.error_code, a.receipt_message_id) for a in st_.transport] == [
        (1, "retryable", 502, "EBMS:0301", None), (2, "receipted", 200, None, "r-1@them")]
    first = st_.transport[0]
    assert (first.invoice_pk, first.response_pk, first.message_id, first.url) == (
        st_.invoice.pk, None, "m-1@ap", "https://ap.example/as4")
    assert first.started_at == T0.replace(tzinfo=None) + dt.timedelta(seconds=10)
    assert first.duration == 0.25
    assert "not an AS4 signal" in (first.error or "")
    assert tracker.transport_history(key) == st_.transport == tracker.transport_history(st_.invoice)
    assert tracker.transport_history(st_.invoice.pk) == st_.transport
    assert st_.to_dict()["transport"][1]["receipt_message_id"] == "r-1@them"
    changes = [(e.previous, e.current) for e in tracker.events(invoice=key) if e.kind == "transport.changed"]
    assert changes == [("queued", "sent"), ("sent", "receipted")]
    with tracker.engine.connect() as conn:
        detail = conn.execute(sa.text("SELECT transport_detail FROM pr_invoice WHERE id = :i"),
                              {"i": st_.invoice.pk}).scalar()
    assert detail == "receipt r-1@them"


def test_a_refusal_fails_the_invoice_and_a_requeued_resend_can_still_be_receipted(tracker: Tracker) -> None:
    key = outbound(tracker, transport_state="queued")
    record = tracker.attempt_recorder(key)
    record(attempt(1, AttemptOutcome.REFUSED, error="not serviced", error_code="EBMS:0004",
                   error_detail="PEPPOL:NOT_SERVICED"))
    assert tracker.invoice(key).transport_state is TransportState.FAILED
    assert tracker.invoice(key).delivered_at is None  # a refused message was never delivered
    tracker.set_transport(key, "queued")
    record(attempt(1, AttemptOutcome.RECEIPTED, mid="m-2@ap", receipt_message_id="r-2@them",
                   at=T0 + dt.timedelta(hours=1)))
    st_ = tracker.status(key)
    assert st_.invoice.transport_state is TransportState.RECEIPTED
    assert st_.invoice.as4_message_id == "m-2@ap"
    assert [(a.message_id, a.number, a.outcome, a.error_detail) for a in st_.transport] == [
        ("m-1@ap", 1, "refused", "PEPPOL:NOT_SERVICED"), ("m-2@ap", 1, "receipted", None)]


def test_a_receipt_is_final_and_the_same_attempt_is_kept_once(tracker: Tracker) -> None:
    key = outbound(tracker)
    record = tracker.attempt_recorder(key)
    done = attempt(1, AttemptOutcome.RECEIPTED, receipt_message_id="r@them")
    record(done)
    record(done)  # e.g. the same recorder given to Sender(on_attempt=) and send(on_attempt=)
    tracker.attempt_recorder(tracker.invoice(key).pk)(done)  # another recorder for the same invoice
    # a later resend that gets no answer does not undo the receipt
    record(attempt(1, AttemptOutcome.RETRYABLE, status=None, error="timed out", at=T0 + dt.timedelta(days=1)))
    st_ = tracker.status(key)
    assert st_.invoice.transport_state is TransportState.RECEIPTED
    assert [a.outcome for a in st_.transport] == ["receipted", "retryable"]


def test_every_retry_spent_leaves_the_invoice_sent(tracker: Tracker) -> None:
    key = outbound(tracker, transport_state="queued")
    record = tracker.attempt_recorder(key)
    for n in (1, 2, 3):
        record(attempt(n, AttemptOutcome.RETRYABLE, status=503, error="HTTP 503"))
    inv = tracker.invoice(key)
    assert inv.transport_state is TransportState.SENT  # maybe delivered: RetriesExhaustedError
    assert [a.number for a in tracker.transport_history(key)] == [1, 2, 3]


def test_a_response_we_send_keeps_its_attempts_and_shows_them_on_its_invoice(tracker: Tracker) -> None:
    inv = tracker.record_invoice(seller=SELLER, buyer=BUYER, invoice_id="IN-1", issue_date=dt.date(2026, 3, 1),
                                 direction="inbound")
    sent = tracker.record_sent(response("R-ab", "AB", doc="IN-1", seller=SELLER, buyer=BUYER))
    record = tracker.attempt_recorder(sent)
    record(attempt(1, AttemptOutcome.RETRYABLE, mid="resp-1@ap", status=None, error="connection refused"))
    record(attempt(2, AttemptOutcome.RECEIPTED, mid="resp-1@ap", receipt_message_id="rr@them"))

    st_ = tracker.status(inv)
    entry = st_.history[0]
    assert entry.transport_state is TransportState.RECEIPTED
    assert entry.evidence.as4_message_id == "resp-1@ap"
    assert st_.invoice.transport_state is None  # the invoice itself was not sent by us
    assert [(a.response_pk, a.invoice_pk, a.number, a.outcome) for a in st_.transport] == [
        (sent.response_pk, inv.pk, 1, "retryable"), (sent.response_pk, inv.pk, 2, "receipted")]
    assert tracker.transport_history(sent) == st_.transport
    assert tracker.transport_history(entry) == st_.transport
    assert tracker.transport_history(response_pk=sent.response_pk) == st_.transport
    kinds = [(e.kind, e.response_pk, e.current) for e in tracker.events(invoice=inv) if e.kind == "transport.changed"]
    assert kinds == [("transport.changed", sent.response_pk, "sent"), ("transport.changed", sent.response_pk,
                                                                       "receipted")]


def test_attempts_of_an_orphan_response_follow_it_to_its_invoice(tracker: Tracker) -> None:
    sent = tracker.record_sent(response("R-orphan", "AP", doc="LATER-1", seller=SELLER, buyer=BUYER), force=True)
    assert sent.invoice_pk is None
    tracker.attempt_recorder(sent)(attempt(1, AttemptOutcome.RECEIPTED, mid="o@ap", receipt_message_id="r@them"))
    assert [a.invoice_pk for a in tracker.transport_history(sent)] == [None]
    inv = tracker.record_invoice(seller=SELLER, buyer=BUYER, invoice_id="LATER-1", issue_date=dt.date(2026, 3, 1),
                                 direction="inbound")
    assert [(a.response_pk, a.invoice_pk) for a in tracker.status(inv).transport] == [(sent.response_pk, inv.pk)]

    # the same number issued twice and a response without the issue date: attached by hand
    other = tracker.record_sent(response("R-orphan-2", "AP", doc="TWICE-1", seller=SELLER, buyer=BUYER), force=True)
    tracker.attempt_recorder(other)(attempt(1, AttemptOutcome.REFUSED, mid="o2@ap", error_code="EBMS:0004"))
    a, b = tracker.record_invoices(NewInvoice(SELLER, BUYER, "TWICE-1", day, direction="inbound")
                                   for day in (dt.date(2026, 3, 1), dt.date(2026, 3, 5)))
    assert tracker.status(a).transport == tracker.status(b).transport == ()
    tracker.attach(other.response_pk, b)
    assert [(t.response_pk, t.invoice_pk, t.outcome) for t in tracker.status(b).transport] == [
        (other.response_pk, b, "refused")]
    assert tracker.status(a).transport == ()


def test_what_a_recorder_is_for_is_checked_when_it_is_made(tracker: Tracker) -> None:
    with pytest.raises(NotFoundError):
        tracker.attempt_recorder(InvoiceKey(SELLER, BUYER, "NO-SUCH"))
    with pytest.raises(NotFoundError):
        tracker.attempt_recorder(response_pk=987654)
    with pytest.raises(ConfigError, match="name an invoice"):
        tracker.attempt_recorder()
    key = outbound(tracker)
    with pytest.raises(ConfigError, match="name an invoice"):
        tracker.attempt_recorder(key, response_pk=1)
    got = tracker.ingest(response("R-in", "AB", doc=key.invoice_id))
    with pytest.raises(ConfigError, match="received, not sent"):
        tracker.attempt_recorder(got)
    with pytest.raises(ConfigError, match="received, not sent"):
        tracker.transport_history(response_pk=got.response_pk)


def test_a_store_failure_is_logged_and_does_not_stop_the_delivery(tracker: Tracker,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    key = outbound(tracker)
    record = tracker.attempt_recorder(key)
    with tracker.engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE pr_transport_attempt RENAME TO pr_gone"))
    try:
        with caplog.at_level(logging.ERROR, logger="peppol_response.tracker.core"):
            record(attempt(1, AttemptOutcome.RECEIPTED, receipt_message_id="r@them"))  # does not raise
        assert "attempt 1 of AS4 message m-1@ap" in caplog.text
    finally:
        with tracker.engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE pr_gone RENAME TO pr_transport_attempt"))
    # the attempt and its state move are one transaction: neither happened
    assert tracker.invoice(key).transport_state is None
    assert tracker.transport_history(key) == ()
    record(attempt(1, AttemptOutcome.RECEIPTED, receipt_message_id="r@them"))  # recorded again later: kept
    assert tracker.invoice(key).transport_state is TransportState.RECEIPTED


# -- the state moves, for any sequence of attempts ------------------------------------------------------------


def expected_state(start: TransportState | None, outcomes: list[AttemptOutcome]) -> TransportState | None:
    """Written from the rules, not from the code: a receipt is final; before it, the latest attempt decides
    (no verdict: sent; a refusal or a local failure: failed); no attempt, no move."""
    state = start
    for o in outcomes:
        if state is TransportState.RECEIPTED:
            break
        state = {AttemptOutcome.RECEIPTED: TransportState.RECEIPTED, AttemptOutcome.RETRYABLE: TransportState.SENT,
                 AttemptOutcome.REFUSED: TransportState.FAILED, AttemptOutcome.FAILED: TransportState.FAILED}[o]
    return state


@pytest.fixture(scope="module")
def shared_tracker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tracker]:
    t = Tracker(f"sqlite:///{tmp_path_factory.mktemp('history') / 'tracker.db'}")
    yield t
    t.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.sampled_from([None, *TransportState]), outcomes=st.lists(st.sampled_from(AttemptOutcome), max_size=7),
       resend_after=st.integers(min_value=0, max_value=7))
def test_the_transport_state_follows_the_attempts(shared_tracker: Tracker, start: TransportState | None,
                                                  outcomes: list[AttemptOutcome], resend_after: int) -> None:
    t = shared_tracker
    key = outbound(t, transport_state=start)
    record = t.attempt_recorder(key)
    mid = f"p-{next(_mids)}@ap"
    made = []
    for i, o in enumerate(outcomes):
        # after ``resend_after`` attempts the message is prepared again: a new MessageId, numbers from 1
        message, number = (mid, i + 1) if i < resend_after else (mid + "-again", i + 1 - resend_after)
        a = attempt(number, o, mid=message, at=T0 + dt.timedelta(minutes=i),
                    receipt_message_id="r@them" if o is AttemptOutcome.RECEIPTED else None)
        record(a)
        made.append((message, number, o.value))
    inv = t.invoice(key)
    assert inv.transport_state is expected_state(start, outcomes)
    assert [(a.message_id, a.number, a.outcome) for a in t.transport_history(key)] == made  # all kept, in order
    # every move the recorder made was one the transport table allows
    previous: str | None = None if start is None else start.value
    for e in t.events(invoice=key, limit=1000):
        if e.kind == "transport.changed":
            assert e.previous == previous
            assert e.current is not None
            assert TransportState(e.current) in TRANSPORT_TRANSITIONS[None if previous is None
                                                                      else TransportState(previous)]
            previous = e.current
    assert previous == (None if inv.transport_state is None else inv.transport_state.value)
    # the first attempt that put the message on the wire started the R006 clock (recording an invoice as
    # sent or receipted started it already)
    if start not in (TransportState.SENT, TransportState.RECEIPTED):
        on_wire = [a.started_at for a, o in zip(t.transport_history(key), outcomes, strict=True)
                   if o in (AttemptOutcome.RETRYABLE, AttemptOutcome.RECEIPTED)]
        assert inv.delivered_at == (on_wire[0] if on_wire else None)
