"""The sans-I/O AS4 endpoint: bytes and values in, bytes and values out — no sockets, no files, no clock
unless injected.

::

    ap = As4Endpoint(identity=me, trust=checker)
    out = ap.prepare(payload, recipient_cert=their_cert, service=..., action=...,
                     original_sender="0088:...", final_recipient="0088:...")
    # POST out.body with out.headers ... then:
    receipt = ap.check_reply(out, reply_content_type, reply_body, status=http_status)

    result = ap.receive(request_content_type, request_body)
    if isinstance(result, Delivered): store(result.payload); answer 200 with result.receipt
    else: answer 200 with result.signal  (an ebMS error signal)

Checks on :meth:`As4Endpoint.receive`, in this order (the first failure answers):

1. MIME unpacking and size caps (EBMS:0007), SOAP 1.2 envelope (EBMS:0009),
2. ``eb:Messaging`` structure (EBMS:0009 naming the element; EBMS:0003 for bundling or an unsupported
   CompressionType),
3. WS-Security policy: signed, encrypted, allowed algorithms, BST direct references (EBMS:0103),
4. the signature value; then the signer trusted (chain, validity, revocation via the trust checker) and
   its CN equal to ``eb:From``; then every same-document reference, with Messaging, Body and each
   attachment covered and no duplicate ids (EBMS:0101),
5. MIME parts ↔ ``eb:PartInfo`` (EBMS:0007: missing or extra attachment),
6. the content key is for our certificate and unwraps (EBMS:0102); decrypt, attachment digest, gunzip
   under the payload cap (EBMS:0102 / 0101 / 0303),
7. the Peppol AS4 profile on the now-authenticated header (EBMS:0009 / 0004).

Only then is a receipt signed. A ping (ebMS test service/action) is receipted with ``deliver=False``.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Final, Literal

from cryptography import x509
from cryptography.x509.oid import NameOID

from ..errors import As4Error, IdentifierError, Origin, ReceiptError, TrustError
from ..identifiers import DocumentTypeId, ParticipantId, ProcessId
from .message import (
    NOT_SERVICED,
    PROCESS_SCHEME,
    SEAT_ID,
    TEST_ACTION,
    TEST_SERVICE,
    ErrorCode,
    Messaging,
    ReferenceDigest,
    UserMessage,
    body_xml,
    check_peppol_user_message,
    ebms_error,
    envelope_xml,
    parse_envelope,
    read_messaging,
    user_message_xml,
)
from .mime import MimeLimits, iter_multipart, multipart_content_type, new_boundary, parse_multipart
from .security import (
    C14N_EXC,
    SHA256,
    SWA_CONTENT_SIGNATURE,
    EncryptedPart,
    Identity,
    SecurityPolicy,
    compress,
    encrypt,
    encrypt_stream,
    gzip_chunks,
    inspect,
    open_attachment,
    security_header_xml,
    sign_signed_info,
    signed_info_xml,
    unwrap,
    verify_signature,
    wrap_key,
)
from .signals import SOAP_CONTENT_TYPE, Receipt, TrustChecker, build_error_signal, build_receipt, verify_receipt

__all__ = [
    "As4Endpoint",
    "Delivered",
    "Evidence",
    "Inbound",
    "Limits",
    "Outbound",
    "PayloadSource",
    "Rejected",
    "not_serviced",
    "seat_of",
]

PayloadSource = Callable[[], Iterable[bytes]]
"""A payload too big to hold: a function returning the payload's chunks, callable more than once."""

_ATTACHMENT_TYPE: Final = "application/octet-stream"


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _uuid() -> str:
    """A random (version 4) UUID string; ``str(uuid.uuid4())`` costs several times more and a message
    needs about ten of them."""
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@dataclass(frozen=True)
class Limits:
    """Caps on what a peer can make us hold or compute (bytes)."""

    max_message: int = 128 * 1024 * 1024
    max_soap: int = 4 * 1024 * 1024
    max_payload: int = 256 * 1024 * 1024
    max_parts: int = 8


