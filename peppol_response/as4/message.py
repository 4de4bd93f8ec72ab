"""ebMS 3 messages as the Peppol AS4 profile uses them: values in, canonical XML out, and back.

Three kinds of ``eb:Messaging`` header exist on a Peppol wire: a UserMessage (the business document's
envelope), a Receipt signal (non-repudiation of receipt) and an Error signal. This module

* models them as frozen dataclasses (:class:`UserMessage`, :class:`ReceiptSignal`, :class:`ErrorSignal`),
* writes them (:func:`user_message_xml`, :func:`receipt_xml`, :func:`error_signal_xml`) directly in
  *exclusive-canonical* form, so the bytes we put on the wire are the bytes we digest — there is no
  serialise-then-canonicalise step that could differ between us and the verifier,
* reads them tolerantly (:func:`parse_envelope`, :func:`read_messaging`): comments, whitespace around values,
  any namespace prefix (attributes such as ``S12:mustUnderstand`` are matched by namespace URI), 7 or 9
  fractional digits in timestamps, unknown message properties and extra children of ``eb:Receipt``,
* and checks a UserMessage against the Peppol AS4 profile separately (:func:`check_peppol_user_message`),
  because a header that *parses* is not necessarily one the profile allows, and the receiver wants to
  authenticate a message before judging its content.

Every malformed header raises :class:`~peppol_response.errors.As4Error` with ``EBMS:0009`` (InvalidHeader)
naming the element; bundling (two UserMessages) and unsupported compression raise ``EBMS:0003``.
"""

from __future__ import annotations

import base64
import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Final

from lxml import etree

from ..errors import As4Error, Origin, ParseError
from ..xmlsafe import parse_xml

__all__ = [
    "AGREEMENT_PEPPOL",
    "GZIP",
    "NOT_SERVICED",
    "NS",
    "PARTICIPANT_SCHEME",
    "PARTY_TYPE_AP",
    "PROCESS_SCHEME",
    "ROLE_INITIATOR",
    "ROLE_RESPONDER",
    "SEAT_ID",
    "TEST_ACTION",
    "TEST_SERVICE",
    "Category",
    "EbmsError",
    "ErrorCode",
    "ErrorSignal",
    "Messaging",
    "PartInfo",
    "Party",
    "Property",
    "ReceiptSignal",
    "ReferenceDigest",
    "Severity",
    "SoapEnvelope",
    "UserMessage",
    "body_xml",
    "check_peppol_user_message",
    "ebms_error",
    "envelope_xml",
    "error_signal_xml",
    "format_timestamp",
    "parse_envelope",
    "parse_timestamp",
    "read_messaging",
    "receipt_xml",
    "user_message_xml",
]


class NS:
    """Namespace URIs used on a Peppol AS4 wire."""

    S12: Final = "http://www.w3.org/2003/05/soap-envelope"
    S11: Final = "http://schemas.xmlsoap.org/soap/envelope/"
    EB: Final = "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/"
    EBBP: Final = "http://docs.oasis-open.org/ebxml-bp/ebbp-signals-2.0"
    WSSE: Final = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
    WSSE11: Final = "http://docs.oasis-open.org/wss/oasis-wss-wssecurity-secext-1.1.xsd"
    WSU: Final = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
    DS: Final = "http://www.w3.org/2000/09/xmldsig#"
    XENC: Final = "http://www.w3.org/2001/04/xmlenc#"
    XENC11: Final = "http://www.w3.org/2009/xmlenc11#"
    EC: Final = "http://www.w3.org/2001/10/xml-exc-c14n#"
    XML: Final = "http://www.w3.org/XML/1998/namespace"


PARTY_TYPE_AP: Final = "urn:fdc:peppol.eu:2017:identifiers:ap"
AGREEMENT_PEPPOL: Final = "urn:fdc:peppol.eu:2017:agreements:tia:ap_provider"
ROLE_INITIATOR: Final = "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/initiator"
ROLE_RESPONDER: Final = "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/responder"
TEST_SERVICE: Final = "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/service"
TEST_ACTION: Final = "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/test"
PARTICIPANT_SCHEME: Final = "iso6523-actorid-upis"
PROCESS_SCHEME: Final = "cenbii-procid-ubl"
SEAT_ID: Final = re.compile(r"P[A-Z]{2}[0-9]{6}")
"""An access point's seat id (the CN of its Peppol AP certificate)."""
GZIP: Final = "application/gzip"
_MESSAGE_ID: Final = re.compile(r"[^\s<>@]+@[^\s<>@]+")


# ---------------------------------------------------------------------------------------------------
# ebMS error codes
# ---------------------------------------------------------------------------------------------------


class Severity(enum.Enum):
    FAILURE = "failure"
    WARNING = "warning"

    @classmethod
    def parse(cls, value: str) -> Severity:
        """Read a severity case-insensitively (peers send ``Failure``); unknown values count as failure."""
        return cls.WARNING if value.strip().lower() == "warning" else cls.FAILURE


class Category(enum.Enum):
    CONTENT = "Content"
    COMMUNICATION = "Communication"
    UNPACKAGING = "Unpackaging"
    PROCESSING = "Processing"


