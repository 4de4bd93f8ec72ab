"""Signals: signed receipts and error signals out, receipt verification by the sender in.

A receipt's non-repudiation information is the received SignedInfo's ``ds:Reference`` elements,
copied byte for byte (their exclusive-canonical form); the receipt's own signature covers only its
``eb:Messaging`` and ``S12:Body`` — never the original attachment (phase4 issue #17).

Receipts can be reproduced: the ids inside are derived from a seed (the received message id and its
reference digests), so the same received message and the same receipt timestamp give identical bytes —
what a receiver answering a duplicate with the original receipt needs.

:func:`verify_receipt` is the sender's proof of delivery: a signal that is a receipt, signed (policy as for
messages), by a trusted signer (and the expected receiver certificate when given), for our MessageId,
whose NRI digests equal what we signed. Anything else raises
:class:`~peppol_response.errors.ReceiptError` (EBMS:0302, raised locally) or
:class:`~peppol_response.errors.PeerError` when the peer answered with an error signal.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ..errors import As4Error, PeerError, ReceiptError, TrustError
from .message import (
    EbmsError,
    ErrorSignal,
    ReceiptSignal,
    ReferenceDigest,
    Severity,
    SoapEnvelope,
    body_xml,
    envelope_xml,
    error_signal_xml,
    read_messaging,
    receipt_xml,
)
from .security import (
    C14N_EXC,
    Identity,
    SecurityPolicy,
    inspect,
    security_header_xml,
    sign_signed_info,
    signed_info_xml,
    verify_signature,
)

__all__ = [
    "SOAP_CONTENT_TYPE",
    "Receipt",
    "TrustChecker",
    "build_error_signal",
    "build_receipt",
    "seeded_ids",
    "verify_receipt",
]

SOAP_CONTENT_TYPE: Final = "application/soap+xml; charset=UTF-8"


class TrustChecker(Protocol):
    """Decides whether a certificate is a trusted Peppol AP certificate (``peppol_response.as4.pki``).

    Raises :class:`~peppol_response.errors.TrustError` when untrusted, expired or revoked.
    """

    def check(self, cert: x509.Certificate, *, at: datetime | None = None) -> object: ...


def seeded_ids(seed: str) -> Callable[[], str]:
    """Deterministic UUID-shaped ids from ``seed`` and a counter: reproducible signal ids."""
    base = hashlib.sha256(f"urn:peppol-response:as4:{seed}".encode()).digest()
    counter = iter(range(1 << 30))

    def next_id() -> str:
        h = hashlib.sha256(base + next(counter).to_bytes(4, "big")).hexdigest()
        return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{h[16:20]}-{h[20:32]}"

    return next_id


def _signed_envelope(identity: Identity | None, messaging: bytes, messaging_id: str, body_id: str,
                     new_id: Callable[[], str]) -> bytes:
    body = body_xml(body_id)
    if identity is None:
        security = b""
    else:
        si = signed_info_xml([
            (f"#{messaging_id}", C14N_EXC, hashlib.sha256(messaging).digest()),
            (f"#{body_id}", C14N_EXC, hashlib.sha256(body).digest()),
        ])
        security = security_header_xml(
            signer=identity.certificate, signed_info=si, signature_value=sign_signed_info(identity.key, si),
            new_id=new_id,
        )
    return envelope_xml(security=security, messaging=messaging, body=body)


def build_receipt(
    identity: Identity,
    *,
    ref_to_message_id: str,
    references: Iterable[bytes],
    timestamp: datetime,
    message_id_domain: str,
) -> tuple[str, bytes]:
    """A signed NRR receipt for ``ref_to_message_id``; returns ``(receipt message id, envelope bytes)``.

    ``references`` are the exclusive-canonical ``ds:Reference`` elements of the received SignedInfo.
    Same inputs, same bytes (the ids are seeded from the received message id and references).
    """
    refs = tuple(references)
    seed = hashlib.sha256(ref_to_message_id.encode() + b"\x00" + b"\x00".join(refs)).hexdigest()
    new_id = seeded_ids(seed)
    message_id = f"{new_id()}@{message_id_domain}"
    messaging_id, body_id = f"msg-{new_id()}", f"body-{new_id()}"
    messaging = receipt_xml(messaging_id=messaging_id, message_id=message_id, timestamp=timestamp,
                            ref_to_message_id=ref_to_message_id, references=refs)
    return message_id, _signed_envelope(identity, messaging, messaging_id, body_id, new_id)


def build_error_signal(
    identity: Identity | None,
    error: As4Error,
    *,
    timestamp: datetime,
    message_id_domain: str,
    ref_to_message_id: str | None = None,
    new_id: Callable[[], str] | None = None,
) -> tuple[str, bytes]:
    """An error signal for ``error`` (signed when ``identity`` is given); returns ``(message id, bytes)``."""
    new_id = new_id or (lambda: str(uuid.uuid4()))
    ref = ref_to_message_id or error.ref_to_message_id
    message_id = f"{new_id()}@{message_id_domain}"
    messaging_id, body_id = f"msg-{new_id()}", f"body-{new_id()}"
    entry = EbmsError(
        code=error.code,
        severity=Severity.parse(error.severity),
        short_description=error.short_description or None,
        category=error.category or None,
        origin="ebMS",
        ref_to_message_in_error=ref,
        description=error.description,
        detail=error.error_detail,
    )
    messaging = error_signal_xml(messaging_id=messaging_id, message_id=message_id, timestamp=timestamp,
                                 ref_to_message_id=ref, errors=[entry])
    return message_id, _signed_envelope(identity, messaging, messaging_id, body_id, new_id)


@dataclass(frozen=True)
class Receipt:
    """A verified receipt: proof that the receiving AP took our message.

    ``signal`` is the parsed receipt, ``signer`` the receiver's certificate, ``references`` the NRI as
    received (equal to what we sent), ``raw`` the SOAP envelope bytes to keep as evidence.
    """

    signal: ReceiptSignal
    signer: x509.Certificate
    raw: bytes

    @property
    def message_id(self) -> str:
        return self.signal.message_id

    @property
    def ref_to_message_id(self) -> str | None:
        return self.signal.ref_to_message_id

    @property
    def timestamp(self) -> datetime | None:
        return self.signal.timestamp

    @property
    def references(self) -> tuple[ReferenceDigest, ...]:
        return self.signal.references


def _invalid(msg: str, *, ref: str | None, status: int | None) -> ReceiptError:
    return ReceiptError("EBMS:0302", msg, short_description="InvalidReceipt", retryable=False,
                        http_status=status, ref_to_message_id=ref)


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def peer_error(signals: tuple[ErrorSignal, ...], *, signed: bool, fault_reason: str | None,
               status: int | None) -> PeerError:
    """A :class:`PeerError` summarising the peer's error signal(s) (first failure first)."""
    entries = [e for s in signals for e in s.errors]
    entries.sort(key=lambda e: e.severity is not Severity.FAILURE)
    first = entries[0]
    text = "; ".join(
        f"{e.code} {e.short_description or ''}: {e.description or e.detail or 'no description'}".replace(" :", ":")
        for e in entries
    )
    return PeerError(
        first.code, f"the receiving access point answered with an error signal: {text}",
        signals=signals, signed=signed, short_description=first.short_description or "",
        severity=first.severity.value, category=first.category or "", ref_to_message_id=signals[0].refers_to,
        error_detail=first.detail, fault_reason=fault_reason, http_status=status,
    )


