"""Serializer and parser: official examples round-trip, errors name line and path."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from peppol_response import (
    BuildError,
    Clarification,
    Condition,
    Contact,
    DocumentReference,
    EndpointId,
    InvoiceResponse,
    ParseError,
    Party,
    PartyId,
    ReferencedParty,
    ResponseCode,
    StatusAction,
    StatusReason,
    UnsafeXmlError,
    parse,
    serialize,
)
from peppol_response.binding import BINDING, CBC
from peppol_response.ubl import MAX_DOCUMENT_BYTES, _read_checked, _read_usual, _Unusual, unwrap_sbdh
from peppol_response.xmlsafe import parse_xml

from .conftest import official_invoice_response_examples
from .strategies import responses


def canonical(data: bytes) -> bytes:
    """Exclusive c14n without comments and without whitespace-only text between elements."""
    root = etree.fromstring(data, etree.XMLParser(remove_comments=True))
    for el in root.iter():
        if el.text is not None and len(el) and not el.text.strip():
            el.text = None
        if el.tail is not None and not el.tail.strip():
            el.tail = None
    return etree.tostring(root, method="c14n", exclusive=True, with_comments=False)


@pytest.mark.conformance
@pytest.mark.parametrize("path", official_invoice_response_examples(), ids=lambda p: p.name)
def test_official_example_round_trips(path: Path) -> None:
    data = path.read_bytes()
    assert canonical(serialize(parse(data))) == canonical(data)


def test_serializer_follows_binding_order() -> None:
    example = Path(__file__).parent.parent / "examples"
    del example
    # Every aggregate's children appear in the binding's order.
    import datetime as dt

    from peppol_response.codes import StatusReason
    from peppol_response.model import (
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

    full = InvoiceResponse(
        id="R1",
        issue_date=dt.date(2026, 1, 2),
        issue_time=dt.time(10, 0),
        note="n",
        sender=Party(EndpointId("0088", "7300010000001"), "Buyer", PartyId("1", "0088"), Contact("a", "b", "c")),
        receiver=Party(EndpointId("0088", "7300010000001"), "Seller", PartyId("2")),
        code=ResponseCode.RE,
        effective_date=dt.date(2026, 1, 2),
        clarifications=(Clarification(StatusReason.REF, "why", (Condition("BT-13", "PO1"),)),),
        document=DocumentReference("INV-1", "380", dt.date(2026, 1, 1)),
        issuer_party=ReferencedParty("Seller", PartyId("3")),
        recipient_party=ReferencedParty("Buyer", PartyId("4")),
    )
    root = etree.fromstring(serialize(full))

    def check(el: etree._Element, spec: object) -> None:
        from peppol_response.binding import Element

        assert isinstance(spec, Element)
        order = [c.clark for c in spec.children]
        seen = [c.tag for c in el]
        assert seen == [t for t in order if t in seen], f"order under {spec.tag}"
        for child in el:
            check(child, next(c for c in spec.children if c.clark == child.tag))

    check(root, BINDING)


def test_parse_error_names_line_and_path() -> None:
    bad = b"""<?xml version="1.0"?>
<ApplicationResponse xmlns="urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:CustomizationID>urn:fdc:peppol.eu:poacc:trns:invoice_response:3</cbc:CustomizationID>
  <cbc:UBLVersionID>2.1</cbc:UBLVersionID>
