"""The Peppol SBDH envelope (Peppol Business Message Envelope 2.0.2): wrap a document, read one back, check it.

::

    sbd = wrap(response_xml, country_c1="NO")        # sender/receiver/doc type/process from the document
    env = read_sbdh(sbd)                              # EnvelopeError naming the field when malformed
    env.check()                                       # ... or when it disagrees with its payload
    env.header.sender, env.payload, env.payload_bytes()

Writing keeps the payload's bytes as they are (prefixes, namespace declarations, whitespace): the
envelope is written around them, with the SBDH namespace as the default namespace of the envelope, so
nothing of the envelope leaks into the payload's namespace context (a payload root without a default
namespace declaration gets ``xmlns=""``, which changes nothing in its canonical form).

Reading applies the 2.0.2 rules: HeaderVersion 1.0, one Sender and one Receiver identifier with
Authority ``iso6523-actorid-upis``, the DocumentIdentification fields, the mandatory DOCUMENTID,
PROCESSID and COUNTRY_C1 scopes (``legacy=True`` lets COUNTRY_C1 be missing, for pre-2024 files), the
optional MLS_TO and MLS_TYPE, and any other scope kept in :attr:`SbdhHeader.extra_scopes`.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import threading
import uuid
from dataclasses import dataclass
from typing import Final

from lxml import etree

from .errors import EnvelopeError, IdentifierError
from .identifiers import (
    DOCTYPE_SCHEME,
    PARTICIPANT_SCHEME,
    PROCESS_SCHEME,
    UBL_SYNTAX_VERSION,
    DocumentTypeId,
    ParticipantId,
    ProcessId,
    document_type_of,
    process_of,
)
from .xmlsafe import DEFAULT_MAX_BYTES, parse_xml

__all__ = [
    "SBDH_NS",
    "Envelope",
    "MlsType",
    "SbdhHeader",
    "Scope",
    "check_against_payload",
    "endpoints_of",
    "header_for",
    "read_element",
    "read_sbdh",
    "wrap",
]

SBDH_NS: Final = "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"
_S: Final = "{" + SBDH_NS + "}"
_CAC: Final = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
_CBC: Final = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
_COUNTRY: Final = re.compile(r"[A-Z0-9]{2}")
_MLS_TO: Final = re.compile(r"0242:[0-9]{6}(-.+)?")
_XML_DECL: Final = re.compile(rb"^\s*<\?xml[^>]*\?>")
_ENCODING: Final = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_PROLOG: Final = re.compile(rb"(?:\s+|<!--.*?-->|<\?.*?\?>)*(<[^\s/>!?]+)", re.DOTALL)
_EPILOG: Final = re.compile(rb"(?:\s+|<!--.*?-->|<\?.*?\?>)*\Z", re.DOTALL)
_KNOWN_SCOPES: Final = frozenset({"DOCUMENTID", "PROCESSID", "COUNTRY_C1", "MLS_TO", "MLS_TYPE"})


class MlsType(enum.Enum):
    """When the receiving access point sends a Message Level Status back (scope MLS_TYPE)."""

    FAILURE_ONLY = "FAILURE_ONLY"
    ALWAYS_SEND = "ALWAYS_SEND"


@dataclass(frozen=True, slots=True)
class Scope:
    """A BusinessScope/Scope: ``Type``, ``InstanceIdentifier`` and optional ``Identifier``."""

    type: str
    instance_identifier: str
    identifier: str | None = None


@dataclass(frozen=True, slots=True)
class SbdhHeader:
    """The Peppol fields of a StandardBusinessDocumentHeader."""

    sender: ParticipantId
    receiver: ParticipantId
    document_type: DocumentTypeId
    process: ProcessId
    country_c1: str | None
    standard: str
    """``DocumentIdentification/Standard``: the payload root's namespace."""
    type: str
    """``DocumentIdentification/Type``: the payload root's local name."""
    instance_identifier: str
    creation: dt.datetime
    """``CreationDateAndTime``; always with a zone when we write it (may be naive in a legacy file read)."""
    type_version: str = UBL_SYNTAX_VERSION
    mls_to: ParticipantId | None = None
    mls_type: MlsType | None = None
    extra_scopes: tuple[Scope, ...] = ()
    header_version: str = "1.0"


