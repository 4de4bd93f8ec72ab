"""Peppol network identifiers: participants, document types and processes (Peppol Policy for use of Identifiers).

Each identifier is a frozen dataclass of a *scheme* and a *value*, written ``scheme::value``::

    ParticipantId.parse("iso6523-actorid-upis::0088:7300010000001")
    ParticipantId.of("0088:7300010000001")            # the scheme is implied
    DocumentTypeId.parse(INVOICE_RESPONSE_DOCTYPE_TEXT)
    ProcessId.of("urn:fdc:peppol.eu:poacc:bis:invoice_response:3")

Case rules follow the policy: schemes compare case-insensitively everywhere; participant *values*
compare case-insensitively (``0088:ABC`` and ``0088:abc`` are the same party, and hash alike), while
document type and process values are case-sensitive. The original spelling is kept for output.

The document type of a business document is **derived** from the document itself
(:func:`document_type_of`): root namespace, root local name, ``cbc:CustomizationID`` and the syntax
version ``2.1``; its process comes from ``cbc:ProfileID`` (:func:`process_of`). Never guess them from
the last segment of a CustomizationID.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Final

from . import codelists
from .errors import CodeError, IdentifierError

if TYPE_CHECKING:  # pragma: no cover
    from lxml import etree

    from .model import EndpointId

__all__ = [
    "BILLING_CREDIT_NOTE",
    "BILLING_INVOICE",
    "BILLING_PROCESS",
    "BILLING_WITH_RESPONSE_PROCESS",
    "DOCTYPE_SCHEME",
    "DOCTYPE_WILDCARD_SCHEME",
    "INVOICE_RESPONSE",
    "INVOICE_RESPONSE_PROCESS",
    "MLR",
    "MLR_PROCESS",
    "MLS",
    "MLS_PROCESS",
    "PARTICIPANT_SCHEME",
    "PROCESS_SCHEME",
    "SEAT_ID_PATTERN",
    "UBL_SYNTAX_VERSION",
    "DocumentTypeId",
    "ParticipantId",
    "ProcessId",
    "document_type_of",
    "is_seat_id",
    "process_of",
]

PARTICIPANT_SCHEME: Final = "iso6523-actorid-upis"
"""The participant identifier scheme of Peppol (ISO 6523 ICD / EAS code, a colon, the identifier)."""
DOCTYPE_SCHEME: Final = "busdox-docid-qns"
"""The document type identifier scheme for exact document types (BIS 3 and the Invoice Response)."""
DOCTYPE_WILDCARD_SCHEME: Final = "peppol-doctype-wildcard"
"""The document type scheme for PINT, where a receiver registers a CustomizationID prefix."""
PROCESS_SCHEME: Final = "cenbii-procid-ubl"
"""The process identifier scheme of Peppol."""
UBL_SYNTAX_VERSION: Final = "2.1"
"""The syntax version that ends every UBL 2.x document type identifier (``…::2.1``)."""

SEAT_ID_PATTERN: Final = re.compile(r"P[A-Z]{2}[0-9]{6}")
"""An access point's or SMP's seat id (the CN of its Peppol certificate), e.g. ``POP000306``."""

# Limits from the Peppol Policy for use of Identifiers 4.x.
_MAX_SCHEME: Final = 25
_MAX_PARTICIPANT: Final = 4 + 1 + 130
_MAX_DOCTYPE: Final = 500
_MAX_PROCESS: Final = 200
_SCHEME_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_PARTICIPANT_RE: Final = re.compile(r"([0-9]{4}):(\S(?:.*\S)?)", re.DOTALL)
_FORBIDDEN: Final = re.compile(r"[\x00-\x1f\x7f]")
_SPACE: Final = re.compile(r"\s")  # the characters str.isspace() accepts (both use Py_UNICODE_ISSPACE)


def is_seat_id(text: str) -> bool:
    """True when ``text`` is exactly a seat id (``P`` + two capital letters + six digits)."""
    return SEAT_ID_PATTERN.fullmatch(text) is not None


def _split(kind: str, text: str, default_scheme: str | None) -> tuple[str, str]:
    if not isinstance(text, str):
        raise IdentifierError(kind, text, f"must be a string, not {type(text).__name__}")
    scheme, sep, value = text.strip().partition("::")
    if not sep:
        if default_scheme is None:
            raise IdentifierError(kind, text, "is not of the form scheme::value")
        return default_scheme, text.strip()
    return scheme, value


def _check_common(kind: str, scheme: str, value: str, max_value: int) -> None:
    if not isinstance(scheme, str) or not isinstance(value, str):
        raise IdentifierError(kind, value, "scheme and value must be strings")
    if not scheme or len(scheme) > _MAX_SCHEME or not _SCHEME_RE.fullmatch(scheme):
        raise IdentifierError(kind, f"{scheme}::{value}", f"has an invalid scheme {scheme!r}")
    if not value:
        raise IdentifierError(kind, f"{scheme}::{value}", "has an empty value")
    if value != value.strip():
        raise IdentifierError(kind, f"{scheme}::{value}", "has leading or trailing white space")
    if len(value) > max_value:
        raise IdentifierError(kind, f"{scheme}::{value[:40]}…", f"is {len(value)} characters long; at most "
                              f"{max_value} are allowed")
    if _FORBIDDEN.search(value):
        raise IdentifierError(kind, f"{scheme}::{value}", "contains control characters")
    try:
        value.encode("ascii")
    except UnicodeEncodeError:
        raise IdentifierError(kind, f"{scheme}::{value}", "contains characters outside US-ASCII") from None


class _Identifier:
    """Shared behaviour: ``scheme::value`` text, URL encoding for SMP paths."""

    __slots__ = ()
    scheme: str
    value: str

    def __str__(self) -> str:
        return f"{self.scheme}::{self.value}"

    @property
    def uri_encoded(self) -> str:
        """``scheme::value`` percent-encoded for an SMP URL path segment (``:`` -> ``%3A``, ``#`` -> ``%23``)."""
        return urllib.parse.quote(str(self), safe="")


@dataclass(frozen=True, slots=True, eq=False)
class ParticipantId(_Identifier):
    """A Peppol participant: ``iso6523-actorid-upis::0088:7300010000001``.

    Equality and hashing ignore case (the policy makes participant identifiers case-insensitive).
    ``ParticipantId.parse`` checks the syntax (four-digit ICD, a colon, a value, at most 135 characters);
    :meth:`check_scheme` (or ``parse(..., strict=True)``) also requires the ICD to be a current EAS
    code, which outgoing documents must satisfy but legacy SMP data (``9908:…``) does not.
    """

    scheme: str
    value: str
    _key: tuple[str, str] = field(init=False, repr=False, compare=False)

    kind: ClassVar[str] = "participant identifier"

    def __post_init__(self) -> None:
        _check_common(self.kind, self.scheme, self.value, _MAX_PARTICIPANT)
        if self.scheme.lower() != PARTICIPANT_SCHEME:
            raise IdentifierError(self.kind, str(self), f"must use the scheme {PARTICIPANT_SCHEME}")
        if not _PARTICIPANT_RE.fullmatch(self.value):
            raise IdentifierError(self.kind, str(self), "must be ICD:identifier with a four-digit ICD, e.g. "
                                  "0088:7300010000001")
        object.__setattr__(self, "_key", (self.scheme.lower(), self.value.lower()))

    @classmethod
    def of(cls, value: str, *, strict: bool = False) -> ParticipantId:
        """``0088:7300010000001`` in the Peppol scheme (the text is the value; it is not split at ``::``)."""
        if not isinstance(value, str):
            raise IdentifierError(cls.kind, value, "must be a string")
        pid = cls(PARTICIPANT_SCHEME, value.strip())
        if strict:
            pid.check_scheme()
        return pid

    @classmethod
    def parse(cls, text: str, *, strict: bool = False) -> ParticipantId:
        """Read ``scheme::ICD:value`` or a bare ``ICD:value``; ``strict`` also checks the ICD against EAS."""
        scheme, value = _split(cls.kind, text, PARTICIPANT_SCHEME)
        pid = cls(scheme, value)
        if strict:
            pid.check_scheme()
        return pid

    @classmethod
    def from_endpoint(cls, endpoint: EndpointId) -> ParticipantId:
        """The participant behind a UBL ``cbc:EndpointID`` (``schemeID`` + value)."""
        return cls(PARTICIPANT_SCHEME, f"{endpoint.scheme}:{endpoint.value}")

    def to_endpoint(self) -> EndpointId:
        """The UBL ``EndpointId``; raises :class:`CodeError` when the ICD is not an EAS code."""
        from .model import EndpointId

        return EndpointId(self.icd, self.identifier)

    @property
    def icd(self) -> str:
        """The scheme code before the colon (``0088``)."""
        return self.value.partition(":")[0]

    @property
    def identifier(self) -> str:
        """The identifier after the ICD and colon (``7300010000001``)."""
        return self.value.partition(":")[2]

    @property
    def is_known_scheme(self) -> bool:
        """True when the ICD is in the EAS code list of the current release."""
        return self.icd in codelists.EAS

    def check_scheme(self) -> ParticipantId:
        """Raise :class:`CodeError` unless the ICD is a current EAS code; returns ``self``."""
        if self.icd not in codelists.EAS:
            raise CodeError("EAS", self.icd)
        return self

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ParticipantId):
            return NotImplemented
        return self._key == other._key

    def __hash__(self) -> int:
        return hash(("participant", self._key))


