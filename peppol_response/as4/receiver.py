"""The AS4 receiver: the sans-I/O core behind HTTP, a durable store, duplicate detection and delivery.

:class:`As4Receiver` does everything but the sockets; :meth:`As4Receiver.asgi` is the Starlette
endpoint that feeds it (``peppol_response.server`` mounts it in the service's one ASGI app).

For each POST, in order:

1. HTTP edge: a declared ``Content-Length`` over ``max_body`` gets **413** at once; the body is read
   with a total and an idle timeout (**408**) and a running size cap (**413**).
2. The core (:meth:`~peppol_response.as4.core.As4Endpoint.receive`): MIME, SOAP, ebMS header,
   signature, trust, decryption, decompression, the Peppol profile — anything wrong is answered with a
   signed ebMS error signal (HTTP 200), never a stack trace.
3. What we serve: the finalRecipient must be one of ``served`` (when set) and the Action/Service one of
   the accepted document types and processes — else EBMS:0004 with ErrorDetail ``PEPPOL:NOT_SERVICED``.
4. The SBDH: readable, consistent with its payload, and Sender/Receiver/DOCUMENTID/PROCESSID equal to
   originalSender/finalRecipient/Action/Service of the AS4 header — else EBMS:0004.
5. Store (payload, SOAP header, receipt, evidence) and commit; **only then** answer with the signed
   receipt. A store that is down gets HTTP 503 (no receipt, so the sender retries the same bytes).
   Storing is also the duplicate check, in one atomic step: a MessageId already in the store (from an
   earlier request, or from another thread or process a moment ago) is not inserted again; with the same
   signed digests it gets **the original receipt** (byte for byte) and is not delivered again, with
   other content it is refused (EBMS:0004). A message that fails step 3 or 4 is looked up too, so a
   retry of one stored earlier (say, before the settings changed) still gets its original receipt.

Delivery to the application runs apart from the HTTP answer: a worker thread per process claims pending
messages (:meth:`InboundStore.claim`) and calls the delivery handler; a handler that raises is retried
with backoff, and after the last attempt the message is marked ``failed`` — kept, never lost.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from cryptography.hazmat.primitives import serialization

from ..errors import As4Error, EnvelopeError, IdentifierError, ParseError, StoreError
from ..identifiers import (
    BILLING_WITH_RESPONSE_PROCESS,
    INVOICE_RESPONSE,
    INVOICE_RESPONSE_PROCESS,
    PROCESS_SCHEME,
    DocumentTypeId,
    ParticipantId,
    ProcessId,
)
from ..sbdh import SbdhHeader, read_sbdh
from .core import As4Endpoint, Delivered, Rejected
from .message import NOT_SERVICED, ErrorCode, UserMessage, ebms_error
from .signals import SOAP_CONTENT_TYPE, build_error_signal
from .store import InboundStore, NewInbound, StoredInbound, nri_fingerprint

__all__ = [
    "DEFAULT_ACCEPTS",
    "Answer",
    "As4Receiver",
    "DeliveryHandler",
    "InboundMessage",
    "ReceiverSettings",
]

log = logging.getLogger("peppol_response.receiver")

DEFAULT_ACCEPTS: Final[Mapping[DocumentTypeId, frozenset[ProcessId]]] = {
    INVOICE_RESPONSE: frozenset({INVOICE_RESPONSE_PROCESS, BILLING_WITH_RESPONSE_PROCESS}),
}
"""Invoice Responses, in their own process and in Billing with Response."""


@dataclass(frozen=True)
class ReceiverSettings:
    """What the receiver serves and how patient and how big it lets a request be.

    ``served``: the participants we receive for (None: any). ``accepts``: document type → processes.
    ``max_body`` bytes per request; ``body_timeout`` seconds for the whole body, ``idle_timeout`` between
    two chunks. ``retention``: how long a MessageId is remembered (the duplicate window). Delivery: up to
    ``delivery_attempts`` tries, waiting ``delivery_backoff * 2**(n-1)`` (at most ``delivery_max_backoff``)
    seconds between them; a claimed message is leased for ``lease`` seconds; the worker polls every
    ``poll_interval`` seconds (and wakes at once when this process stores a message).
    """

    served: frozenset[ParticipantId] | None = None
    accepts: Mapping[DocumentTypeId, frozenset[ProcessId]] = field(default_factory=lambda: dict(DEFAULT_ACCEPTS))
    max_body: int = 128 * 1024 * 1024
    body_timeout: float = 300.0
    idle_timeout: float = 30.0
    retention: dt.timedelta = dt.timedelta(days=30)
    delivery_attempts: int = 10
    delivery_backoff: float = 5.0
    delivery_max_backoff: float = 3600.0
    lease: float = 300.0
    poll_interval: float = 2.0
    purge_interval: float = 3600.0
    legacy_sbdh: bool = False


@dataclass(frozen=True)
class InboundMessage:
    """What the delivery handler gets: a stored, receipted message with its envelope data."""

    message_id: str
    received_at: dt.datetime
    payload: bytes
    """The StandardBusinessDocument (SBDH + business document) as received, decrypted and decompressed."""
    sender: str | None
    receiver: str | None
    action: str | None
    service: str | None
    sbdh_instance_id: str | None
    from_party: str
    conversation_id: str | None
    receipt_message_id: str
    attempt: int

    @property
    def document_type(self) -> DocumentTypeId | None:
        try:
            return DocumentTypeId.parse(self.action) if self.action else None
        except IdentifierError:
            return None

    def document(self) -> bytes:
        """The business document inside the SBDH, as a standalone XML document."""
        return read_sbdh(self.payload).payload_bytes()


DeliveryHandler = Callable[[InboundMessage], None]
"""Takes a message for the application; raising means "try again later" (the message stays stored)."""


@dataclass(frozen=True)
class Answer:
    """The HTTP answer to one AS4 POST and what happened (for logs and tests)."""

    status: int
    content_type: str
    body: bytes
    outcome: str  # receipted | duplicate | rejected | ping | unavailable | error | too-large | timeout
    message_id: str | None = None
    error_code: str | None = None
    error_detail: str | None = None


def _event(level: int, event: str, **fields: Any) -> None:
    """A structured log line: ``event k=v ...`` in the message, the fields also as ``record.fields``."""
    if not log.isEnabledFor(level):
        return
    text = " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)
    log.log(level, "%s %s", event, text, extra={"event": event, "fields": fields})


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class As4Receiver:
    """An access point's receiving side: core + store + delivery (see the module docstring).

    ``fault_hook(point, message_id)`` is called at named points (``"stored"``: committed, not yet
    answered) — for fault-injection tests only; it may raise or end the process.
    """

    def __init__(
        self,
        endpoint: As4Endpoint,
        store: InboundStore,
        *,
        settings: ReceiverSettings | None = None,
        handler: DeliveryHandler | None = None,
        fault_hook: Callable[[str, str], None] | None = None,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.store = store
        self.settings = settings or ReceiverSettings()
        self.handler = handler
        self.fault_hook = fault_hook
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.owner = _owner()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_purge = 0.0

    # -- one request ------------------------------------------------------------------------------------

    def handle(self, content_type: str | None, body: bytes) -> Answer:
        """Answer one AS4 request body (everything after HTTP); never raises."""
        t0 = time.monotonic()
        try:
            answer = self._handle(content_type, body)
        except Exception:  # a bug: answer 500 without details, log the trace
            log.exception("as4.receive internal error")
            answer = Answer(500, "text/plain; charset=utf-8", b"internal error\n", "error")
        _event(logging.INFO if answer.status < 500 else logging.ERROR, "as4.receive", outcome=answer.outcome,
               message_id=answer.message_id, status=answer.status, code=answer.error_code,
               detail=answer.error_detail, bytes=len(body), ms=round((time.monotonic() - t0) * 1000, 1))
        return answer

    def _handle(self, content_type: str | None, body: bytes) -> Answer:
        result = self.endpoint.receive(content_type, body)
        if isinstance(result, Rejected):
            err = result.error
            return Answer(result.http_status, result.content_type, result.signal, "rejected", result.message_id,
                          err.code, err.error_detail)
        um = result.user_message
        if not result.deliver:
            return Answer(200, result.receipt_content_type, result.receipt, "ping", um.message_id)
        fingerprint = nri_fingerprint(result.evidence.references)
        try:
            header = self._check(result)
        except As4Error as exc:
            # a retry of a message we stored (under other settings, say) still gets its original receipt
            try:
                existing = self.store.get(um.message_id)
            except StoreError as err:
                return self._unavailable(um.message_id, err)
            if existing is not None:
                return self._duplicate(existing, fingerprint, um)
            return self._reject(exc, um)
        record = self._record(result, header, fingerprint, content_type)
        try:
            # the duplicate check and the insert are one atomic step: a MessageId already stored (earlier, or
            # a moment ago by another thread or process) is not inserted again and its row comes back
            row, created = self.store.add(record)
        except StoreError as exc:
            return self._unavailable(um.message_id, exc)
        if not created:
            return self._duplicate(row, fingerprint, um)
        if self.fault_hook is not None:
            self.fault_hook("stored", um.message_id)
        self._wake.set()
        return Answer(200, result.receipt_content_type, result.receipt, "receipted", um.message_id)

    def _unavailable(self, message_id: str, exc: StoreError) -> Answer:
        log.error("as4.receive store unavailable message_id=%s: %s", message_id, exc)
        return Answer(503, "text/plain; charset=utf-8", b"temporarily unable to store the message; retry\n",
                      "unavailable", message_id)

    def _duplicate(self, existing: StoredInbound, fingerprint: str, um: UserMessage) -> Answer:
        if existing.nri_fingerprint != fingerprint:
            err = ebms_error(ErrorCode.OTHER, f"MessageId {um.message_id} was already used for a different message "
                             f"(received {existing.received_at.isoformat()})", ref_to_message_id=um.message_id)
            return self._reject(err, um)
        with contextlib.suppress(StoreError):  # the counter is informational; the answer does not depend on it
            self.store.note_duplicate(um.message_id)
        return Answer(200, SOAP_CONTENT_TYPE, existing.receipt, "duplicate", um.message_id)

    def _reject(self, err: As4Error, um: UserMessage) -> Answer:
        ep = self.endpoint
        _, signal = build_error_signal(ep.identity if ep.sign_errors else None, err, timestamp=self._clock(),
                                       message_id_domain=ep.message_id_domain, ref_to_message_id=um.message_id)
        return Answer(200, SOAP_CONTENT_TYPE, signal, "rejected", um.message_id, err.code, err.error_detail)

    # -- what we serve, and the SBDH against the AS4 header --------------------------------------------

    def _check(self, result: Delivered) -> SbdhHeader:
        um = result.user_message
        mid = um.message_id
        s = self.settings

        def not_serviced(why: str) -> As4Error:
            return ebms_error(ErrorCode.OTHER, why, ref_to_message_id=mid, detail=NOT_SERVICED)

        def sbdh_issue(why: str) -> As4Error:
            return ebms_error(ErrorCode.OTHER, f"Peppol SBDH issue: {why}", ref_to_message_id=mid)

        try:
            recipient = ParticipantId.of(um.final_recipient or "")
            original_sender = ParticipantId.of(um.original_sender or "")
        except IdentifierError as exc:
            raise ebms_error(ErrorCode.OTHER, f"originalSender/finalRecipient: {exc}", ref_to_message_id=mid
                             ) from None
        if s.served is not None and recipient not in s.served:
            raise not_serviced(f"this access point does not receive for {recipient.value}")
        try:
            doc_type = DocumentTypeId.parse(um.action)
            process = ProcessId(um.service_type or PROCESS_SCHEME, um.service)
        except IdentifierError as exc:
            raise not_serviced(f"Action/Service are not a document type and process we receive: {exc}") from None
        processes = s.accepts.get(doc_type)
        if processes is None:
            raise not_serviced(f"document type {doc_type.value} is not received here")
        if process not in processes:
            raise not_serviced(f"process {process.value} is not received here for {doc_type.value}")
        try:
            env = read_sbdh(result.payload, legacy=s.legacy_sbdh)
            env.check()
        except (EnvelopeError, ParseError) as exc:
            raise sbdh_issue(str(exc)) from None
        h = env.header
        for what, sbdh_value, as4_value, as4_name in (
            ("Sender", h.sender, original_sender, "originalSender"),
            ("Receiver", h.receiver, recipient, "finalRecipient"),
            ("DOCUMENTID", h.document_type, doc_type, "Action"),
            ("PROCESSID", h.process, process, "Service"),
        ):
            if sbdh_value != as4_value:
                raise sbdh_issue(f"{what} {sbdh_value} differs from the AS4 {as4_name} {as4_value}")
        return h

    def _record(self, result: Delivered, header: SbdhHeader, fingerprint: str, content_type: str | None
                ) -> NewInbound:
        um, ev = result.user_message, result.evidence
        refs = [{"uri": r.uri, "digest_method": r.digest_method, "digest": r.digest_b64} for r in ev.references]
        return NewInbound(
            message_id=um.message_id, received_at=ev.received_at, from_party=um.from_party.party_id,
            original_sender=um.original_sender, final_recipient=um.final_recipient, service=um.service,
            service_type=um.service_type, action=um.action, conversation_id=um.conversation_id,
            sbdh_instance_id=header.instance_identifier, nri_fingerprint=fingerprint,
            content_type=(content_type or "")[:500], envelope=ev.envelope, payload=result.payload,
            receipt=result.receipt, receipt_message_id=ev.receipt_message_id, receipt_at=ev.receipt_timestamp,
            signer_cert=ev.signer.public_bytes(serialization.Encoding.DER),
            evidence={"references": refs, "signer": ev.signer.subject.rfc4514_string(),
                      "signer_serial": format(ev.signer.serial_number, "X"), "timestamp": um.timestamp.isoformat()},
        )

    # -- delivery ----------------------------------------------------------------------------------------

    def deliver_pending(self, *, limit: int = 10) -> int:
        """One pass of the delivery worker: claim due messages and hand them to the handler; returns the
        number claimed. Without a handler nothing is claimed (messages wait in the store)."""
        if self.handler is None:
            return 0
        rows = self.store.claim(self.owner, limit=limit, lease=dt.timedelta(seconds=self.settings.lease))
        self._deliver(rows)
        return len(rows)

    def _deliver(self, rows: list[StoredInbound], *, then_claim: int = 0) -> list[StoredInbound] | None:
        """Hand ``rows`` to the handler one at a time, each outcome committed before the next delivery starts.

        With ``then_claim``, the last delivery, when it succeeds, is recorded in the same transaction that
        claims up to that many further due messages, which are returned (the worker's loop then needs one
        commit per message instead of two); None when no such claim was made."""
        assert self.handler is not None
        s = self.settings
        more: list[StoredInbound] | None = None
        for i, row in enumerate(rows):
            msg = InboundMessage(
                message_id=row.message_id, received_at=row.received_at, payload=row.payload or b"",
                sender=row.original_sender, receiver=row.final_recipient, action=row.action, service=row.service,
                sbdh_instance_id=row.sbdh_instance_id, from_party=row.from_party,
                conversation_id=row.conversation_id, receipt_message_id=row.receipt_message_id, attempt=row.attempts)
            try:
                self.handler(msg)
            except Exception as exc:
                final = row.attempts >= s.delivery_attempts
                wait = min(s.delivery_max_backoff, s.delivery_backoff * 2 ** max(0, row.attempts - 1))
                retry_at = None if final else self._clock() + dt.timedelta(seconds=wait)
                self.store.mark_attempt_failed(row.id, self.owner, f"{type(exc).__name__}: {exc}", retry_at=retry_at)
                _event(logging.ERROR if final else logging.WARNING, "as4.deliver", outcome="failed" if final
                       else "retry", message_id=row.message_id, attempt=row.attempts, error=type(exc).__name__)
                continue
            if then_claim and i == len(rows) - 1:
                done, more = self.store.mark_delivered_and_claim(row.id, self.owner, limit=then_claim,
                                                                 lease=dt.timedelta(seconds=s.lease))
            else:
                done = self.store.mark_delivered(row.id, self.owner)
            if done:
                _event(logging.INFO, "as4.deliver", outcome="delivered", message_id=row.message_id,
                       attempt=row.attempts)
            else:
                _event(logging.WARNING, "as4.deliver", outcome="lease-lost", message_id=row.message_id)
        return more

    def _maybe_purge(self) -> None:
        now = time.monotonic()
        if now - self._last_purge < self.settings.purge_interval:
            return
        self._last_purge = now
        n = self.store.purge(self._clock() - self.settings.retention)
        if n:
            _event(logging.INFO, "as4.purge", removed=n)

    def _work(self) -> None:
        rows: list[StoredInbound] = []  # claimed together with the last delivery, not yet handed over
        limit = 10
        while rows or not self._stop.is_set():  # what is claimed is delivered before stopping
            claimed = 0
            try:
                self._maybe_purge()
                if self.handler is not None:
                    if not rows:
                        rows = self.store.claim(self.owner, limit=limit,
                                                lease=dt.timedelta(seconds=self.settings.lease))
                    claimed = len(rows)
                    more = self._deliver(rows, then_claim=0 if self._stop.is_set() else limit)
                    rows = more or []
                    if more is not None and not more:
                        claimed = 0  # the claim made with the last delivery found nothing due: wait for news
            except Exception:
                rows = []
                log.exception("as4.deliver worker pass failed; retrying")
            if claimed == 0:
                self._wake.wait(self.settings.poll_interval)
                self._wake.clear()

    def start(self) -> None:
        """Start the delivery worker thread (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._work, name="as4-delivery", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    # -- HTTP ---------------------------------------------------------------------------------------------

    async def asgi(self, request: Any) -> Any:
        """The Starlette endpoint for ``POST`` of AS4 messages (see the module docstring for the edge rules)."""
        import anyio
        from starlette.requests import ClientDisconnect
        from starlette.responses import PlainTextResponse, Response

        s = self.settings
        declared = request.headers.get("content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                return PlainTextResponse("bad Content-Length\n", status_code=400)
            if size > s.max_body:
                _event(logging.WARNING, "as4.receive", outcome="too-large", status=413, bytes=size)
                return PlainTextResponse(f"the request is larger than {s.max_body} bytes\n", status_code=413)
        buf = bytearray()
        receive = request.receive
        try:
            with anyio.fail_after(s.body_timeout):
                while True:
                    with anyio.fail_after(s.idle_timeout):
                        message = await receive()
                    if message["type"] == "http.disconnect":
                        raise ClientDisconnect()
                    buf += message.get("body", b"")
                    if len(buf) > s.max_body:
                        _event(logging.WARNING, "as4.receive", outcome="too-large", status=413, bytes=len(buf))
                        return PlainTextResponse(f"the request is larger than {s.max_body} bytes\n", status_code=413,
                                                 headers={"Connection": "close"})
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            _event(logging.WARNING, "as4.receive", outcome="timeout", status=408, bytes=len(buf))
            return PlainTextResponse("the request body did not arrive in time\n", status_code=408,
                                     headers={"Connection": "close"})
        except ClientDisconnect:
            _event(logging.INFO, "as4.receive", outcome="disconnected", bytes=len(buf))
            return Response(status_code=400)
        answer = await anyio.to_thread.run_sync(self.handle, request.headers.get("content-type"), bytes(buf))
        return Response(answer.body, status_code=answer.status, media_type=answer.content_type)