class ErrorCode(enum.Enum):
    """The ebMS 3 / AS4 error codes, with their standard short descriptions, categories and severities."""

    VALUE_NOT_RECOGNIZED = "EBMS:0001"
    FEATURE_NOT_SUPPORTED = "EBMS:0002"
    VALUE_INCONSISTENT = "EBMS:0003"
    OTHER = "EBMS:0004"
    CONNECTION_FAILURE = "EBMS:0005"
    EMPTY_MPC = "EBMS:0006"
    MIME_INCONSISTENCY = "EBMS:0007"
    FEATURE_NOT_SUPPORTED_UNPACKAGING = "EBMS:0008"
    INVALID_HEADER = "EBMS:0009"
    PMODE_MISMATCH = "EBMS:0010"
    EXTERNAL_PAYLOAD_ERROR = "EBMS:0011"
    FAILED_AUTHENTICATION = "EBMS:0101"
    FAILED_DECRYPTION = "EBMS:0102"
    POLICY_NONCOMPLIANCE = "EBMS:0103"
    DYSFUNCTIONAL_RELIABILITY = "EBMS:0201"
    DELIVERY_FAILURE = "EBMS:0202"
    MISSING_RECEIPT = "EBMS:0301"
    INVALID_RECEIPT = "EBMS:0302"
    DECOMPRESSION_FAILURE = "EBMS:0303"

    @classmethod
    def of(cls, code: str) -> ErrorCode:
        """The member for ``EBMS:0101``; raises :class:`~peppol_response.errors.CodeError` for other codes."""
        try:
            return cls(code)
        except ValueError:
            from ..errors import CodeError

            raise CodeError("ebMS error code", code, [m.value for m in cls]) from None

    @property
    def short_description(self) -> str:
        return _ERRORS[self][0]

    @property
    def category(self) -> Category:
        return _ERRORS[self][1]

    @property
    def severity(self) -> Severity:
        return _ERRORS[self][2]


_F, _W = Severity.FAILURE, Severity.WARNING
_ERRORS: Final[dict[ErrorCode, tuple[str, Category, Severity]]] = {
    ErrorCode.VALUE_NOT_RECOGNIZED: ("ValueNotRecognized", Category.CONTENT, _F),
    ErrorCode.FEATURE_NOT_SUPPORTED: ("FeatureNotSupported", Category.CONTENT, _W),
    ErrorCode.VALUE_INCONSISTENT: ("ValueInconsistent", Category.CONTENT, _F),
    ErrorCode.OTHER: ("Other", Category.CONTENT, _F),
    ErrorCode.CONNECTION_FAILURE: ("ConnectionFailure", Category.COMMUNICATION, _F),
    ErrorCode.EMPTY_MPC: ("EmptyMessagePartitionChannel", Category.COMMUNICATION, _W),
    ErrorCode.MIME_INCONSISTENCY: ("MimeInconsistency", Category.UNPACKAGING, _F),
    ErrorCode.FEATURE_NOT_SUPPORTED_UNPACKAGING: ("FeatureNotSupported", Category.UNPACKAGING, _F),
    ErrorCode.INVALID_HEADER: ("InvalidHeader", Category.UNPACKAGING, _F),
    ErrorCode.PMODE_MISMATCH: ("ProcessingModeMismatch", Category.PROCESSING, _F),
    ErrorCode.EXTERNAL_PAYLOAD_ERROR: ("ExternalPayloadError", Category.CONTENT, _F),
    ErrorCode.FAILED_AUTHENTICATION: ("FailedAuthentication", Category.PROCESSING, _F),
    ErrorCode.FAILED_DECRYPTION: ("FailedDecryption", Category.PROCESSING, _F),
    ErrorCode.POLICY_NONCOMPLIANCE: ("PolicyNoncompliance", Category.PROCESSING, _F),
    ErrorCode.DYSFUNCTIONAL_RELIABILITY: ("DysfunctionalReliability", Category.PROCESSING, _F),
    ErrorCode.DELIVERY_FAILURE: ("DeliveryFailure", Category.COMMUNICATION, _F),
    ErrorCode.MISSING_RECEIPT: ("MissingReceipt", Category.COMMUNICATION, _F),
    ErrorCode.INVALID_RECEIPT: ("InvalidReceipt", Category.COMMUNICATION, _F),
    ErrorCode.DECOMPRESSION_FAILURE: ("DecompressionFailure", Category.COMMUNICATION, _F),
}

NOT_SERVICED: Final = "PEPPOL:NOT_SERVICED"
"""ErrorDetail of an EBMS:0004 failure when the receiver does not serve the participant/document/process."""


def ebms_error(
    code: ErrorCode,
    description: str,
    *,
    ref_to_message_id: str | None = None,
    origin: Origin = Origin.REMOTE,
    detail: str | None = None,
) -> As4Error:
    """An :class:`As4Error` for ``code`` with its standard short description, category and severity."""
    return As4Error(
        code.value,
        description,
        short_description=code.short_description,
        severity=code.severity.value,
        category=code.category.value,
        ref_to_message_id=ref_to_message_id,
        origin=origin,
        error_detail=detail,
    )


def _invalid(what: str, el: etree._Element | None = None) -> As4Error:
    line = el.sourceline if el is not None and isinstance(el.sourceline, int) else None
    where = f" (line {line})" if line else ""
    return ebms_error(ErrorCode.INVALID_HEADER, f"{what}{where}")


# ---------------------------------------------------------------------------------------------------
# values
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Party:
    """``eb:From`` / ``eb:To``: one party id (Peppol: the AP seat id) with its type, and the role."""

    party_id: str
    role: str
    party_id_type: str | None = PARTY_TYPE_AP


@dataclass(frozen=True)
class Property:
    name: str
    value: str
    type: str | None = None