@dataclass(frozen=True)
class Outbound:
    """A prepared UserMessage: POST ``body`` (or stream :meth:`iter_body`) with ``headers``; keep this
    object to verify the reply with :meth:`As4Endpoint.check_reply`. Retries resend the same ``body``.

    ``sent_references`` are the digests we signed (Messaging, Body, attachment): the receipt's
    non-repudiation information must repeat them.
    """

    message_id: str
    user_message: UserMessage
    headers: Mapping[str, str]
    body: bytes | None
    sent_references: tuple[ReferenceDigest, ...]
    recipient_certificate: x509.Certificate
    envelope: bytes
    _stream: Callable[[], Iterator[bytes]] | None = field(default=None, repr=False, compare=False)

    @property
    def content_type(self) -> str:
        return self.headers["Content-Type"]

    def iter_body(self) -> Iterator[bytes]:
        """The body in chunks; for a streamed payload each call re-reads the source (fresh content key)."""
        if self.body is not None:
            yield self.body
        else:
            assert self._stream is not None
            yield from self._stream()


@dataclass(frozen=True)
class Evidence:
    """What a receiver keeps as proof of what it received and answered."""

    envelope: bytes
    references: tuple[ReferenceDigest, ...]
    signer: x509.Certificate
    received_at: datetime
    receipt_message_id: str
    receipt_timestamp: datetime


@dataclass(frozen=True)
class Delivered:
    """A message that passed every check. Answer with ``receipt`` (HTTP 200, ``receipt_content_type``);
    hand ``payload`` on only when ``deliver`` (a ping is receipted but not delivered)."""

    user_message: UserMessage
    payload: bytes
    signer: x509.Certificate
    receipt: bytes
    evidence: Evidence
    deliver: bool
    receipt_content_type: str = SOAP_CONTENT_TYPE

    @property
    def message_id(self) -> str:
        return self.user_message.message_id


@dataclass(frozen=True)
class Rejected:
    """A message refused with ``error``; answer with ``signal`` (an ebMS error signal, HTTP ``http_status``).

    ``error.origin`` is REMOTE: the peer broke the protocol. ``message_id`` is the refused message's id
    when it could be read.
    """

    error: As4Error
    signal: bytes
    message_id: str | None
    user_message: UserMessage | None = None
    content_type: str = SOAP_CONTENT_TYPE
    http_status: int = 200


def seat_of(cert: x509.Certificate) -> str | None:
    """The CN of a certificate's subject (an AP certificate's seat id)."""
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(cns[0].value) if cns else None


