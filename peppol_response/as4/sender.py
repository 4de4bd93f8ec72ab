"""The AS4 sender: put a document on the wire and succeed only on a verified receipt.

::

    sender = Sender(identity, trust=ap_trust, discovery=SmpDiscovery.peppol(test=True), verify="ca.pem")
    result = sender.send(response_xml, country_c1="BE")     # SendResult, or a typed error
    result.message_id, result.receipt.message_id, [a.to_dict() for a in result.attempts]

What :meth:`Sender.send` does, in order:

1. Wrap the document in its SBDH (unless it already is a StandardBusinessDocument) and derive everything
   the AS4 header needs from it: Service/Action from the PROCESSID/DOCUMENTID, originalSender and
   finalRecipient from the SBDH Sender/Receiver.
2. Find the receiving access point: an explicit URL + certificate, a static directory or SML/SMP
   discovery. A receiver that does not accept this document type and process raises
   :class:`~peppol_response.errors.NotServicedError` here, *before anything is sent*; an endpoint
   certificate we do not trust raises :class:`~peppol_response.errors.TrustError`.
3. Sign, compress and encrypt once (:meth:`~peppol_response.as4.core.As4Endpoint.prepare`) and POST the
   bytes over HTTPS (TLS 1.2 or newer, certificates checked against a configurable CA bundle, connect and
   read timeouts).
4. Judge the reply (:meth:`~peppol_response.as4.core.As4Endpoint.check_reply`): only a receipt signed by
   the certificate we encrypted for, for our MessageId, repeating our digests, is success.

Retries resend **the identical bytes with the same MessageId** (AS4 3.2: the receiver deduplicates and
the receipt's digests do not vary), after an exponential backoff with jitter (:class:`RetryPolicy`;
``sleep``, ``clock`` and ``random`` are injectable). Retryable: timeouts, connection resets and refusals,
HTTP 5xx and any reply that is not an AS4 signal (HTML from a load balancer, an empty body, junk).
Final: an ebMS error signal of severity failure (:class:`~peppol_response.errors.RefusedError` with the
ebMS code), a receipt that does not verify (EBMS:0302), a TLS certificate we cannot verify, and the HTTP
statuses in :data:`FINAL_STATUSES` when no signal came with them.

Every attempt is recorded as an :class:`Attempt` (time, HTTP status, error, ebMS code, receipt message
id) in the result or the error, and passed to ``on_attempt`` as it happens — the transport history a
tracker keeps. The HTTP layer is a :class:`Transport`: :class:`RequestsTransport` by default, any object
with ``post`` otherwise (``peppol_response.testing.inprocess.AsgiTransport`` runs an ASGI app
in-process).
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import random as _random
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from ..errors import (
    ConfigError,
    EnvelopeError,
    PeerError,
    ReceiptError,
    RefusedError,
    RetriesExhaustedError,
    SendError,
    TransportError,
)
from ..identifiers import DocumentTypeId, ParticipantId, ProcessId
from ..sbdh import SBDH_NS, SbdhHeader, header_for, read_sbdh, wrap
from .core import As4Endpoint, Limits, Outbound
from .message import NOT_SERVICED
from .signals import Receipt, TrustChecker

__all__ = [
    "FINAL_STATUSES",
    "Attempt",
    "AttemptOutcome",
    "HttpReply",
    "RequestsTransport",
    "RetryPolicy",
    "SendResult",
    "Sender",
    "Target",
    "Timeouts",
    "Transport",
    "send",
    "tls_client_context",
]

log = logging.getLogger(__name__)

FINAL_STATUSES: Final = frozenset({301, 302, 303, 307, 308, 401, 403, 405, 411, 413, 414, 415, 501, 505})
"""HTTP statuses that no retry of the same request can change (redirects we do not follow, refused
authorisation, a method or size or media type the server does not take), when no AS4 signal came with
them. Every other status without a signal (404/502/503/504 from a proxy, 500 ...) is retried."""

DUPLICATE_CODES: Final = frozenset({"EBMS:4001"})
"""Error codes peers use for "duplicate MessageId" (phase4 4.5+); a description mentioning a duplicate
counts too (older phase4 used EBMS:0004)."""


# ---------------------------------------------------------------------------------------------- policy


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to try. ``attempts`` counts the first try.

    The n-th retry waits ``min(max_delay, first_delay * factor**(n-1))``, reduced by a random fraction of
    at most ``jitter`` (so many senders retrying after one outage spread out). A ``Retry-After`` header
    on a 429/503 lengthens the wait up to ``max_delay``.
    """

    attempts: int = 5
    first_delay: float = 2.0
    factor: float = 2.0
    max_delay: float = 120.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ConfigError(f"RetryPolicy.attempts must be at least 1, not {self.attempts}")
        if self.first_delay < 0 or self.max_delay < 0 or self.factor < 1:
            raise ConfigError("RetryPolicy delays must be >= 0 and factor >= 1")
        if not 0 <= self.jitter <= 1:
            raise ConfigError(f"RetryPolicy.jitter must be within 0..1, not {self.jitter}")

    def delay(self, retry: int, rnd: Callable[[], float] = _random.random) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first retry)."""
        base = min(self.max_delay, self.first_delay * self.factor ** max(0, retry - 1))
        return base * (1.0 - self.jitter * rnd())


@dataclass(frozen=True)
class Timeouts:
    """Seconds to wait for the TCP/TLS connection, and for each read of the reply."""

    connect: float = 10.0
    read: float = 120.0


# ------------------------------------------------------------------------------------------- transport


@dataclass(frozen=True)
class HttpReply:
    """What came back: status, Content-Type, body (capped) and the headers (lower-case names)."""

    status: int
    content_type: str | None
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


class Transport(Protocol):
    """POSTs bytes and returns the reply; raises :class:`~peppol_response.errors.TransportError` (with
    ``retryable``) when no HTTP reply was obtained (timeout, reset, refused, TLS failure)."""

    def post(self, url: str, body: bytes | Iterable[bytes], headers: Mapping[str, str], *,
             timeouts: Timeouts) -> HttpReply: ...


def tls_client_context(ca_bundle: str | None = None) -> ssl.SSLContext:
    """A client TLS context: certificate and host name checks on, TLS 1.2 minimum, system CAs or
    ``ca_bundle`` (a PEM file)."""
    ctx = ssl.create_default_context(cafile=ca_bundle)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


class RequestsTransport:
    """The default :class:`Transport`: ``requests`` with connection pooling, one session per thread.

    ``verify`` is True (system CAs), a CA bundle path (e.g. the test PKI's TLS CA) or False (only for
    plain-HTTP test setups: TLS certificates are then not checked). TLS 1.2 is the minimum. Replies are
    read up to ``max_reply`` bytes (a signal is small; a bigger answer is not one).
    """

    def __init__(self, *, verify: bool | str = True, max_reply: int = 8 * 1024 * 1024,
                 session_factory: Callable[[], Any] | None = None) -> None:
        self.verify = verify
        self.max_reply = max_reply
        self._factory = session_factory
        self._local = threading.local()
        self._sessions: list[Any] = []
        self._lock = threading.Lock()
        self._ctx = tls_client_context(verify if isinstance(verify, str) else None) if verify is not False else None

    def _session(self) -> Any:
        session = getattr(self._local, "session", None)
        if session is None:
            import requests
            from requests.adapters import HTTPAdapter

            ctx = self._ctx

            class _TlsAdapter(HTTPAdapter):
                def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
                    if ctx is not None:
                        kwargs["ssl_context"] = ctx
                    super().init_poolmanager(*args, **kwargs)

            session = self._factory() if self._factory else requests.Session()
            session.mount("https://", _TlsAdapter())
            session.trust_env = False  # no proxy or .netrc surprises; configure a proxy explicitly
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def post(self, url: str, body: bytes | Iterable[bytes], headers: Mapping[str, str], *,
             timeouts: Timeouts) -> HttpReply:
        import requests

        session = self._session()
        try:
            with session.post(url, data=body, headers=dict(headers), timeout=(timeouts.connect, timeouts.read),
                              verify=self.verify, stream=True, allow_redirects=False) as resp:
                data = resp.raw.read(self.max_reply + 1, decode_content=True)
                if len(data) > self.max_reply:
                    raise TransportError(f"the reply from {url} is larger than {self.max_reply} bytes; not a signal",
                                         retryable=True, status=resp.status_code)
                return HttpReply(resp.status_code, resp.headers.get("Content-Type"), data,
                                 {k.lower(): v for k, v in resp.headers.items()})
        except requests.exceptions.SSLError as exc:
            text = str(exc)
            final = "CERTIFICATE_VERIFY_FAILED" in text or "hostname" in text.lower() or "WRONG_VERSION" in text
            raise TransportError(f"TLS with {url} failed: {_short(exc)}", retryable=not final) from None
        except requests.exceptions.Timeout as exc:
            raise TransportError(f"no answer from {url} in time: {_short(exc)}", retryable=True) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise TransportError(f"the connection to {url} failed: {_short(exc)}", retryable=True) from None
        except requests.exceptions.InvalidURL as exc:
            raise TransportError(f"{url!r} is not a usable URL: {_short(exc)}", retryable=False) from None
        except requests.exceptions.RequestException as exc:
            raise TransportError(f"HTTP to {url} failed: {_short(exc)}", retryable=True) from None
        except OSError as exc:  # urllib3 can leak raw socket errors while reading the body
            raise TransportError(f"the connection to {url} failed: {exc}", retryable=True) from None

    def close(self) -> None:
        with self._lock:
            for s in self._sessions:
                s.close()
            self._sessions.clear()
        self._local = threading.local()


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 300 else text[:300] + "…"


# ----------------------------------------------------------------------------------------------- results


class AttemptOutcome(enum.Enum):
    RECEIPTED = "receipted"
    """A verified receipt came back: delivered."""
    RETRYABLE = "retryable"
    """No verdict (timeout, reset, 5xx, HTML, empty): the same bytes are sent again if the budget allows."""
    REFUSED = "refused"
    """The receiving AP refused the message or sent a receipt that does not verify: final."""
    FAILED = "failed"
    """A local failure no retry helps (TLS certificate not verifiable, bad URL): final."""


@dataclass(frozen=True)
class Attempt:
    """One POST of the message and what it got (for the transport history)."""

    number: int
    message_id: str
    url: str
    started_at: dt.datetime
    duration: float
    outcome: AttemptOutcome
    http_status: int | None = None
    error: str | None = None
    error_code: str | None = None
    error_detail: str | None = None
    receipt_message_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "message_id": self.message_id, "url": self.url,
                "started_at": self.started_at.isoformat(), "duration": round(self.duration, 4),
                "outcome": self.outcome.value, "http_status": self.http_status, "error": self.error,
                "error_code": self.error_code, "error_detail": self.error_detail,
                "receipt_message_id": self.receipt_message_id}


@dataclass(frozen=True)
class Target:
    """Where to send: the AS4 URL and the receiving AP's certificate (from the SMP or configured)."""

    url: str
    certificate: x509.Certificate