@dataclass(frozen=True)
class PartInfo:
    """One ``eb:PartInfo``: ``href`` (``cid:x@y``; empty for a payload in the SOAP Body) and its part
    properties (MimeType, CompressionType...)."""

    href: str
    properties: tuple[Property, ...] = ()

    def prop(self, name: str) -> str | None:
        for p in self.properties:
            if p.name == name:
                return p.value
        return None

    @property
    def content_id(self) -> str | None:
        """The MIME Content-ID the href points at (no ``cid:``, no angle brackets), None for non-cid hrefs."""
        return self.href[4:] if self.href.startswith("cid:") else None

    @property
    def mime_type(self) -> str | None:
        return self.prop("MimeType")

    @property
    def compression_type(self) -> str | None:
        return self.prop("CompressionType")


@dataclass(frozen=True)
class UserMessage:
    """An ``eb:UserMessage`` as Peppol uses it. Build one with :meth:`peppol`; read one with :func:`read_messaging`."""

    message_id: str
    timestamp: datetime
    from_party: Party
    to_party: Party
    service: str
    action: str
    conversation_id: str
    service_type: str | None = PROCESS_SCHEME
    agreement_ref: str | None = AGREEMENT_PEPPOL
    agreement_ref_type: str | None = None
    properties: tuple[Property, ...] = ()
    parts: tuple[PartInfo, ...] = ()
    ref_to_message_id: str | None = None
    mpc: str | None = None

    @classmethod
    def peppol(
        cls,
        *,
        message_id: str,
        timestamp: datetime,
        from_seat: str,
        to_seat: str,
        service: str,
        action: str,
        conversation_id: str,
        original_sender: str | None,
        final_recipient: str | None,
        content_id: str,
        service_type: str | None = PROCESS_SCHEME,
        mime_type: str = "application/xml",
    ) -> UserMessage:
        """A UserMessage with every fixed value of the Peppol AS4 profile filled in."""
        props: list[Property] = []
        if original_sender is not None:
            props.append(Property("originalSender", original_sender, PARTICIPANT_SCHEME))
        if final_recipient is not None:
            props.append(Property("finalRecipient", final_recipient, PARTICIPANT_SCHEME))
        return cls(
            message_id=message_id,
            timestamp=timestamp,
            from_party=Party(from_seat, ROLE_INITIATOR),
            to_party=Party(to_seat, ROLE_RESPONDER),
            service=service,
            service_type=service_type,
            action=action,
            conversation_id=conversation_id,
            properties=tuple(props),
            parts=(
                PartInfo(
                    f"cid:{content_id}",
                    (Property("MimeType", mime_type), Property("CompressionType", GZIP)),
                ),
            ),
        )

    def prop(self, name: str) -> str | None:
        for p in self.properties:
            if p.name == name:
                return p.value
        return None

    @property
    def original_sender(self) -> str | None:
        """C1's participant id (``ICD:id``), to compare with the SBDH Sender."""
        return self.prop("originalSender")

    @property
    def final_recipient(self) -> str | None:
        """C4's participant id (``ICD:id``), to compare with the SBDH Receiver."""
        return self.prop("finalRecipient")

    @property
    def tracking_identifier(self) -> str | None:
        return self.prop("trackingIdentifier")

    @property
    def is_ping(self) -> bool:
        """The ebMS test service/action: receipted, never delivered."""
        return self.service == TEST_SERVICE and self.action == TEST_ACTION


@dataclass(frozen=True)
class ReferenceDigest:
    """A ``ds:Reference`` reduced to what non-repudiation compares: URI, digest algorithm and value."""

    uri: str
    digest_method: str
    digest_value: bytes
    transforms: tuple[str, ...] = ()

    @property
    def digest_b64(self) -> str:
        return base64.b64encode(self.digest_value).decode("ascii")


@dataclass(frozen=True)
class ReceiptSignal:
    """An ``eb:Receipt`` signal. ``references`` are the NonRepudiationInformation ``ds:Reference``s."""

    message_id: str
    timestamp: datetime | None
    ref_to_message_id: str | None
    references: tuple[ReferenceDigest, ...] = ()
    non_repudiation: bool = True
    extra_elements: tuple[str, ...] = ()
    """Clark names of children of ``eb:Receipt`` other than the NRI (tolerated, e.g. phase4's info)."""


@dataclass(frozen=True)
class EbmsError:
    """One ``eb:Error`` of an error signal, as sent (``code`` may be a code we do not know)."""

    code: str
    severity: Severity
    short_description: str | None = None
    category: str | None = None
    origin: str | None = None
    ref_to_message_in_error: str | None = None
    description: str | None = None
    description_lang: str | None = None
    detail: str | None = None

    @property
    def known(self) -> ErrorCode | None:
        try:
            return ErrorCode(self.code)
        except ValueError:
            return None


@dataclass(frozen=True)
class ErrorSignal:
    """An error signal: one or more ``eb:Error``s about the message ``ref_to_message_id`` (None when unknown)."""

    message_id: str
    timestamp: datetime | None
    ref_to_message_id: str | None
    errors: tuple[EbmsError, ...]

    @property
    def refers_to(self) -> str | None:
        """The message this signal is about: RefToMessageId, else the first non-empty refToMessageInError."""
        if self.ref_to_message_id:
            return self.ref_to_message_id
        for e in self.errors:
            if e.ref_to_message_in_error:
                return e.ref_to_message_in_error
        return None

    @property
    def is_failure(self) -> bool:
        return any(e.severity is Severity.FAILURE for e in self.errors)