@dataclass(frozen=True, slots=True)
class Envelope:
    """A read SBDH: the header and the payload element (inside the parsed envelope tree)."""

    header: SbdhHeader
    payload: etree._Element

    def payload_bytes(self) -> bytes:
        """The payload as a standalone XML document (its own namespace declarations, prefixes kept)."""
        return etree.tostring(self.payload, encoding="UTF-8", xml_declaration=True)

    def check(self) -> None:
        """Raise :class:`EnvelopeError` naming the field where the header disagrees with the payload."""
        check_against_payload(self.header, self.payload)


# --- UBL endpoints --------------------------------------------------------------------------------------------

_PARTY_PATHS: Final[dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    # root local name -> (path to the sender's EndpointID, path to the receiver's EndpointID)
    "ApplicationResponse": (("SenderParty",), ("ReceiverParty",)),
    "Invoice": (("AccountingSupplierParty", "Party"), ("AccountingCustomerParty", "Party")),
    "CreditNote": (("AccountingSupplierParty", "Party"), ("AccountingCustomerParty", "Party")),
    "Order": (("BuyerCustomerParty", "Party"), ("SellerSupplierParty", "Party")),
    "OrderResponse": (("SellerSupplierParty", "Party"), ("BuyerCustomerParty", "Party")),
    "DespatchAdvice": (("DespatchSupplierParty", "Party"), ("DeliveryCustomerParty", "Party")),
}


def _endpoint(root: etree._Element, path: tuple[str, ...]) -> ParticipantId | None:
    node: etree._Element | None = root
    for step in path:
        assert node is not None
        node = node.find(f"{{{_CAC}}}{step}")
        if node is None:
            return None
    assert node is not None
    ep = node.find(f"{{{_CBC}}}EndpointID")
    if ep is None or not (ep.text or "").strip() or not ep.get("schemeID"):
        return None
    try:
        return ParticipantId.of(f"{ep.get('schemeID', '').strip()}:{(ep.text or '').strip()}")
    except IdentifierError:
        return None


def endpoints_of(payload: etree._Element) -> tuple[ParticipantId | None, ParticipantId | None]:
    """``(sender, receiver)`` from the UBL EndpointIDs of the document types that carry them, else Nones.

    Invoice Response, MLR, MLS: SenderParty/ReceiverParty. Invoice and credit note: supplier/customer.
    """
    tag = payload.tag if isinstance(payload.tag, str) else ""
    paths = _PARTY_PATHS.get(tag.rpartition("}")[2])
    if paths is None:
        return None, None
    return _endpoint(payload, paths[0]), _endpoint(payload, paths[1])


# --- writing -------------------------------------------------------------------------------------------------

_parsed = threading.local()
_MEMO_MAX: Final = 1024 * 1024


def _payload_root(payload: bytes | etree._Element) -> etree._Element:
    """The payload's root element. Bytes are parsed once for the usual ``header_for`` + ``wrap`` sequence:
    each thread remembers its last parse of a ``bytes`` object (immutable; held, so its identity cannot be
    reused) of up to 1 MiB. The trees are only read here, never changed."""
    if isinstance(payload, bytes) and len(payload) <= _MEMO_MAX:
        last = getattr(_parsed, "last", None)
        if last is not None and last[0] is payload:
            root: etree._Element = last[1]
            return root
        root = parse_xml(payload, what="business document", max_depth=None)
        _parsed.last = (payload, root)
        return root
    if isinstance(payload, (bytes, bytearray)):
        return parse_xml(bytes(payload), what="business document", max_depth=None)
    if not isinstance(payload, etree._Element):
        raise EnvelopeError(f"the payload must be XML bytes or an lxml element, not {type(payload).__name__}",
                            field="payload")
    return payload