@dataclass(frozen=True, slots=True, eq=False)
class DocumentTypeId(_Identifier):
    """A document type: ``busdox-docid-qns::<root-ns>::<root>##<CustomizationID>::2.1``.

    The value is case-sensitive; the scheme is not. PINT document types use the
    ``peppol-doctype-wildcard`` scheme.
    """

    scheme: str
    value: str

    kind: ClassVar[str] = "document type identifier"

    def __post_init__(self) -> None:
        _check_common(self.kind, self.scheme, self.value, _MAX_DOCTYPE)
        if self.scheme.lower() not in (DOCTYPE_SCHEME, DOCTYPE_WILDCARD_SCHEME):
            raise IdentifierError(self.kind, str(self), f"must use the scheme {DOCTYPE_SCHEME} or "
                                  f"{DOCTYPE_WILDCARD_SCHEME}")
        if _SPACE.search(self.value):
            raise IdentifierError(self.kind, str(self), "contains white space")

    @classmethod
    def of(cls, value: str, *, scheme: str = DOCTYPE_SCHEME) -> DocumentTypeId:
        return cls(scheme, value)

    @classmethod
    def parse(cls, text: str) -> DocumentTypeId:
        """Read ``scheme::value``; the scheme is required because the value itself contains ``::``."""
        if not isinstance(text, str):
            raise IdentifierError(cls.kind, text, "must be a string")
        stripped = text.strip()
        lowered = stripped.lower()
        for scheme in (DOCTYPE_SCHEME, DOCTYPE_WILDCARD_SCHEME):
            if lowered.startswith(scheme + "::"):
                return cls(stripped[: len(scheme)], stripped[len(scheme) + 2:])
        raise IdentifierError(cls.kind, text, f"must start with {DOCTYPE_SCHEME}:: or {DOCTYPE_WILDCARD_SCHEME}::")

    @property
    def parts(self) -> tuple[str, str, str, str]:
        """``(root namespace, root local name, customization id, syntax version)`` of a UBL-style value.

        Raises :class:`IdentifierError` when the value is not of the form ``ns::local##customization::version``.
        """
        head, sep, tail = self.value.partition("##")
        ns, sep2, local = head.rpartition("::")
        customization, sep3, version = tail.rpartition("::")
        if not (sep and sep2 and sep3 and ns and local and customization and version):
            raise IdentifierError(self.kind, str(self), "is not of the form namespace::root##customization::version")
        return ns, local, customization, version

    @property
    def root_namespace(self) -> str:
        return self.parts[0]

    @property
    def root_name(self) -> str:
        return self.parts[1]

    @property
    def customization_id(self) -> str:
        return self.parts[2]

    @property
    def version(self) -> str:
        return self.parts[3]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DocumentTypeId):
            return NotImplemented
        return self.scheme.lower() == other.scheme.lower() and self.value == other.value

    def __hash__(self) -> int:
        return hash(("doctype", self.scheme.lower(), self.value))