@dataclass(frozen=True)
class Messaging:
    """A parsed ``eb:Messaging`` header."""

    user_messages: tuple[UserMessage, ...] = ()
    receipts: tuple[ReceiptSignal, ...] = ()
    errors: tuple[ErrorSignal, ...] = ()
    element_id: str | None = None
    must_understand: bool = False

    @property
    def user_message(self) -> UserMessage:
        """The one UserMessage (Peppol never bundles); raises EBMS:0003 otherwise."""
        if len(self.user_messages) != 1:
            raise ebms_error(
                ErrorCode.VALUE_INCONSISTENT,
                f"eb:Messaging must carry exactly one eb:UserMessage, found {len(self.user_messages)}",
            )
        return self.user_messages[0]


@dataclass(frozen=True)
class SoapEnvelope:
    """A parsed SOAP 1.2 envelope with the AS4 header blocks located (the tree is kept for verification)."""

    root: etree._Element
    header: etree._Element | None
    body: etree._Element
    messaging: etree._Element | None
    security: tuple[etree._Element, ...] = field(default=())
    fault_reason: str | None = None
    fault_code: str | None = None


# ---------------------------------------------------------------------------------------------------
# writing (directly in exclusive-canonical form)
# ---------------------------------------------------------------------------------------------------

_BAD_CHARS: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _check_chars(value: str) -> str:
    if _BAD_CHARS.search(value):
        raise ebms_error(ErrorCode.INVALID_HEADER, f"value {value[:40]!r} contains characters XML cannot carry",
                         origin=Origin.LOCAL)
    return value


def _clean(value: str, limit: int = 1000) -> str:
    """Text that may echo what a peer sent (error descriptions): characters XML cannot carry become U+FFFD,
    and it is cut to ``limit`` characters."""
    value = _BAD_CHARS.sub("\ufffd", value)
    return value if len(value) <= limit else value[: limit - 1] + "…"


# values that exclusive C14N writes unchanged and XML can carry (most ids and names): one match, no replaces
_PLAIN_TEXT: Final = re.compile("[^&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]*")
_PLAIN_ATTR: Final = re.compile('[^&<>"\t\n\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]*')


def _t(value: str) -> str:
    """Text node content as exclusive C14N writes it."""
    if _PLAIN_TEXT.fullmatch(value):
        return value
    _check_chars(value)
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#xD;")


def _a(value: str) -> str:
    """Attribute value as exclusive C14N writes it (inside double quotes)."""
    if _PLAIN_ATTR.fullmatch(value):
        return value
    _check_chars(value)
    return (
        value.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
        .replace("\t", "&#x9;").replace("\n", "&#xA;").replace("\r", "&#xD;")
    )


