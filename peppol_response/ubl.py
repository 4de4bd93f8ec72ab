"""Invoice Response XML out and in: an exact serializer and a safe, explaining parser.

:func:`serialize` writes the elements in the UBL schema order of :mod:`peppol_response.binding` (a test
checks the two agree) with the usual prefixes: the default namespace for the root, ``cac:`` and ``cbc:``.
It writes strings directly from fixed templates instead of building a tree, which is several times faster
and byte-exact.

:func:`parse` reads untrusted bytes through :func:`peppol_response.xmlsafe.parse_xml` and maps them onto
the model. It follows the BIS data model: an element outside the binding, a missing mandatory element,
or more occurrences than the BIS allows raise :class:`~peppol_response.errors.ParseError` with the line
and an XPath. (The official validation tolerates some extra occurrences, e.g. two notes; use
:func:`peppol_response.validate` to judge a document, and ``parse`` to use it.) Codes are whitespace-
normalised as the official rules do (XML whitespace only, as ``normalize-space()``); every other text is
kept exactly.

How the parser is built: one pass over ``root.iter()`` (every node once, in document order) driven by a
table generated from :data:`peppol_response.binding.BINDING`, so the elements it accepts are the binding's
by construction. ``len(element)`` tells how many child nodes follow, which is how the walk knows each
node's parent without asking lxml for it (creating element proxies and reading ``.tag`` are the costs
that dominate). The walk only files elements into per-aggregate records and refuses anything outside the
binding; reading values and building the model come after, with line and XPath for every complaint.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Final

from lxml import etree

from .binding import BINDING, CAC, CBC, CUSTOMIZATION_ID, UBL_NS, Element, clark
from .codelists import EAS, ICD
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
    XML_WHITESPACE,
    Clarification,
    Condition,
    Contact,
    DocumentReference,
    InvoiceResponse,
    Party,
    PartyId,
    ReferencedParty,
    _unchecked_clarification,
    _unchecked_condition,
    _unchecked_contact,
    _unchecked_document,
    _unchecked_endpoint,
    _unchecked_party,
    _unchecked_party_id,
    _unchecked_referenced,
    _unchecked_response,
)
from .xmlsafe import location, parse_xml, qname, source_line

__all__ = ["MAX_DOCUMENT_BYTES", "SBDH_NS", "parse", "parse_element", "serialize", "unwrap_sbdh"]

MAX_DOCUMENT_BYTES: Final = 2 * 1024 * 1024
"""Largest Invoice Response :func:`parse` accepts (2 MiB; real ones are a few kB)."""

SBDH_NS: Final = "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"
_SBD_TAG: Final = "{" + SBDH_NS + "}StandardBusinessDocument"
_SBDH_TAG: Final = "{" + SBDH_NS + "}StandardBusinessDocumentHeader"
_MLR_CUSTOMIZATION: Final = "urn:fdc:peppol.eu:poacc:trns:mlr:3"
_MLS_CUSTOMIZATION: Final = "urn:peppol:edec:mls:1.0"

# --------------------------------------------------------------------------------------------------
# Serializer
# --------------------------------------------------------------------------------------------------

_DECL: Final = '<?xml version="1.0" encoding="UTF-8"?>\n'
_ROOT_OPEN: Final = f'<ApplicationResponse xmlns="{UBL_NS}" xmlns:cac="{CAC}" xmlns:cbc="{CBC}">'
_TEXT_ESCAPES: Final = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})


def _esc(text: str) -> str:
    """Escape character data. ``\\r`` is written as a reference so that it survives parsing."""
    if "&" in text or "<" in text or ">" in text or "\r" in text:
        return text.translate(_TEXT_ESCAPES)
    return text


# Line breaks and indentation before an element at depth 1..5, for the pretty and the compact layout.
_INDENTS: Final = {
    True: tuple("\n" + "  " * depth for depth in range(6)),
    False: ("",) * 6,
}


def serialize(response: InvoiceResponse, *, pretty: bool = True) -> bytes:
    """UTF-8 XML for ``response``, with an XML declaration, in schema element order.

    Attribute values (``schemeID``, ``listID``), codes and dates come from code lists and ISO formats
    and never need escaping; every text is escaped.
    """
    r = response
    esc = _esc
    _, n1, n2, n3, n4, n5 = _INDENTS[pretty]
    out = [
        f"{_DECL}{_ROOT_OPEN}"
        f"{n1}<cbc:CustomizationID>{esc(r.customization_id)}</cbc:CustomizationID>"
        f"{n1}<cbc:ProfileID>{esc(r.profile_id)}</cbc:ProfileID>"
        f"{n1}<cbc:ID>{esc(r.id)}</cbc:ID>"
        f"{n1}<cbc:IssueDate>{r.issue_date.isoformat()}</cbc:IssueDate>"
    ]
    append = out.append
    if r.issue_time is not None:
        append(f"{n1}<cbc:IssueTime>{r.issue_time.isoformat()}</cbc:IssueTime>")
    if r.note is not None:
        append(f"{n1}<cbc:Note>{esc(r.note)}</cbc:Note>")
    for tag, p in (("cac:SenderParty", r.sender), ("cac:ReceiverParty", r.receiver)):
        ep = p.endpoint
        append(f'{n1}<{tag}>{n2}<cbc:EndpointID schemeID="{ep.scheme}">{esc(ep.value)}</cbc:EndpointID>')
        pid = p.identifier
        if pid is not None:
            scheme = "" if pid.scheme is None else f' schemeID="{pid.scheme}"'
            append(f"{n2}<cac:PartyIdentification>{n3}<cbc:ID{scheme}>{esc(pid.value)}</cbc:ID>"
                   f"{n2}</cac:PartyIdentification>")
        append(f"{n2}<cac:PartyLegalEntity>{n3}<cbc:RegistrationName>{esc(p.name)}</cbc:RegistrationName>"
               f"{n2}</cac:PartyLegalEntity>")
        c = p.contact
        if c is not None:
            append(f"{n2}<cac:Contact>")
            if c.name is not None:
                append(f"{n3}<cbc:Name>{esc(c.name)}</cbc:Name>")
            if c.telephone is not None:
                append(f"{n3}<cbc:Telephone>{esc(c.telephone)}</cbc:Telephone>")
            if c.email is not None:
                append(f"{n3}<cbc:ElectronicMail>{esc(c.email)}</cbc:ElectronicMail>")
            append(f"{n2}</cac:Contact>")
        append(f"{n1}</{tag}>")
    append(f"{n1}<cac:DocumentResponse>{n2}<cac:Response>{n3}<cbc:ResponseCode>{r.code.value}</cbc:ResponseCode>")
    if r.effective_date is not None:
        append(f"{n3}<cbc:EffectiveDate>{r.effective_date.isoformat()}</cbc:EffectiveDate>")
    for s in r.clarifications:
        append(f"{n3}<cac:Status>")
        code = s.code
        if code is not None:
            append(f'{n4}<cbc:StatusReasonCode listID="{code.list_id().value}">{code.value}</cbc:StatusReasonCode>')
        if s.reason is not None:
            append(f"{n4}<cbc:StatusReason>{esc(s.reason)}</cbc:StatusReason>")
        for cond in s.conditions:
            if cond.description is None:
                append(f"{n4}<cac:Condition>{n5}<cbc:AttributeID>{esc(cond.attribute_id)}</cbc:AttributeID>"
                       f"{n4}</cac:Condition>")
            else:
                append(f"{n4}<cac:Condition>{n5}<cbc:AttributeID>{esc(cond.attribute_id)}</cbc:AttributeID>"
                       f"{n5}<cbc:Description>{esc(cond.description)}</cbc:Description>{n4}</cac:Condition>")
        append(f"{n3}</cac:Status>")
    d = r.document
    date = "" if d.issue_date is None else f"{n3}<cbc:IssueDate>{d.issue_date.isoformat()}</cbc:IssueDate>"
    append(f"{n2}</cac:Response>{n2}<cac:DocumentReference>{n3}<cbc:ID>{esc(d.id)}</cbc:ID>{date}"
           f"{n3}<cbc:DocumentTypeCode>{d.type_code}</cbc:DocumentTypeCode>{n2}</cac:DocumentReference>")
    for tag, rp in (("cac:IssuerParty", r.issuer_party), ("cac:RecipientParty", r.recipient_party)):
        if rp is None:
            continue
        rpid = rp.identifier
        if rpid is None:
            ident = ""
        else:
            scheme = "" if rpid.scheme is None else f' schemeID="{rpid.scheme}"'
            ident = (f"{n3}<cac:PartyIdentification>{n4}<cbc:ID{scheme}>{esc(rpid.value)}</cbc:ID>"
                     f"{n3}</cac:PartyIdentification>")
        append(f"{n2}<{tag}>{ident}{n3}<cac:PartyName>{n4}<cbc:Name>{esc(rp.name)}</cbc:Name>"
               f"{n3}</cac:PartyName>{n2}</{tag}>")
    append(f"{n1}</cac:DocumentResponse>{n1[:1]}</ApplicationResponse>{n1[:1]}")
    return "".join(out).encode("utf-8")


# --------------------------------------------------------------------------------------------------
# Parser: the walk
# --------------------------------------------------------------------------------------------------

_ROOT_TAG: Final = "{" + UBL_NS + "}ApplicationResponse"
_TEXT: Final = 0  # a leaf whose text is all we need: the walk files the text itself
_LEAF: Final = 1  # a leaf with an attribute we need: the walk files the element
_ONE: Final = 2  # an aggregate that occurs at most once
_MANY: Final = 3  # an aggregate that may repeat

_Entry = tuple[int, int, int]  # (slot in the parent's record, child state, kind)

# Generated from the binding: one state per aggregate (0 is the root); for each state a dict
# {clark tag: entry}, the size of its record, and the binding element.
_TABLE: list[dict[str, _Entry]] = []
_SIZES: list[int] = []
_SPECS: list[Element] = []


def _build_table(spec: Element) -> int:
    state = len(_TABLE)
    entries: dict[str, _Entry] = {}
    _TABLE.append(entries)
    _SIZES.append(len(spec.children) + 1)
    _SPECS.append(spec)
    for slot, child in enumerate(spec.children, start=1):
        if child.is_aggregate:
            entries[child.clark] = (slot, _build_table(child), _ONE if child.max == 1 else _MANY)
        else:
            assert child.max == 1, "the model holds one value per leaf"
            entries[child.clark] = (slot, -1, _LEAF if child.attributes else _TEXT)
    return state


_build_table(BINDING)
_INSIDE_LEAF: Final[dict[str, _Entry]] = {}  # nothing but text and comments may follow
_AGGREGATE_TAGS: Final = frozenset(spec.clark for spec in _SPECS)

Record = list[Any]
"""``[element, slot 1, slot 2, ...]``: per child of the binding, None when absent, else the text (a clean
leaf), the element (a leaf with attributes, or one whose text needs a closer look), a child Record, or a
list of Records (a repeating aggregate)."""


def _slots(*path: str) -> dict[str, int]:
    """Slot numbers of the children of the aggregate at ``path`` (prefixed tags below the root)."""
    spec = BINDING
    for tag in path:
        spec = spec.child(tag)
    return {child.tag: i for i, child in enumerate(spec.children, start=1)}


def _fail(el: etree._Element, message: str) -> ParseError:
    return ParseError(message, line=source_line(el), path=location(el))


def _unexpected(child: etree._Element) -> ParseError:
    parent = child.getparent()
    assert parent is not None
    if parent.tag not in _AGGREGATE_TAGS:  # the walk only enters known elements: this one is a leaf
        return _fail(child, f"{qname(parent.tag)} holds text, not the element {qname(child.tag)}")
    return _fail(
        child, f"{qname(child.tag)} is not part of the Invoice Response data model inside {qname(parent.tag)}"
    )


def _repeated(child: etree._Element) -> ParseError:
    parent = child.getparent()
    assert parent is not None
    return _fail(
        child,
        f"{qname(child.tag)} may occur only once in {qname(parent.tag)} in an Invoice Response "
        "(the BIS data model holds one)",
    )


def _walk(root: etree._Element) -> Record:
    """File every element of the document into records, refusing anything outside the binding."""
    table = _TABLE
    sizes = _SIZES
    ws = XML_WHITESPACE
    top: Record = [None] * sizes[0]
    top[0] = root
    rec = top
    children = table[0]
    remaining = len(root)
    stack: list[tuple[dict[str, _Entry], int, Record]] = []
    push = stack.append
    pop = stack.pop
    nodes = root.iter()
    next(nodes)
    for el in nodes:
        while not remaining:
            children, remaining, rec = pop()
        remaining -= 1
        try:
            slot, child, kind = children[el.tag]
        except KeyError:
            if isinstance(el.tag, str):
                raise _unexpected(el) from None
            continue  # a comment or processing instruction (its tag is a function)
        if kind <= _LEAF:
            if rec[slot] is not None:
                raise _repeated(el)
            n = len(el)
            if kind == _TEXT and not n:
                text = el.text
                # Empty text stays an element: the build phase says where it is.
                rec[slot] = text if text is not None and text.strip(ws) else el
            else:
                rec[slot] = el
            if n:  # comments inside the text
                push((children, remaining, rec))
                children, remaining = _INSIDE_LEAF, n
            continue
        new: Record = [None] * sizes[child]
        new[0] = el
        if kind == _ONE:
            if rec[slot] is not None:
                raise _repeated(el)
            rec[slot] = new
        elif rec[slot] is None:
            rec[slot] = [new]
        else:
            rec[slot].append(new)
        n = len(el)
        if n:
            push((children, remaining, rec))
            children, remaining, rec = table[child], n, new
    return top


# --------------------------------------------------------------------------------------------------
# Parser: values
# --------------------------------------------------------------------------------------------------

# xs:date and xs:time lexical forms; [0-9], not \d, which would also take other scripts' digits.
_DATE_RE: Final = re.compile(r"^(-?[0-9]{4,})-([0-9]{2})-([0-9]{2})(Z|[+-][0-9]{2}:[0-9]{2})?$")
_TIME_RE: Final = re.compile(r"^([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?(Z|[+-][0-9]{2}:[0-9]{2})?$")
_WS_RUN: Final = re.compile("[ \t\r\n]+")


def _leaf_text(el: etree._Element) -> str:
    """The text of a leaf element, joined around comments; refuses an empty one (PEPPOL-COMMON-R001)."""
    parts = [el.text or ""]
    for c in el:
        parts.append(c.tail or "")
    text = "".join(parts)
    if not text.strip(XML_WHITESPACE):
        raise _fail(el, f"{qname(el.tag)} is empty (PEPPOL-COMMON-R001)")
    return text


def _leaf(rec: Record, slot: int) -> etree._Element:
    """The element of a leaf whose text the walk filed (for error messages)."""
    value = rec[slot]
    if not isinstance(value, str):
        return value  # type: ignore[no-any-return]
    parent: etree._Element = rec[0]
    tag = _TABLE_SPEC_CHILD[parent.tag][slot]
    for el in parent.iterchildren(tag):
        return el
    raise AssertionError(f"{tag} vanished from {parent.tag}")  # pragma: no cover


def _text(value: str | etree._Element) -> str:
    """Text of a mandatory or present leaf as filed by the walk."""
    if isinstance(value, str):
        return value
    return _leaf_text(value)


def _opt_text(value: str | etree._Element | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return _leaf_text(value)


def _normalize(text: str) -> str:
    """``normalize-space()``: XML whitespace only (a no-break space stays)."""
    if " " in text or "\t" in text or "\n" in text or "\r" in text:
        return _WS_RUN.sub(" ", text).strip(" ")
    return text


def _usual_date(text: str) -> dt.date:
    """``YYYY-MM-DD`` as ``date.fromisoformat`` reads it; ValueError for anything else (even if valid)."""
    if len(text) == 10 and text[4] == "-" and text[7] == "-" and text.isascii():
        return dt.date.fromisoformat(text)
    raise ValueError(text)


def _date(rec: Record, slot: int) -> dt.date:
    text = _text(rec[slot]).strip(XML_WHITESPACE)
    try:
        return _usual_date(text)
    except ValueError:
        pass
    m = _DATE_RE.match(text)
    if m is None:
        el = _leaf(rec, slot)
        raise _fail(el, f"{qname(el.tag)} {text!r} is not a date (YYYY-MM-DD)")
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError as exc:
        el = _leaf(rec, slot)
        raise _fail(el, f"{qname(el.tag)} {text!r} is not a valid date: {exc}") from None


_ZONES: dict[str, dt.tzinfo] = {"Z": dt.UTC}
_MAX_OFFSET: Final = dt.timedelta(hours=14)


def _tz(text: str) -> dt.tzinfo:
    """``Z`` or ``+hh:mm``/``-hh:mm`` (at most 14:00) as a fixed-offset zone; one object per offset."""
    zone = _ZONES.get(text)
    if zone is None:
        hours, minutes = int(text[1:3]), int(text[4:6])
        offset = dt.timedelta(hours=hours, minutes=minutes)
        if offset > _MAX_OFFSET or minutes > 59:
            raise ValueError(f"the UTC offset {text} is beyond -14:00..+14:00")
        zone = _ZONES[text] = dt.timezone(-offset if text[0] == "-" else offset)
    return zone


def _usual_time(text: str) -> dt.time:
    """The usual forms ``hh:mm:ss``, ``hh:mm:ssZ`` and ``hh:mm:ss+hh:mm`` through ``time.fromisoformat``;
    ValueError for anything else (the pattern in :func:`_time` reads the rest)."""
    n = len(text)
    if (
        (n == 8 or (n == 9 and text[8] == "Z") or (n == 14 and text[8] in "+-" and text[11] == ":"
                                                    and text[12] in "012345"))
        and text.isascii() and text[2] == ":" and text[5] == ":"
    ):
        value = dt.time.fromisoformat(text)
        if n != 14 or abs(value.utcoffset() or _MAX_OFFSET) <= _MAX_OFFSET:
            return value
    raise ValueError(text)


def _time(rec: Record, slot: int) -> dt.time:
    text = _text(rec[slot]).strip(XML_WHITESPACE)
    try:
        return _usual_time(text)
    except ValueError:
        pass
    m = _TIME_RE.match(text)
    if m is None:
        el = _leaf(rec, slot)
        raise _fail(el, f"{qname(el.tag)} {text!r} is not a time (hh:mm:ss)")
    hour, minute, second = int(m[1]), int(m[2]), int(m[3])
    micro = int((m[4] or "0")[:6].ljust(6, "0"))
    if hour == 24 and minute == 0 and second == 0 and micro == 0:
        hour = 0  # xs:time allows 24:00:00 for midnight
    try:
        return dt.time(hour, minute, second, micro, tzinfo=None if m[5] is None else _tz(m[5]))
    except ValueError as exc:
        el = _leaf(rec, slot)
        raise _fail(el, f"{qname(el.tag)} {text!r} is not a valid time: {exc}") from None


def _missing(rec: Record, tag: str) -> ParseError:
    parent = rec[0]
    return _fail(parent, f"{qname(parent.tag)} lacks the mandatory element {tag}")


def _complaint(el: etree._Element, exc: CodeError | BuildError) -> ParseError:
    return _fail(el, f"{exc} in {qname(el.tag)}")


_TABLE_SPEC_CHILD: Final[dict[str, list[str]]] = {}
for _spec in _SPECS:
    _TABLE_SPEC_CHILD.setdefault(_spec.clark, [""] + [c.clark for c in _spec.children])
del _spec
# Aggregates with the same tag have the same children everywhere in the binding (checked here), so
# a leaf can be found again from its parent's tag and its slot.
assert all(_TABLE_SPEC_CHILD[s.clark][1:] == [c.clark for c in s.children] for s in _SPECS)

_P = _slots("cac:SenderParty")
_P_ENDPOINT, _P_IDENT, _P_LEGAL, _P_CONTACT = (_P["cbc:EndpointID"], _P["cac:PartyIdentification"],
                                               _P["cac:PartyLegalEntity"], _P["cac:Contact"])
_P_REG_NAME = _slots("cac:SenderParty", "cac:PartyLegalEntity")["cbc:RegistrationName"]
_PI_ID = _slots("cac:SenderParty", "cac:PartyIdentification")["cbc:ID"]
_CT = _slots("cac:SenderParty", "cac:Contact")
_CT_NAME, _CT_TEL, _CT_MAIL = _CT["cbc:Name"], _CT["cbc:Telephone"], _CT["cbc:ElectronicMail"]
assert _slots("cac:ReceiverParty") == {k: v for k, v in _P.items() if k != "cac:Contact"}


def _party_id(rec: Record) -> PartyId:
    el = rec[_PI_ID]
    if el is None:
        raise _missing(rec, "cbc:ID")
    value = el.text
    if value is None or len(el) or not value.strip(XML_WHITESPACE):
        value = _leaf_text(el)
    scheme = el.get("schemeID")
    if scheme is not None and scheme not in ICD:
        raise _complaint(el, CodeError("ICD", scheme))
    return _unchecked_party_id(value, scheme)


def _party(rec: Record) -> Party:
    endpoint_el = rec[_P_ENDPOINT]
    legal = rec[_P_LEGAL]
    if endpoint_el is None:
        raise _missing(rec, "cbc:EndpointID")
    if legal is None:
        raise _missing(rec, "cac:PartyLegalEntity")
    name = legal[_P_REG_NAME]
    if name is None:
        raise _missing(legal, "cbc:RegistrationName")
    if name.__class__ is not str:
        name = _leaf_text(name)
    scheme = endpoint_el.get("schemeID")
    if scheme not in EAS:
        if scheme is None:
            raise _fail(endpoint_el, f"{qname(endpoint_el.tag)} lacks the mandatory attribute schemeID")
        raise _complaint(endpoint_el, CodeError("EAS", scheme))
    value = endpoint_el.text
    if value is None or len(endpoint_el) or not value.strip(XML_WHITESPACE):
        value = _leaf_text(endpoint_el)
    pid_rec = rec[_P_IDENT]
    contact = None
    if len(rec) > _P_CONTACT:
        c = rec[_P_CONTACT]
        if c is not None:
            contact_name, tel, mail = _opt_text(c[_CT_NAME]), _opt_text(c[_CT_TEL]), _opt_text(c[_CT_MAIL])
            if contact_name is None and tel is None and mail is None:
                raise _fail(c[0], f"{qname(c[0].tag)} is empty (PEPPOL-COMMON-R001)")
            contact = _unchecked_contact(contact_name, tel, mail)
    return _unchecked_party(
        _unchecked_endpoint(scheme, value), name, None if pid_rec is None else _party_id(pid_rec), contact
    )


_RP = _slots("cac:DocumentResponse", "cac:IssuerParty")
_RP_IDENT, _RP_NAME = _RP["cac:PartyIdentification"], _RP["cac:PartyName"]
_PN_NAME = _slots("cac:DocumentResponse", "cac:IssuerParty", "cac:PartyName")["cbc:Name"]
assert _slots("cac:DocumentResponse", "cac:RecipientParty") == _RP


def _referenced(rec: Record) -> ReferencedParty:
    name_rec = rec[_RP_NAME]
    if name_rec is None:
        raise _missing(rec, "cac:PartyName")
    name = name_rec[_PN_NAME]
    if name is None:
        raise _missing(name_rec, "cbc:Name")
    pid_rec = rec[_RP_IDENT]
    return _unchecked_referenced(_text(name), None if pid_rec is None else _party_id(pid_rec))


_LISTS: Final[dict[str, dict[str, StatusReason] | dict[str, StatusAction]]] = {
    ClarificationList.REASON.value: {m.value: m for m in StatusReason},
    ClarificationList.ACTION.value: {m.value: m for m in StatusAction},
}
_RESPONSE_CODES: Final = {m.value: m for m in ResponseCode}

_ST = _slots("cac:DocumentResponse", "cac:Response", "cac:Status")
_ST_CODE, _ST_TEXT, _ST_COND = _ST["cbc:StatusReasonCode"], _ST["cbc:StatusReason"], _ST["cac:Condition"]
_CD = _slots("cac:DocumentResponse", "cac:Response", "cac:Status", "cac:Condition")
_CD_ATTR, _CD_DESC = _CD["cbc:AttributeID"], _CD["cbc:Description"]


def _conditions(recs: list[Record]) -> tuple[Condition, ...]:
    out = []
    for rec in recs:
        attr = rec[_CD_ATTR]
        if attr is None:
            raise _missing(rec, "cbc:AttributeID")
        desc = rec[_CD_DESC]
        out.append(_unchecked_condition(
            attr if attr.__class__ is str else _leaf_text(attr),
            desc if desc is None or desc.__class__ is str else _leaf_text(desc),
        ))
    return tuple(out)


def _clarification(rec: Record) -> Clarification:
    code_el = rec[_ST_CODE]
    code: StatusReason | StatusAction | None = None
    if code_el is not None:
        list_id = code_el.get("listID")
        value = code_el.text
        if value is None or len(code_el) or not value.strip(XML_WHITESPACE):
            value = _leaf_text(code_el)
        table = _LISTS.get(list_id)  # type: ignore[arg-type, unused-ignore]  # None finds nothing
        code = None if table is None else table.get(value)
        if code is None:
            if list_id is None:
                raise _fail(code_el, f"{qname(code_el.tag)} lacks the mandatory attribute listID")
            text = _normalize(value)
            try:
                code = clarification_code(list_id, text)
            except CodeError as exc:
                raise _complaint(code_el, exc) from None
    cond_recs = rec[_ST_COND]
    conditions = () if cond_recs is None else _conditions(cond_recs)
    reason = rec[_ST_TEXT]
    if reason is not None and reason.__class__ is not str:
        reason = _leaf_text(reason)
    if code is None and reason is None and not conditions:
        raise _fail(rec[0], f"{qname(rec[0].tag)} is empty (PEPPOL-COMMON-R001)")
    return _unchecked_clarification(code, reason, conditions)


_RS = _slots("cac:DocumentResponse", "cac:Response")
_RS_CODE, _RS_EFFECTIVE, _RS_STATUS = _RS["cbc:ResponseCode"], _RS["cbc:EffectiveDate"], _RS["cac:Status"]
_DRF = _slots("cac:DocumentResponse", "cac:DocumentReference")
_DRF_ID, _DRF_DATE, _DRF_TYPE = _DRF["cbc:ID"], _DRF["cbc:IssueDate"], _DRF["cbc:DocumentTypeCode"]
_DR = _slots("cac:DocumentResponse")
_DR_RESPONSE, _DR_REF, _DR_ISSUER, _DR_RECIPIENT = (_DR["cac:Response"], _DR["cac:DocumentReference"],
                                                     _DR["cac:IssuerParty"], _DR["cac:RecipientParty"])
_R = _slots()
_R_CUST, _R_PROF, _R_ID, _R_DATE, _R_TIME, _R_NOTE, _R_SENDER, _R_RECEIVER, _R_DR = (
    _R["cbc:CustomizationID"], _R["cbc:ProfileID"], _R["cbc:ID"], _R["cbc:IssueDate"], _R["cbc:IssueTime"],
    _R["cbc:Note"], _R["cac:SenderParty"], _R["cac:ReceiverParty"], _R["cac:DocumentResponse"],
)
_R_MANDATORY: Final = tuple((_R[c.tag], c.tag) for c in BINDING.children if c.min >= 1)
_CUST_TAG: Final = "{" + CBC + "}CustomizationID"


def _document_reference(rec: Record) -> DocumentReference:
    id_value = rec[_DRF_ID]
    if id_value is None:
        raise _missing(rec, "cbc:ID")
    type_value = rec[_DRF_TYPE]
    if type_value is None:
        raise _missing(rec, "cbc:DocumentTypeCode")
    try:
        type_code = DocumentTypeCode(_normalize(_text(type_value)))
    except CodeError as exc:
        raise _complaint(_leaf(rec, _DRF_TYPE), exc) from None
    return _unchecked_document(_text(id_value), type_code, None if rec[_DRF_DATE] is None else _date(rec, _DRF_DATE))


def _check_customization(el: etree._Element, customization: str) -> str:
    norm = customization.strip(XML_WHITESPACE)
    if not norm.startswith(CUSTOMIZATION_ID):
        if norm.startswith(_MLR_CUSTOMIZATION):
            raise _fail(el, "this is a Peppol Message Level Response (MLR, T71), not an Invoice Response")
        if norm.startswith(_MLS_CUSTOMIZATION):
            raise _fail(el, "this is a Peppol Message Level Status (MLS), not an Invoice Response")
        raise _fail(el, f"CustomizationID {norm!r} is not an Invoice Response ({CUSTOMIZATION_ID}...)")
    return customization


# --------------------------------------------------------------------------------------------------
# Parser: the fast reader for the usual document
# --------------------------------------------------------------------------------------------------
#
# Most documents are plain: every element in its place, each leaf one clean text, codes and dates
# written without padding. For them one nested loop per aggregate reads the values straight into the
# model, with no records and no second phase. At the first thing it does not expect (an element outside
# the binding, a repeat, an empty or commented leaf, a padded code, an unusual date or time form, an
# unknown code, a missing mandatory part) it gives up, and the checked walk above reads the document
# from the start: it accepts what it accepts, and explains the rest with line and path. So the fast
# reader never decides that a document is wrong, and when it answers, it answers what the walk would
# (tests/test_ubl.py compares the two on every test document and on generated ones).


class _Unusual(Exception):
    """The fast reader leaves this document to the checked walk."""


def _children(path: tuple[str, ...], *tags: str) -> tuple[str, ...]:
    """The lxml tags of ``tags``, after checking that they are the children of the aggregate at ``path``
    in the binding, in its order: the fast reader below is written for exactly those."""
    spec = BINDING
    for tag in path:
        spec = spec.child(tag)
    if spec.order != tags:  # the binding changed: update the fast reader (the walk follows by itself)
        raise AssertionError(f"the fast reader is out of step with the binding at {path}: {spec.order}")
    return tuple(clark(tag) for tag in tags)


(_T_CUSTOMIZATION, _T_PROFILE, _T_ID, _T_DATE, _T_TIME, _T_NOTE, _T_SENDER, _T_RECEIVER,
 _T_DOC_RESPONSE) = _children((), "cbc:CustomizationID", "cbc:ProfileID", "cbc:ID", "cbc:IssueDate",
                              "cbc:IssueTime", "cbc:Note", "cac:SenderParty", "cac:ReceiverParty",
                              "cac:DocumentResponse")
_T_ENDPOINT, _T_PARTY_ID, _T_LEGAL, _T_CONTACT = _children(
    ("cac:SenderParty",), "cbc:EndpointID", "cac:PartyIdentification", "cac:PartyLegalEntity", "cac:Contact")
_children(("cac:ReceiverParty",), "cbc:EndpointID", "cac:PartyIdentification", "cac:PartyLegalEntity")
(_T_PARTY_ID_ID,) = _children(("cac:SenderParty", "cac:PartyIdentification"), "cbc:ID")
_children(("cac:ReceiverParty", "cac:PartyIdentification"), "cbc:ID")
_children(("cac:DocumentResponse", "cac:IssuerParty", "cac:PartyIdentification"), "cbc:ID")
_children(("cac:DocumentResponse", "cac:RecipientParty", "cac:PartyIdentification"), "cbc:ID")
(_T_REGISTRATION_NAME,) = _children(("cac:SenderParty", "cac:PartyLegalEntity"), "cbc:RegistrationName")
_children(("cac:ReceiverParty", "cac:PartyLegalEntity"), "cbc:RegistrationName")
_T_CONTACT_NAME, _T_TELEPHONE, _T_MAIL = _children(("cac:SenderParty", "cac:Contact"), "cbc:Name", "cbc:Telephone",
                                                   "cbc:ElectronicMail")
_T_RESPONSE, _T_DOC_REF, _T_ISSUER, _T_RECIPIENT = _children(
    ("cac:DocumentResponse",), "cac:Response", "cac:DocumentReference", "cac:IssuerParty", "cac:RecipientParty")
_T_CODE, _T_EFFECTIVE, _T_STATUS = _children(("cac:DocumentResponse", "cac:Response"), "cbc:ResponseCode",
                                             "cbc:EffectiveDate", "cac:Status")
_T_REASON_CODE, _T_REASON, _T_CONDITION = _children(
    ("cac:DocumentResponse", "cac:Response", "cac:Status"), "cbc:StatusReasonCode", "cbc:StatusReason",
    "cac:Condition")
_T_ATTRIBUTE, _T_DESCRIPTION = _children(
    ("cac:DocumentResponse", "cac:Response", "cac:Status", "cac:Condition"), "cbc:AttributeID", "cbc:Description")
_T_DOC_ID, _T_DOC_DATE, _T_DOC_TYPE = _children(("cac:DocumentResponse", "cac:DocumentReference"), "cbc:ID",
                                                "cbc:IssueDate", "cbc:DocumentTypeCode")
_T_REF_PARTY_ID, _T_PARTY_NAME = _children(("cac:DocumentResponse", "cac:IssuerParty"), "cac:PartyIdentification",
                                           "cac:PartyName")
_children(("cac:DocumentResponse", "cac:RecipientParty"), "cac:PartyIdentification", "cac:PartyName")
(_T_NAME,) = _children(("cac:DocumentResponse", "cac:IssuerParty", "cac:PartyName"), "cbc:Name")
_children(("cac:DocumentResponse", "cac:RecipientParty", "cac:PartyName"), "cbc:Name")


def _u_text(el: etree._Element) -> str:
    """A leaf's text when it is one clean text (no comment or element inside, not blank)."""
    text = el.text
    if text is None or len(el) or text.isspace():  # isspace() is wider than XML whitespace: the walk decides
        raise _Unusual
    return text