</ApplicationResponse>"""
    with pytest.raises(ParseError) as info:
        parse(bad)
    assert info.value.line == 5
    assert info.value.path == "/ubl:ApplicationResponse[1]/cbc:UBLVersionID[1]"


# -- round trips ------------------------------------------------------------------------------------


def rebuilt(r: InvoiceResponse) -> InvoiceResponse:
    """The same response made again through every public constructor (and so every check)."""

    def pid(p: PartyId | None) -> PartyId | None:
        return None if p is None else PartyId(p.value, p.scheme)

    def party(p: Party) -> Party:
        c = p.contact
        return Party(EndpointId(p.endpoint.scheme, p.endpoint.value), p.name, pid(p.identifier),
                     None if c is None else Contact(c.name, c.telephone, c.email))

    def ref(p: ReferencedParty | None) -> ReferencedParty | None:
        return None if p is None else ReferencedParty(p.name, pid(p.identifier))

    return InvoiceResponse(
        r.id, r.issue_date, party(r.sender), party(r.receiver), r.code,
        dataclasses.replace(r.document),
        [Clarification(c.code, c.reason, [Condition(k.attribute_id, k.description) for k in c.conditions])
         for c in r.clarifications],
        r.effective_date, r.issue_time, r.note, ref(r.issuer_party), ref(r.recipient_party), r.customization_id,
        r.profile_id,
    )


@settings(max_examples=300)
@given(responses())
def test_model_to_xml_to_model_is_identity(r: InvoiceResponse) -> None:
    for pretty in (True, False):
        back = parse(serialize(r, pretty=pretty))
        assert back == r
        # The parser builds without re-running the checks; the public constructors must agree with it.
        assert rebuilt(back) == back


@pytest.mark.conformance
@pytest.mark.parametrize("path", official_invoice_response_examples(), ids=lambda p: p.name)
def test_official_examples_conformance_parse_into_valid_models(path: Path) -> None:
    r = parse(path.read_bytes())
    assert rebuilt(r) == r
    r.check()  # every official example passes the official rules


def test_text_survives_exactly() -> None:
    tricky = "  a < b & c > d ]]> \r\n\t é 🚀 \"q\" 'q'  "
    r = base_response(note=tricky, clarifications=[Clarification(StatusReason.OTH, tricky)])
    xml = serialize(r)
    assert b"&#13;" in xml
    back = parse(xml)
    assert back.note == tricky
    assert back.clarifications[0].reason == tricky


def base_response(**changes: object) -> InvoiceResponse:
    fields: dict[str, object] = {
        "id": "IR-1",
        "issue_date": dt.date(2026, 3, 3),
        "sender": Party(EndpointId("0192", "913579240"), "Buyer AS"),
        "receiver": Party(EndpointId("0192", "924681357"), "Seller AS"),
        "code": ResponseCode.AP,
        "document": DocumentReference("INV-1", "380"),
    }
    fields.update(changes)
    return InvoiceResponse(**fields)  # type: ignore[arg-type]


def test_compact_and_pretty_hold_the_same_document() -> None:
    r = base_response(clarifications=[Clarification(StatusAction.NOA, "x", (Condition("BT-1"),))])
    compact, pretty = serialize(r, pretty=False), serialize(r)
    assert b"\n  " not in compact.split(b"\n", 1)[1]
    assert canonical(compact) == canonical(pretty)


# -- what the parser accepts and how it reads values ------------------------------------------------

MINIMAL = """<?xml version="1.0" encoding="UTF-8"?>
<ApplicationResponse xmlns="urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2"
  xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:CustomizationID>urn:fdc:peppol.eu:poacc:trns:invoice_response:3</cbc:CustomizationID>
  <cbc:ProfileID>urn:fdc:peppol.eu:poacc:bis:invoice_response:3</cbc:ProfileID>
  <cbc:ID>IR-1</cbc:ID>
  <cbc:IssueDate>{issue_date}</cbc:IssueDate>{header}
  <cac:SenderParty>
    <cbc:EndpointID schemeID="0192">913579240</cbc:EndpointID>
    <cac:PartyLegalEntity><cbc:RegistrationName>Buyer AS</cbc:RegistrationName></cac:PartyLegalEntity>
  </cac:SenderParty>
  <cac:ReceiverParty>
    <cbc:EndpointID schemeID="0192">924681357</cbc:EndpointID>
    <cac:PartyLegalEntity><cbc:RegistrationName>Seller AS</cbc:RegistrationName></cac:PartyLegalEntity>
  </cac:ReceiverParty>
  <cac:DocumentResponse>
    <cac:Response>
      <cbc:ResponseCode>{code}</cbc:ResponseCode>{response}
    </cac:Response>
    <cac:DocumentReference>
      <cbc:ID>INV-1</cbc:ID>
      <cbc:DocumentTypeCode>{type_code}</cbc:DocumentTypeCode>
    </cac:DocumentReference>
  </cac:DocumentResponse>