def format_timestamp(ts: datetime) -> str:
    """``2026-01-29T15:39:03.805Z``: UTC, milliseconds (naive datetimes are taken as UTC)."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    ts = ts.astimezone(UTC)
    return (f"{ts.year:04d}-{ts.month:02d}-{ts.day:02d}T{ts.hour:02d}:{ts.minute:02d}:{ts.second:02d}."
            f"{ts.microsecond // 1000:03d}Z")


_TS: Final = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?")


def parse_timestamp(text: str) -> datetime:
    """Read an xs:dateTime (any number of fractional digits; no zone = UTC as ebMS prescribes)."""
    m = _TS.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"{text!r} is not an xs:dateTime")
    d = m.group(1)
    frac = (m.group(2) or "0")[:6].ljust(6, "0")
    zone = m.group(3)
    if zone in (None, "Z"):
        tz = UTC
    else:
        sign = -1 if zone[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    try:
        value = datetime(int(d[0:4]), int(d[5:7]), int(d[8:10]), int(d[11:13]), int(d[14:16]), int(d[17:19]),
                         int(frac), tzinfo=tz)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid date and time: {exc}") from None
    return value.astimezone(UTC)


_MESSAGING_OPEN: Final = (
    f'<eb:Messaging xmlns:S12="{NS.S12}" xmlns:eb="{NS.EB}" xmlns:wsu="{NS.WSU}" wsu:Id="{{id}}" '
    'S12:mustUnderstand="true">'
)


def _messaging_open(messaging_id: str) -> str:
    return _MESSAGING_OPEN.replace("{id}", _a(messaging_id))


def _party(tag: str, party: Party) -> str:
    type_attr = f' type="{_a(party.party_id_type)}"' if party.party_id_type is not None else ""
    return (
        f"<eb:{tag}><eb:PartyId{type_attr}>{_t(party.party_id)}</eb:PartyId>"
        f"<eb:Role>{_t(party.role)}</eb:Role></eb:{tag}>"
    )


def _props(tag: str, props: Iterable[Property]) -> str:
    out = []
    for p in props:
        type_attr = f' type="{_a(p.type)}"' if p.type is not None else ""
        out.append(f'<eb:Property name="{_a(p.name)}"{type_attr}>{_t(p.value)}</eb:Property>')
    return f"<eb:{tag}>{''.join(out)}</eb:{tag}>" if out else ""


def _message_info(message_id: str, timestamp: datetime, ref: str | None) -> str:
    ref_xml = f"<eb:RefToMessageId>{_t(ref)}</eb:RefToMessageId>" if ref else ""
    return (
        f"<eb:MessageInfo><eb:Timestamp>{format_timestamp(timestamp)}</eb:Timestamp>"
        f"<eb:MessageId>{_t(message_id)}</eb:MessageId>{ref_xml}</eb:MessageInfo>"
    )


def user_message_xml(um: UserMessage, messaging_id: str) -> bytes:
    """``eb:Messaging`` with ``um``, in exclusive-canonical form (the bytes are also the digest input)."""
    mpc = f' mpc="{_a(um.mpc)}"' if um.mpc else ""
    agreement = ""
    if um.agreement_ref is not None:
        atype = f' type="{_a(um.agreement_ref_type)}"' if um.agreement_ref_type else ""
        agreement = f"<eb:AgreementRef{atype}>{_t(um.agreement_ref)}</eb:AgreementRef>"
    stype = f' type="{_a(um.service_type)}"' if um.service_type else ""
    parts = "".join(
        f'<eb:PartInfo href="{_a(p.href)}">{_props("PartProperties", p.properties)}</eb:PartInfo>' for p in um.parts
    )
    payload = f"<eb:PayloadInfo>{parts}</eb:PayloadInfo>" if um.parts else ""
    xml = (
        f"{_messaging_open(messaging_id)}<eb:UserMessage{mpc}>"
        f"{_message_info(um.message_id, um.timestamp, um.ref_to_message_id)}"
        f"<eb:PartyInfo>{_party('From', um.from_party)}{_party('To', um.to_party)}</eb:PartyInfo>"
        f"<eb:CollaborationInfo>{agreement}<eb:Service{stype}>{_t(um.service)}</eb:Service>"
        f"<eb:Action>{_t(um.action)}</eb:Action>"
        f"<eb:ConversationId>{_t(um.conversation_id)}</eb:ConversationId></eb:CollaborationInfo>"
        f"{_props('MessageProperties', um.properties)}{payload}"
    )
    return (xml + "</eb:UserMessage></eb:Messaging>").encode("utf-8")


def receipt_xml(
    *,
    messaging_id: str,
    message_id: str,
    timestamp: datetime,
    ref_to_message_id: str,
    references: Iterable[bytes],
) -> bytes:
    """``eb:Messaging`` with a Receipt signal whose NRI holds ``references`` (exclusive-canonical
    ``ds:Reference`` elements copied from the received SignedInfo), in exclusive-canonical form."""
    nri = "".join(
        f"<ebbp:MessagePartNRInformation>{r.decode('utf-8')}</ebbp:MessagePartNRInformation>" for r in references
    )
    return (
        f"{_messaging_open(messaging_id)}<eb:SignalMessage>"
        f"{_message_info(message_id, timestamp, ref_to_message_id)}"
        f'<eb:Receipt><ebbp:NonRepudiationInformation xmlns:ebbp="{NS.EBBP}">{nri}'
        "</ebbp:NonRepudiationInformation></eb:Receipt></eb:SignalMessage></eb:Messaging>"
    ).encode()


def error_signal_xml(
    *,
    messaging_id: str,
    message_id: str,
    timestamp: datetime,
    ref_to_message_id: str | None,
    errors: Iterable[EbmsError],
) -> bytes:
    """``eb:Messaging`` with an Error signal, in exclusive-canonical form."""
    out = []
    for e in errors:
        attrs = []  # no-namespace attributes in C14N order (by local name)
        if e.category:
            attrs.append(f'category="{_a(e.category)}"')
        attrs.append(f'errorCode="{_a(e.code)}"')
        if e.origin:
            attrs.append(f'origin="{_a(e.origin)}"')
        if e.ref_to_message_in_error:
            attrs.append(f'refToMessageInError="{_a(_clean(e.ref_to_message_in_error))}"')
        attrs.append(f'severity="{e.severity.value}"')
        if e.short_description:
            attrs.append(f'shortDescription="{_a(e.short_description)}"')
        inner = ""
        if e.description is not None:
            lang = _a(_clean(e.description_lang or "en", 20))
            inner += f'<eb:Description xml:lang="{lang}">{_t(_clean(e.description))}</eb:Description>'
        if e.detail is not None:
            inner += f"<eb:ErrorDetail>{_t(_clean(e.detail))}</eb:ErrorDetail>"
        out.append(f"<eb:Error {' '.join(attrs)}>{inner}</eb:Error>")
    return (
        f"{_messaging_open(messaging_id)}<eb:SignalMessage>"
        f"{_message_info(message_id, timestamp, _clean(ref_to_message_id) if ref_to_message_id else None)}"
        f"{''.join(out)}</eb:SignalMessage></eb:Messaging>"
    ).encode()


def body_xml(body_id: str) -> bytes:
    """An empty ``S12:Body`` with a ``wsu:Id``, in exclusive-canonical form."""
    return f'<S12:Body xmlns:S12="{NS.S12}" xmlns:wsu="{NS.WSU}" wsu:Id="{_a(body_id)}"></S12:Body>'.encode()


def envelope_xml(*, security: bytes, messaging: bytes, body: bytes) -> bytes:
    """The SOAP 1.2 envelope around the header blocks (Security first, then Messaging) and the body."""
    return b"".join((
        b'<?xml version="1.0" encoding="UTF-8"?>',
        f'<S12:Envelope xmlns:S12="{NS.S12}"><S12:Header>'.encode(),
        security,
        messaging,
        b"</S12:Header>",
        body,
        b"</S12:Envelope>",
    ))


# ---------------------------------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------------------------------

_UNDERSTOOD: Final = frozenset({f"{{{NS.EB}}}Messaging", f"{{{NS.WSSE}}}Security"})


def _is_true(value: str | None) -> bool:
    return value is not None and value.strip() in ("true", "1")


def parse_envelope(data: bytes, *, max_bytes: int = 4 * 1024 * 1024) -> SoapEnvelope:
    """Parse a SOAP 1.2 envelope safely and locate Header, Body, ``eb:Messaging`` and ``wsse:Security``.

    Raises EBMS:0009 for anything that is not a SOAP 1.2 envelope with at most one ``eb:Messaging`` and
    for header blocks marked ``mustUnderstand`` that this core does not process.
    """
    try:
        # Depth: libxml2 refuses more than 256 levels and nothing here recurses in Python; skipping the
        # extra walk keeps the receive path close to the cost of its cryptography.
        root = parse_xml(data, what="SOAP envelope", max_bytes=max_bytes, max_depth=None)
    except ParseError as exc:
        raise ebms_error(ErrorCode.INVALID_HEADER, f"the SOAP part is not acceptable XML: {exc}") from None
    if root.tag == f"{{{NS.S11}}}Envelope":
        raise _invalid("SOAP 1.1 envelopes are not used by AS4; expected a SOAP 1.2 S12:Envelope", root)
    if root.tag != f"{{{NS.S12}}}Envelope":
        raise _invalid(f"the root element is {root.tag}, not a SOAP 1.2 Envelope", root)
    header: etree._Element | None = None
    body: etree._Element | None = None
    for child in root:
        if not isinstance(child.tag, str):
            continue
        if child.tag == f"{{{NS.S12}}}Header" and header is None and body is None:
            header = child
        elif child.tag == f"{{{NS.S12}}}Body" and body is None:
            body = child
        else:
            raise _invalid(f"unexpected element {child.tag} in S12:Envelope", child)
    if body is None:
        raise _invalid("S12:Envelope has no S12:Body", root)
    messaging: etree._Element | None = None
    security: list[etree._Element] = []
    if header is not None:
        for block in header:
            if not isinstance(block.tag, str):
                continue
            if block.tag == f"{{{NS.EB}}}Messaging":
                if messaging is not None:
                    raise _invalid("more than one eb:Messaging header block", block)
                messaging = block
            elif block.tag == f"{{{NS.WSSE}}}Security":
                security.append(block)
            elif _is_true(block.get(f"{{{NS.S12}}}mustUnderstand")):
                raise _invalid(f"header block {block.tag} must be understood but is not supported", block)
    fault_reason = fault_code = None
    fault = body.find(f"{{{NS.S12}}}Fault") if len(body) else None
    if fault is not None:
        fault_code = (fault.findtext(f"{{{NS.S12}}}Code/{{{NS.S12}}}Value") or "").strip() or None
        texts = [(t.text or "").strip() for t in fault.iterfind(f"{{{NS.S12}}}Reason/{{{NS.S12}}}Text")]
        fault_reason = "; ".join(t for t in texts if t) or None
    return SoapEnvelope(root, header, body, messaging, tuple(security), fault_reason, fault_code)


def _kids(el: etree._Element) -> list[etree._Element]:
    return [c for c in el if isinstance(c.tag, str)]


def _value(el: etree._Element) -> str:
    """Element text without comments, stripped (peers wrap values in newlines and indentation)."""
    if not len(el):
        return (el.text or "").strip()
    if any(isinstance(c.tag, str) for c in el):
        raise _invalid(f"{_name(el)} must hold text, not elements", el)
    text = (el.text or "") + "".join(c.tail or "" for c in el)
    return text.strip()


def _name(el: etree._Element) -> str:
    tag = el.tag if isinstance(el.tag, str) else "node()"
    ns, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    prefix = {NS.EB: "eb", NS.EBBP: "ebbp", NS.DS: "ds", NS.S12: "S12"}.get(ns)
    return f"{prefix}:{local}" if prefix else local


class _Kids:
    """An element's child elements by tag, gathered in one pass (several lookups on one parent)."""

    __slots__ = ("by_tag", "el")

    def __init__(self, el: etree._Element) -> None:
        self.el = el
        by_tag: dict[str, list[etree._Element]] = {}
        for c in el:
            tag = c.tag
            if isinstance(tag, str):
                if tag in by_tag:
                    by_tag[tag].append(c)
                else:
                    by_tag[tag] = [c]
        self.by_tag = by_tag