def _u_only(el: etree._Element, tag: str) -> etree._Element:
    """The one child of an aggregate that has exactly one child in the binding."""
    if len(el) != 1:
        raise _Unusual  # none, more, or a comment next to it
    child = el[0]
    if child.tag != tag:
        raise _Unusual
    return child


def _u_party_id(el: etree._Element) -> PartyId:
    id_el = _u_only(el, _T_PARTY_ID_ID)
    scheme = id_el.get("schemeID")
    if scheme is not None and scheme not in ICD:
        raise _Unusual
    return _unchecked_party_id(_u_text(id_el), scheme)


def _u_party(el: etree._Element, contact_allowed: bool) -> Party:
    endpoint = ident = name = contact = None
    for c in el:
        t = c.tag
        if t == _T_ENDPOINT:
            if endpoint is not None:
                raise _Unusual
            scheme = c.get("schemeID")
            if scheme not in EAS:
                raise _Unusual
            endpoint = _unchecked_endpoint(scheme, _u_text(c))
        elif t == _T_PARTY_ID:
            if ident is not None:
                raise _Unusual
            ident = _u_party_id(c)
        elif t == _T_LEGAL:
            if name is not None:
                raise _Unusual
            name = _u_text(_u_only(c, _T_REGISTRATION_NAME))
        elif t == _T_CONTACT and contact_allowed:
            if contact is not None:
                raise _Unusual
            contact = _u_contact(c)
        elif t.__class__ is str:
            raise _Unusual
    if endpoint is None or name is None:
        raise _Unusual
    return _unchecked_party(endpoint, name, ident, contact)