@dataclass(frozen=True)
class As4Endpoint:
    """One access point's AS4 message core. Stateless; safe to share between threads.

    ``clock`` and ``new_id`` are injectable for tests and reproducible output. ``validity_at`` chooses the
    time at which received certificates must be valid: ``"now"`` (default) or ``"signing"`` (the message's
    own timestamp). ``"signing"`` is for replaying stored messages and third-party test vectors only: the
    timestamp is the sender's claim, so on a live endpoint it would let an expired key backdate messages.
    """

    identity: Identity
    trust: TrustChecker
    limits: Limits = field(default_factory=Limits)
    policy: SecurityPolicy = field(default_factory=SecurityPolicy)
    clock: Callable[[], datetime] = _utcnow
    new_id: Callable[[], str] = _uuid
    message_id_domain: str = "peppol-response"
    validity_at: Literal["now", "signing"] = "now"
    sign_errors: bool = True

    # ------------------------------------------------------------------------------------------ sending

    def prepare(
        self,
        payload: bytes | PayloadSource,
        *,
        recipient_cert: x509.Certificate,
        service: str,
        action: str,
        original_sender: str | None,
        final_recipient: str | None,
        to_seat: str | None = None,
        conversation_id: str | None = None,
        message_id: str | None = None,
        service_type: str | None = PROCESS_SCHEME,
        mime_type: str = "application/xml",
    ) -> Outbound:
        """Compress, sign and encrypt ``payload`` for ``recipient_cert`` (the C3 certificate from the SMP).

        Raises :class:`As4Error` with origin LOCAL for values the profile forbids, and
        :class:`~peppol_response.errors.TrustError` when the recipient certificate is not trusted.
        """
        me = self.identity
        our_seat = me.seat_id or ""
        to_seat = to_seat or seat_of(recipient_cert) or ""
        for what, seat in (("our", our_seat), ("the recipient's", to_seat)):
            if not SEAT_ID.fullmatch(seat):
                raise ebms_error(ErrorCode.INVALID_HEADER, f"{what} seat id {seat!r} is not P + 2 letters + 6 digits",
                                 origin=Origin.LOCAL)
        self.trust.check(recipient_cert)
        new_id = self.new_id
        message_id = message_id or f"{new_id()}@{self.message_id_domain}"
        if "<" in message_id or "@" not in message_id:
            raise ebms_error(ErrorCode.INVALID_HEADER, f"message id {message_id!r} must be left@right without <>",
                             origin=Origin.LOCAL)
        content_id = f"att-{new_id()}@{self.message_id_domain}"
        um = UserMessage.peppol(
            message_id=message_id, timestamp=self.clock(), from_seat=our_seat, to_seat=to_seat,
            service=service, service_type=service_type, action=action,
            conversation_id=conversation_id or new_id(), original_sender=original_sender,
            final_recipient=final_recipient, content_id=content_id, mime_type=mime_type,
        )
        if not um.is_ping:
            try:
                DocumentTypeId.parse(action)
                ProcessId.of(service, scheme=service_type or PROCESS_SCHEME)
                for pid in (original_sender, final_recipient):
                    ParticipantId.of(pid or "")
            except IdentifierError as exc:
                raise ebms_error(ErrorCode.INVALID_HEADER, str(exc), origin=Origin.LOCAL) from exc
            check_peppol_user_message(Messaging(user_messages=(um,), must_understand=True))
        messaging_id, body_id = f"msg-{new_id()}", f"body-{new_id()}"
        messaging = user_message_xml(um, messaging_id)
        body = body_xml(body_id)
        if isinstance(payload, (bytes, bytearray, memoryview)):
            compressed = compress(bytes(payload))
            gz: bytes | None = compressed
            att_digest = hashlib.sha256(compressed).digest()
        else:
            gz = None
            h = hashlib.sha256()
            for chunk in gzip_chunks(payload()):
                h.update(chunk)
            att_digest = h.digest()
        refs = (
            ReferenceDigest(f"#{messaging_id}", SHA256, hashlib.sha256(messaging).digest(), (C14N_EXC,)),
            ReferenceDigest(f"#{body_id}", SHA256, hashlib.sha256(body).digest(), (C14N_EXC,)),
            ReferenceDigest(f"cid:{content_id}", SHA256, att_digest, (SWA_CONTENT_SIGNATURE,)),
        )
        si = signed_info_xml((r.uri, r.transforms[0], r.digest_value) for r in refs)
        signature = sign_signed_info(me.key, si)
        root_id = f"root-{new_id()}@{self.message_id_domain}"

        def envelope_with_key() -> tuple[bytes, bytes]:
            key = _random_key()
            sec = security_header_xml(
                signer=me.certificate, signed_info=si, signature_value=signature, new_id=new_id,
                encrypted=EncryptedPart(content_id, wrap_key(recipient_cert, key), recipient_cert),
            )
            return key, envelope_xml(security=sec, messaging=messaging, body=body)

        key, envelope = envelope_with_key()
        boundary = new_boundary()
        headers = MappingProxyType({
            "Content-Type": multipart_content_type(boundary, root_id),
            "MIME-Version": "1.0",
        })
        if gz is not None:
            data = encrypt(key, gz)
            while f"--{boundary}".encode() in data:  # 128 random bits: practically never
                boundary = new_boundary()
                headers = MappingProxyType({"Content-Type": multipart_content_type(boundary, root_id),
                                            "MIME-Version": "1.0"})
            body_bytes: bytes | None = b"".join(
                iter_multipart(envelope, [(content_id, _ATTACHMENT_TYPE, (data,))], boundary=boundary, root_id=root_id))
            stream = None
        else:
            body_bytes = None
            source = payload
            assert callable(source)
            first = [True]

            def stream() -> Iterator[bytes]:
                k, env = (key, envelope) if first[0] else envelope_with_key()
                first[0] = False
                h2 = hashlib.sha256()

                def counted() -> Iterator[bytes]:
                    for chunk in gzip_chunks(source()):
                        h2.update(chunk)
                        yield chunk

                yield from iter_multipart(env, [(content_id, _ATTACHMENT_TYPE, encrypt_stream(k, counted()))],
                                          boundary=boundary, root_id=root_id)
                if h2.digest() != att_digest:
                    raise ebms_error(ErrorCode.OTHER, "the payload source gave different bytes on the second read",
                                     origin=Origin.LOCAL)

        return Outbound(message_id, um, headers, body_bytes, refs, recipient_cert, envelope, stream)

    def ping(self, recipient_cert: x509.Certificate, *, to_seat: str | None = None) -> Outbound:
        """A ping (ebMS test service and action): the receiver answers with a receipt and delivers nothing."""
        return self.prepare(b"<ping/>", recipient_cert=recipient_cert, service=TEST_SERVICE, action=TEST_ACTION,
                            service_type=None, original_sender=None, final_recipient=None, to_seat=to_seat)

    def check_reply(self, outbound: Outbound, content_type: str | None, body: bytes | None, *,
                    status: int | None = None) -> Receipt:
        """Judge the HTTP reply to ``outbound``: a verified :class:`~peppol_response.as4.signals.Receipt`, or
        :class:`~peppol_response.errors.PeerError` (the peer sent an error signal) or
        :class:`~peppol_response.errors.ReceiptError` (EBMS:0301 no signal: HTML, junk, bare Fault —
        retryable; EBMS:0302 a receipt that does not verify)."""
        ref = outbound.message_id
        if not body or not body.strip():
            raise ReceiptError("EBMS:0301", f"the reply (HTTP {status}) is empty", short_description="MissingReceipt",
                               retryable=True, http_status=status, ref_to_message_id=ref)
        try:
            mp = parse_multipart(content_type, body, MimeLimits(max_message=self.limits.max_soap * 2,
                                                                max_root=self.limits.max_soap))
            raw = bytes(mp.root.content)
            env = parse_envelope(raw, max_bytes=self.limits.max_soap)
        except As4Error as exc:
            kind = (content_type or "no content type").split(";")[0]
            raise ReceiptError("EBMS:0301", f"the reply (HTTP {status}, {kind}) is not an AS4 signal: "
                               f"{exc.description}", short_description="MissingReceipt", retryable=True,
                               http_status=status, ref_to_message_id=ref) from None
        return verify_receipt(
            env, raw, message_id=ref, sent_references=outbound.sent_references, trust=self.trust,
            policy=self.policy, expected_signer=outbound.recipient_certificate, at=None,
            use_signing_time=self.validity_at == "signing", status=status,
        )

    # ---------------------------------------------------------------------------------------- receiving

    def receive(self, content_type: str | None, body: bytes, *,
                receipt_timestamp: datetime | None = None) -> Delivered | Rejected:
        """Check an inbound AS4 request (see the module docstring for the order) and say how to answer.

        Pass the ``receipt_timestamp`` of an earlier answer to reproduce that receipt byte for byte.
        """
        received_at = self.clock()
        state: dict[str, UserMessage] = {}
        try:
            return self._receive(content_type, body, received_at, receipt_timestamp, state)
        except As4Error as exc:
            um = state.get("um")
            ref = um.message_id if um is not None else exc.ref_to_message_id
            if exc.ref_to_message_id is None and ref is not None:
                exc.ref_to_message_id = ref
            _, signal = build_error_signal(
                self.identity if self.sign_errors else None, exc, timestamp=received_at,
                message_id_domain=self.message_id_domain, ref_to_message_id=ref, new_id=self.new_id,
            )
            return Rejected(exc, signal, ref, um)

    def refuse(self, inbound: Delivered | UserMessage, error: As4Error) -> Rejected:
        """Turn a message that passed :meth:`receive` into a refusal decided later by the receiver service
        (SBDH inconsistent with the header, participant not served, ...): a signed error signal to send
        *instead of* the receipt. See :func:`not_serviced` for the Peppol NOT_SERVICED error."""
        um = inbound.user_message if isinstance(inbound, Delivered) else inbound
        if error.ref_to_message_id is None:
            error.ref_to_message_id = um.message_id
        _, signal = build_error_signal(
            self.identity if self.sign_errors else None, error, timestamp=self.clock(),
            message_id_domain=self.message_id_domain, ref_to_message_id=um.message_id, new_id=self.new_id,
        )
        return Rejected(error, signal, um.message_id, um)

    def _receive(self, content_type: str | None, body: bytes, received_at: datetime,
                 receipt_timestamp: datetime | None, state: dict[str, UserMessage]) -> Delivered:
        lim = self.limits
        mp = parse_multipart(content_type, body, _mime_limits(lim))
        raw = bytes(mp.root.content)
        env = parse_envelope(raw, max_bytes=lim.max_soap)
        if env.messaging is None:
            raise ebms_error(ErrorCode.INVALID_HEADER, "the message has no eb:Messaging header")
        messaging = read_messaging(env.messaging)
        if not messaging.user_messages:
            raise ebms_error(ErrorCode.INVALID_HEADER,
                             "expected a UserMessage; signals are answered synchronously in Peppol, not pushed")
        um = messaging.user_message
        state["um"] = um
        header = inspect(env, self.policy)
        cids = [p.content_id for p in um.parts if p.content_id]
        at = um.timestamp if self.validity_at == "signing" else None

        def check_signer(signer: x509.Certificate) -> None:
            try:
                self.trust.check(signer, at=at)
            except TrustError as exc:
                raise ebms_error(ErrorCode.FAILED_AUTHENTICATION, f"the signing certificate is not trusted: {exc}"
                                 ) from None
            if self.policy.signer_must_match_from:
                cn = seat_of(signer)
                if cn != um.from_party.party_id:
                    raise ebms_error(ErrorCode.FAILED_AUTHENTICATION,
                                     f"the message is signed by {cn!r} but eb:From says {um.from_party.party_id!r}")

        verified = verify_signature(header, targets=(env.messaging, env.body), content_ids=cids,
                                    signer_check=check_signer)
        for cid in cids:
            if mp.attachment(cid) is None:
                raise ebms_error(ErrorCode.MIME_INCONSISTENCY, f"eb:PartInfo cid:{cid} has no MIME part")
        for att in mp.attachments:
            if att.content_id not in cids:
                raise ebms_error(ErrorCode.MIME_INCONSISTENCY,
                                 f"the MIME part <{att.content_id}> is not described by any eb:PartInfo")
        payloads: list[bytes] = []
        for part in um.parts:
            part_id = part.content_id
            part_att = mp.attachment(part_id) if part_id else None
            if part_id is None or part_att is None:
                continue  # not a cid: part; the profile check below refuses it
            enc = header.encrypted(part_id)
            if enc is None and self.policy.require_encryption:
                raise ebms_error(ErrorCode.POLICY_NONCOMPLIANCE, f"the attachment cid:{part_id} is not encrypted")
            key = unwrap(enc[0], enc[1], self.identity) if enc is not None else None
            opened = open_attachment(part_att.content, key=key, digest=verified.attachment_digests[part_id],
                                     compressed=part.compression_type is not None,
                                     max_payload=lim.max_payload - sum(len(p) for p in payloads))
            payloads.append(opened.payload)
        check_peppol_user_message(messaging, our_seat=self.identity.seat_id)
        ts = receipt_timestamp or self.clock()
        receipt_id, receipt = build_receipt(self.identity, ref_to_message_id=um.message_id,
                                            references=verified.reference_xml, timestamp=ts,
                                            message_id_domain=self.message_id_domain)
        evidence = Evidence(raw, verified.references, verified.signer, received_at, receipt_id, ts)
        return Delivered(um, payloads[0] if payloads else b"", verified.signer, receipt, evidence,
                         deliver=not um.is_ping)


Inbound = Delivered | Rejected
"""What :meth:`As4Endpoint.receive` returns."""


def not_serviced(description: str, *, ref_to_message_id: str | None = None) -> As4Error:
    """EBMS:0004 with ErrorDetail ``PEPPOL:NOT_SERVICED``: the receiver does not serve this participant,
    document type or process (Peppol AS4 profile). Pass it to :meth:`As4Endpoint.refuse`."""
    return ebms_error(ErrorCode.OTHER, description, ref_to_message_id=ref_to_message_id, detail=NOT_SERVICED)


@functools.lru_cache(maxsize=8)
def _mime_limits(lim: Limits) -> MimeLimits:
    return MimeLimits(max_message=lim.max_message, max_root=lim.max_soap, max_parts=lim.max_parts)


def _random_key() -> bytes:
    return os.urandom(16)