@dataclass(frozen=True, slots=True, eq=False)
class ProcessId(_Identifier):
    """A process (``cenbii-procid-ubl::urn:fdc:peppol.eu:poacc:bis:invoice_response:3``); value case-sensitive."""

    scheme: str
    value: str

    kind: ClassVar[str] = "process identifier"

    def __post_init__(self) -> None:
        _check_common(self.kind, self.scheme, self.value, _MAX_PROCESS)
        if self.scheme.lower() != PROCESS_SCHEME:
            raise IdentifierError(self.kind, str(self), f"must use the scheme {PROCESS_SCHEME}")

    @classmethod
    def of(cls, value: str, *, scheme: str = PROCESS_SCHEME) -> ProcessId:
        return cls(scheme, value)

    @classmethod
    def parse(cls, text: str) -> ProcessId:
        """Read ``scheme::value`` or a bare value in the ``cenbii-procid-ubl`` scheme."""
        scheme, value = _split(cls.kind, text, PROCESS_SCHEME)
        return cls(scheme, value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ProcessId):
            return NotImplemented
        return self.scheme.lower() == other.scheme.lower() and self.value == other.value

    def __hash__(self) -> int:
        return hash(("process", self.scheme.lower(), self.value))


# --- well-known identifiers -------------------------------------------------------------------------------