def _one(parent: etree._Element | _Kids, local: str, *, required: bool = True,
         ns: str = NS.EB) -> etree._Element | None:
    kids = parent if isinstance(parent, _Kids) else _Kids(parent)
    found = kids.by_tag.get(f"{{{ns}}}{local}", ())
    if len(found) > 1:
        raise _invalid(f"{_name(kids.el)} has {len(found)} {local} elements, at most one is allowed", found[1])
    if not found:
        if required:
            raise _invalid(f"{_name(kids.el)} has no required {local} element", kids.el)
        return None
    return found[0]


def _req(parent: etree._Element | _Kids, local: str) -> etree._Element:
    el = _one(parent, local)
    assert el is not None
    return el


def _text_of(parent: etree._Element | _Kids, local: str, *, required: bool = True) -> str | None:
    el = _one(parent, local, required=required)
    if el is None:
        return None
    value = _value(el)
    if required and not value:
        raise _invalid(f"{_name(el)} is empty", el)
    return value


def _timestamp(info: etree._Element | _Kids, *, required: bool) -> datetime | None:
    el = _one(info, "Timestamp", required=required)
    if el is None:
        return None
    try:
        return parse_timestamp(_value(el))
    except ValueError as exc:
        raise _invalid(f"eb:Timestamp: {exc}", el) from None


_EB_PARTY_ID: Final = f"{{{NS.EB}}}PartyId"
_EB_USER_MESSAGE: Final = f"{{{NS.EB}}}UserMessage"


def _party_of(info: etree._Element | _Kids, tag: str) -> Party:
    el = _Kids(_req(info, tag))
    ids = el.by_tag.get(_EB_PARTY_ID) or []
    if len(ids) != 1:
        raise ebms_error(ErrorCode.VALUE_INCONSISTENT,
                         f"eb:{tag} must hold exactly one eb:PartyId, found {len(ids)}")
    role = _text_of(el, "Role")
    assert role is not None
    return Party(_value(ids[0]), role, ids[0].get("type"))