@dataclass(frozen=True)
class SendResult:
    """A delivered message: the verified receipt and every attempt it took."""

    message_id: str
    receipt: Receipt
    attempts: tuple[Attempt, ...]
    url: str
    sender: ParticipantId | None = None
    receiver: ParticipantId | None = None
    document_type: DocumentTypeId | None = None
    process: ProcessId | None = None
    sbdh_instance_id: str | None = None
    conversation_id: str | None = None

    @property
    def receipt_message_id(self) -> str:
        return self.receipt.message_id

    def to_dict(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id, "receipt_message_id": self.receipt.message_id,
            "receipt_timestamp": self.receipt.timestamp.isoformat() if self.receipt.timestamp else None,
            "url": self.url, "sender": str(self.sender) if self.sender else None,
            "receiver": str(self.receiver) if self.receiver else None,
            "document_type": str(self.document_type) if self.document_type else None,
            "process": str(self.process) if self.process else None,
            "sbdh_instance_id": self.sbdh_instance_id, "conversation_id": self.conversation_id,
            "attempts": [a.to_dict() for a in self.attempts],
        }


# ------------------------------------------------------------------------------------------------ sender


class _Discovery(Protocol):
    def lookup(self, participant: ParticipantId, document_type: DocumentTypeId, process: ProcessId, *,
               transport: str = ...) -> Any: ...