_AR_NS: Final = "urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2"
_INV_NS: Final = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
_CN_NS: Final = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
_BILLING_CUSTOMIZATION: Final = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"

INVOICE_RESPONSE: Final = DocumentTypeId(
    DOCTYPE_SCHEME, f"{_AR_NS}::ApplicationResponse##urn:fdc:peppol.eu:poacc:trns:invoice_response:3::2.1")
"""Document type of a Peppol BIS Invoice Response 3 (T111)."""
INVOICE_RESPONSE_PROCESS: Final = ProcessId(PROCESS_SCHEME, "urn:fdc:peppol.eu:poacc:bis:invoice_response:3")
"""Process of BIS Invoice Response 3 (profile 63)."""
BILLING_WITH_RESPONSE_PROCESS: Final = ProcessId(PROCESS_SCHEME, "urn:peppol:bis:billing_with_response")
"""Process of BIS Billing with Response (profile 66): invoices, credit notes and their responses."""
MLR: Final = DocumentTypeId(DOCTYPE_SCHEME, f"{_AR_NS}::ApplicationResponse##urn:fdc:peppol.eu:poacc:trns:mlr:3::2.1")
"""Document type of a Peppol Message Level Response (T71)."""
MLR_PROCESS: Final = ProcessId(PROCESS_SCHEME, "urn:fdc:peppol.eu:poacc:bis:mlr:3")
MLS: Final = DocumentTypeId(DOCTYPE_SCHEME, f"{_AR_NS}::ApplicationResponse##urn:peppol:edec:mls:1.0::2.1")
"""Document type of a Peppol Message Level Status."""
MLS_PROCESS: Final = ProcessId(PROCESS_SCHEME, "urn:peppol:edec:mls")
BILLING_INVOICE: Final = DocumentTypeId(DOCTYPE_SCHEME, f"{_INV_NS}::Invoice##{_BILLING_CUSTOMIZATION}::2.1")
"""Document type of a Peppol BIS Billing 3 invoice."""
BILLING_CREDIT_NOTE: Final = DocumentTypeId(DOCTYPE_SCHEME, f"{_CN_NS}::CreditNote##{_BILLING_CUSTOMIZATION}::2.1")
"""Document type of a Peppol BIS Billing 3 credit note."""
BILLING_PROCESS: Final = ProcessId(PROCESS_SCHEME, "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0")
"""Process of Peppol BIS Billing 3."""

_CBC: Final = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
_PINT_PREFIX: Final = "urn:peppol:pint:"


def _ubl_child_text(root: etree._Element, local: str) -> str:
    from .xmlsafe import location

    found = [c for c in root if c.tag == f"{{{_CBC}}}{local}"]
    if not found:
        raise IdentifierError("document", location(root), f"has no cbc:{local} (needed for the Peppol identifiers)")
    if len(found) > 1:
        raise IdentifierError("document", location(found[1]), f"has more than one cbc:{local}")
    text = " ".join((found[0].text or "").split())
    if not text:
        raise IdentifierError("document", location(found[0]), f"cbc:{local} is empty")
    return text


def _root_of(document: etree._Element | bytes) -> etree._Element:
    if isinstance(document, (bytes, bytearray)):
        from .xmlsafe import parse_xml

        return parse_xml(bytes(document), what="business document")
    return document


def document_type_of(document: etree._Element | bytes, *, scheme: str | None = None,
                     version: str = UBL_SYNTAX_VERSION) -> DocumentTypeId:
    """Derive the document type identifier of a UBL document from the document itself.

    ``<root namespace>::<root local name>##<cbc:CustomizationID>::2.1``. The scheme is
    ``busdox-docid-qns``, or ``peppol-doctype-wildcard`` for a PINT CustomizationID, unless given.
    """
    root = _root_of(document)
    tag = root.tag
    if not isinstance(tag, str) or not tag.startswith("{"):
        raise IdentifierError("document", str(tag), "has a root element without a namespace")
    ns, _, local = tag[1:].partition("}")
    customization = _ubl_child_text(root, "CustomizationID")
    if scheme is None:
        scheme = DOCTYPE_WILDCARD_SCHEME if customization.startswith(_PINT_PREFIX) else DOCTYPE_SCHEME
    return DocumentTypeId(scheme, f"{ns}::{local}##{customization}::{version}")


def process_of(document: etree._Element | bytes) -> ProcessId:
    """The process identifier of a UBL document: its ``cbc:ProfileID`` in the ``cenbii-procid-ubl`` scheme."""
    return ProcessId(PROCESS_SCHEME, _ubl_child_text(_root_of(document), "ProfileID"))