def _u_contact(el: etree._Element) -> Contact:
    name = telephone = email = None
    for c in el:
        t = c.tag
        if t == _T_CONTACT_NAME:
            if name is not None:
                raise _Unusual
            name = _u_text(c)
        elif t == _T_TELEPHONE:
            if telephone is not None:
                raise _Unusual
            telephone = _u_text(c)
        elif t == _T_MAIL:
            if email is not None:
                raise _Unusual
            email = _u_text(c)
        elif t.__class__ is str:
            raise _Unusual
    if name is None and telephone is None and email is None:
        raise _Unusual
    return _unchecked_contact(name, telephone, email)


def _u_referenced(el: etree._Element) -> ReferencedParty:
    ident = name = None
    for c in el:
        t = c.tag
        if t == _T_REF_PARTY_ID:
            if ident is not None:
                raise _Unusual
            ident = _u_party_id(c)
        elif t == _T_PARTY_NAME:
            if name is not None:
                raise _Unusual
            name = _u_text(_u_only(c, _T_NAME))
        elif t.__class__ is str:
            raise _Unusual
    if name is None:
        raise _Unusual
    return _unchecked_referenced(name, ident)


def _u_clarification(el: etree._Element) -> Clarification:
    code_el = reason = None
    conditions = []
    for c in el:
        t = c.tag
        if t == _T_REASON_CODE:
            if code_el is not None:
                raise _Unusual
            code_el = c
        elif t == _T_REASON:
            if reason is not None:
                raise _Unusual
            reason = _u_text(c)
        elif t == _T_CONDITION:
            attribute = description = None
            for d in c:
                t = d.tag
                if t == _T_ATTRIBUTE:
                    if attribute is not None:
                        raise _Unusual
                    attribute = _u_text(d)
                elif t == _T_DESCRIPTION:
                    if description is not None:
                        raise _Unusual
                    description = _u_text(d)
                elif t.__class__ is str:
                    raise _Unusual
            if attribute is None:
                raise _Unusual
            conditions.append(_unchecked_condition(attribute, description))
        elif t.__class__ is str:
            raise _Unusual
    code = None
    if code_el is not None:
        table = _LISTS.get(code_el.get("listID"))  # type: ignore[arg-type]  # None finds nothing
        if table is None:
            raise _Unusual
        code = table.get(_u_text(code_el))
        if code is None:
            raise _Unusual
    elif reason is None and not conditions:
        raise _Unusual
    return _unchecked_clarification(code, reason, tuple(conditions))