def header_for(payload: bytes | etree._Element, *, country_c1: str, sender: ParticipantId | str | None = None,
               receiver: ParticipantId | str | None = None, instance_identifier: str | None = None,
               creation: dt.datetime | None = None, mls_to: ParticipantId | str | None = None,
               mls_type: MlsType | str | None = None, extra_scopes: tuple[Scope, ...] = (),
               document_type: DocumentTypeId | None = None, process: ProcessId | None = None) -> SbdhHeader:
    """The header a document needs: doc type, process, Standard, Type from the document itself.

    Sender and receiver default to the document's EndpointIDs; InstanceIdentifier to a fresh UUID;
    CreationDateAndTime to now (UTC). Raises :class:`EnvelopeError` naming the field that cannot be set.
    """
    root = _payload_root(payload)
    tag = root.tag if isinstance(root.tag, str) else ""
    if not tag.startswith("{"):
        raise EnvelopeError("the payload root element has no namespace", field="Standard")
    ns, _, local = tag[1:].partition("}")
    try:
        doc_type = document_type or document_type_of(root)
        proc = process or process_of(root)
    except IdentifierError as exc:
        raise EnvelopeError(str(exc), field="DOCUMENTID/PROCESSID") from None
    ep_sender, ep_receiver = endpoints_of(root)
    snd = _participant(sender, "Sender") if sender is not None else ep_sender
    rcv = _participant(receiver, "Receiver") if receiver is not None else ep_receiver
    if snd is None:
        raise EnvelopeError("no sender given and the document has no sender EndpointID", field="Sender")
    if rcv is None:
        raise EnvelopeError("no receiver given and the document has no receiver EndpointID", field="Receiver")
    when = creation or dt.datetime.now(dt.UTC).replace(microsecond=0)
    if when.tzinfo is None or when.utcoffset() is None:
        raise EnvelopeError("CreationDateAndTime needs a time zone", field="CreationDateAndTime")
    header = SbdhHeader(
        sender=snd, receiver=rcv, document_type=doc_type, process=proc, country_c1=country_c1, standard=ns,
        type=local, instance_identifier=instance_identifier or str(uuid.uuid4()), creation=when,
        type_version=doc_type.parts[3] if doc_type.scheme == DOCTYPE_SCHEME else UBL_SYNTAX_VERSION,
        mls_to=_participant(mls_to, "MLS_TO") if mls_to is not None else None,
        mls_type=_mls_type(mls_type) if mls_type is not None else None, extra_scopes=tuple(extra_scopes))
    _validate(header, legacy=False)
    return header


def _participant(value: ParticipantId | str, what: str) -> ParticipantId:
    if isinstance(value, ParticipantId):
        return value
    try:
        return ParticipantId.parse(value)
    except IdentifierError as exc:
        raise EnvelopeError(str(exc), field=what) from None


def _mls_type(value: MlsType | str) -> MlsType:
    if isinstance(value, MlsType):
        return value
    try:
        return MlsType(value)
    except ValueError:
        raise EnvelopeError(f"{value!r} is not FAILURE_ONLY or ALWAYS_SEND", field="MLS_TYPE") from None


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(text: str) -> str:
    return _esc(text).replace('"', "&quot;")


def _datetime(when: dt.datetime) -> str:
    text = when.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _header_xml(h: SbdhHeader) -> str:
    def scope(s: Scope) -> str:
        ident = f"<Identifier>{_esc(s.identifier)}</Identifier>" if s.identifier is not None else ""
        return (f"      <Scope><Type>{_esc(s.type)}</Type><InstanceIdentifier>{_esc(s.instance_identifier)}"
                f"</InstanceIdentifier>{ident}</Scope>\n")

    scopes = [Scope("DOCUMENTID", h.document_type.value, h.document_type.scheme),
              Scope("PROCESSID", h.process.value, h.process.scheme)]
    if h.country_c1 is not None:
        scopes.append(Scope("COUNTRY_C1", h.country_c1))
    if h.mls_to is not None:
        scopes.append(Scope("MLS_TO", h.mls_to.value, PARTICIPANT_SCHEME))
    if h.mls_type is not None:
        scopes.append(Scope("MLS_TYPE", h.mls_type.value))
    scopes.extend(h.extra_scopes)
    return (
        "  <StandardBusinessDocumentHeader>\n"
        f"    <HeaderVersion>{_esc(h.header_version)}</HeaderVersion>\n"
        f'    <Sender><Identifier Authority="{PARTICIPANT_SCHEME}">{_esc(h.sender.value)}</Identifier></Sender>\n'
        f'    <Receiver><Identifier Authority="{PARTICIPANT_SCHEME}">{_esc(h.receiver.value)}</Identifier>'
        "</Receiver>\n"
        "    <DocumentIdentification>\n"
        f"      <Standard>{_esc(h.standard)}</Standard>\n"
        f"      <TypeVersion>{_esc(h.type_version)}</TypeVersion>\n"
        f"      <InstanceIdentifier>{_esc(h.instance_identifier)}</InstanceIdentifier>\n"
        f"      <Type>{_esc(h.type)}</Type>\n"
        f"      <CreationDateAndTime>{_datetime(h.creation)}</CreationDateAndTime>\n"
        "    </DocumentIdentification>\n"
        "    <BusinessScope>\n" + "".join(scope(s) for s in scopes) + "    </BusinessScope>\n"
        "  </StandardBusinessDocumentHeader>\n"
    )