@dataclass(frozen=True)
class _ApIdentity:
    """The core's view of an identity: key, certificate and a seat id that is a string."""

    key: rsa.RSAPrivateKey = field(repr=False)
    certificate: x509.Certificate
    seat_id: str


def as4_identity(identity: Any) -> _ApIdentity:
    """Adapt anything with ``key`` and ``certificate`` (``peppol_response.as4.pki.Identity``) for the core."""
    from .core import seat_of

    seat = getattr(identity, "seat_id", None) or seat_of(identity.certificate)
    if not seat:
        raise ConfigError(f"our certificate {identity.certificate.subject.rfc4514_string()} has no CN to use as "
                          "the seat id")
    return _ApIdentity(identity.key, identity.certificate, str(seat))


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _is_sbd(document: bytes) -> bool:
    head = document[:4096]
    return b"StandardBusinessDocument" in head and SBDH_NS.encode() in head


class Sender:
    """Sends documents to other access points; safe to share between threads (see the module docstring).

    ``identity`` is our AP key + certificate; ``trust`` checks the receiver's certificate before we
    encrypt to it and the receipt's signer. ``discovery`` (``SmpDiscovery`` or ``StaticDirectory``)
    finds endpoints when :meth:`send` gets no explicit ``target``. ``verify`` is for the default
    transport (True, a CA bundle path, or False). ``country_c1`` is the default COUNTRY_C1 of SBDHs we
    write.
    """

    def __init__(
        self,
        identity: Any,
        *,
        trust: TrustChecker,
        discovery: _Discovery | None = None,
        transport: Transport | None = None,
        verify: bool | str = True,
        retry: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
        country_c1: str | None = None,
        limits: Limits | None = None,
        on_attempt: Callable[[Attempt], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], dt.datetime] = _utcnow,
        random: Callable[[], float] = _random.random,
        message_id_domain: str = "peppol-response",
    ) -> None:
        self.core = As4Endpoint(identity=as4_identity(identity), trust=trust, limits=limits or Limits(), clock=clock,
                                message_id_domain=message_id_domain)
        self.discovery = discovery
        self._own_transport = transport is None
        self.transport: Transport = transport or RequestsTransport(verify=verify)
        self.retry = retry or RetryPolicy()
        self.timeouts = timeouts or Timeouts()
        self.country_c1 = country_c1
        self.on_attempt = on_attempt
        self._sleep = sleep
        self._clock = clock
        self._random = random

    def close(self) -> None:
        if self._own_transport and isinstance(self.transport, RequestsTransport):
            self.transport.close()

    def __enter__(self) -> Sender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the steps ---------------------------------------------------------------------------------

    def envelope(self, document: bytes, *, receiver: ParticipantId | str | None = None,
                 country_c1: str | None = None) -> tuple[bytes, SbdhHeader]:
        """The StandardBusinessDocument to send and its header (a ready SBD is read and checked, not rewrapped)."""
        want = ParticipantId.parse(receiver) if isinstance(receiver, str) else receiver
        if _is_sbd(document):
            env = read_sbdh(document)
            env.check()
            header = env.header
            sbd = document
        else:
            c1 = country_c1 or self.country_c1
            if c1 is None:
                raise EnvelopeError("COUNTRY_C1 (the country of the sender, C1) is needed to write the SBDH",
                                    field="COUNTRY_C1")
            header = header_for(document, country_c1=c1, receiver=want)
            sbd = wrap(document, header)
        if want is not None and want != header.receiver:
            raise ConfigError(f"the document is addressed to {header.receiver}, not to {want}")
        return sbd, header

    def resolve(self, header: SbdhHeader) -> Target:
        """The receiver's endpoint through discovery; NotServicedError/DiscoveryError/TrustError otherwise."""
        if self.discovery is None:
            raise ConfigError("no endpoint given and no discovery configured (SMP discovery or a static directory)")
        ep = self.discovery.lookup(header.receiver, header.document_type, header.process)
        return Target(ep.url, ep.certificate)

    def prepare(self, sbd: bytes, header: SbdhHeader, target: Target, *, message_id: str | None = None,
                conversation_id: str | None = None) -> Outbound:
        """Sign, compress and encrypt the SBD for ``target`` (TrustError when its certificate is refused)."""
        return self.core.prepare(
            sbd, recipient_cert=target.certificate, service=header.process.value,
            service_type=header.process.scheme, action=str(header.document_type),
            original_sender=header.sender.value, final_recipient=header.receiver.value,
            message_id=message_id, conversation_id=conversation_id,
        )

    def send(
        self,
        document: bytes,
        *,
        receiver: ParticipantId | str | None = None,
        target: Target | None = None,
        country_c1: str | None = None,
        message_id: str | None = None,
        conversation_id: str | None = None,
        on_attempt: Callable[[Attempt], None] | None = None,
    ) -> SendResult:
        """Send ``document`` (a UBL document, or a ready SBD) and return its verified receipt.

        Raises, before sending: :class:`~peppol_response.errors.EnvelopeError` (the SBDH cannot be
        written), :class:`~peppol_response.errors.NotServicedError` /
        :class:`~peppol_response.errors.DiscoveryError`, :class:`~peppol_response.errors.TrustError`;
        after: :class:`~peppol_response.errors.RefusedError` or
        :class:`~peppol_response.errors.RetriesExhaustedError` (both carry every attempt).
        """
        sbd, header = self.envelope(document, receiver=receiver, country_c1=country_c1)
        tgt = target or self.resolve(header)
        outbound = self.prepare(sbd, header, tgt, message_id=message_id, conversation_id=conversation_id)
        result = self.deliver(outbound, tgt.url, on_attempt=on_attempt)
        return SendResult(result.message_id, result.receipt, result.attempts, result.url, header.sender,
                          header.receiver, header.document_type, header.process, header.instance_identifier,
                          outbound.user_message.conversation_id)

    # -- the retry loop ---------------------------------------------------------------------------------

    def deliver(self, outbound: Outbound, url: str, *,
                on_attempt: Callable[[Attempt], None] | None = None) -> SendResult:
        """POST a prepared message until a verified receipt comes back or the policy says stop.

        Each try sends ``outbound``'s bytes unchanged (same MessageId, same digests). Apps that keep
        ``outbound`` (or its body and headers) can call this again later to resume a failed delivery.
        """
        attempts: list[Attempt] = []
        mid = outbound.message_id
        policy = self.retry
        unknown_before = False  # an earlier attempt may have arrived without us hearing back
        last: BaseException | None = None
        last_status: int | None = None

        def record(a: Attempt) -> None:
            attempts.append(a)
            log.info("as4.send message_id=%s attempt=%d outcome=%s status=%s code=%s url=%s", mid, a.number,
                     a.outcome.value, a.http_status, a.error_code, url)
            for cb in (on_attempt, self.on_attempt):
                if cb is not None:
                    cb(a)

        for number in range(1, policy.attempts + 1):
            started, t0 = self._clock(), time.monotonic()
            retry_after: float | None = None

            def attempt(outcome: AttemptOutcome, *, status: int | None = None, error: str | None = None,
                        code: str | None = None, detail: str | None = None, receipt_id: str | None = None,
                        _n: int = number, _s: dt.datetime = started, _t: float = t0) -> Attempt:
                return Attempt(_n, mid, url, _s, time.monotonic() - _t, outcome, status, error, code, detail,
                               receipt_id)

            try:
                body: bytes | Iterator[bytes] = outbound.body if outbound.body is not None else outbound.iter_body()
                reply = self.transport.post(url, body, outbound.headers, timeouts=self.timeouts)
            except TransportError as exc:
                last, last_status = exc, exc.status
                if not exc.retryable:
                    record(attempt(AttemptOutcome.FAILED, status=exc.status, error=str(exc)))
                    raise SendError(f"sending {mid} to {url} failed: {exc}", retryable=False, message_id=mid,
                                    attempts=tuple(attempts), cause=exc, status=exc.status) from exc
                record(attempt(AttemptOutcome.RETRYABLE, status=exc.status, error=str(exc)))
                unknown_before = True
            else:
                last_status = reply.status
                try:
                    receipt = self.core.check_reply(outbound, reply.content_type, reply.body, status=reply.status)
                except PeerError as exc:
                    last = exc
                    if exc.retryable:  # only warnings came back: no receipt, no refusal
                        record(attempt(AttemptOutcome.RETRYABLE, status=reply.status, error=exc.description,
                                       code=exc.code, detail=exc.error_detail))
                        unknown_before = True
                    else:
                        record(attempt(AttemptOutcome.REFUSED, status=reply.status, error=exc.description,
                                       code=exc.code, detail=exc.error_detail))
                        dup = exc.code in DUPLICATE_CODES or "duplicate" in (
                            f"{exc.description} {exc.error_detail or ''}").lower()
                        what = ("the receiving access point does not serve this participant/document type"
                                if exc.error_detail == NOT_SERVICED else "the receiving access point refused it")
                        raise RefusedError(
                            f"{mid}: {what}: {exc}", message_id=mid, attempts=tuple(attempts), cause=exc,
                            status=reply.status, code=exc.code, short_description=exc.short_description,
                            error_detail=exc.error_detail, probably_delivered=dup and unknown_before) from exc
                except ReceiptError as exc:
                    last = exc
                    if exc.retryable and reply.status not in FINAL_STATUSES:
                        record(attempt(AttemptOutcome.RETRYABLE, status=reply.status, error=exc.description,
                                       code=exc.code))
                        unknown_before = True
                        if reply.status in (429, 503):
                            retry_after = _retry_after(reply.headers.get("retry-after"))
                    else:
                        record(attempt(AttemptOutcome.REFUSED, status=reply.status, error=exc.description,
                                       code=exc.code))
                        code = exc.code if exc.code == "EBMS:0302" else None
                        raise RefusedError(f"{mid}: no valid receipt from {url} (HTTP {reply.status}): "
                                           f"{exc.description}", message_id=mid, attempts=tuple(attempts),
                                           cause=exc, status=reply.status, code=code,
                                           short_description=exc.short_description if code else "") from exc
                else:
                    record(attempt(AttemptOutcome.RECEIPTED, status=reply.status, receipt_id=receipt.message_id))
                    return SendResult(mid, receipt, tuple(attempts), url,
                                      conversation_id=outbound.user_message.conversation_id)
            if number < policy.attempts:
                wait = policy.delay(number, self._random)
                if retry_after is not None:
                    wait = max(wait, min(retry_after, policy.max_delay))
                self._sleep(wait)
        raise RetriesExhaustedError(
            f"{mid}: no receipt from {url} after {policy.attempts} attempt(s); last: {last}", message_id=mid,
            attempts=tuple(attempts), cause=last, status=last_status)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        return None  # an HTTP date: ignore, the backoff applies


def send(
    document: bytes,
    *,
    sender_identity: Any,
    trust: TrustChecker,
    receiver: ParticipantId | str | None = None,
    discovery: _Discovery | None = None,
    target: Target | None = None,
    country_c1: str | None = None,
    **options: Any,
) -> SendResult:
    """One-shot :meth:`Sender.send` (``options`` go to :class:`Sender`: ``transport``, ``verify``, ``retry``,
    ``timeouts``, ``on_attempt``, ``sleep``, ...)."""
    with Sender(sender_identity, trust=trust, discovery=discovery, country_c1=country_c1, **options) as sender:
        return sender.send(document, receiver=receiver, target=target)