def _u_document(el: etree._Element) -> DocumentReference:
    id_ = date = type_code = None
    for c in el:
        t = c.tag
        if t == _T_DOC_ID:
            if id_ is not None:
                raise _Unusual
            id_ = _u_text(c)
        elif t == _T_DOC_DATE:
            if date is not None:
                raise _Unusual
            date = _usual_date(_u_text(c))
        elif t == _T_DOC_TYPE:
            if type_code is not None:
                raise _Unusual
            type_code = DocumentTypeCode(_u_text(c))  # CodeError (a ValueError) for a padded or unknown code
        elif t.__class__ is str:
            raise _Unusual
    if id_ is None or type_code is None:
        raise _Unusual
    return _unchecked_document(id_, type_code, date)


def _read_usual(root: etree._Element) -> InvoiceResponse:
    """The model of a usual document (see above), or :class:`_Unusual` / ValueError."""
    customization = profile = id_ = date = time = note = sender = receiver = doc_response = None
    for c in root:  # branches in the binding's order, which is the documents' usual order
        t = c.tag
        if t == _T_CUSTOMIZATION:
            if customization is not None:
                raise _Unusual
            customization = _u_text(c)
        elif t == _T_PROFILE:
            if profile is not None:
                raise _Unusual
            profile = _u_text(c)
        elif t == _T_ID:
            if id_ is not None:
                raise _Unusual
            id_ = _u_text(c)
        elif t == _T_DATE:
            if date is not None:
                raise _Unusual
            date = _usual_date(_u_text(c))
        elif t == _T_TIME:
            if time is not None:
                raise _Unusual
            time = _usual_time(_u_text(c))
        elif t == _T_NOTE:
            if note is not None:
                raise _Unusual
            note = _u_text(c)
        elif t == _T_SENDER:
            if sender is not None:
                raise _Unusual
            sender = _u_party(c, True)
        elif t == _T_RECEIVER:
            if receiver is not None:
                raise _Unusual
            receiver = _u_party(c, False)
        elif t == _T_DOC_RESPONSE:
            if doc_response is not None:
                raise _Unusual
            doc_response = c
        elif t.__class__ is str:  # else a comment or processing instruction
            raise _Unusual
    if (customization is None or profile is None or id_ is None or date is None or sender is None
            or receiver is None or doc_response is None or not customization.startswith(CUSTOMIZATION_ID)):
        raise _Unusual
    response = document = issuer = recipient = None
    for c in doc_response:
        t = c.tag
        if t == _T_RESPONSE:
            if response is not None:
                raise _Unusual
            response = c
        elif t == _T_DOC_REF:
            if document is not None:
                raise _Unusual
            document = _u_document(c)
        elif t == _T_ISSUER:
            if issuer is not None:
                raise _Unusual
            issuer = _u_referenced(c)
        elif t == _T_RECIPIENT:
            if recipient is not None:
                raise _Unusual
            recipient = _u_referenced(c)
        elif t.__class__ is str:
            raise _Unusual
    if response is None or document is None:
        raise _Unusual
    code = effective = None
    clarifications = []
    for c in response:
        t = c.tag
        if t == _T_CODE:
            if code is not None:
                raise _Unusual
            code = _RESPONSE_CODES.get(_u_text(c))
            if code is None:
                raise _Unusual
        elif t == _T_EFFECTIVE:
            if effective is not None:
                raise _Unusual
            effective = _usual_date(_u_text(c))
        elif t == _T_STATUS:
            clarifications.append(_u_clarification(c))
        elif t.__class__ is str:
            raise _Unusual
    if code is None:
        raise _Unusual
    return _unchecked_response(id_, date, sender, receiver, code, document, tuple(clarifications), effective, time,
                               note, issuer, recipient, customization, profile)