def _payload_text(payload: bytes | etree._Element) -> bytes:
    """The payload's own bytes, UTF-8, without its XML declaration; the root gets ``xmlns=""`` if needed."""
    if isinstance(payload, etree._Element):
        raw = etree.tostring(payload, encoding="UTF-8")
        root = payload
    else:
        raw = bytes(payload)
        declared = _XML_DECL.match(raw)
        enc = _ENCODING.search(declared.group(0)) if declared else None
        if raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        elif (enc is not None and enc.group(1).lower() not in (b"utf-8", b"utf8")) or raw[:2] in (b"\xff\xfe",
                                                                                                b"\xfe\xff"):
            # Not UTF-8: the envelope is UTF-8, so the payload must be re-encoded (its meaning is kept).
            raw = etree.tostring(_payload_root(raw), encoding="UTF-8")
        raw = _XML_DECL.sub(b"", raw, count=1).strip()
        root = _payload_root(payload)
    # Comments and processing instructions around the root element are not part of the payload element.
    match = _PROLOG.match(raw)
    if match is None:  # pragma: no cover - a parsed document always has a start tag
        raise EnvelopeError("cannot find the payload's root element", field="payload")
    start = match.end() - len(match.group(1))
    if isinstance(payload, etree._Element) or root.getnext() is not None:
        raw = _EPILOG.sub(b"", raw[start:])
    else:  # nothing follows the root element but the white space stripped above: no epilog to search for
        raw = raw[start:]
    if None not in root.nsmap:
        # Keep the envelope's default namespace out of the payload's scope.
        name_end = len(match.group(1))
        raw = raw[:name_end] + b' xmlns=""' + raw[name_end:]
    return raw


def wrap(payload: bytes | etree._Element, header: SbdhHeader | None = None, *, country_c1: str | None = None,
         **fields: object) -> bytes:
    """The StandardBusinessDocument around ``payload`` (bytes or element), as UTF-8 bytes.

    Give a ready ``header`` (see :func:`header_for`), or ``country_c1`` and any :func:`header_for`
    keyword. The header is checked against the payload before anything is written.
    """
    if header is None:
        if country_c1 is None:
            raise EnvelopeError("COUNTRY_C1 is mandatory (the country of the sender, C1)", field="COUNTRY_C1")
        header = header_for(payload, country_c1=country_c1, **fields)  # type: ignore[arg-type]
    elif country_c1 is not None or fields:
        raise EnvelopeError("give either a header or header fields, not both", field="header")
    _validate(header, legacy=False)
    check_against_payload(header, _payload_root(payload))
    return (b'<?xml version="1.0" encoding="UTF-8"?>\n'
            b'<StandardBusinessDocument xmlns="' + SBDH_NS.encode() + b'">\n'
            + _header_xml(header).encode("utf-8") + b"  " + _payload_text(payload)
            + b"\n</StandardBusinessDocument>\n")


# --- reading ---------------------------------------------------------------------------------------------------

def _one(parent: etree._Element, local: str, *, field: str | None = None) -> etree._Element:
    found = parent.findall(_S + local)
    if len(found) != 1:
        what = "missing" if not found else f"present {len(found)} times"
        raise EnvelopeError(f"{local} is {what}; exactly one is required", field=field or local)
    return found[0]


def _text_of(parent: etree._Element, local: str, *, field: str | None = None) -> str:
    text = (_one(parent, local, field=field).text or "").strip()
    if not text:
        raise EnvelopeError(f"{local} is empty", field=field or local)
    return text


def _party(header: etree._Element, role: str) -> ParticipantId:
    node = _one(header, role)
    ident = _one(node, "Identifier", field=role)
    authority = ident.get("Authority")
    if authority != PARTICIPANT_SCHEME:
        raise EnvelopeError(f"Identifier/@Authority is {authority!r}, not {PARTICIPANT_SCHEME}", field=role)
    try:
        return ParticipantId(PARTICIPANT_SCHEME, (ident.text or "").strip())
    except IdentifierError as exc:
        raise EnvelopeError(str(exc), field=role) from None


