"""The receiver service in-process (the ASGI app on a private loop): what it answers, what it stores before
answering, duplicates, NOT_SERVICED, the SBDH against the AS4 header, delivery retries, and bad input at
the HTTP edge."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from peppol_response.as4.core import As4Endpoint
from peppol_response.as4.message import parse_envelope, read_messaging
from peppol_response.as4.receiver import ReceiverSettings
from peppol_response.as4.sender import Sender, as4_identity
from peppol_response.as4.store import DeliveryState, InboundStore
from peppol_response.errors import RefusedError, StoreError
from peppol_response.identifiers import ParticipantId
from peppol_response.sbdh import wrap
from peppol_response.server import InboxHandler, create_app
from peppol_response.testing.inprocess import AsgiTransport
from peppol_response.testing.pki import TestPki
from tests.transport.helpers import (
    OWN_RESPONSE,
    URL,
    DirectTransport,
    Recorder,
    example,
    make_receiver,
    make_sender,
    target,
)


def _error_of(body: bytes) -> tuple[str, str | None, str | None]:
    env = parse_envelope(body)
    assert env.messaging is not None
    (sig,) = read_messaging(env.messaging).errors
    (e,) = sig.errors
    return e.code, e.detail, e.description


def test_app_receipts_stores_first_and_delivers_once(test_pki: TestPki, tmp_path: Path) -> None:
    handler = Recorder()
    store = InboundStore(f"sqlite:///{tmp_path / 'in.db'}")
    receiver = make_receiver(test_pki, store=store, handler=handler)
    stored_when_answered: list[Any] = []
    receiver.fault_hook = lambda point, mid: stored_when_answered.append((point, store.get(mid)))
    with AsgiTransport(create_app(receiver, start_delivery=False)) as app:
        sender = make_sender(test_pki, app)
        result = sender.send(example(), target=target(test_pki))
        # the hook ran after the commit and before the answer: the row with its receipt was already there
        ((point, row),) = stored_when_answered
        assert point == "stored"
        assert row.receipt == result.receipt.raw
        assert row.delivery_state is DeliveryState.PENDING
        full = store.get(result.message_id, full=True)
        assert full is not None
        assert full.payload is not None
        assert b"StandardBusinessDocument" in full.payload
        assert full.envelope is not None
        assert b"Messaging" in full.envelope
        assert b"Signature" in full.envelope
        assert full.sbdh_instance_id == result.sbdh_instance_id
        assert full.from_party == "PXX000001"
        assert full.evidence
        assert len(full.evidence["references"]) == 3
        health = json.loads(app.request("GET", "http://x/health").body)
        assert health["messages"]["pending"] == 1
        assert health["seat"] == "PXX000002"
    assert receiver.deliver_pending() == 1
    assert receiver.deliver_pending() == 0
    assert handler.ids == [result.message_id]
    msg = handler.got[0]
    assert msg.payload == full.payload
    assert msg.document().lstrip().startswith(b"<?xml")
    assert msg.sender
    assert msg.receiver
    assert msg.attempt == 1


def _delivered_once(pki: TestPki, url: str, handler: Recorder) -> tuple[Any, Sender, Any, Any, Any]:
    """A receiver on the store at ``url`` and one message delivered to it: (receiver, sender, header, outbound,
    result)."""
    receiver = make_receiver(pki, store=url, handler=handler)
    sender = make_sender(pki, DirectTransport(receiver))
    sbd, header = sender.envelope(example())
    out = sender.prepare(sbd, header, target(pki))
    return receiver, sender, header, out, sender.deliver(out, URL)


def test_duplicates_across_restarts_get_the_original_receipt(test_pki: TestPki, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'in.db'}"
    handler = Recorder()
    first, sender, header, out, r1 = _delivered_once(test_pki, url, handler)
    second = make_receiver(test_pki, store=url, handler=handler)  # another process, same store
    r2 = Sender(test_pki.ap("PXX000001"), trust=test_pki.ap_trust_store(), transport=DirectTransport(second)
                ).deliver(out, URL)
    assert r1.receipt.raw == r2.receipt.raw
    row = second.store.get(out.message_id)
    assert row is not None
    assert row.duplicates == 1
    assert first.deliver_pending() + second.deliver_pending() == 1
    assert handler.ids == [out.message_id]
    # the same MessageId with other content is refused, not receipted
    other = sender.prepare(sender.envelope(example())[0], header, target(test_pki), message_id=out.message_id)
    with pytest.raises(RefusedError, match="already used for a different message") as info:
        sender.deliver(other, URL)
    assert info.value.code == "EBMS:0004"


def test_a_retry_after_the_settings_changed_still_gets_the_original_receipt(test_pki: TestPki,
                                                                             tmp_path: Path) -> None:
    handler = Recorder()
    before, _, _, out, first = _delivered_once(test_pki, f"sqlite:///{tmp_path / 'in.db'}", handler)
    url = f"sqlite:///{tmp_path / 'in.db'}"
    # restarted, no longer serving that participant nor that document type: a retry of what was stored
    # is answered with its receipt, a new message is refused
    for settings in (ReceiverSettings(served=frozenset({ParticipantId.of("0088:7300010000009")})),
                     ReceiverSettings(accepts={})):
        after = make_receiver(test_pki, store=url, handler=handler, settings=settings)
        again = make_sender(test_pki, DirectTransport(after)).deliver(out, URL)
        assert again.receipt.raw == first.receipt.raw
        with pytest.raises(RefusedError) as info:
            make_sender(test_pki, DirectTransport(after)).send(example(), target=target(test_pki))
        assert info.value.error_detail == "PEPPOL:NOT_SERVICED"
    row = before.store.get(out.message_id)
    assert row is not None
    assert row.duplicates == 2
    assert before.deliver_pending() == 1
    assert handler.ids == [out.message_id]


def test_not_serviced_participant_and_document_type(test_pki: TestPki) -> None:
    settings = ReceiverSettings(served=frozenset({ParticipantId.of("0088:7300010000009")}))
    receiver = make_receiver(test_pki, settings=settings)
    with pytest.raises(RefusedError) as info:
        make_sender(test_pki, DirectTransport(receiver)).send(OWN_RESPONSE, target=target(test_pki))
    assert (info.value.code, info.value.error_detail) == ("EBMS:0004", "PEPPOL:NOT_SERVICED")
    assert "0088:7300010000002" in str(info.value)
    receiver = make_receiver(test_pki, settings=ReceiverSettings(accepts={}))
    with pytest.raises(RefusedError) as info:
        make_sender(test_pki, DirectTransport(receiver)).send(OWN_RESPONSE, target=target(test_pki))
    assert info.value.error_detail == "PEPPOL:NOT_SERVICED"
    assert "document type" in str(info.value)
    assert receiver.store.counts()["pending"] == 0


@pytest.mark.parametrize(("field", "value", "complaint"), [
    ("final_recipient", "0088:7300010000009", "Receiver"),
    ("original_sender", "0088:7300010000009", "Sender"),
    ("service", "urn:fdc:peppol.eu:poacc:bis:mlr:3", "PROCESSID"),
])
def test_sbdh_must_agree_with_the_as4_header(test_pki: TestPki, field: str, value: str, complaint: str) -> None:
    from peppol_response.identifiers import MLR_PROCESS

    settings = ReceiverSettings(accepts={k: v | {MLR_PROCESS} for k, v in ReceiverSettings().accepts.items()})
    receiver = make_receiver(test_pki, settings=settings)
    core = As4Endpoint(identity=as4_identity(test_pki.ap("PXX000001")), trust=test_pki.ap_trust_store())
    sbd = wrap(OWN_RESPONSE, country_c1="BE")
    args = dict(recipient_cert=test_pki.ap("PXX000002").certificate,
                service="urn:fdc:peppol.eu:poacc:bis:invoice_response:3",
                action="busdox-docid-qns::urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2::"
                       "ApplicationResponse##urn:fdc:peppol.eu:poacc:trns:invoice_response:3::2.1",
                original_sender="0088:7300010000001", final_recipient="0088:7300010000002")
    args[field] = value
    out = core.prepare(sbd, **args)  # type: ignore[arg-type]
    assert out.body is not None
    answer = receiver.handle(out.content_type, out.body)
    code, detail, text = _error_of(answer.body)
    assert answer.status == 200
    assert answer.outcome == "rejected"
    assert code == "EBMS:0004"
    assert detail is None
    assert text
    assert "SBDH" in text
    assert complaint in text
    assert receiver.store.counts()["pending"] == 0


def test_payload_that_is_not_an_sbdh_is_refused(test_pki: TestPki) -> None:
    receiver = make_receiver(test_pki)
    core = As4Endpoint(identity=as4_identity(test_pki.ap("PXX000001")), trust=test_pki.ap_trust_store())
    out = core.prepare(OWN_RESPONSE, recipient_cert=test_pki.ap("PXX000002").certificate,
                       service="urn:fdc:peppol.eu:poacc:bis:invoice_response:3",
                       action="busdox-docid-qns::urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2"
                              "::ApplicationResponse##urn:fdc:peppol.eu:poacc:trns:invoice_response:3::2.1",
                       original_sender="0088:7300010000001", final_recipient="0088:7300010000002")
    assert out.body is not None
    code, _, text = _error_of(receiver.handle(out.content_type, out.body).body)
    assert code == "EBMS:0004"
    assert text
    assert "SBDH" in text


def test_delivery_failures_are_retried_and_never_lose_the_message(test_pki: TestPki) -> None:
    handler = Recorder(fail_times=2)
    settings = ReceiverSettings(delivery_attempts=2, delivery_backoff=0)
    receiver = make_receiver(test_pki, handler=handler, settings=settings)
    result = make_sender(test_pki, DirectTransport(receiver)).send(example(), target=target(test_pki))
    assert receiver.deliver_pending() == 1  # attempt 1 fails, retry at once (backoff 0)
    assert receiver.deliver_pending() == 1  # attempt 2 fails: the last one
    row = receiver.store.get(result.message_id)
    assert row is not None
    assert row.delivery_state is DeliveryState.FAILED
    assert "disk full" in (row.last_error or "")
    assert receiver.deliver_pending() == 0
    assert handler.ids == []
    assert receiver.store.requeue(result.message_id)
    assert receiver.deliver_pending() == 1
    assert handler.ids == [result.message_id]
    assert receiver.store.get(result.message_id).delivery_state is DeliveryState.DELIVERED  # type: ignore[union-attr]
    assert receiver.store.purge(receiver._clock()) == 1
    assert receiver.store.get(result.message_id) is None


def test_a_store_that_is_down_answers_503_without_a_receipt(test_pki: TestPki, monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    receiver = make_receiver(test_pki)

    def down(*a: Any, **k: Any) -> Any:
        raise StoreError("database unreachable (test)")

    monkeypatch.setattr(receiver.store, "add", down)
    sender = make_sender(test_pki, DirectTransport(receiver))
    sbd, header = sender.envelope(example())
    out = sender.prepare(sbd, header, target(test_pki))
    assert out.body is not None
    answer = receiver.handle(out.content_type, out.body)
    assert answer.status == 503
    assert b"Receipt" not in answer.body
    assert answer.outcome == "unavailable"
    monkeypatch.undo()
    assert sender.deliver(out, URL).message_id == out.message_id  # the retry gets through


def test_inbox_handler_keeps_the_file_and_feeds_the_tracker(test_pki: TestPki, tmp_path: Path) -> None:
    from peppol_response.tracker import Tracker

    tracker = Tracker("sqlite://")
    handler = InboxHandler(tmp_path / "inbox", tracker=tracker)
    receiver = make_receiver(test_pki, handler=handler)
    result = make_sender(test_pki, DirectTransport(receiver)).send(example(), target=target(test_pki))
    assert receiver.deliver_pending() == 1
    files = sorted(p.name for p in (tmp_path / "inbox").iterdir())
    assert files == [f"{result.message_id}.json", f"{result.message_id}.xml"]
    meta = json.loads((tmp_path / "inbox" / files[0]).read_text())
    assert meta["message_id"] == result.message_id
    assert meta["sbdh_instance_id"] == result.sbdh_instance_id
    entries = tracker.orphans()  # no invoice recorded: the response is kept as an orphan, with its evidence
    assert [(e.evidence.as4_message_id, e.evidence.sbdh_instance_id, e.evidence.sender_ap) for e in entries] == [
        (result.message_id, result.sbdh_instance_id, "PXX000001")]


# ------------------------------------------------------------------------------------------ the HTTP edge


@pytest.fixture
def app(test_pki: TestPki) -> Any:
    settings = ReceiverSettings(max_body=64 * 1024, body_timeout=1.0, idle_timeout=0.5)
    with AsgiTransport(create_app(make_receiver(test_pki, settings=settings), start_delivery=False)) as transport:
        yield transport


@pytest.mark.parametrize(("ctype", "body", "code"), [
    ("text/plain", b"hello", "EBMS:0009"),  # a single part is read as the SOAP envelope (tolerant), which it is not
    ("application/json", b'{"a": 1}', "EBMS:0009"),
    (None, b"", "EBMS:0009"),
    ('multipart/related; boundary="b"; type="application/soap+xml"', b"garbage \x00\xff", "EBMS:0007"),
    ('multipart/related; boundary="b"; type="application/soap+xml"',
     b"--b\r\nContent-Type: application/octet-stream\r\n\r\nxx\r\n--b--\r\n", "EBMS:0007"),
    ("application/soap+xml", b"<not-xml", "EBMS:0009"),
    ("application/soap+xml", b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "EBMS:0009"),
])
def test_bad_input_gets_an_ebms_error_and_no_trace(app: AsgiTransport, ctype: str | None, body: bytes,
                                                   code: str) -> None:
    headers = {"Content-Type": ctype} if ctype else {}
    reply = app.request("POST", URL, body, headers)
    assert reply.status == 200
    assert (reply.content_type or "").startswith("application/soap+xml")
    got, _, text = _error_of(reply.body)
    assert got == code, (got, text)
    assert text
    assert "Traceback" not in text
    assert app.request("GET", "http://x/health").status == 200  # still serving


def test_http_level_refusals(app: AsgiTransport) -> None:
    assert app.request("POST", URL, b"x", {"Content-Length": str(10**9)}).status == 413
    assert app.request("POST", URL, b"x" * (70 * 1024)).status == 413
    assert app.request("POST", URL, b"x", {"Content-Length": "nope"}).status == 400
    assert app.request("GET", URL).status == 405
    assert app.request("GET", "http://x/nothing").status == 404


def test_streamed_body_is_capped_and_timed(app: AsgiTransport) -> None:
    """Chunked bodies without Content-Length: the running size cap, and the idle timeout (408)."""

    async def call(chunks: list[bytes], pause: float) -> int:
        status = 0
        queue = list(chunks)

        async def receive() -> dict[str, Any]:
            if not queue:
                await asyncio.sleep(3600)
            await asyncio.sleep(pause)
            chunk = queue.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(queue) or pause > 0.4}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        scope = {"type": "http", "method": "POST", "path": "/as4", "raw_path": b"/as4", "query_string": b"",
                 "headers": [(b"content-type", b"multipart/related")], "scheme": "http", "http_version": "1.1",
                 "asgi": {"version": "3.0"}, "client": ("127.0.0.1", 1), "server": ("x", 80), "root_path": ""}
        await app.app(scope, receive, send)
        return status

    assert app._call(call([b"x" * 16 * 1024] * 5, 0), 10) == 413
    assert app._call(call([b"x" * 10, b"y" * 10], 0.7), 10) == 408


def test_logs_name_the_message_and_never_carry_the_payload(test_pki: TestPki, caplog: pytest.LogCaptureFixture
                                                            ) -> None:
    import logging

    from peppol_response.server import JsonLogFormatter

    receiver = make_receiver(test_pki)
    with caplog.at_level(logging.INFO, logger="peppol_response"):
        result = make_sender(test_pki, DirectTransport(receiver)).send(OWN_RESPONSE, target=target(test_pki))
    (record,) = [r for r in caplog.records if getattr(r, "event", None) == "as4.receive"]
    line = json.loads(JsonLogFormatter().format(record))
    assert line["event"] == "as4.receive"
    assert line["message_id"] == result.message_id
    assert line["outcome"] == "receipted"
    assert "7300010000001" not in caplog.text  # nothing of the document
    assert "BEGIN" not in caplog.text  # no key material
