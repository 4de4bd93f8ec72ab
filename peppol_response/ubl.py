"""Invoice Response XML out and in: an exact serializer and a safe, explaining parser.

:func:`serialize` writes the elements in the UBL schema order of :mod:`peppol_response.binding` (a test
checks the two agree) with the usual prefixes: the default namespace for the root, ``cac:`` and ``cbc:``.
It writes strings directly instead of building a tree, which is several times faster and byte-exact.

:func:`parse` reads untrusted bytes through :func:`peppol_response.xmlsafe.parse_xml` and maps them onto
the model. It follows the BIS data model: an element outside the binding, a missing mandatory element,
or more occurrences than the BIS allows raise :class:`~peppol_response.errors.ParseError` with the line
and an XPath. (The official validation tolerates some extra occurrences, e.g. two notes; use
:func:`peppol_response.validate` to judge a document, and ``parse`` to use it.) Codes are whitespace-
normalised as the official rules do; every other text is kept exactly.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Final, TypeVar

from lxml import etree

from .binding import CAC, CBC, CUSTOMIZATION_ID, UBL_NS
from .codes import (
    ClarificationList,
    DocumentTypeCode,
    ResponseCode,
    StatusAction,
    StatusReason,
    clarification_code,
)
from .errors import BuildError, CodeError, ParseError
from .model import (
    Clarification,
    Condition,
    Contact,
    DocumentReference,
    EndpointId,
    InvoiceResponse,
    Party,
    PartyId,
    ReferencedParty,
)
from .xmlsafe import location, parse_xml, qname, source_line

__all__ = ["MAX_DOCUMENT_BYTES", "parse", "parse_element", "serialize"]

_T = TypeVar("_T")

MAX_DOCUMENT_BYTES: Final = 2 * 1024 * 1024
"""Largest Invoice Response :func:`parse` accepts (2 MiB; real ones are a few kB)."""

_SBDH_NS: Final = "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"
_MLR_CUSTOMIZATION: Final = "urn:fdc:peppol.eu:poacc:trns:mlr:3"
_MLS_CUSTOMIZATION: Final = "urn:peppol:edec:mls:1.0"

# --------------------------------------------------------------------------------------------------
# Serializer
# --------------------------------------------------------------------------------------------------

_ROOT_OPEN: Final = (
    f'<ApplicationResponse xmlns="{UBL_NS}" xmlns:cac="{CAC}" xmlns:cbc="{CBC}">'
)
_DECL: Final = '<?xml version="1.0" encoding="UTF-8"?>\n'
_TEXT_ESCAPES: Final = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTR_ESCAPES: Final = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#9;"}
)


def _esc(text: str) -> str:
    return text.translate(_TEXT_ESCAPES)


def _attr(text: str) -> str:
    return text.translate(_ATTR_ESCAPES)


def _time(value: dt.time) -> str:
    return value.isoformat()


def serialize(response: InvoiceResponse, *, pretty: bool = True) -> bytes:
    """UTF-8 XML for ``response``, with an XML declaration, in schema element order."""
    out: list[str] = [_DECL, _ROOT_OPEN]
    nl = "\n" if pretty else ""
    ind = "  " if pretty else ""

    def leaf(depth: int, tag: str, text: str, attrs: str = "") -> None:
        out.append(f"{nl}{ind * depth}<{tag}{attrs}>{_esc(text)}</{tag}>")

    def open_(depth: int, tag: str) -> None:
        out.append(f"{nl}{ind * depth}<{tag}>")

    def close(depth: int, tag: str) -> None:
        out.append(f"{nl}{ind * depth}</{tag}>")

    def party_id(depth: int, pid: PartyId) -> None:
        open_(depth, "cac:PartyIdentification")
        scheme = f' schemeID="{_attr(pid.scheme)}"' if pid.scheme is not None else ""
        leaf(depth + 1, "cbc:ID", pid.value, scheme)
        close(depth, "cac:PartyIdentification")

    def party(tag: str, p: Party) -> None:
        open_(1, tag)
        leaf(2, "cbc:EndpointID", p.endpoint.value, f' schemeID="{_attr(p.endpoint.scheme)}"')
        if p.identifier is not None:
            party_id(2, p.identifier)
        open_(2, "cac:PartyLegalEntity")
        leaf(3, "cbc:RegistrationName", p.name)
        close(2, "cac:PartyLegalEntity")
        if p.contact is not None:
            c = p.contact
            open_(2, "cac:Contact")
            if c.name is not None:
                leaf(3, "cbc:Name", c.name)
            if c.telephone is not None:
                leaf(3, "cbc:Telephone", c.telephone)
            if c.email is not None:
                leaf(3, "cbc:ElectronicMail", c.email)
            close(2, "cac:Contact")
        close(1, tag)

    def referenced(tag: str, p: ReferencedParty) -> None:
        open_(2, tag)
        if p.identifier is not None:
            party_id(3, p.identifier)
        open_(3, "cac:PartyName")
        leaf(4, "cbc:Name", p.name)
        close(3, "cac:PartyName")
        close(2, tag)

    r = response
    leaf(1, "cbc:CustomizationID", r.customization_id)
    leaf(1, "cbc:ProfileID", r.profile_id)
    leaf(1, "cbc:ID", r.id)
    leaf(1, "cbc:IssueDate", r.issue_date.isoformat())
    if r.issue_time is not None:
        leaf(1, "cbc:IssueTime", _time(r.issue_time))
    if r.note is not None:
        leaf(1, "cbc:Note", r.note)
    party("cac:SenderParty", r.sender)
    party("cac:ReceiverParty", r.receiver)
    open_(1, "cac:DocumentResponse")
    open_(2, "cac:Response")
    leaf(3, "cbc:ResponseCode", r.code.value)
    if r.effective_date is not None:
        leaf(3, "cbc:EffectiveDate", r.effective_date.isoformat())
    for c in r.clarifications:
        open_(3, "cac:Status")
        if c.code is not None:
            leaf(4, "cbc:StatusReasonCode", c.code.value, f' listID="{c.code.list_id().value}"')
        if c.reason is not None:
            leaf(4, "cbc:StatusReason", c.reason)
        for cond in c.conditions:
            open_(4, "cac:Condition")
            leaf(5, "cbc:AttributeID", cond.attribute_id)
            if cond.description is not None:
                leaf(5, "cbc:Description", cond.description)
            close(4, "cac:Condition")
        close(3, "cac:Status")
    close(2, "cac:Response")
    d = r.document
    open_(2, "cac:DocumentReference")
    leaf(3, "cbc:ID", d.id)
    if d.issue_date is not None:
        leaf(3, "cbc:IssueDate", d.issue_date.isoformat())
    leaf(3, "cbc:DocumentTypeCode", str(d.type_code))
    close(2, "cac:DocumentReference")
    if r.issuer_party is not None:
        referenced("cac:IssuerParty", r.issuer_party)
    if r.recipient_party is not None:
        referenced("cac:RecipientParty", r.recipient_party)
    close(1, "cac:DocumentResponse")
    out.append(f"{nl}</ApplicationResponse>{nl}")
    return "".join(out).encode("utf-8")


# --------------------------------------------------------------------------------------------------
# Parser
# --------------------------------------------------------------------------------------------------

_C = "{" + CAC + "}"
_B = "{" + CBC + "}"
_ROOT_TAG: Final = "{" + UBL_NS + "}ApplicationResponse"

_DATE_RE: Final = re.compile(r"^(-?\d{4,})-(\d{2})-(\d{2})(Z|[+-]\d{2}:\d{2})?$")
_TIME_RE: Final = re.compile(r"^(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?$")


def _fail(el: etree._Element, message: str) -> ParseError:
    return ParseError(message, line=source_line(el), path=location(el))


def _children(el: etree._Element) -> list[etree._Element]:
    """Element children (comments and processing instructions skipped)."""
    return [c for c in el if isinstance(c.tag, str)]


def _leaf_text(el: etree._Element) -> str:
    if len(el):
        parts = [el.text or ""]
        for c in el:
            if isinstance(c.tag, str):
                raise _fail(c, f"{qname(el.tag)} holds text, not the element {qname(c.tag)}")
            parts.append(c.tail or "")
        text = "".join(parts)
    else:
        text = el.text or ""
    if not text.strip():
        raise _fail(el, f"{qname(el.tag)} is empty (PEPPOL-COMMON-R001)")
    return text


def _code_text(el: etree._Element) -> str:
    return " ".join(_leaf_text(el).split())


def _date(el: etree._Element) -> dt.date:
    text = _leaf_text(el).strip()
    if len(text) == 10 and text[4] == "-" and text[7] == "-" and text[:4].isdigit():
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    m = _DATE_RE.match(text)
    if m is None:
        raise _fail(el, f"{qname(el.tag)} {text!r} is not a date (YYYY-MM-DD)")
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError as exc:
        raise _fail(el, f"{qname(el.tag)} {text!r} is not a valid date: {exc}") from None


def _tz(text: str | None) -> dt.tzinfo | None:
    if text is None:
        return None
    if text == "Z":
        return dt.UTC
    sign = -1 if text[0] == "-" else 1
    hours, minutes = int(text[1:3]), int(text[4:6])
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))


def _time_value(el: etree._Element) -> dt.time:
    text = _leaf_text(el).strip()
    if len(text) == 8 and text[2] == ":" and text[5] == ":" and text[:2].isdigit() and text[6:].isdigit():
        try:
            return dt.time.fromisoformat(text)
        except ValueError:
            pass
    m = _TIME_RE.match(text)
    if m is None:
        raise _fail(el, f"{qname(el.tag)} {text!r} is not a time (hh:mm:ss)")
    hour, minute, second = int(m[1]), int(m[2]), int(m[3])
    micro = int((m[4] or "0")[:6].ljust(6, "0"))
    if hour == 24 and minute == 0 and second == 0 and micro == 0:
        hour = 0  # xs:time allows 24:00:00 for midnight
    try:
        return dt.time(hour, minute, second, micro, tzinfo=_tz(m[5]))
    except ValueError as exc:
        raise _fail(el, f"{qname(el.tag)} {text!r} is not a valid time: {exc}") from None


def _unknown(parent: etree._Element, child: etree._Element) -> ParseError:
    return _fail(
        child, f"{qname(child.tag)} is not part of the Invoice Response data model inside {qname(parent.tag)}"
    )


def _repeated(parent: etree._Element, child: etree._Element) -> ParseError:
    return _fail(
        child,
        f"{qname(child.tag)} may occur only once in {qname(parent.tag)} in an Invoice Response "
        "(the BIS data model holds one)",
    )


def _missing(parent: etree._Element, tag: str) -> ParseError:
    return _fail(parent, f"{qname(parent.tag)} lacks the mandatory element {qname(tag)}")


def _guard(el: etree._Element, build: Callable[[], _T]) -> _T:
    """Run a model constructor, turning its complaints into a ParseError at ``el``."""
    try:
        return build()
    except (CodeError, BuildError) as exc:
        raise _fail(el, f"{exc} in {qname(el.tag)}") from None


def _text(el: etree._Element) -> str:
    """Leaf text, fast path first; the slow path explains what is wrong."""
    t = el.text
    if t is not None and not len(el) and t.strip():
        return t
    return _leaf_text(el)


# Hand-written descent, one function per aggregate of the binding: several times faster than a
# generic table walk in CPython. tests/test_ubl.py checks that it accepts exactly the binding's
# elements (every allowed child, no other) so the two cannot drift apart.

_ID = _B + "ID"
_NAME = _B + "Name"
_ENDPOINT = _B + "EndpointID"
_PARTY_IDENT = _C + "PartyIdentification"
_LEGAL = _C + "PartyLegalEntity"
_REG_NAME = _B + "RegistrationName"
_CONTACT = _C + "Contact"
_TELEPHONE = _B + "Telephone"
_MAIL = _B + "ElectronicMail"
_PARTY_NAME = _C + "PartyName"
_ISSUE_DATE = _B + "IssueDate"


def _single_leaf(el: etree._Element, tag: str) -> etree._Element:
    """The one child ``tag`` of an aggregate that may hold nothing else (PartyIdentification, ...)."""
    found = None
    for c in el:
        if c.tag == tag:
            if found is not None:
                raise _repeated(el, c)
            found = c
        elif isinstance(c.tag, str):
            raise _unknown(el, c)
    if found is None:
        raise _missing(el, tag)
    return found


def _party_id(el: etree._Element) -> PartyId:
    idel = _single_leaf(el, _ID)
    value = _text(idel)
    scheme = idel.get("schemeID")
    try:
        return PartyId(value, scheme)
    except (CodeError, BuildError) as exc:
        raise _fail(idel, f"{exc} in {qname(idel.tag)}") from None


def _contact(el: etree._Element) -> Contact:
    name = tel = mail = None
    for c in el:
        tag = c.tag
        if tag == _NAME:
            if name is not None:
                raise _repeated(el, c)
            name = _text(c)
        elif tag == _TELEPHONE:
            if tel is not None:
                raise _repeated(el, c)
            tel = _text(c)
        elif tag == _MAIL:
            if mail is not None:
                raise _repeated(el, c)
            mail = _text(c)
        elif isinstance(tag, str):
            raise _unknown(el, c)
    return _guard(el, lambda: Contact(name, tel, mail))


def _party(el: etree._Element, *, contact_allowed: bool) -> Party:
    endpoint_el = pid_el = legal_el = contact_el = None
    for c in el:
        tag = c.tag
        if tag == _ENDPOINT:
            if endpoint_el is not None:
                raise _repeated(el, c)
            endpoint_el = c
        elif tag == _PARTY_IDENT:
            if pid_el is not None:
                raise _repeated(el, c)
            pid_el = c
        elif tag == _LEGAL:
            if legal_el is not None:
                raise _repeated(el, c)
            legal_el = c
        elif tag == _CONTACT and contact_allowed:
            if contact_el is not None:
                raise _repeated(el, c)
            contact_el = c
        elif isinstance(tag, str):
            raise _unknown(el, c)
    if endpoint_el is None:
        raise _missing(el, _ENDPOINT)
    if legal_el is None:
        raise _missing(el, _LEGAL)
    ep_value = _text(endpoint_el)
    scheme = endpoint_el.get("schemeID")
    if scheme is None:
        raise _fail(endpoint_el, f"{qname(endpoint_el.tag)} lacks the mandatory attribute schemeID")
    try:
        endpoint = EndpointId(scheme, ep_value)
    except (CodeError, BuildError) as exc:
        raise _fail(endpoint_el, f"{exc} in {qname(endpoint_el.tag)}") from None
    name = _text(_single_leaf(legal_el, _REG_NAME))
    identifier = None if pid_el is None else _party_id(pid_el)
    contact = None if contact_el is None else _contact(contact_el)
    return Party(endpoint, name, identifier, contact)


def _referenced(el: etree._Element) -> ReferencedParty:
    pid_el = name_el = None
    for c in el:
        tag = c.tag
        if tag == _PARTY_IDENT:
            if pid_el is not None:
                raise _repeated(el, c)
            pid_el = c
        elif tag == _PARTY_NAME:
            if name_el is not None:
                raise _repeated(el, c)
            name_el = c
        elif isinstance(tag, str):
            raise _unknown(el, c)
    if name_el is None:
        raise _missing(el, _PARTY_NAME)
    name = _text(_single_leaf(name_el, _NAME))
    identifier = None if pid_el is None else _party_id(pid_el)
    return ReferencedParty(name, identifier)


_REASONS: Final = {m.value: m for m in StatusReason}
_ACTIONS: Final = {m.value: m for m in StatusAction}
_LISTS: Final[dict[str, dict[str, StatusReason] | dict[str, StatusAction]]] = {
    ClarificationList.REASON.value: _REASONS,
    ClarificationList.ACTION.value: _ACTIONS,
}
_RESPONSE_CODES: Final = {m.value: m for m in ResponseCode}

_STATUS_CODE = _B + "StatusReasonCode"
_STATUS_TEXT = _B + "StatusReason"
_CONDITION = _C + "Condition"
_ATTRIBUTE_ID = _B + "AttributeID"
_DESCRIPTION = _B + "Description"


def _condition(el: etree._Element) -> Condition:
    attr = desc = None
    for c in el:
        tag = c.tag
        if tag == _ATTRIBUTE_ID:
            if attr is not None:
                raise _repeated(el, c)
            attr = _text(c)
        elif tag == _DESCRIPTION:
            if desc is not None:
                raise _repeated(el, c)
            desc = _text(c)
        elif isinstance(tag, str):
            raise _unknown(el, c)
    if attr is None:
        raise _missing(el, _ATTRIBUTE_ID)
    return Condition(attr, desc)


def _clarification(el: etree._Element) -> Clarification:
    code_el = reason = None
    conditions: list[Condition] = []
    for c in el:
        tag = c.tag
        if tag == _STATUS_CODE:
            if code_el is not None:
                raise _repeated(el, c)
            code_el = c
        elif tag == _STATUS_TEXT:
            if reason is not None:
                raise _repeated(el, c)
            reason = _text(c)
        elif tag == _CONDITION:
            conditions.append(_condition(c))
        elif isinstance(tag, str):
            raise _unknown(el, c)
    code = None
    if code_el is not None:
        list_id = code_el.get("listID")
        if list_id is None:
            raise _fail(code_el, f"{qname(code_el.tag)} lacks the mandatory attribute listID")
        text = " ".join(_text(code_el).split())
        table = _LISTS.get(list_id)
        code = None if table is None else table.get(text)
        if code is None:
            code = _guard(code_el, lambda: clarification_code(list_id, text))
    if code is None and reason is None and not conditions:
        raise _fail(el, f"{qname(el.tag)} is empty (PEPPOL-COMMON-R001)")
    return Clarification(code, reason, tuple(conditions))


_RESPONSE_CODE = _B + "ResponseCode"
_EFFECTIVE = _B + "EffectiveDate"
_STATUS = _C + "Status"
_TYPE_CODE = _B + "DocumentTypeCode"


def _response(el: etree._Element) -> tuple[ResponseCode, dt.date | None, tuple[Clarification, ...]]:
    code_el = eff_el = None
    clar: list[Clarification] = []
    for c in el:
        tag = c.tag
        if tag == _RESPONSE_CODE:
            if code_el is not None:
                raise _repeated(el, c)
            code_el = c
        elif tag == _EFFECTIVE:
            if eff_el is not None:
                raise _repeated(el, c)
            eff_el = c
        elif tag == _STATUS:
            clar.append(_clarification(c))
        elif isinstance(tag, str):
            raise _unknown(el, c)
    if code_el is None:
        raise _missing(el, _RESPONSE_CODE)
    text = " ".join(_text(code_el).split())
    code = _RESPONSE_CODES.get(text) or _guard(code_el, lambda: ResponseCode(text))
    return code, (None if eff_el is None else _date(eff_el)), tuple(clar)


def _document_reference(el: etree._Element) -> DocumentReference:
    id_el = date_el = type_el = None
    for c in el:
        tag = c.tag
        if tag == _ID:
            if id_el is not None:
                raise _repeated(el, c)
            id_el = c
        elif tag == _ISSUE_DATE:
            if date_el is not None:
                raise _repeated(el, c)
            date_el = c
        elif tag == _TYPE_CODE:
            if type_el is not None:
                raise _repeated(el, c)
            type_el = c
        elif isinstance(tag, str):
            raise _unknown(el, c)
    if id_el is None:
        raise _missing(el, _ID)
    if type_el is None:
        raise _missing(el, _TYPE_CODE)
    text = " ".join(_text(type_el).split())
    type_code = _guard(type_el, lambda: DocumentTypeCode(text))
    return DocumentReference(_text(id_el), type_code, None if date_el is None else _date(date_el))


_RESPONSE = _C + "Response"
_DOC_REF = _C + "DocumentReference"
_ISSUER = _C + "IssuerParty"
_RECIPIENT = _C + "RecipientParty"

_ROOT_CHILDREN: Final = {
    _B + "CustomizationID": 0,
    _B + "ProfileID": 1,
    _ID: 2,
    _ISSUE_DATE: 3,
    _B + "IssueTime": 4,
    _B + "Note": 5,
    _C + "SenderParty": 6,
    _C + "ReceiverParty": 7,
    _C + "DocumentResponse": 8,
}
_ROOT_MANDATORY: Final = (0, 1, 2, 3, 6, 7, 8)
_ROOT_TAGS: Final = tuple(_ROOT_CHILDREN)


def parse_element(root: etree._Element) -> InvoiceResponse:
    """Map an already parsed ``ubl:ApplicationResponse`` element onto the model."""
    if root.tag != _ROOT_TAG:
        name = qname(root.tag) if isinstance(root.tag, str) else "?"
        local = root.tag.rpartition("}")[2] if isinstance(root.tag, str) else ""
        if local == "ApplicationResponse":
            raise _fail(root, f"the root element ApplicationResponse is in the wrong namespace ({name}); "
                              f"expected {UBL_NS}")
        raise _fail(root, f"the root element is {name}, not an Invoice Response (ubl:ApplicationResponse)")
    slots: list[etree._Element | None] = [None] * 9
    index = _ROOT_CHILDREN.get
    for c in root:
        i = index(c.tag)
        if i is None:
            if isinstance(c.tag, str):
                raise _unknown(root, c)
            continue
        if slots[i] is not None:
            raise _repeated(root, c)
        slots[i] = c
    for i in _ROOT_MANDATORY:
        if slots[i] is None:
            raise _missing(root, _ROOT_TAGS[i])
    cust_el, prof_el, id_el, date_el, time_el, note_el, sender_el, receiver_el, dr_el = slots
    assert cust_el is not None
    assert prof_el is not None
    assert id_el is not None
    assert date_el is not None
    assert sender_el is not None
    assert receiver_el is not None
    assert dr_el is not None

    customization = _text(cust_el)
    norm = " ".join(customization.split())
    if not norm.startswith(CUSTOMIZATION_ID):
        if norm.startswith(_MLR_CUSTOMIZATION):
            raise _fail(cust_el, "this is a Peppol Message Level Response (MLR, T71), not an Invoice Response")
        if norm.startswith(_MLS_CUSTOMIZATION):
            raise _fail(cust_el, "this is a Peppol Message Level Status (MLS), not an Invoice Response")
        raise _fail(cust_el, f"CustomizationID {norm!r} is not an Invoice Response ({CUSTOMIZATION_ID})")

    response_el = docref_el = issuer_el = recipient_el = None
    for c in dr_el:
        tag = c.tag
        if tag == _RESPONSE:
            if response_el is not None:
                raise _repeated(dr_el, c)
            response_el = c
        elif tag == _DOC_REF:
            if docref_el is not None:
                raise _repeated(dr_el, c)
            docref_el = c
        elif tag == _ISSUER:
            if issuer_el is not None:
                raise _repeated(dr_el, c)
            issuer_el = c
        elif tag == _RECIPIENT:
            if recipient_el is not None:
                raise _repeated(dr_el, c)
            recipient_el = c
        elif isinstance(tag, str):
            raise _unknown(dr_el, c)
    if response_el is None:
        raise _missing(dr_el, _RESPONSE)
    if docref_el is None:
        raise _missing(dr_el, _DOC_REF)
    code, effective, clar = _response(response_el)
    try:
        return InvoiceResponse(
            id=_text(id_el),
            issue_date=_date(date_el),
            sender=_party(sender_el, contact_allowed=True),
            receiver=_party(receiver_el, contact_allowed=False),
            code=code,
            document=_document_reference(docref_el),
            clarifications=clar,
            effective_date=effective,
            issue_time=None if time_el is None else _time_value(time_el),
            note=None if note_el is None else _text(note_el),
            issuer_party=None if issuer_el is None else _referenced(issuer_el),
            recipient_party=None if recipient_el is None else _referenced(recipient_el),
            customization_id=customization,
            profile_id=_text(prof_el),
        )
    except (CodeError, BuildError) as exc:  # pragma: no cover - the element checks come first
        raise _fail(root, str(exc)) from None


def parse(data: bytes | str, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> InvoiceResponse:
    """Parse an Invoice Response (optionally inside its SBDH envelope) into the model.

    Raises :class:`~peppol_response.errors.ParseError` (with line and XPath) for anything that is not
    a well-formed Invoice Response of the BIS data model, and
    :class:`~peppol_response.errors.UnsafeXmlError` for hostile input.
    """
    root = parse_xml(data, what="Invoice Response", max_bytes=max_bytes, max_depth=None)
    if root.tag == "{" + _SBDH_NS + "}StandardBusinessDocument":
        payload = [c for c in _children(root) if c.tag != "{" + _SBDH_NS + "}StandardBusinessDocumentHeader"]
        if len(payload) != 1:
            raise _fail(root, "the SBDH envelope must hold exactly one business document")
        root = payload[0]
    return parse_element(root)