def _parse_datetime(text: str) -> dt.datetime:
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    # Python accepts at most 6 fractional digits; xs:dateTime allows more.
    value = re.sub(r"(\.\d{6})\d+", r"\1", value)
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise EnvelopeError(f"{text!r} is not an xs:dateTime", field="CreationDateAndTime") from None


def read_sbdh(data: bytes, *, legacy: bool = False, max_bytes: int = DEFAULT_MAX_BYTES) -> Envelope:
    """Parse a StandardBusinessDocument (through the safe parser) into header + payload element.

    Raises :class:`EnvelopeError` naming the field for any breach of the envelope rules, and
    :class:`~peppol_response.errors.ParseError` for XML that is not well formed. Call
    :meth:`Envelope.check` to compare the header with the payload.
    """
    root = parse_xml(data, what="SBDH", max_bytes=max_bytes, max_depth=None)
    return read_element(root, legacy=legacy)


def read_element(root: etree._Element, *, legacy: bool = False) -> Envelope:
    """:func:`read_sbdh` for an already parsed tree."""
    if root.tag != _S + "StandardBusinessDocument":
        raise EnvelopeError(f"the root element is {root.tag}, not sh:StandardBusinessDocument",
                            field="StandardBusinessDocument")
    hdr = _one(root, "StandardBusinessDocumentHeader")
    payloads = [c for c in root if isinstance(c.tag, str) and c is not hdr]
    if len(payloads) != 1:
        raise EnvelopeError(f"the envelope holds {len(payloads)} business documents; exactly one is required",
                            field="payload")
    version = _text_of(hdr, "HeaderVersion")
    sender = _party(hdr, "Sender")
    receiver = _party(hdr, "Receiver")
    ident = _one(hdr, "DocumentIdentification")
    standard = _text_of(ident, "Standard")
    type_version = _text_of(ident, "TypeVersion")
    instance = _text_of(ident, "InstanceIdentifier")
    doc_type_name = _text_of(ident, "Type")
    creation = _parse_datetime(_text_of(ident, "CreationDateAndTime"))
    scope_parent = _one(hdr, "BusinessScope")
    scopes: dict[str, list[Scope]] = {}
    extra: list[Scope] = []
    for node in scope_parent.findall(_S + "Scope"):
        stype = _text_of(node, "Type", field="Scope/Type")
        inst = node.find(_S + "InstanceIdentifier")
        ident_el = node.find(_S + "Identifier")
        scope = Scope(stype, (inst.text or "").strip() if inst is not None else "",
                      (ident_el.text or "").strip() if ident_el is not None and ident_el.text else None)
        if stype in _KNOWN_SCOPES:
            scopes.setdefault(stype, []).append(scope)
        else:
            extra.append(scope)

    def single(name: str, *, required: bool) -> Scope | None:
        found = scopes.get(name, [])
        if len(found) > 1:
            raise EnvelopeError(f"the {name} scope appears {len(found)} times", field=name)
        if not found:
            if required:
                raise EnvelopeError(f"the mandatory {name} scope is missing", field=name)
            return None
        if not found[0].instance_identifier:
            raise EnvelopeError(f"the {name} scope has no InstanceIdentifier", field=name)
        return found[0]

    doc_scope = single("DOCUMENTID", required=True)
    proc_scope = single("PROCESSID", required=True)
    assert doc_scope is not None
    assert proc_scope is not None
    country = single("COUNTRY_C1", required=not legacy)
    mls_to_scope = single("MLS_TO", required=False)
    mls_type_scope = single("MLS_TYPE", required=False)
    try:
        doc_type = DocumentTypeId(doc_scope.identifier or DOCTYPE_SCHEME, doc_scope.instance_identifier)
    except IdentifierError as exc:
        raise EnvelopeError(str(exc), field="DOCUMENTID") from None
    try:
        process = ProcessId(proc_scope.identifier or PROCESS_SCHEME, proc_scope.instance_identifier)
    except IdentifierError as exc:
        raise EnvelopeError(str(exc), field="PROCESSID") from None
    mls_to = None
    if mls_to_scope is not None:
        if (mls_to_scope.identifier or PARTICIPANT_SCHEME) != PARTICIPANT_SCHEME:
            raise EnvelopeError(f"MLS_TO/Identifier must be {PARTICIPANT_SCHEME}", field="MLS_TO")
        mls_to = _participant(mls_to_scope.instance_identifier, "MLS_TO")
    header = SbdhHeader(
        sender=sender, receiver=receiver, document_type=doc_type, process=process,
        country_c1=country.instance_identifier if country is not None else None, standard=standard,
        type=doc_type_name, instance_identifier=instance, creation=creation, type_version=type_version,
        mls_to=mls_to, mls_type=_mls_type(mls_type_scope.instance_identifier) if mls_type_scope else None,
        extra_scopes=tuple(extra), header_version=version)
    _validate(header, legacy=legacy)
    return Envelope(header, payloads[0])


