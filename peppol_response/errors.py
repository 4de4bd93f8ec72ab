"""Every exception peppol-response raises, in one tree rooted at :class:`PeppolResponseError`.

Each class also subclasses the standard exception a caller would naturally catch (``ValueError`` for
bad input, ``ConnectionError`` for the network, ``LookupError`` for discovery), so code that does not
know this library still handles it sensibly.

Where it matters *who* broke a rule, the error says so (``origin``): :attr:`Origin.LOCAL` means we
were about to do something the protocol forbids (a bug or bad input on our side, nothing was sent);
:attr:`Origin.REMOTE` means the peer sent something that breaks it (the message is answered or
ignored as the protocol says, never trusted).

::

    PeppolResponseError
    ├── ParseError (ValueError)             bytes that are not the document they claim to be; line + path
    │   └── UnsafeXmlError                  DTDs, entities, size/depth limits: refused before parsing
    ├── CodeError (ValueError)              a code outside its code list; names the list
    ├── BuildError (ValueError)             the builder refuses what the official rules would reject
    ├── ValidationError (ValueError)        a document had to be valid and was not; carries the report
    ├── EnvelopeError (ValueError)          SBDH missing, malformed or inconsistent with its payload
    ├── OrderError                          a status that breaks the BIS order (OP-BR111)
    │   ├── LocalOrderError                 ... we were about to send it
    │   └── RemoteOrderError                ... the peer sent it
    ├── As4Error                            an ebMS error: code (EBMS:0101 ...), severity, category
    │   ├── ReceiptError                    sender side: no valid receipt (EBMS:0301/0302), retryable or not
    │   └── PeerError                       sender side: the peer answered with an ebMS error signal
    ├── TrustError                          a certificate or signature cannot be trusted
    │   ├── CertificateTrustError           one certificate refused (subject, serial, reason); subclasses:
    │   │                                   Untrusted…, CertificateExpired…, …NotYetValid…, …Revoked…,
    │   │                                   RevocationUnknown…, WrongCertificateUsageError
    │   └── SignatureVerificationError      an XML signature that does not verify
    ├── DiscoveryError (LookupError)        SML/SMP lookup failed
    │   ├── NotServicedError                the receiver does not accept this document type/process
    │   └── SmpVerificationError (+TrustError) SMP signature, signer or endpoint certificate refused
    ├── TransportError (ConnectionError)    HTTP/TLS failure; says whether a retry may help
    │   └── SendError                       a message could not be delivered (attempts, MessageId)
    │       ├── RefusedError                ... the receiving AP refused it (ebMS code): final
    │       └── RetriesExhaustedError       ... every retryable attempt failed
    ├── StoreError                          the database or inbox failed
    ├── ConfigError (ValueError)            bad configuration or arguments
    │   └── ScenarioError                   a chain-test scenario that cannot be run as written
    ├── NetworkError (RuntimeError)         the local test network failed to start or to deliver in time
    ├── TransportStateError (ValueError)    a transport state change the tracker's table forbids
    ├── NotFoundError (LookupError)         the tracker has no such invoice or response
    └── WebhookVerificationError (ValueError)  a webhook request that cannot be trusted
        └── WebhookReplayError              ... already received (retry or replay)
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Iterable

__all__ = [
    "As4Error",
    "BuildError",
    "CertificateExpiredError",
    "CertificateNotYetValidError",
    "CertificateRevokedError",
    "CertificateTrustError",
    "CertificateValidityError",
    "CodeError",
    "ConfigError",
    "DiscoveryError",
    "EnvelopeError",
    "IdentifierError",
    "LocalOrderError",
    "NotFoundError",
    "NotServicedError",
    "OrderError",
    "Origin",
    "ParseError",
    "PeerError",
    "PeppolResponseError",
    "ReceiptError",
    "RefusedError",
    "RemoteOrderError",
    "RetriesExhaustedError",
    "RevocationUnknownError",
    "SendError",
    "SignatureVerificationError",
    "SmpVerificationError",
    "StoreError",
    "TransportError",
    "TransportStateError",
    "TrustError",
    "UnsafeXmlError",
    "UntrustedCertificateError",
    "ValidationError",
    "WebhookReplayError",
    "WebhookVerificationError",
    "WrongCertificateUsageError",
]


class Origin(enum.Enum):
    """Who broke the rule: us (about to send) or the peer (we received it)."""

    LOCAL = "local"
    REMOTE = "remote"


class PeppolResponseError(Exception):
    """Root of every error raised by peppol-response."""


class ParseError(PeppolResponseError, ValueError):
    """Input that cannot be read as the expected document.

    ``line`` is the 1-based source line where known; ``path`` is an XPath-like location of the
    element at fault (``/ubl:ApplicationResponse/cac:DocumentResponse/cac:Response``).
    """

    def __init__(self, message: str, *, line: int | None = None, path: str | None = None) -> None:
        self.reason = message
        self.line = line
        self.path = path
        where = []
        if line is not None:
            where.append(f"line {line}")
        if path:
            where.append(path)
        super().__init__(f"{message} ({', '.join(where)})" if where else message)


class UnsafeXmlError(ParseError):
    """XML refused before parsing because it is hostile or too big (DTD, entities, size, depth)."""


class CodeError(PeppolResponseError, ValueError):
    """A code value that is not in its code list. ``code_list`` names the list (``OPStatusReason``)."""

    def __init__(self, code_list: str, value: object, allowed: Iterable[str] | None = None) -> None:
        self.code_list = code_list
        self.value = value
        self.allowed = tuple(allowed) if allowed is not None else None
        hint = f"; allowed: {', '.join(self.allowed)}" if self.allowed and len(self.allowed) <= 20 else ""
        super().__init__(f"{value!r} is not a code of the {code_list} list{hint}")


class BuildError(PeppolResponseError, ValueError):
    """The builder refuses a response the official rules would reject.

    ``rule`` is the official rule id that would fail (``PEPPOL-T111-R001``) where there is one;
    ``field`` names the part of the response at fault.
    """

    def __init__(self, message: str, *, rule: str | None = None, field: str | None = None) -> None:
        self.rule = rule
        self.field = field
        prefix = f"[{rule}] " if rule else ""
        super().__init__(f"{prefix}{message}")


class ValidationError(PeppolResponseError, ValueError):
    """A document that had to be valid was not. ``report`` holds every finding."""

    def __init__(self, message: str, report: Any = None) -> None:
        self.report = report
        super().__init__(message)


class EnvelopeError(PeppolResponseError, ValueError):
    """The SBDH envelope is missing, malformed or disagrees with its payload. ``field`` names it."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


