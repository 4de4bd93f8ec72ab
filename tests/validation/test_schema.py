"""The schema layer: our compact XSD with lxml, the date/time workaround, error ids and locations."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from lxml import etree

from peppol_response.resources import data_path
from peppol_response.validation import Layer, validate
from peppol_response.validation.schema import _rule_id
from peppol_response.validation.ubl_structure import AGGREGATE_TYPES, LEAF_TYPES, UBL_TYPES
from tests.validation.corpus import FULL, MINIMAL


def schema_findings(xml: str) -> list[tuple[str, str]]:
    return [(f.rule, f.location) for f in validate(xml).findings if f.layer is Layer.SCHEMA]


@pytest.mark.parametrize("value", [" 2026-03-02 ", "\n\t2026-03-02\r\n", "2026-03-02Z", "2026-03-02-05:00",
                                   "-0001-01-01", "12026-03-02"])
def test_padded_and_zoned_dates_pass_the_schema_like_ubl(value: str) -> None:
    xml = FULL.replace("<cbc:EffectiveDate>2026-03-01<", f"<cbc:EffectiveDate>{value}<")
    assert schema_findings(xml) == []
    assert validate(xml).valid  # R030 does not look at EffectiveDate


@pytest.mark.parametrize("value", ["2026-02-29", "2026-04-31", "0000-01-01", "1900-02-29", "2026-13-01",
                                   "2026-3-1", "02026-03-01", "2026-03-01+14:30", "", "2026-03-01T00:00:00"])
def test_impossible_or_malformed_dates_fail_the_schema(value: str) -> None:
    xml = FULL.replace("<cbc:EffectiveDate>2026-03-01<", f"<cbc:EffectiveDate>{value}<")
    found = schema_findings(xml)
    assert found == [("XSD-cvc-datatype-valid.1.2.1",
                      "/ubl:ApplicationResponse[1]/cac:DocumentResponse[1]/cac:Response[1]/cbc:EffectiveDate[1]")]


def test_the_date_pattern_is_the_calendar() -> None:
    # The schema's date pattern carries the calendar (days per month, leap years, no year 0000); compare it
    # with the arithmetic of is_date over every month and day of years around each leap-year boundary.
    from peppol_response.validation.generate import _DATE_PATTERN
    from peppol_response.validation.xpath import is_date

    schema = etree.XMLSchema(etree.fromstring(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:simpleType name="D"><xs:restriction '
        f'base="xs:token"><xs:pattern value="{_DATE_PATTERN}"/></xs:restriction></xs:simpleType>'
        '<xs:element name="d" type="D"/></xs:schema>'))
    years = {b + d for b in (0, 400, 1900, 2000, 2100, 10000, 10400, 12000) for d in (-4, -1, 0, 1, 4) if b + d >= 0}
    texts = ({f"{y:04d}" for y in years} | {"-0000", "-0004", "-0100", "-0400", "-2000", "-2001"}
             | {"00000", "01000", "0", "123"})
    checked = 0
    for year in sorted(texts):
        for month in range(14):
            for day in range(33):
                for zone in ("", "+14:01"):
                    value = f"{year}-{month:02d}-{day:02d}{zone}"
                    accepted = schema.validate(etree.fromstring(f"<d>{value}</d>"))
                    assert accepted is is_date(value, allow_year_zero=False), value
                    checked += 1
    assert checked > 30_000


@pytest.mark.parametrize(("value", "ok"), [(" 09:15:00 ", True), ("24:00:00", True), ("09:15:00.25+01:00", True),
                                       ("24:00:01", False), ("9:15:00", False), ("23:59:60", False)])
def test_times(value: str, ok: bool) -> None:
    xml = FULL.replace("<cbc:IssueTime>09:15:00</cbc:IssueTime>", f"<cbc:IssueTime>{value}</cbc:IssueTime>")
    assert (schema_findings(xml) == []) is ok


def test_errors_name_the_element_even_on_one_line() -> None:
    xml = MINIMAL.replace("<cbc:ID>r1</cbc:ID>", "<cbc:ID>r1</cbc:ID><cbc:ID>r2</cbc:ID>")
    assert schema_findings(xml) == [("XSD-cvc-complex-type.2.4", "/ubl:ApplicationResponse[1]/cbc:ID[2]")]
    xml = MINIMAL.replace('listID="OPStatusReason"', 'listID="OPStatusReason" bogus="1"').replace(
        "<cbc:RegistrationName>Norrbuy AB", '<cbc:RegistrationName languageID="x y">Norrbuy AB')
    assert schema_findings(xml) == [
        ("XSD-cvc-datatype-valid.1.2.1", "/ubl:ApplicationResponse[1]/cac:SenderParty[1]/cac:PartyLegalEntity[1]"
         "/cbc:RegistrationName[1]"),
        ("XSD-cvc-complex-type.3.2.2", "/ubl:ApplicationResponse[1]/cac:DocumentResponse[1]/cac:Response[1]"
         "/cac:Status[1]/cbc:StatusReasonCode[1]"),
    ]
    assert all(f.line == 4 for f in validate(xml).findings if f.layer is Layer.SCHEMA)  # real lines are back


@pytest.mark.parametrize(("change", "rule"), [
    (("<cbc:Note>", '<cbc:Note languageID="e_n">'), "XSD-cvc-datatype-valid.1.2.1"),
    (("<cbc:Note>", "<cbc:Note><cbc:X/>"), "XSD-cvc-complex-type.2.2"),
    (("<cac:Contact>", "<cac:Contact>text"), "XSD-cvc-complex-type.2.3"),
    (("<cbc:IssueTime>09:15:00</cbc:IssueTime>", "<cbc:IssueTime>09:15:00</cbc:IssueTime>" * 2),
     "XSD-cvc-complex-type.2.4"),
    (('<cbc:Note>', '<cbc:Note xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="true">'),
     "XSD-cvc-elt.3.1"),
])
def test_schema_error_ids(change: tuple[str, str], rule: str) -> None:
    xml = FULL.replace(*change, 1)
    assert rule in {r for r, _l in schema_findings(xml)}


def test_xsi_type_naming_the_ubl_type_is_accepted() -> None:
    xml = FULL.replace("<cbc:Note>", '<cbc:Note xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                                     'xsi:type="cbc:NoteType">')
    assert schema_findings(xml) == []


def test_rule_ids_follow_the_xml_schema_constraint_names() -> None:
    assert _rule_id("SCHEMAV_ELEMENT_CONTENT") == "XSD-cvc-complex-type.2.4"
    assert _rule_id("SCHEMAV_CVC_DATATYPE_VALID_1_2_1") == "XSD-cvc-datatype-valid.1.2.1"
    assert _rule_id("SCHEMAV_CVC_COMPLEX_TYPE_4") == "XSD-cvc-complex-type.4"


def test_the_shipped_schema_compiles_alone() -> None:
    schema = etree.XMLSchema(etree.parse(str(data_path("schemas", "ApplicationResponse.xsd"))))
    assert schema.validate(etree.fromstring(FULL.encode()))


@pytest.mark.skipif(not os.environ.get("PEPPOL_OFFICIAL_ARTEFACTS"),
                    reason="set PEPPOL_OFFICIAL_ARTEFACTS to compare the UBL facts with the OASIS XSD")
def test_ubl_structure_table_matches_the_oasis_schema() -> None:
    base = Path(os.environ["PEPPOL_OFFICIAL_ARTEFACTS"]) / "xsd"
    xs = "{http://www.w3.org/2001/XMLSchema}"
    docs = {
        "cac": etree.parse(str(base / "common/UBL-CommonAggregateComponents-2.1.xsd")).getroot(),
        "cbc": etree.parse(str(base / "common/UBL-CommonBasicComponents-2.1.xsd")).getroot(),
        "main": etree.parse(str(base / "maindoc/UBL-ApplicationResponse-2.1.xsd")).getroot(),
    }
    for type_name, children in UBL_TYPES.items():
        root = docs["main" if type_name == "ApplicationResponseType" else "cac"]
        ct = root.find(f"{xs}complexType[@name='{type_name}']")
        assert ct is not None, type_name
        seq = [(e.get("ref"), int(e.get("minOccurs", "1")),
                None if e.get("maxOccurs") == "unbounded" else int(e.get("maxOccurs", "1")))
               for e in ct.find(f"{xs}sequence") if e.tag == xs + "element"]
        assert tuple(seq) == children, type_name
    cac_elements = {e.get("name"): e.get("type") for e in docs["cac"].findall(f"{xs}element")}
    for name, type_name in AGGREGATE_TYPES.items():
        if name.startswith("cac:"):
            assert cac_elements[name[4:]] == type_name
    cbc_elements = {e.get("name"): e.get("type") for e in docs["cbc"].findall(f"{xs}element")}
    cbc_bases = {ct.get("name"): ct.find(f"{xs}simpleContent/{xs}extension").get("base")
                 for ct in docs["cbc"].findall(f"{xs}complexType")}
    for name, (type_name, kind) in LEAF_TYPES.items():
        assert cbc_elements[name[4:]] == type_name
        assert cbc_bases[type_name] == f"udt:{kind}Type"


def test_errors_are_placed_like_the_revalidation_would_place_them() -> None:
    # Schema errors are put on their element by line and libxml2's node path; the older way (validate again
    # with each element's line set to its position) must agree, on pretty and on one-line documents.
    from peppol_response.validation.schema import _log, schema_layer
    from tests.validation.corpus import corpus

    layer = schema_layer()
    schema = layer.schema
    compared = 0
    for _name, data in corpus(600, seed=11):
        for one_line in (False, True):
            root = etree.fromstring(data)
            if one_line:
                for e in root.iter():
                    e.tail = None
                    if len(e):
                        e.text = None
                root = etree.fromstring(etree.tostring(root))
            if not root.tag.endswith("}ApplicationResponse") or schema.validate(root):
                continue
            elements = list(root.iter(etree.Element))
            placed = layer._placed(root, elements, list(_log(schema)))
            assert placed is not None
            again = layer._placed_by_revalidating(root, elements, schema)
            assert [(el, e.type_name, e.message) for el, e in placed] == [
                (el, e.type_name, e.message) for el, e in again]
            compared += 1
    assert compared > 50