def parse_element(root: etree._Element) -> InvoiceResponse:
    """Map an already parsed ``ubl:ApplicationResponse`` element onto the model."""
    if root.tag != _ROOT_TAG:
        name = qname(root.tag) if isinstance(root.tag, str) else "?"
        local = root.tag.rpartition("}")[2] if isinstance(root.tag, str) else ""
        if local == "ApplicationResponse":
            raise _fail(root, f"the root element ApplicationResponse is in the wrong namespace ({name}); "
                              f"expected {UBL_NS}")
        raise _fail(root, f"the root element is {name}, not an Invoice Response (ubl:ApplicationResponse)")
    try:
        return _read_usual(root)
    except (_Unusual, ValueError):
        return _read_checked(root)  # it reads the document, or says what is wrong and where


def _read_checked(root: etree._Element) -> InvoiceResponse:
    """The checked walk and the values read from its records, for any ``ubl:ApplicationResponse``."""
    try:
        top = _walk(root)
    except ParseError:
        # An MLR or MLS shares the root element: say that rather than complain about its elements.
        for cust_el in root.iterchildren(_CUST_TAG):
            if cust_el.text is not None:
                _check_customization(cust_el, cust_el.text)
        raise
    cust = top[_R_CUST]
    if cust is not None:  # first, so that an MLR or MLS is named as such
        customization = _text(cust)
        if not customization.startswith(CUSTOMIZATION_ID):
            _check_customization(_leaf(top, _R_CUST), customization)
    for slot, tag in _R_MANDATORY:
        if top[slot] is None:
            raise _missing(top, tag)
    dr = top[_R_DR]
    response = dr[_DR_RESPONSE]
    if response is None:
        raise _missing(dr, "cac:Response")
    docref = dr[_DR_REF]
    if docref is None:
        raise _missing(dr, "cac:DocumentReference")
    code_value = response[_RS_CODE]
    if code_value is None:
        raise _missing(response, "cbc:ResponseCode")
    code_text = _normalize(_text(code_value))
    code = _RESPONSE_CODES.get(code_text)
    if code is None:
        raise _complaint(_leaf(response, _RS_CODE), CodeError("UNCL4343-T111", code_text, list(_RESPONSE_CODES)))
    statuses = response[_RS_STATUS]
    issuer = dr[_DR_ISSUER]
    recipient = dr[_DR_RECIPIENT]
    return _unchecked_response(
        _text(top[_R_ID]),
        _date(top, _R_DATE),
        _party(top[_R_SENDER]),
        _party(top[_R_RECEIVER]),
        code,
        _document_reference(docref),
        () if statuses is None else tuple([_clarification(s) for s in statuses]),
        None if response[_RS_EFFECTIVE] is None else _date(response, _RS_EFFECTIVE),
        None if top[_R_TIME] is None else _time(top, _R_TIME),
        _opt_text(top[_R_NOTE]),
        None if issuer is None else _referenced(issuer),
        None if recipient is None else _referenced(recipient),
        customization,
        _text(top[_R_PROF]),
    )