</ApplicationResponse>"""


def minimal(**parts: str) -> bytes:
    values = {"issue_date": "2026-03-03", "header": "", "code": "AP", "response": "", "type_code": "380"}
    values.update(parts)
    return MINIMAL.format(**values).encode()


def test_minimal_document_parses() -> None:
    r = parse(minimal())
    assert r.code is ResponseCode.AP
    assert r.document.issue_date is None
    assert r.clarifications == ()


def test_codes_are_normalized_as_normalize_space_does() -> None:
    assert parse(minimal(code="\n   AP \t")).code is ResponseCode.AP
    assert parse(minimal(type_code=" 389 ")).document.type_code == "389"
    with pytest.raises(ParseError, match="UNCL4343"):
        parse(minimal(code="AP\xa0"))  # a no-break space is not whitespace to normalize-space()
    with pytest.raises(ParseError, match="UNCL4343"):
        parse(minimal(code="ap"))


def test_dates_and_times() -> None:
    assert parse(minimal(issue_date=" 2026-03-03 ")).issue_date == dt.date(2026, 3, 3)
    r = parse(minimal(header="<cbc:IssueTime>24:00:00</cbc:IssueTime>"))
    assert r.issue_time == dt.time(0, 0)
    r = parse(minimal(header="<cbc:IssueTime>12:30:15.1234567-03:30</cbc:IssueTime>"))
    assert r.issue_time == dt.time(12, 30, 15, 123456, dt.timezone(-dt.timedelta(hours=3, minutes=30)))
    assert parse(minimal(header="<cbc:IssueTime>08:00:00Z</cbc:IssueTime>")).issue_time == dt.time(8, tzinfo=dt.UTC)
    for bad in ("2026-3-3", "03.03.2026", "2026-02-30", "٢٠٢٦-03-03", "2026-03-03T10:00:00"):
        with pytest.raises(ParseError, match="IssueDate") as info:
            parse(minimal(issue_date=bad))
        assert info.value.path == "/ubl:ApplicationResponse[1]/cbc:IssueDate[1]"
    for bad in ("25:00:00", "12:00", "12:00:00+15:00", "12:00:00+01:60", "noon"):
        with pytest.raises(ParseError, match="IssueTime"):
            parse(minimal(header=f"<cbc:IssueTime>{bad}</cbc:IssueTime>"))


def test_comments_are_ignored_even_inside_text() -> None:
    xml = minimal(header="<!-- a comment --><cbc:Note>one<!-- inside -->two</cbc:Note><?pi x?>")
    assert parse(xml).note == "onetwo"


@pytest.mark.parametrize(
    ("change", "message", "path"),
    [
        ({"header": "<cbc:UUID>x</cbc:UUID>"}, "not part of the Invoice Response data model",
         "/ubl:ApplicationResponse[1]/cbc:UUID[1]"),
        ({"header": "<cbc:Note>a</cbc:Note><cbc:Note>b</cbc:Note>"}, "may occur only once",
         "/ubl:ApplicationResponse[1]/cbc:Note[2]"),
        ({"header": "<cbc:Note></cbc:Note>"}, "empty", "/ubl:ApplicationResponse[1]/cbc:Note[1]"),
        ({"header": "<cbc:Note>  <!-- c -->  </cbc:Note>"}, "empty", "/ubl:ApplicationResponse[1]/cbc:Note[1]"),
        ({"header": "<cbc:Note>a<cbc:ID>b</cbc:ID></cbc:Note>"}, "holds text",
         "/ubl:ApplicationResponse[1]/cbc:Note[1]/cbc:ID[1]"),
        ({"response": "<cbc:Description>x</cbc:Description>"}, "not part of",
         "/ubl:ApplicationResponse[1]/cac:DocumentResponse[1]/cac:Response[1]/cbc:Description[1]"),
        ({"response": "<cac:Status/>"}, "empty",
         "/ubl:ApplicationResponse[1]/cac:DocumentResponse[1]/cac:Response[1]/cac:Status[1]"),
        ({"response": "<cac:Status><cbc:StatusReasonCode>REF</cbc:StatusReasonCode></cac:Status>"}, "listID",
         "/ubl:ApplicationResponse[1]/cac:DocumentResponse[1]/cac:Response[1]/cac:Status[1]/cbc:StatusReasonCode[1]"),
        ({"response": '<cac:Status><cbc:StatusReasonCode listID="OPStatusAction">PPD</cbc:StatusReasonCode>'
                      "</cac:Status>"}, "OPStatusAction",
         "/ubl:ApplicationResponse[1]/cac:DocumentResponse[1]/cac:Response[1]/cac:Status[1]/cbc:StatusReasonCode[1]"),
        ({"response": '<cac:Status><cbc:StatusReasonCode listID="UNCL4343">REF</cbc:StatusReasonCode>'
                      "</cac:Status>"}, "ClarificationListID",
         "/ubl:ApplicationResponse[1]/cac:DocumentResponse[1]/cac:Response[1]/cac:Status[1]/cbc:StatusReasonCode[1]"),
        ({"response": "<cac:Status><cac:Condition><cbc:Description>x</cbc:Description></cac:Condition></cac:Status>"},
         "lacks the mandatory element cbc:AttributeID",
         "/ubl:ApplicationResponse[1]/cac:DocumentResponse[1]/cac:Response[1]/cac:Status[1]/cac:Condition[1]"),
        ({"type_code": "9999"}, "UNCL1001",
         "/ubl:ApplicationResponse[1]/cac:DocumentResponse[1]/cac:DocumentReference[1]/cbc:DocumentTypeCode[1]"),
    ],
)
def test_errors_name_what_and_where(change: dict[str, str], message: str, path: str) -> None:
    with pytest.raises(ParseError, match=message) as info:
        parse(minimal(**change))
    assert info.value.path == path
    assert info.value.line is not None


def test_missing_and_misplaced_parts() -> None:
    xml = minimal().replace(b"<cbc:ProfileID>urn:fdc:peppol.eu:poacc:bis:invoice_response:3</cbc:ProfileID>", b"")
    with pytest.raises(ParseError, match="lacks the mandatory element cbc:ProfileID") as info:
        parse(xml)
    assert info.value.path == "/ubl:ApplicationResponse[1]"
    xml = minimal().replace(b'schemeID="0192">913579240', b">913579240")
    with pytest.raises(ParseError, match="schemeID") as info:
        parse(xml)
    assert info.value.path == "/ubl:ApplicationResponse[1]/cac:SenderParty[1]/cbc:EndpointID[1]"
    xml = minimal().replace(b'schemeID="0192">913579240', b'schemeID="9999">913579240')
    with pytest.raises(ParseError, match="EAS"):
        parse(xml)
    contact = b"<cac:Contact><cbc:Name>x</cbc:Name></cac:Contact></cac:ReceiverParty>"
    with pytest.raises(ParseError, match="cac:Contact is not part") as info:
        parse(minimal().replace(b"</cac:ReceiverParty>", contact))
    xml = minimal().replace(b"<cbc:DocumentTypeCode>380</cbc:DocumentTypeCode>", b"")
    with pytest.raises(ParseError, match="DocumentTypeCode"):
        parse(xml)
    xml = minimal().replace(b"</cac:DocumentResponse>", b"</cac:DocumentResponse><cac:DocumentResponse/>")
    with pytest.raises(ParseError, match="only once"):
        parse(xml)


def test_other_documents_are_named() -> None:
    with pytest.raises(ParseError, match="wrong namespace"):
        parse(minimal().replace(b"ApplicationResponse-2\"", b"ApplicationResponse-3\""))
    with pytest.raises(ParseError, match="not an Invoice Response"):
        parse(b"<Invoice xmlns='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2'/>")
    mlr = minimal().replace(b"trns:invoice_response:3", b"trns:mlr:3").replace(
        b"</cac:DocumentResponse>", b"<cac:LineResponse/></cac:DocumentResponse>")
    with pytest.raises(ParseError, match="Message Level Response"):
        parse(mlr)
    with pytest.raises(ParseError, match="Message Level Status"):
        parse(minimal().replace(b"urn:fdc:peppol.eu:poacc:trns:invoice_response:3", b"urn:peppol:edec:mls:1.0"))
    with pytest.raises(ParseError, match="not an Invoice Response"):
        parse(minimal().replace(b"trns:invoice_response:3", b"trns:something:3"))


SBDH = b"""<?xml version="1.0" encoding="UTF-8"?>
<StandardBusinessDocument xmlns="http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader">
  <StandardBusinessDocumentHeader><HeaderVersion>1.0</HeaderVersion></StandardBusinessDocumentHeader>
  %s