class OrderError(PeppolResponseError):
    """A status that breaks the order of OP-BR111 (R004 final reached, R005 after AP, R012 order).

    ``rule`` is the process rule id, ``current`` the invoice's status before, ``attempted`` the
    status that was refused.
    """

    origin: Origin = Origin.LOCAL

    def __init__(self, message: str, *, rule: str, current: str | None, attempted: str) -> None:
        self.rule = rule
        self.current = current
        self.attempted = attempted
        super().__init__(f"[{rule}] {message}")


class LocalOrderError(OrderError):
    """We were about to send a status the order rules forbid; nothing was sent."""

    origin = Origin.LOCAL


class RemoteOrderError(OrderError):
    """The peer sent a status the order rules forbid; the issuer may ignore it (it is kept, marked)."""

    origin = Origin.REMOTE


class As4Error(PeppolResponseError):
    """An ebMS 3 error as defined by the ebMS/AS4 specifications.

    ``code`` is the ebMS error code (``EBMS:0101``), ``short_description`` its standard name
    (``FailedAuthentication``), ``severity`` ``failure`` or ``warning``, ``category`` (``Content``,
    ``Communication``, ``Processing``, ``UnPackaging``), ``ref_to_message_id`` the message it is about,
    ``origin`` who broke the protocol. ``description`` is a human explanation that is safe to send
    to the peer (no secrets, no stack traces).
    """

    def __init__(
        self,
        code: str,
        description: str,
        *,
        short_description: str = "",
        severity: str = "failure",
        category: str = "",
        ref_to_message_id: str | None = None,
        origin: Origin = Origin.REMOTE,
        error_detail: str | None = None,
    ) -> None:
        self.code = code
        self.description = description
        self.short_description = short_description
        self.severity = severity
        self.category = category
        self.ref_to_message_id = ref_to_message_id
        self.origin = origin
        self.error_detail = error_detail
        name = f" {short_description}" if short_description else ""
        super().__init__(f"{code}{name}: {description}")