def _iter_missing(sent: Iterable[ReferenceDigest], got: tuple[ReferenceDigest, ...]) -> Iterator[str]:
    by_uri = {r.uri: r for r in got}
    for ref in sent:
        other = by_uri.get(ref.uri)
        if other is None:
            yield f"{ref.uri} is missing from the receipt's non-repudiation information"
        elif other.digest_method != ref.digest_method or other.digest_value != ref.digest_value:
            yield f"the receipt's digest for {ref.uri} differs from the one we signed"


def verify_receipt(
    env: SoapEnvelope,
    raw: bytes,
    *,
    message_id: str,
    sent_references: tuple[ReferenceDigest, ...] | None,
    trust: TrustChecker,
    policy: SecurityPolicy,
    expected_signer: x509.Certificate | None = None,
    at: datetime | None = None,
    use_signing_time: bool = False,
    status: int | None = None,
) -> Receipt:
    """Check a reply envelope as proof of delivery of ``message_id`` (see the module docstring).

    ``sent_references`` None skips the NRI comparison (only for reading third-party receipts whose
    original message we do not have). ``use_signing_time`` evaluates certificate validity at the
    receipt's timestamp instead of ``at``/now.
    """
    if env.messaging is None:
        raise ReceiptError("EBMS:0301", "the reply has no eb:Messaging header" +
                           (f" (SOAP Fault: {env.fault_reason})" if env.fault_reason else ""),
                           short_description="MissingReceipt",
                           retryable=(env.fault_code or "").rpartition(":")[2] != "Sender",
                           http_status=status, fault_reason=env.fault_reason, ref_to_message_id=message_id)
    try:
        messaging = read_messaging(env.messaging)
    except As4Error as exc:
        raise _invalid(f"the reply's eb:Messaging is malformed: {exc}", ref=message_id, status=status) from None
    if messaging.errors:
        signed = False
        if env.security:
            try:
                header = inspect(env, policy, require_encryption=False)
                checked = verify_signature(header, targets=[env.messaging, env.body], content_ids=())
                trust.check(checked.signer, at=messaging.errors[0].timestamp if use_signing_time else at)
                signed = True
            except (As4Error, TrustError):
                signed = False
        raise peer_error(messaging.errors, signed=signed, fault_reason=env.fault_reason, status=status)
    if len(messaging.receipts) != 1 or messaging.user_messages:
        raise _invalid("the reply must carry exactly one Receipt signal and nothing else", ref=message_id,
                       status=status)
    signal = messaging.receipts[0]
    if signal.ref_to_message_id != message_id:
        raise _invalid(f"the receipt is for message {signal.ref_to_message_id!r}, not {message_id!r}",
                       ref=message_id, status=status)
    when = signal.timestamp if use_signing_time else at

    def check_signer(signer: x509.Certificate) -> None:
        try:
            trust.check(signer, at=when)
        except TrustError as exc:
            raise _invalid(f"the receipt's signer is not trusted: {exc}", ref=message_id, status=status) from None

    try:
        header = inspect(env, policy, require_encryption=False)
        verified = verify_signature(header, targets=[env.messaging, env.body], content_ids=(),
                                    signer_check=check_signer)
    except ReceiptError:
        raise
    except As4Error as exc:
        raise _invalid(f"the receipt's signature does not hold: {exc.description}", ref=message_id,
                       status=status) from None
    if verified.attachment_digests:
        raise _invalid("the receipt's signature references attachments the receipt does not carry",
                       ref=message_id, status=status)
    if expected_signer is not None and _der(expected_signer) != _der(verified.signer):
        raise _invalid(f"the receipt is signed by {verified.signer.subject.rfc4514_string()}, not by the "
                       "receiver's certificate we encrypted for", ref=message_id, status=status)
    if not signal.non_repudiation:
        raise _invalid("the receipt carries no NonRepudiationInformation", ref=message_id, status=status)
    if sent_references is not None:
        problems = list(_iter_missing(sent_references, signal.references))
        if problems:
            raise _invalid("; ".join(problems), ref=message_id, status=status)
    return Receipt(signal, verified.signer, raw)
