"""The edge-case table of the reference (§9): each row's official result (release 2026.5), and what the
strict profile adds. Each row is applied to our own full example and, when ../shared is present, to
the official full example the table was made with."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from lxml import etree

from peppol_response.validation import Layer, validate
from tests.conftest import CONFORMANCE
from tests.validation.corpus import CAC, CBC, FULL, NS, parse

XSI = "{http://www.w3.org/2001/XMLSchema-instance}"


def first(root: etree._Element, tag: str) -> etree._Element:
    el = root.find(f".//{tag}")
    assert el is not None, tag
    return el


def new(tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    prefix, _, local = tag.partition(":")
    el = etree.Element(f"{{{NS[prefix]}}}{local}")
    el.text = text
    for k, v in attrs.items():
        el.set(k, v)
    return el


def set_code(code: str) -> Callable[[etree._Element], None]:
    def mutate(root: etree._Element) -> None:
        first(root, CBC + "ResponseCode").text = code
    return mutate


def statuses(*specs: tuple[str | None, str | None, str | None]) -> Callable[[etree._Element], None]:
    """Replace all cac:Status by ones with (code, listID, reason); all None = an empty cac:Status."""
    def mutate(root: etree._Element) -> None:
        response = first(root, CAC + "Response")
        for st in response.findall(CAC + "Status"):
            response.remove(st)
        for code, list_id, reason in specs:
            st = etree.SubElement(response, CAC + "Status")
            if code is not None:
                src = etree.SubElement(st, CBC + "StatusReasonCode")
                src.text = code
                if list_id is not None:
                    src.set("listID", list_id)
            if reason is not None:
                etree.SubElement(st, CBC + "StatusReason").text = reason
    return mutate


def both(*ms: Callable[[etree._Element], None]) -> Callable[[etree._Element], None]:
    def mutate(root: etree._Element) -> None:
        for m in ms:
            m(root)
    return mutate


def set_text(tag: str, value: str) -> Callable[[etree._Element], None]:
    def mutate(root: etree._Element) -> None:
        first(root, tag).text = value
    return mutate


def set_attr(tag: str, name: str, value: str | None) -> Callable[[etree._Element], None]:
    def mutate(root: etree._Element) -> None:
        el = root if tag == "root" else first(root, tag)
        if value is None:
            del el.attrib[name]
        else:
            el.set(name, value)
    return mutate


def insert_after(ref: str, make: Callable[[], etree._Element]) -> Callable[[etree._Element], None]:
    def mutate(root: etree._Element) -> None:
        first(root, ref).addnext(make())
    return mutate


def append_to(parent: str, make: Callable[[], etree._Element]) -> Callable[[etree._Element], None]:
    def mutate(root: etree._Element) -> None:
        (root if parent == "root" else first(root, parent)).append(make())
    return mutate


def remove(tag: str) -> Callable[[etree._Element], None]:
    def mutate(root: etree._Element) -> None:
        el = first(root, tag)
        parent = el.getparent()
        assert parent is not None
        parent.remove(el)
    return mutate


def duplicate(tag: str) -> Callable[[etree._Element], None]:
    def mutate(root: etree._Element) -> None:
        el = first(root, tag)
        el.addnext(copy.deepcopy(el))
    return mutate


def contact() -> etree._Element:
    c = new("cac:Contact")
    c.append(new("cbc:Name", "Ola"))
    return c


def condition_without_attribute_id() -> Callable[[etree._Element], None]:
    def mutate(root: etree._Element) -> None:
        st = first(root, CAC + "Status")
        cond = etree.SubElement(st, CAC + "Condition")
        etree.SubElement(cond, CBC + "Description").text = "x"
    return mutate


@dataclass(frozen=True)
class Row:
    case: str
    mutate: Callable[[etree._Element], None]
    fatal: frozenset[str] = frozenset()
    warnings: frozenset[str] = frozenset()
    schema_error: bool = False
    strict: frozenset[str] = frozenset()  # PR- ids the strict profile adds

    @property
    def valid(self) -> bool:
        return not self.fatal and not self.schema_error


def row(case: str, mutate: Callable[[etree._Element], None], fatal: str = "", warnings: str = "",
        schema_error: bool = False, strict: str = "") -> Row:
    return Row(case, mutate, frozenset(fatal.split()), frozenset(warnings.split()), schema_error,
               frozenset(strict.split()))


T = "PEPPOL-T111-"
C = "PEPPOL-COMMON-"
NOTE = CBC + "Note"

ROWS = [
    row("ResponseCode XX", set_code("XX"), f"{T}B03001"),
    row("ResponseCode ' AP ' (padded)", set_code(" AP ")),
    row("ResponseCode ap (lower case)", set_code("ap"), f"{T}B03001"),
    row("UQ with no cac:Status", both(set_code("UQ"), statuses()), f"{T}R001"),
    row("CA with no cac:Status", both(set_code("CA"), statuses()), f"{T}R001"),
    row("RE with no cac:Status", both(set_code("RE"), statuses()), f"{T}R001"),
    row("RE with a cac:Status holding only a StatusReason", both(set_code("RE"), statuses((None, None, "text"))),
        f"{T}R001"),
    row("AB with no Status", both(set_code("AB"), statuses())),
    row("empty <cac:Status/> under RE", both(set_code("RE"), statuses((None, None, None))), f"{C}R001 {T}R001"),
    row("PPD under ResponseCode RE (with text)",
        both(set_code("RE"), statuses(("PPD", "OPStatusReason", "paid 10"))), strict="PR-T111-R005"),
    row("PD + PPD without StatusReason", both(set_code("PD"), statuses(("PPD", "OPStatusReason", None))), f"{T}R004"),
    row("PPD with listID OPStatusAction", both(set_code("PD"), statuses(("PPD", "OPStatusAction", "paid 10"))),
        f"{T}R006"),
    row("NOA with listID OPStatusReason", statuses(("NOA", "OPStatusReason", None)), f"{T}R007"),
    row("listID UNCL4343", statuses(("REF", "UNCL4343", None)), f"{T}B03303"),
    row("StatusReasonCode without listID", statuses(("REF", None, None)), f"{T}B03302"),
    row("OTH without StatusReason", statuses(("OTH", "OPStatusReason", None)), warnings=f"{T}R002"),
    row("' OTH ' (padded) without StatusReason", statuses((" OTH ", "OPStatusReason", None))),
    row("ProfileID urn:peppol:bis:billing_with_response",
        set_text(CBC + "ProfileID", "urn:peppol:bis:billing_with_response")),
    row("ProfileID other value", set_text(CBC + "ProfileID", "urn:fdc:peppol.eu:poacc:bis:mlr:3"), f"{T}R008"),
    row("CustomizationID with extra suffix",
        set_text(CBC + "CustomizationID", "urn:fdc:peppol.eu:poacc:trns:invoice_response:3:extended:xyz")),
    row("CustomizationID typo", set_text(CBC + "CustomizationID", "urn:fdc:peppol.eu:poacc:trns:invoice_respons:3"),
        f"{T}R003"),
    row("cbc:UBLVersionID present", lambda r: r.insert(0, new("cbc:UBLVersionID", "2.1")), f"{T}B00109"),
    row("cbc:ResponseDate present", insert_after(NOTE, lambda: new("cbc:ResponseDate", "2017-12-01")),
        f"{T}B00109", schema_error=True),
    row("cbc:Description in cac:Response", insert_after(CBC + "ResponseCode", lambda: new("cbc:Description", "x")),
        f"{T}B02902"),
    row("cbc:Description in cac:Status",
        lambda r: first(r, CAC + "Status").insert(0, new("cbc:Description", "x")), f"{T}B03201"),
    row("cac:Contact in ReceiverParty", append_to(CAC + "ReceiverParty", contact), f"{T}B02003"),
    row("Condition without AttributeID", condition_without_attribute_id(), f"{T}B03601", schema_error=True),
    row("missing DocumentTypeCode", remove(CBC + "DocumentTypeCode"), f"{T}B03902"),
    row("DocumentTypeCode 389", set_text(CBC + "DocumentTypeCode", "389")),
    row("DocumentTypeCode 9999", set_text(CBC + "DocumentTypeCode", "9999"), f"{T}B04201"),
    row("EndpointID without schemeID", set_attr(CBC + "EndpointID", "schemeID", None), f"{T}B00901"),
    row("EndpointID schemeID 9999", set_attr(CBC + "EndpointID", "schemeID", "9999"), f"{T}B00902"),
    row("PartyIdentification schemeID 9999",
        lambda r: first(r, CAC + "SenderParty").find(f"{CAC}PartyIdentification/{CBC}ID").set("schemeID", "9999"),
        f"{T}B01201"),
    row("GLN (0088) with a bad check digit",
        both(set_attr(CBC + "EndpointID", "schemeID", "0088"), set_text(CBC + "EndpointID", "5790000435954")),
        f"{C}R040"),
    row("IssueDate 2017-12-01+01:00", set_text(CBC + "IssueDate", "2017-12-01+01:00"), f"{C}R030"),
    row("IssueTime with zone 12:00:00+01:00", set_text(CBC + "IssueTime", "12:00:00+01:00")),
    row("xsi:schemaLocation on the root", set_attr("root", XSI + "schemaLocation", "urn:x ApplicationResponse.xsd"),
        f"{T}B00108", warnings=f"{C}R003"),
    row("empty <cbc:Note></cbc:Note>", set_text(NOTE, ""), f"{C}R001"),
    row("two cbc:Note", duplicate(NOTE), strict="PR-T111-S00701"),
    row("two cac:DocumentReference", duplicate(CAC + "DocumentReference"), strict="PR-T111-S03901"),
    row("two cac:DocumentResponse", duplicate(CAC + "DocumentResponse"), strict="PR-T111-S02801"),
    row("two PartyIdentification in SenderParty", duplicate(CAC + "PartyIdentification"), strict="PR-T111-S01101"),
    row("two PartyLegalEntity in SenderParty", duplicate(CAC + "PartyLegalEntity"), strict="PR-T111-S01401"),
    row("two StatusReason in one Status",
        both(statuses(("REF", "OPStatusReason", "a")), duplicate(CBC + "StatusReason")), strict="PR-T111-S03501"),
    row("two Description in one Condition", duplicate(CBC + "Description"), strict="PR-T111-S03801"),
    row("no PartyIdentification",
        lambda r: [pi.getparent().remove(pi) for pi in r.findall(f".//{CAC}PartyIdentification")]),
]


def _bases() -> list[tuple[str, bytes]]:
    bases = [("our full example", FULL.encode())]
    official = CONFORMANCE / "examples" / "InvoiceResponse_Example.xml"
    if official.is_file():
        bases.append(("official full example", official.read_bytes()))
    return bases


def _apply(base: bytes, r: Row) -> bytes:
    root = parse(base)
    if r.case.startswith("two Description in one Condition") and root.find(f".//{CBC}Description") is None:
        pytest.skip("this base has no cac:Condition")
    r.mutate(root)
    return etree.tostring(root)


@pytest.mark.parametrize(("base_name", "base"), _bases(), ids=[b for b, _ in _bases()])
@pytest.mark.parametrize("r", ROWS, ids=[r.case for r in ROWS])
def test_edge_case_has_the_official_result(base_name: str, base: bytes, r: Row) -> None:
    report = validate(_apply(base, r))
    rules = [f for f in report.findings if f.layer is Layer.RULES]
    assert {f.rule for f in rules if f.fatal} == r.fatal, report.to_text(r.case)
    assert {f.rule for f in rules if not f.fatal} == r.warnings, report.to_text(r.case)
    assert any(f.layer is Layer.SCHEMA for f in report.findings) is r.schema_error, report.to_text(r.case)
    assert report.valid is r.valid


@pytest.mark.parametrize("r", ROWS, ids=[r.case for r in ROWS])
def test_strict_profile_adds_only_its_own_ids(r: Row) -> None:
    report = validate(_apply(FULL.encode(), r), strict=True)
    official_ids = {f.rule for f in report.findings if not f.rule.startswith("PR-")}
    assert official_ids >= r.fatal | r.warnings
    assert {f.rule for f in report.findings if f.rule.startswith("PR-")} == r.strict
    assert report.valid is (r.valid and not r.strict)