def _validate(h: SbdhHeader, *, legacy: bool) -> None:
    if h.header_version != "1.0":
        raise EnvelopeError(f"HeaderVersion is {h.header_version!r}, not 1.0", field="HeaderVersion")
    if ":" in h.type_version:
        raise EnvelopeError(f"TypeVersion {h.type_version!r} must not contain ':'", field="TypeVersion")
    if h.country_c1 is None:
        if not legacy:
            raise EnvelopeError("the mandatory COUNTRY_C1 scope is missing", field="COUNTRY_C1")
    elif not _COUNTRY.fullmatch(h.country_c1):
        raise EnvelopeError(f"{h.country_c1!r} is not a two-letter country code", field="COUNTRY_C1")
    if h.mls_to is not None and not _MLS_TO.fullmatch(h.mls_to.value):
        raise EnvelopeError(f"{h.mls_to.value!r} is not an SPIS identifier 0242:NNNNNN", field="MLS_TO")
    if not h.instance_identifier.strip():
        raise EnvelopeError("InstanceIdentifier is empty", field="InstanceIdentifier")


def check_against_payload(h: SbdhHeader, payload: etree._Element) -> None:
    """Raise :class:`EnvelopeError` naming the field where the header and the payload disagree."""
    tag = payload.tag if isinstance(payload.tag, str) else ""
    ns, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    if h.standard != ns:
        raise EnvelopeError(f"Standard is {h.standard!r} but the payload's root namespace is {ns!r}",
                            field="Standard")
    if h.type != local:
        raise EnvelopeError(f"Type is {h.type!r} but the payload's root element is {local!r}", field="Type")
    if h.document_type.scheme.lower() == DOCTYPE_SCHEME:
        try:
            parts = h.document_type.parts
        except IdentifierError as exc:
            raise EnvelopeError(str(exc), field="DOCUMENTID") from None
        if parts[0] != ns:
            raise EnvelopeError("the DOCUMENTID does not start with the payload's root namespace", field="DOCUMENTID")
        if parts[3] != h.type_version:
            raise EnvelopeError(f"TypeVersion is {h.type_version!r} but the DOCUMENTID ends in {parts[3]!r}",
                                field="TypeVersion")
    try:
        implied_doc = document_type_of(payload, scheme=h.document_type.scheme.lower(), version=h.type_version)
        implied_proc = process_of(payload)
    except IdentifierError as exc:
        raise EnvelopeError(str(exc), field="payload") from None
    if h.document_type.scheme.lower() == DOCTYPE_SCHEME and implied_doc != h.document_type:
        raise EnvelopeError(f"DOCUMENTID {h.document_type.value!r} is not the payload's document type "
                            f"{implied_doc.value!r}", field="DOCUMENTID")
    if h.document_type.scheme.lower() != DOCTYPE_SCHEME:
        # A wildcard document type names a CustomizationID prefix.
        head, _, tail = h.document_type.value.partition("##")
        if not implied_doc.value.startswith(head + "##" + tail.rpartition("::")[0].rstrip("*")):
            raise EnvelopeError(f"DOCUMENTID {h.document_type.value!r} does not cover the payload's "
                                f"{implied_doc.value!r}", field="DOCUMENTID")
    if implied_proc != h.process:
        raise EnvelopeError(f"PROCESSID {h.process.value!r} is not the payload's ProfileID {implied_proc.value!r}",
                            field="PROCESSID")
    sender, receiver = endpoints_of(payload)
    if sender is not None and sender != h.sender:
        raise EnvelopeError(f"Sender {h.sender.value} is not the document's sender EndpointID {sender.value}",
                            field="Sender")
    if receiver is not None and receiver != h.receiver:
        raise EnvelopeError(f"Receiver {h.receiver.value} is not the document's receiver EndpointID "
                            f"{receiver.value}", field="Receiver")