def unwrap_sbdh(root: etree._Element) -> etree._Element:
    """The business document inside a Peppol SBDH envelope, or ``root`` itself when it is no envelope."""
    if root.tag != _SBD_TAG:
        return root
    payload = [c for c in root if isinstance(c.tag, str) and c.tag != _SBDH_TAG]
    if len(payload) != 1:
        raise _fail(root, f"the SBDH envelope must hold exactly one business document, not {len(payload)}")
    return payload[0]


def parse(data: bytes | str, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> InvoiceResponse:
    """Parse an Invoice Response (optionally inside its SBDH envelope) into the model.

    Raises :class:`~peppol_response.errors.ParseError` (with line and XPath) for anything that is not
    a well-formed Invoice Response of the BIS data model, and
    :class:`~peppol_response.errors.UnsafeXmlError` for hostile input.
    """
    # The walk bounds the depth itself: an element deeper than the binding is outside it.
    root = parse_xml(data, what="Invoice Response", max_bytes=max_bytes, max_depth=None)
    tag = root.tag  # read once: lxml builds the string anew each time
    if tag == _SBD_TAG:
        root = unwrap_sbdh(root)
        tag = root.tag
    if tag == _ROOT_TAG:
        try:
            return _read_usual(root)
        except (_Unusual, ValueError):
            return _read_checked(root)
    return parse_element(root)  # names what the root is instead