def _properties(parent: etree._Element | None) -> tuple[Property, ...]:
    if parent is None:
        return ()
    out = []
    for p in _kids(parent):
        if p.tag != f"{{{NS.EB}}}Property":
            raise _invalid(f"unexpected {_name(p)} in {_name(parent)}", p)
        name = p.get("name")
        if not name:
            raise _invalid(f"{_name(parent)}/eb:Property has no name attribute", p)
        out.append(Property(name, _value(p), p.get("type")))
    return tuple(out)


def _user_message(element: etree._Element) -> UserMessage:
    el = _Kids(element)
    info = _Kids(_req(el, "MessageInfo"))
    message_id = _text_of(info, "MessageId")
    ts = _timestamp(info, required=True)
    assert message_id is not None
    assert ts is not None
    ref = _text_of(info, "RefToMessageId", required=False) or None
    party_info = _Kids(_req(el, "PartyInfo"))
    collab = _Kids(_req(el, "CollaborationInfo"))
    agreement = _one(collab, "AgreementRef", required=False)
    service = _req(collab, "Service")
    action = _text_of(collab, "Action")
    conversation = _text_of(collab, "ConversationId")
    assert action is not None
    assert conversation is not None
    service_value = _value(service)
    if not service_value:
        raise _invalid("eb:Service is empty", service)
    parts: list[PartInfo] = []
    payload_info = _one(el, "PayloadInfo", required=False)
    if payload_info is not None:
        for part in _kids(payload_info):
            if part.tag != f"{{{NS.EB}}}PartInfo":
                raise _invalid(f"unexpected {_name(part)} in eb:PayloadInfo", part)
            href = (part.get("href") or "").strip()  # empty: the payload is the SOAP Body (not in Peppol)
            props = _properties(_one(part, "PartProperties", required=False))
            info_part = PartInfo(href, props)
            compression = info_part.compression_type
            if compression is not None and compression != GZIP:
                raise ebms_error(ErrorCode.VALUE_INCONSISTENT,
                                 f"eb:PartInfo {href}: CompressionType {compression!r} is not supported "
                                 f"(only {GZIP})", ref_to_message_id=message_id)
            parts.append(info_part)
    return UserMessage(
        message_id=message_id,
        timestamp=ts,
        ref_to_message_id=ref,
        from_party=_party_of(party_info, "From"),
        to_party=_party_of(party_info, "To"),
        agreement_ref=_value(agreement) if agreement is not None else None,
        agreement_ref_type=agreement.get("type") if agreement is not None else None,
        service=service_value,
        service_type=service.get("type"),
        action=action,
        conversation_id=conversation,
        properties=_properties(_one(el, "MessageProperties", required=False)),
        parts=tuple(parts),
        mpc=element.get("mpc"),
    )


def _reference_digest(ref: etree._Element) -> ReferenceDigest:
    uri = ref.get("URI")
    method_el = ref.find(f"{{{NS.DS}}}DigestMethod")
    value_el = ref.find(f"{{{NS.DS}}}DigestValue")
    if uri is None or method_el is None or value_el is None:
        raise _invalid("ds:Reference needs URI, ds:DigestMethod and ds:DigestValue", ref)
    try:
        value = base64.b64decode("".join(_value(value_el).split()), validate=True)
    except ValueError:
        raise _invalid("ds:DigestValue is not base64", value_el) from None
    transforms = tuple(t.get("Algorithm") or "" for t in ref.iterfind(f"{{{NS.DS}}}Transforms/{{{NS.DS}}}Transform"))
    return ReferenceDigest(uri, method_el.get("Algorithm") or "", value, transforms)


def _signal(el: etree._Element) -> ReceiptSignal | ErrorSignal:
    info = _req(el, "MessageInfo")
    message_id = _text_of(info, "MessageId")
    assert message_id is not None
    ts = _timestamp(info, required=False)
    ref = _text_of(info, "RefToMessageId", required=False) or None
    receipt = _one(el, "Receipt", required=False)
    errors = [c for c in el if c.tag == f"{{{NS.EB}}}Error"]
    if receipt is not None and errors:
        raise ebms_error(ErrorCode.VALUE_INCONSISTENT, "one eb:SignalMessage carries both a Receipt and Errors")
    if receipt is not None:
        refs: list[ReferenceDigest] = []
        extra: list[str] = []
        nri_found = False
        for child in _kids(receipt):
            if child.tag == f"{{{NS.EBBP}}}NonRepudiationInformation":
                nri_found = True
                for part in _kids(child):
                    if part.tag != f"{{{NS.EBBP}}}MessagePartNRInformation":
                        raise _invalid(f"unexpected {_name(part)} in ebbp:NonRepudiationInformation", part)
                    r = part.find(f"{{{NS.DS}}}Reference")
                    if r is None:
                        raise _invalid("ebbp:MessagePartNRInformation without ds:Reference", part)
                    refs.append(_reference_digest(r))
            else:
                extra.append(str(child.tag))
        return ReceiptSignal(message_id, ts, ref, tuple(refs), nri_found, tuple(extra))
    if errors:
        out = []
        for e in errors:
            code = (e.get("errorCode") or "").strip()
            if not code:
                raise _invalid("eb:Error without errorCode", e)
            desc_el = _one(e, "Description", required=False)
            detail_el = _one(e, "ErrorDetail", required=False)
            out.append(EbmsError(
                code=code,
                severity=Severity.parse(e.get("severity") or "failure"),
                short_description=e.get("shortDescription"),
                category=e.get("category"),
                origin=e.get("origin"),
                ref_to_message_in_error=(e.get("refToMessageInError") or "").strip() or None,
                description=_value(desc_el) if desc_el is not None else None,
                description_lang=desc_el.get(f"{{{NS.XML}}}lang") if desc_el is not None else None,
                detail=_value(detail_el) if detail_el is not None else None,
            ))
        return ErrorSignal(message_id, ts, ref, tuple(out))
    raise ebms_error(ErrorCode.FEATURE_NOT_SUPPORTED_UNPACKAGING,
                     "eb:SignalMessage carries neither a Receipt nor an Error (pull requests are not used by Peppol)")


