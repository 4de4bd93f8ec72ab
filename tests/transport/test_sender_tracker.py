"""The sender's attempts in the tracker's transport history, for real: our sender -> (a refused connection,
or a proxy's 502 page) -> our receiver under uvicorn over HTTPS, the tracker on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from peppol_response.as4.receiver import ReceiverSettings
from peppol_response.as4.sender import RequestsTransport, RetryPolicy, Sender, Target
from peppol_response.server import create_app
from peppol_response.testing.loopback import LoopbackServer
from peppol_response.testing.pki import TestPki
from peppol_response.tracker import IngestResult, InvoiceKey, Tracker, TransportState
from tests.transport.helpers import OWN_RESPONSE, RECEIVER_SEAT, SENDER_SEAT, Recorder, make_receiver
from tests.transport.proxy import FaultProxy

SELLER, BUYER = "0088:7300010000002", "0088:7300010000001"  # OWN_RESPONSE goes from the buyer to the seller


def _buyer(url: str) -> tuple[Tracker, IngestResult]:
    """The buyer's tracker: the invoice it received, and the AB it is about to send."""
    t = Tracker(url)
    t.record_invoice(seller=SELLER, buyer=BUYER, invoice_id="INV-1", issue_date=dt.date(2026, 3, 1),
                     direction="inbound")
    return t, t.record_sent(OWN_RESPONSE)


@pytest.mark.parametrize("fault", ["refused", "html502"])
def test_a_failed_first_attempt_then_a_receipt_in_the_tracker(test_pki: TestPki, store_url: str, fault: str
                                                              ) -> None:
    pki = test_pki
    tls = (str(pki.path("tls-localhost.cert.pem")), str(pki.path("tls-localhost.key.pem")))
    ca = str(pki.tls_ca_file)
    handler = Recorder()
    receiver = make_receiver(pki, handler=handler, settings=ReceiverSettings(poll_interval=0.05))
    server = LoopbackServer(create_app(receiver), tls=tls, header_timeout=2.0)  # bound, not listening yet
    proxy: FaultProxy | None = None
    waits: list[float] = []
    tracker, sent = _buyer(store_url)
    try:
        if fault == "refused":
            url = server.url + "/as4"

            def sleep(seconds: float) -> None:  # the receiver comes up while the sender waits to retry
                waits.append(seconds)
                if len(waits) == 1:
                    server.start()
        else:
            server.start()
            proxy = FaultProxy(server.url, tls=tls, ca=ca, script=["html502"]).__enter__()
            url = proxy.url + "/as4"
            sleep = waits.append
        on_attempt: Callable[..., None] = tracker.attempt_recorder(sent)
        with Sender(pki.ap(SENDER_SEAT), trust=pki.ap_trust_store(), transport=RequestsTransport(verify=ca),
                    retry=RetryPolicy(attempts=3, first_delay=0.01), sleep=sleep, country_c1="BE") as sender:
            result = sender.send(OWN_RESPONSE, target=Target(url, pki.ap(RECEIVER_SEAT).certificate),
                                 on_attempt=on_attempt)

        history = tracker.transport_history(sent)
        first_status = None if fault == "refused" else 502
        assert [(a.number, a.outcome, a.http_status) for a in history] == [
            (1, "retryable", first_status), (2, "receipted", 200)]
        def fields(a: Any) -> tuple[Any, ...]:
            when = a.started_at if a.started_at.tzinfo is None else a.started_at.astimezone(dt.UTC).replace(tzinfo=None)
            outcome = getattr(a.outcome, "value", a.outcome)
            return (a.message_id, a.number, when, a.duration, a.url, a.http_status, outcome, a.error_code,
                    a.error_detail, a.error, a.receipt_message_id)

        assert [fields(a) for a in history] == [fields(a) for a in result.attempts]  # all the sender reported
        assert {a.message_id for a in history} == {result.message_id}
        assert history[1].receipt_message_id == result.receipt.message_id
        assert ("refused" if fault == "refused" else "html") in (history[0].error or "").lower()
        assert history[0].started_at < history[1].started_at

        status = tracker.status(InvoiceKey(SELLER, BUYER, "INV-1"))
        assert status.transport == history
        (entry,) = status.history
        assert entry.transport_state is TransportState.RECEIPTED
        assert entry.evidence.as4_message_id == result.message_id
        assert [(e.previous, e.current) for e in tracker.events() if e.kind == "transport.changed"] == [
            ("queued", "sent"), ("sent", "receipted")]
        # and the receiver has it exactly once
        receiver_row = receiver.store.get(result.message_id)
        assert receiver_row is not None
        assert receiver_row.receipt_message_id == result.receipt.message_id
    finally:
        if proxy is not None:
            proxy.__exit__(None, None, None)
        server.stop()
        tracker.close()
        receiver.store.close()