class TrustError(PeppolResponseError):
    """A certificate, chain or signature that cannot be trusted (untrusted, expired, revoked, wrong use)."""


class DiscoveryError(PeppolResponseError, LookupError):
    """Finding the receiver's access point failed (SML/DNS, SMP HTTP, SMP signature, no endpoint)."""


class NotServicedError(DiscoveryError):
    """The receiver has not registered this document type and process (PEPPOL:NOT_SERVICED)."""


class TransportError(PeppolResponseError, ConnectionError):
    """Sending over HTTP failed. ``retryable`` says whether resending the same bytes may succeed."""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None) -> None:
        self.retryable = retryable
        self.status = status
        super().__init__(message)


class StoreError(PeppolResponseError):
    """The tracker store or the receiver's inbox failed (database, disk)."""


class ConfigError(PeppolResponseError, ValueError):
    """Bad configuration or arguments."""


# --- identifiers, PKI and discovery (branch pki) ---------------------------------------------------------


class IdentifierError(PeppolResponseError, ValueError):
    """A Peppol participant, document type or process identifier that is malformed.

    ``kind`` names the identifier ("participant identifier"), ``value`` the offending text.
    """

    def __init__(self, kind: str, value: object, problem: str) -> None:
        self.kind = kind
        self.value = value
        self.problem = problem
        super().__init__(f"{kind} {value!r} {problem}")


class CertificateTrustError(TrustError):
    """A certificate was refused. ``subject`` and ``serial`` (hex) name it; ``reason`` says why."""

    def __init__(self, reason: str, *, subject: str | None = None, serial: str | None = None) -> None:
        self.reason = reason
        self.subject = subject
        self.serial = serial
        who = f"certificate {subject!r} (serial {serial})" if subject is not None else "certificate"
        super().__init__(f"{who}: {reason}")


class UntrustedCertificateError(CertificateTrustError):
    """No path from the certificate to a trust anchor of the store (unknown issuer, bad signature, CA rules)."""


class CertificateValidityError(CertificateTrustError):
    """The certificate (or one in its chain) is outside its validity period at the time checked."""


class CertificateExpiredError(CertificateValidityError):
    """The certificate (or one in its chain) expired before the time checked."""


class CertificateNotYetValidError(CertificateValidityError):
    """The certificate (or one in its chain) is not valid yet at the time checked."""


class CertificateRevokedError(CertificateTrustError):
    """The certificate is revoked (CRL or OCSP said so, with a signed answer)."""


class RevocationUnknownError(CertificateTrustError):
    """Revocation could not be checked (CRL/OCSP unreachable, slow, stale or unsigned) under a hard-fail policy."""


class WrongCertificateUsageError(CertificateTrustError):
    """The certificate is not meant for this use (key usage, extended key usage, CA flag, seat id)."""


class SignatureVerificationError(TrustError):
    """An XML signature does not verify (digest or value mismatch, unsupported algorithm, bad structure)."""


class SmpVerificationError(DiscoveryError, TrustError):
    """An SMP answer whose signature or signer cannot be trusted, or whose endpoint certificate is refused."""


