"""The generated files: current, and carrying exactly the official rule ids with the official contexts and tests."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from peppol_response.binding import BINDING
from peppol_response.validation import generate
from peppol_response.validation.engine import load_ruleset
from peppol_response.validation.mlr import MLR_BINDING
from tests.conftest import ROOT, SHARED

R = "{urn:peppol-response:rules:1}"

# PEPPOLBIS-T111.sch, release 2026.5 (reference Appendix A.1): every structure assert, in file order,
# with its rule context and test (code lists written as our variables).
T111_B = [
    ("PEPPOL-T111-B00101", "/ubl:ApplicationResponse", "cbc:CustomizationID"),
    ("PEPPOL-T111-B00102", "/ubl:ApplicationResponse", "cbc:ProfileID"),
    ("PEPPOL-T111-B00103", "/ubl:ApplicationResponse", "cbc:ID"),
    ("PEPPOL-T111-B00104", "/ubl:ApplicationResponse", "cbc:IssueDate"),
    ("PEPPOL-T111-B00105", "/ubl:ApplicationResponse", "cac:SenderParty"),
    ("PEPPOL-T111-B00106", "/ubl:ApplicationResponse", "cac:ReceiverParty"),
    ("PEPPOL-T111-B00107", "/ubl:ApplicationResponse", "cac:DocumentResponse"),
    ("PEPPOL-T111-B00108", "/ubl:ApplicationResponse", "not(@*:schemaLocation)"),
    ("PEPPOL-T111-B00801", "/ubl:ApplicationResponse/cac:SenderParty", "cbc:EndpointID"),
    ("PEPPOL-T111-B00802", "/ubl:ApplicationResponse/cac:SenderParty", "cac:PartyLegalEntity"),
    ("PEPPOL-T111-B00901", "/ubl:ApplicationResponse/cac:SenderParty/cbc:EndpointID", "@schemeID"),
    ("PEPPOL-T111-B00902", "/ubl:ApplicationResponse/cac:SenderParty/cbc:EndpointID",
     "not(@schemeID) or @schemeID = $EAS"),
    ("PEPPOL-T111-B01101", "/ubl:ApplicationResponse/cac:SenderParty/cac:PartyIdentification", "cbc:ID"),
    ("PEPPOL-T111-B01201", "/ubl:ApplicationResponse/cac:SenderParty/cac:PartyIdentification/cbc:ID",
     "not(@schemeID) or @schemeID = $ICD"),
    ("PEPPOL-T111-B01401", "/ubl:ApplicationResponse/cac:SenderParty/cac:PartyLegalEntity", "cbc:RegistrationName"),
    ("PEPPOL-T111-B01402", "/ubl:ApplicationResponse/cac:SenderParty/cac:PartyLegalEntity/*", "false()"),
    ("PEPPOL-T111-B01601", "/ubl:ApplicationResponse/cac:SenderParty/cac:Contact/*", "false()"),
    ("PEPPOL-T111-B00803", "/ubl:ApplicationResponse/cac:SenderParty/*", "false()"),
    ("PEPPOL-T111-B02001", "/ubl:ApplicationResponse/cac:ReceiverParty", "cbc:EndpointID"),
    ("PEPPOL-T111-B02002", "/ubl:ApplicationResponse/cac:ReceiverParty", "cac:PartyLegalEntity"),
    ("PEPPOL-T111-B02101", "/ubl:ApplicationResponse/cac:ReceiverParty/cbc:EndpointID", "@schemeID"),
    ("PEPPOL-T111-B02102", "/ubl:ApplicationResponse/cac:ReceiverParty/cbc:EndpointID",
     "not(@schemeID) or @schemeID = $EAS"),
    ("PEPPOL-T111-B02301", "/ubl:ApplicationResponse/cac:ReceiverParty/cac:PartyIdentification", "cbc:ID"),
    ("PEPPOL-T111-B02401", "/ubl:ApplicationResponse/cac:ReceiverParty/cac:PartyIdentification/cbc:ID",
     "not(@schemeID) or @schemeID = $ICD"),
    ("PEPPOL-T111-B02601", "/ubl:ApplicationResponse/cac:ReceiverParty/cac:PartyLegalEntity", "cbc:RegistrationName"),
    ("PEPPOL-T111-B02602", "/ubl:ApplicationResponse/cac:ReceiverParty/cac:PartyLegalEntity/*", "false()"),
    ("PEPPOL-T111-B02003", "/ubl:ApplicationResponse/cac:ReceiverParty/*", "false()"),
    ("PEPPOL-T111-B02801", "/ubl:ApplicationResponse/cac:DocumentResponse", "cac:Response"),
    ("PEPPOL-T111-B02802", "/ubl:ApplicationResponse/cac:DocumentResponse", "cac:DocumentReference"),
    ("PEPPOL-T111-B02901", "/ubl:ApplicationResponse/cac:DocumentResponse/cac:Response", "cbc:ResponseCode"),
    ("PEPPOL-T111-B03001", "/ubl:ApplicationResponse/cac:DocumentResponse/cac:Response/cbc:ResponseCode",
     "normalize-space(text()) = $UNCL4343_T111"),
    ("PEPPOL-T111-B03301", "/ubl:ApplicationResponse/cac:DocumentResponse/cac:Response/cac:Status/cbc:StatusReasonCode",
     "(normalize-space(text()) = $OP_STATUS_REASON) or (normalize-space(text()) = $OP_STATUS_ACTION)"),
    ("PEPPOL-T111-B03302", "/ubl:ApplicationResponse/cac:DocumentResponse/cac:Response/cac:Status/cbc:StatusReasonCode",
     "@listID"),
    ("PEPPOL-T111-B03303", "/ubl:ApplicationResponse/cac:DocumentResponse/cac:Response/cac:Status/cbc:StatusReasonCode",
     "not(@listID) or @listID = $CLARIFICATION_LIST_ID"),
    ("PEPPOL-T111-B03601", "/ubl:ApplicationResponse/cac:DocumentResponse/cac:Response/cac:Status/cac:Condition",
     "cbc:AttributeID"),
    ("PEPPOL-T111-B03602", "/ubl:ApplicationResponse/cac:DocumentResponse/cac:Response/cac:Status/cac:Condition/*",
     "false()"),
    ("PEPPOL-T111-B03201", "/ubl:ApplicationResponse/cac:DocumentResponse/cac:Response/cac:Status/*", "false()"),
    ("PEPPOL-T111-B02902", "/ubl:ApplicationResponse/cac:DocumentResponse/cac:Response/*", "false()"),
    ("PEPPOL-T111-B03901", "/ubl:ApplicationResponse/cac:DocumentResponse/cac:DocumentReference", "cbc:ID"),
    ("PEPPOL-T111-B03902", "/ubl:ApplicationResponse/cac:DocumentResponse/cac:DocumentReference",
     "cbc:DocumentTypeCode"),
    ("PEPPOL-T111-B04201", "/ubl:ApplicationResponse/cac:DocumentResponse/cac:DocumentReference/cbc:DocumentTypeCode",
     "normalize-space(text()) = $UNCL1001"),
    ("PEPPOL-T111-B03903", "/ubl:ApplicationResponse/cac:DocumentResponse/cac:DocumentReference/*", "false()"),
    ("PEPPOL-T111-B04301", "/ubl:ApplicationResponse/cac:DocumentResponse/cac:IssuerParty", "cac:PartyName"),
    ("PEPPOL-T111-B04401", "/ubl:ApplicationResponse/cac:DocumentResponse/cac:IssuerParty/cac:PartyIdentification",
     "cbc:ID"),
    ("PEPPOL-T111-B04501",
     "/ubl:ApplicationResponse/cac:DocumentResponse/cac:IssuerParty/cac:PartyIdentification/cbc:ID",
     "not(@schemeID) or @schemeID = $ICD"),
    ("PEPPOL-T111-B04701", "/ubl:ApplicationResponse/cac:DocumentResponse/cac:IssuerParty/cac:PartyName", "cbc:Name"),
    ("PEPPOL-T111-B04302", "/ubl:ApplicationResponse/cac:DocumentResponse/cac:IssuerParty/*", "false()"),
    ("PEPPOL-T111-B04901", "/ubl:ApplicationResponse/cac:DocumentResponse/cac:RecipientParty", "cac:PartyName"),
    ("PEPPOL-T111-B05001", "/ubl:ApplicationResponse/cac:DocumentResponse/cac:RecipientParty/cac:PartyIdentification",
     "cbc:ID"),
    ("PEPPOL-T111-B05101",
     "/ubl:ApplicationResponse/cac:DocumentResponse/cac:RecipientParty/cac:PartyIdentification/cbc:ID",
     "not(@schemeID) or @schemeID = $ICD"),
    ("PEPPOL-T111-B05301", "/ubl:ApplicationResponse/cac:DocumentResponse/cac:RecipientParty/cac:PartyName",
     "cbc:Name"),
    ("PEPPOL-T111-B04902", "/ubl:ApplicationResponse/cac:DocumentResponse/cac:RecipientParty/*", "false()"),
    ("PEPPOL-T111-B02803", "/ubl:ApplicationResponse/cac:DocumentResponse/*", "false()"),
    ("PEPPOL-T111-B00109", "/ubl:ApplicationResponse/*", "false()"),
]

# PEPPOLBIS-T71.sch, release 2026.5 (reference Appendix A.3): the structure assert ids in file order.
T71_B = [
    "B00101", "B00102", "B00103", "B00104", "B00105", "B00106", "B00107", "B00108", "B00301", "B00701",
    "B00801", "B00802", "B00702", "B01001", "B01101", "B01102", "B01002", "B01301", "B01302", "B01401",
    "B01501", "B01402", "B01701", "B01901", "B01702", "B02101", "B02102", "B02201", "B02202", "B02401",
    "B02402", "B02501", "B02701", "B02801", "B02702", "B02403", "B01303", "B00109",
]


def _asserts(text: str) -> list[tuple[str, str, str]]:
    root = etree.fromstring(text.encode())
    return [(a.get("id"), a.getparent().get("context"), a.get("test")) for a in root.iter(R + "assert")]


def test_generated_files_are_current() -> None:
    """``python -m peppol_response.validation.generate`` has been run after the last binding change."""
    assert generate.main(["--check", "--root", str(ROOT)]) == 0


def test_t111_structure_rules_are_exactly_the_official_ones() -> None:
    assert _asserts(generate.structure_rules(generate.T111_STRUCTURE)) == T111_B


def test_t71_structure_rule_ids_are_exactly_the_official_ones() -> None:
    ids = [i for i, _c, _t in _asserts(generate.structure_rules(generate.T71_STRUCTURE))]
    assert ids == [f"PEPPOL-T71-{b}" for b in T71_B]


def test_b00301_is_not_generated_for_2026_5() -> None:
    """ProfileID lost its fixed-value rule in 2026.5 (PEPPOL-T111-R008 took over)."""
    text = generate.structure_rules(generate.T111_STRUCTURE)
    assert "B00301" not in text
    older = generate.StructureSpec(BINDING, "PEPPOL-T111", "Invoice Response", "x.xml", "2025.11", True)
    assert ("PEPPOL-T111-B00301", "/ubl:ApplicationResponse/cbc:ProfileID",
            "normalize-space(text()) = 'urn:fdc:peppol.eu:poacc:bis:invoice_response:3'") in _asserts(
        generate.structure_rules(older))


@pytest.mark.skipif(not (SHARED / "reference" / "invoice-response.md").is_file(), reason="reference not present")
def test_ids_match_the_reference_appendix() -> None:
    """Cross-check with the tables of Appendix A.1 and A.3 of the reference, when it is here."""
    text = (SHARED / "reference" / "invoice-response.md").read_text(encoding="utf-8")
    a1 = text[text.index("### A.1"):text.index("### A.2")]
    a3 = text[text.index("### A.3"):text.index("### A.4")]
    t111 = re.findall(r"`(PEPPOL-T111-B\d{5})`", a1)
    t71 = re.findall(r"`(PEPPOL-T71-B\d{5})`", a3)
    assert t111 == [i for i, _c, _t in T111_B]
    assert t71 == [f"PEPPOL-T71-{b}" for b in T71_B]
    every = re.findall(r"^\| \d+ \| `([^`]+)` \| (fatal|warning) \|", a1, re.MULTILINE)
    ours = load_ruleset("PEPPOL-T111-2026.5").asserts
    assert [(a.id, a.flag) for a in ours] == every


def test_rule_file_asserts_equal_the_published_listing() -> None:
    """All 82 asserts of the T111 rule set, in the published order: ids and flags."""
    ours = load_ruleset("PEPPOL-T111-2026.5").asserts
    assert len(ours) == 82
    assert [a.id for a in ours][:20] == [
        "PEPPOL-COMMON-R001", "PEPPOL-COMMON-R003", "PEPPOL-COMMON-R030", "PEPPOL-COMMON-R040",
        "PEPPOL-COMMON-R041", "PEPPOL-COMMON-R042", "PEPPOL-COMMON-R052", "PEPPOL-COMMON-R053",
        "PEPPOL-COMMON-R043", "PEPPOL-COMMON-R044", "PEPPOL-COMMON-R045", "PEPPOL-COMMON-R046",
        "PEPPOL-COMMON-R047", "PEPPOL-COMMON-R049", "PEPPOL-COMMON-R050", "PEPPOL-COMMON-R054",
        "PEPPOL-COMMON-R055", "PEPPOL-COMMON-R056-1", "PEPPOL-COMMON-R056-2", "PEPPOL-COMMON-R057",
    ]
    assert [a.id for a in ours][-8:] == [
        "PEPPOL-T111-R001", "PEPPOL-T111-R002", "PEPPOL-T111-R003", "PEPPOL-T111-R004", "PEPPOL-T111-R005",
        "PEPPOL-T111-R008", "PEPPOL-T111-R006", "PEPPOL-T111-R007",
    ]
    warnings = {a.id for a in ours if a.flag == "warning"}
    assert warnings == {"PEPPOL-COMMON-R003", "PEPPOL-COMMON-R044", "PEPPOL-COMMON-R045", "PEPPOL-COMMON-R046",
                        "PEPPOL-COMMON-R047", "PEPPOL-COMMON-R054", "PEPPOL-COMMON-R055", "PEPPOL-COMMON-R056-1",
                        "PEPPOL-COMMON-R056-2", "PEPPOL-COMMON-R057", "PEPPOL-T111-R002"}
    assert len(load_ruleset("PEPPOL-T71-2026.5").asserts) == 59


def test_numbering_counts_elements_and_attributes_depth_first() -> None:
    numbers = generate.number_nodes(BINDING)
    assert numbers["/ubl:ApplicationResponse"] == 1
    assert numbers["/ubl:ApplicationResponse/cac:SenderParty/cbc:EndpointID/@schemeID"] == 10
    assert numbers["/ubl:ApplicationResponse/cac:DocumentResponse/cac:RecipientParty/cac:PartyName/cbc:Name"] == 54
    assert generate.number_nodes(MLR_BINDING)["/ubl:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/"
                                              "cac:Response/cac:Status/cbc:StatusReasonCode"] == 28


def test_catch_all_exactly_where_the_binding_allows_less_than_ubl() -> None:
    without = []
    for _path, el in generate._walk(BINDING, ""):
        if el.is_aggregate and not generate.has_catch_all(el):
            without.append(el.tag)
    assert sorted(without) == ["cac:PartyIdentification"] * 4 + ["cac:PartyName"] * 2


def test_strict_profile_ids() -> None:
    ids = [i for i, _c, _t in _asserts(generate.strict_rules(BINDING))]
    # Note, PartyIdentification x4, PartyLegalEntity x2, DocumentResponse, StatusReason, Condition/Description,
    # DocumentReference, PartyName x2: the binding's maximums where UBL allows more; and the intended R005.
    assert sorted(ids) == sorted([
        "PR-T111-S00701", "PR-T111-S01101", "PR-T111-S01401", "PR-T111-S02301", "PR-T111-S02601",
        "PR-T111-S02801", "PR-T111-S03501", "PR-T111-S03801", "PR-T111-S03901", "PR-T111-S04401",
        "PR-T111-S04701", "PR-T111-S05001", "PR-T111-S05301", "PR-T111-R005",
    ])
    assert all(i.startswith("PR-") for i in ids)


def test_schema_knows_every_binding_element_in_ubl_order(tmp_path: Path) -> None:
    """Our XSD declares each binding element with its UBL siblings in the UBL sequence order."""
    files = generate.schema_files()
    xs = "{http://www.w3.org/2001/XMLSchema}"
    cac = etree.fromstring(files["CommonAggregateComponents.xsd"].encode())
    root_doc = etree.fromstring(files["ApplicationResponse.xsd"].encode())
    types = {t.get("name"): t for t in [*cac.iter(xs + "complexType"), *root_doc.iter(xs + "complexType")]}
    from peppol_response.validation.ubl_structure import AGGREGATE_TYPES

    for path, el in generate._walk(BINDING, ""):
        if not el.is_aggregate:
            continue
        seq = [e.get("ref") for e in types[AGGREGATE_TYPES[el.tag]].iter(xs + "element")]
        positions = [seq.index(child) for child in el.order]
        assert positions == sorted(positions), f"{path}: binding order differs from UBL"