def read_messaging(el: etree._Element) -> Messaging:
    """Read an ``eb:Messaging`` element (from :func:`parse_envelope`) into values.

    Structural problems raise EBMS:0009 naming the element; nothing Peppol-specific is judged here (see
    :func:`check_peppol_user_message`).
    """
    users: list[UserMessage] = []
    receipts: list[ReceiptSignal] = []
    errors: list[ErrorSignal] = []
    children = [(c, tag) for c in el if isinstance(tag := c.tag, str)]
    bundled = sum(1 for _, tag in children if tag == _EB_USER_MESSAGE)
    if bundled > 1:
        raise ebms_error(ErrorCode.VALUE_INCONSISTENT,
                         f"eb:Messaging bundles {bundled} UserMessages; Peppol sends exactly one")
    for child, tag in children:
        if tag == _EB_USER_MESSAGE:
            users.append(_user_message(child))
        elif tag == f"{{{NS.EB}}}SignalMessage":
            sig = _signal(child)
            (receipts if isinstance(sig, ReceiptSignal) else errors).append(sig)  # type: ignore[arg-type]
        else:
            raise _invalid(f"unexpected {_name(child)} in eb:Messaging", child)
    if not users and not receipts and not errors:
        raise _invalid("eb:Messaging holds neither a UserMessage nor a SignalMessage", el)
    return Messaging(
        tuple(users),
        tuple(receipts),
        tuple(errors),
        el.get(f"{{{NS.WSU}}}Id"),
        _is_true(el.get(f"{{{NS.S12}}}mustUnderstand")),
    )


def check_peppol_user_message(messaging: Messaging, *, our_seat: str | None = None) -> UserMessage:
    """Judge the one UserMessage against the Peppol AS4 profile; returns it or raises As4Error.

    Format problems are EBMS:0009 (InvalidHeader, naming the element); a message addressed to another
    access point (``our_seat``) is EBMS:0004; a wrong PartInfo count is EBMS:0004 as phase4 answers.
    The ping (test service/action) needs no originalSender/finalRecipient.
    """
    um = messaging.user_message
    ref = um.message_id

    def bad(msg: str, code: ErrorCode = ErrorCode.INVALID_HEADER) -> As4Error:
        return ebms_error(code, msg, ref_to_message_id=ref)

    if not messaging.must_understand:
        raise bad("eb:Messaging must carry S12:mustUnderstand=\"true\"")
    if not _MESSAGE_ID.fullmatch(um.message_id):
        raise bad(f"eb:MessageId {um.message_id!r} is not of the form left@right (RFC 2822, no angle brackets)")
    for tag, party, role in (("From", um.from_party, ROLE_INITIATOR), ("To", um.to_party, ROLE_RESPONDER)):
        if party.party_id_type != PARTY_TYPE_AP:
            raise bad(f"eb:{tag}/eb:PartyId/@type must be {PARTY_TYPE_AP}, not {party.party_id_type!r}")
        if not SEAT_ID.fullmatch(party.party_id):
            raise bad(f"eb:{tag}/eb:PartyId {party.party_id!r} is not an AP seat id (P + 2 letters + 6 digits)")
        if party.role != role:
            raise bad(f"eb:{tag}/eb:Role must be {role}, not {party.role!r}")
    if um.agreement_ref != AGREEMENT_PEPPOL:
        raise bad(f"eb:AgreementRef must be {AGREEMENT_PEPPOL}, not {um.agreement_ref!r}")
    if um.agreement_ref_type is not None:
        raise bad("eb:AgreementRef must not carry a type attribute")
    if not um.is_ping:
        if not um.service_type:
            raise bad("eb:Service must carry the process identifier scheme as type")
        if "::" not in um.action:
            raise bad(f"eb:Action {um.action[:80]!r} must be the document type identifier with its scheme "
                      "(busdox-docid-qns::...)")
        for name in ("originalSender", "finalRecipient"):
            found = [p for p in um.properties if p.name == name]
            if len(found) != 1:
                raise bad(f"eb:MessageProperties must hold exactly one {name} property, found {len(found)}")
            if found[0].type != PARTICIPANT_SCHEME:
                raise bad(f"eb:Property {name} must have type {PARTICIPANT_SCHEME}, not {found[0].type!r}")
            if not found[0].value:
                raise bad(f"eb:Property {name} is empty")
        if len(um.parts) != 1:
            raise bad(f"a Peppol UserMessage carries exactly one payload, found {len(um.parts)} eb:PartInfo",
                      ErrorCode.OTHER)
    for part in um.parts:
        if part.content_id is None or not part.content_id:
            raise bad(f"eb:PartInfo/@href {part.href!r} must be a cid: reference to a MIME part")
        if not part.mime_type:
            raise bad(f"eb:PartInfo {part.href} has no MimeType part property")
    if our_seat is not None and um.to_party.party_id != our_seat:
        raise bad(f"the message is addressed to access point {um.to_party.party_id}, not to us ({our_seat})",
                  ErrorCode.OTHER)
    return um