# ---------------------------------------------------------------------------------------------------
# AS4 core (peppol_response.as4): errors the sans-I/O core raises on top of As4Error.
# ---------------------------------------------------------------------------------------------------


class ReceiptError(As4Error):
    """The sender found no valid receipt in a reply (raised locally, never sent).

    ``code`` is ``EBMS:0301`` (MissingReceipt: no signal at all, e.g. an HTML page, a bare SOAP Fault or
    junk) or ``EBMS:0302`` (InvalidReceipt: a receipt whose signature, signer, RefToMessageId or
    non-repudiation digests do not check out). ``retryable`` says whether resending the *same* bytes may
    help (a load balancer's 502 page: yes; a receipt signed by the wrong party: no). ``http_status`` is the
    status the caller passed in, ``fault_reason`` the SOAP Fault text when there was one.
    """

    def __init__(
        self,
        code: str,
        description: str,
        *,
        retryable: bool,
        http_status: int | None = None,
        fault_reason: str | None = None,
        ref_to_message_id: str | None = None,
        short_description: str = "",
    ) -> None:
        super().__init__(
            code,
            description,
            short_description=short_description,
            severity="failure",
            category="Communication",
            ref_to_message_id=ref_to_message_id,
            origin=Origin.REMOTE,
        )
        self.retryable = retryable
        self.http_status = http_status
        self.fault_reason = fault_reason