</StandardBusinessDocument>"""


def test_sbdh_wrapped_response_parses() -> None:
    inner = minimal().split(b"?>", 1)[1]
    assert parse(SBDH % inner) == parse(minimal())
    with pytest.raises(ParseError, match="exactly one business document"):
        parse(SBDH % (inner + inner))
    root = etree.fromstring(SBDH % b'<x xmlns=""/>')
    assert unwrap_sbdh(root).tag == "x"


def test_size_cap() -> None:
    big = minimal(header="<cbc:Note>" + "x" * MAX_DOCUMENT_BYTES + "</cbc:Note>")
    with pytest.raises(UnsafeXmlError, match="limit"):
        parse(big)
    assert parse(big, max_bytes=2 * MAX_DOCUMENT_BYTES).note == "x" * MAX_DOCUMENT_BYTES


def test_str_input() -> None:
    assert parse(minimal().decode()) == parse(minimal())


def test_build_error_type_is_kept_out_of_parse() -> None:
    # A response that breaks a business rule still parses (to be reported); check() says why.
    r = parse(minimal(code="RE"))
    with pytest.raises(BuildError, match="R001"):
        r.check()


# -- the fast reader and the checked walk -------------------------------------------------------------


def _both_readers(data: bytes) -> tuple[InvoiceResponse | ParseError, InvoiceResponse | None]:
    """What the checked walk and the fast reader make of ``data`` (the fast one: None when it gives up)."""
    root = parse_xml(data, max_bytes=10 * MAX_DOCUMENT_BYTES, max_depth=None)
    if root.tag == "{http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader}StandardBusinessDocument":
        root = unwrap_sbdh(root)
    try:
        checked: InvoiceResponse | ParseError = _read_checked(root)
    except ParseError as exc:
        checked = exc
    try:
        fast: InvoiceResponse | None = _read_usual(root)
    except (_Unusual, ValueError):
        fast = None
    return checked, fast


def _assert_fast_reader_agrees(data: bytes) -> InvoiceResponse | None:
    checked, fast = _both_readers(data)
    if fast is not None:
        assert not isinstance(checked, ParseError), f"the fast reader accepted what the walk refuses: {checked}"
        assert fast == checked
        assert rebuilt(fast) == fast
    return fast


def test_fast_reader_agrees_with_the_walk_on_the_mutated_corpus() -> None:
    # Thousands of systematic and random mutations (padding, comments inside text, repeats, deletions,
    # elements outside the model, unknown codes, odd dates and times...): whenever the fast reader answers,
    # it answers what the checked walk answers, and it never accepts a document the walk refuses.
    from tests.conftest import CONFORMANCE
    from tests.validation.corpus import corpus

    taken = 0
    docs = corpus(2500, seed=7, conformance=CONFORMANCE if CONFORMANCE.is_dir() else None)
    for _name, data in docs:
        if b"ApplicationResponse" in data and b"trns:mlr:3" not in data:
            taken += _assert_fast_reader_agrees(data) is not None
    assert taken > 100  # the usual documents do take the fast path


@pytest.mark.conformance
@pytest.mark.parametrize("path", official_invoice_response_examples(), ids=lambda p: p.name)
def test_official_examples_conformance_take_the_fast_reader(path: Path) -> None:
    assert _assert_fast_reader_agrees(path.read_bytes()) is not None


def test_project_examples_take_the_fast_reader() -> None:
    for path in sorted((Path(__file__).parent.parent / "examples" / "responses").glob("*.xml")):
        assert _assert_fast_reader_agrees(path.read_bytes()) is not None, path.name


def _values(tree: object) -> list[object]:
    if isinstance(tree, dict):
        return [v for value in tree.values() for v in _values(value)]
    if isinstance(tree, (list, tuple)):
        return [v for value in tree for v in _values(value)]
    return [tree]


_LEAF_TRICKS = [" ", "\n\t ", "\r", "&#13;", "\xa0", "<!--c-->", "<?pi x?>", "<![CDATA[]]>", "<![CDATA[ x ]]>",
                "<cbc:X>y</cbc:X>", ""]


@settings(max_examples=200)
@given(responses(), st.booleans(), st.data())
def test_fast_reader_agrees_with_the_walk_on_mutated_responses(r: InvoiceResponse, pretty: bool,
                                                               data: st.DataObject) -> None:
    xml = serialize(r, pretty=pretty)
    # What we write is a usual document, except fractions of seconds and texts made only of characters
    # str.isspace() counts as space but XML does not (NBSP, NEL, ...): the walk reads those.
    usual = (r.issue_time is None or not r.issue_time.microsecond) and not any(
        isinstance(v, str) and v.isspace() for v in _values(r.to_dict()))
    assert (_assert_fast_reader_agrees(xml) is not None) == usual
    root = etree.fromstring(xml)
    tricks: list[str] = []
    for _ in range(data.draw(st.integers(1, 3))):
        elements = list(root.iter("*"))[1:]
        el = data.draw(st.sampled_from(elements))
        parent = el.getparent()
        assert parent is not None
        action = data.draw(st.sampled_from(["text", "duplicate", "remove", "comment", "unknown", "swap"]))
        if action == "text" and not len(el):
            # A marker now, the raw markup after serialization (comments, CDATA, references in the text).
            marker = f"@@{len(tricks)}@@"
            tricks.append(data.draw(st.sampled_from(_LEAF_TRICKS)))
            where = data.draw(st.sampled_from(["before", "after", "instead"]))
            text = el.text or ""
            el.text = {"before": marker + text, "after": text + marker, "instead": marker}[where]
        elif action == "duplicate":
            el.addnext(copy.deepcopy(el))
        elif action == "remove":
            parent.remove(el)
        elif action == "comment":
            el.addprevious(etree.Comment("c"))
        elif action == "unknown":
            el.addnext(etree.Element(f"{{{CBC}}}UUID"))
        elif action == "swap":
            prev = el.getprevious()
            if prev is not None:
                prev.addprevious(el)
    mutated = etree.tostring(root)
    for i, trick in enumerate(tricks):
        mutated = mutated.replace(f"@@{i}@@".encode(), trick.encode())
    _assert_fast_reader_agrees(mutated)