class PeerError(As4Error):
    """The receiving access point answered our message with an ebMS error signal.

    The first error of the signal fills the usual :class:`As4Error` fields; ``signals`` holds the parsed
    signal(s) (``peppol_response.as4.message.ErrorSignal``), ``signed`` whether the signal's signature
    verified and its signer is trusted (an unsigned error can be forged by anyone on the path),
    ``retryable`` is false for failures (final) and true when only warnings came back,
    ``fault_reason`` the SOAP Fault text that came with it, if any. ``origin`` is LOCAL: the peer says
    *our* message broke the protocol.
    """

    def __init__(
        self,
        code: str,
        description: str,
        *,
        signals: tuple[Any, ...],
        signed: bool,
        short_description: str = "",
        severity: str = "failure",
        category: str = "",
        ref_to_message_id: str | None = None,
        error_detail: str | None = None,
        fault_reason: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(
            code,
            description,
            short_description=short_description,
            severity=severity,
            category=category,
            ref_to_message_id=ref_to_message_id,
            origin=Origin.LOCAL,
            error_detail=error_detail,
        )
        self.signals = signals
        self.signed = signed
        self.retryable = severity != "failure"
        self.fault_reason = fault_reason
        self.http_status = http_status


# --------------------------------------------------------------------------------------------------
# Tracker (peppol_response.tracker)
# --------------------------------------------------------------------------------------------------


class TransportStateError(PeppolResponseError, ValueError):
    """A transport state change the transport state machine does not allow (e.g. receipted -> queued).

    Transport state (queued, sent, receipted, failed) is separate from the business status (AB...PD).
    """

    def __init__(self, message: str, *, current: str | None, attempted: str) -> None:
        self.current = current
        self.attempted = attempted
        super().__init__(message)


class NotFoundError(PeppolResponseError, LookupError):
    """The tracker has no invoice or response matching the reference given."""


class WebhookVerificationError(PeppolResponseError, ValueError):
    """A webhook request whose signature, timestamp or headers cannot be trusted; do not process it."""


class WebhookReplayError(WebhookVerificationError):
    """A webhook message id that was already received: a retry or a replay. Answer 2xx, do not process it."""


# --------------------------------------------------------------------------------------------------
# Transport (peppol_response.as4.sender): a message that could not be delivered
# --------------------------------------------------------------------------------------------------


class SendError(TransportError):
    """Sending a message failed for good; nothing more will be tried.

    ``message_id`` is the AS4 MessageId every attempt carried (the same on each retry), ``attempts``
    what each try got (``peppol_response.as4.sender.Attempt``), ``cause`` the last underlying error
    (a :class:`PeerError`, :class:`ReceiptError` or :class:`TransportError`).
    """

    def __init__(self, message: str, *, retryable: bool, message_id: str, attempts: tuple[Any, ...],
                 cause: BaseException | None = None, status: int | None = None) -> None:
        super().__init__(message, retryable=retryable, status=status)
        self.message_id = message_id
        self.attempts = attempts
        self.cause = cause


class RefusedError(SendError):
    """The receiving access point refused the message: resending the same bytes will not help.

    Either it answered with an ebMS error signal of severity *failure* (``code`` is the ebMS code,
    ``error_detail`` e.g. ``PEPPOL:NOT_SERVICED``), or its reply was a receipt that does not verify
    (``code`` EBMS:0302, raised by us), or the HTTP status says the request itself is unacceptable
    (413/414/415 without a signal: ``code`` None). ``probably_delivered`` is True when a peer
    refused a retry as a *duplicate* after an earlier attempt's outcome was unknown: the first one most
    likely arrived — check with the receiver before sending again.
    """

    def __init__(self, message: str, *, message_id: str, attempts: tuple[Any, ...],
                 cause: BaseException | None = None, status: int | None = None, code: str | None = None,
                 short_description: str = "", error_detail: str | None = None,
                 probably_delivered: bool = False) -> None:
        super().__init__(message, retryable=False, message_id=message_id, attempts=attempts, cause=cause,
                         status=status)
        self.code = code
        self.short_description = short_description
        self.error_detail = error_detail
        self.probably_delivered = probably_delivered


class RetriesExhaustedError(SendError):
    """Every attempt failed in a way a retry might have fixed (timeouts, connection resets, HTTP 5xx,
    HTML or empty answers) and the retry budget is spent. The message may or may not have arrived:
    sending it again later *with the same MessageId* is safe (the receiver deduplicates)."""

    def __init__(self, message: str, *, message_id: str, attempts: tuple[Any, ...],
                 cause: BaseException | None = None, status: int | None = None) -> None:
        super().__init__(message, retryable=True, message_id=message_id, attempts=attempts, cause=cause,
                         status=status)


# --------------------------------------------------------------------------------------------------
# Validation layer (peppol_response.validation)
#
#     ConfigError
#     └── RulesError              a rule file (schematron/*.xml) our engine cannot compile
#     RulesEvaluationError        an XPath error inside a rule (always handled by the engine)

__all__ += ["RulesError", "RulesEvaluationError"]


class RulesError(ConfigError):
    """A rule file (``schematron/*.xml``) or an expression in it that our engine cannot compile.

    Raised when the rules are loaded, never while a document is validated.
    """


class RulesEvaluationError(PeppolResponseError):
    """An XPath dynamic or type error while evaluating a rule (XPTY0004, FORG0001, ...).

    The validation engine never lets it escape: an error in a rule context means "no match" and an
    error in an assert makes that assert fail, as with the official Saxon pipeline (which aborts).
    """


# --------------------------------------------------------------------------------------------------
# Chain-test harness (peppol_response.testing.network / .scenario)
#
#     ConfigError
#     └── ScenarioError           a scenario file or step that cannot be run as written
#     NetworkError (RuntimeError) the local network cannot start, or a message was not delivered in time

__all__ += ["NetworkError", "ScenarioError"]


class ScenarioError(ConfigError):
    """A chain-test scenario that cannot be run as written: ``source`` names the file (or "<steps>"),
    ``step`` the step number (1-based; None for the scenario as a whole), ``key`` the offending key."""

    def __init__(self, message: str, *, source: str = "<steps>", step: int | None = None,
                 key: str | None = None) -> None:
        self.source = source
        self.step = step
        self.key = key
        where = source + (f", step {step}" if step is not None else "") + (f", {key!r}" if key else "")
        super().__init__(f"{where}: {message}")


class NetworkError(PeppolResponseError, RuntimeError):
    """The local test network could not start, or a message it carried was not delivered in time."""
