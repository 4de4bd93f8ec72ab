"""``validate()``: inputs, envelopes, document kinds, hostile XML and the three renderings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree

from peppol_response.errors import EnvelopeError, ParseError, UnsafeXmlError
from peppol_response.validation import DocumentKind, Finding, Layer, Report, Severity, validate
from tests.validation.corpus import FULL, MINIMAL, MLR, wrap_sbdh

SVRL = "{http://purl.oclc.org/dsdl/svrl}"


def broken() -> bytes:
    """Schema error (order), a fatal rule (code list) and a warning (OTH without text)."""
    return (FULL.replace("<cbc:ResponseCode>UQ</cbc:ResponseCode>", "<cbc:ResponseCode>XX</cbc:ResponseCode>")
            .replace('listID="OPStatusAction">CNP', 'listID="OPStatusAction">OTH')
            .replace("<cbc:Note>", "<cbc:UUID>u</cbc:UUID><cbc:Note>").encode())


@pytest.mark.parametrize("make", [
    lambda: FULL.encode(), lambda: FULL, lambda: bytearray(FULL.encode()), lambda: memoryview(FULL.encode()),
    lambda: etree.fromstring(FULL.encode()), lambda: etree.ElementTree(etree.fromstring(FULL.encode())),
    lambda: "\ufeff" + FULL.split("?>", 1)[1],
])
def test_accepts_bytes_text_and_trees(make: object) -> None:
    report = validate(make())  # type: ignore[operator]
    assert report.valid
    assert report.kind is DocumentKind.INVOICE_RESPONSE


@pytest.mark.parametrize("path", sorted((Path(__file__).resolve().parents[2] / "examples" / "responses").glob("*.xml")),
                         ids=lambda p: p.name)
def test_the_project_examples_are_valid(path: Path) -> None:
    report = validate(path, strict=True)
    assert report.valid, report.to_text(path.name)


def test_accepts_paths(tmp_path: Path) -> None:
    path = tmp_path / "r.xml"
    path.write_bytes(FULL.encode())
    assert validate(path).valid
    assert validate(str(path)).valid
    with pytest.raises(FileNotFoundError):
        validate(tmp_path / "missing.xml")


def test_a_subtree_is_validated_as_a_document_of_its_own() -> None:
    outer = etree.fromstring(b"<wrapper>" + FULL.split("?>", 1)[1].encode() + b"</wrapper>")
    report = validate(outer[0])
    assert report.valid
    assert outer[0].getparent() is outer  # the caller's tree is left alone


@pytest.mark.parametrize(("data", "error"), [
    (b"", ParseError),
    (b"<a><b></a>", ParseError),
    (b"not xml at all", ParseError),
    (b'<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>', UnsafeXmlError),
    (b'<?xml version="1.0"?><!DOCTYPE a SYSTEM "http://example.com/a.dtd"><a/>', UnsafeXmlError),
    (b"<a>" * 200 + b"</a>" * 200, UnsafeXmlError),
])
def test_hostile_or_broken_xml_raises_a_typed_error(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        validate(data)


def test_size_limit() -> None:
    with pytest.raises(UnsafeXmlError):
        validate(FULL.encode(), max_bytes=100)


def test_sbdh_payload_is_validated() -> None:
    report = validate(wrap_sbdh(broken()))
    direct = validate(broken())
    assert report.envelope == "sbdh"
    assert [(f.rule, f.location) for f in report.findings] == [(f.rule, f.location) for f in direct.findings]
    assert all(f.location.startswith("/ubl:ApplicationResponse[1]") for f in report.findings)
    assert "SBDH envelope" in report.to_text()


def test_sbdh_without_exactly_one_payload() -> None:
    empty = (b'<StandardBusinessDocument xmlns="http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader">'
             b"<StandardBusinessDocumentHeader/></StandardBusinessDocument>")
    with pytest.raises(EnvelopeError):
        validate(empty)
    two = empty.replace(b"</StandardBusinessDocument>", b"<a/><b/></StandardBusinessDocument>")
    with pytest.raises(EnvelopeError):
        validate(two)


def test_mlr_is_recognised_and_validated_as_t71() -> None:
    report = validate(MLR.encode())
    assert report.valid
    assert report.kind is DocumentKind.MLR
    assert report.rules.startswith("PEPPOL-T71")
    bad = validate(MLR.replace("<cbc:ResponseCode>RE</cbc:ResponseCode>", "<cbc:ResponseCode>UQ</cbc:ResponseCode>",
                               1).encode())
    assert bad.fatal_rules == {"PEPPOL-T71-B01501"}
    assert "Message Level Response" in bad.to_text()
    # strict is an Invoice Response profile: an MLR gets no PR- findings
    assert not [f for f in validate(MLR.encode(), strict=True).findings if f.rule.startswith("PR-")]


def test_other_documents_get_the_rules_that_apply_anywhere() -> None:
    order = (b'<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2" '
             b'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">'
             b'<cbc:EndpointID schemeID="0088">5790000435954</cbc:EndpointID><cbc:IssueDate>2017-1-1</cbc:IssueDate>'
             b"</Order>")
    report = validate(order)
    assert report.kind is DocumentKind.OTHER
    assert {f.rule for f in report.findings} == {"XSD-cvc-elt.1", "PEPPOL-COMMON-R040", "PEPPOL-COMMON-R030"}


def test_findings_carry_rule_severity_layer_location_line_and_message() -> None:
    report = validate(broken())
    assert not report.valid
    by_rule = {f.rule: f for f in report.findings}
    schema = by_rule["XSD-cvc-complex-type.2.4"]
    assert schema.layer is Layer.SCHEMA
    assert schema.severity is Severity.FATAL
    assert schema.location == "/ubl:ApplicationResponse[1]/cbc:UUID[1]"
    assert schema.line == 10
    code = by_rule["PEPPOL-T111-B03001"]
    assert code.location == "/ubl:ApplicationResponse[1]/cac:DocumentResponse[1]/cac:Response[1]/cbc:ResponseCode[1]"
    assert "'XX'" in code.message
    assert code.line == 36
    warning = by_rule["PEPPOL-T111-R002"]
    assert warning.severity is Severity.WARNING
    assert warning.location.endswith("cac:Status[2]")
    assert report.fatal_rules == {"XSD-cvc-complex-type.2.4", "PEPPOL-T111-B00109", "PEPPOL-T111-B03001"}
    assert [f.rule for f in report.warnings] == ["PEPPOL-T111-R002"]


def test_json_rendering() -> None:
    data = json.loads(validate(broken()).to_json("x.xml"))
    assert list(data) == ["path", "valid", "findings"]
    assert data["path"] == "x.xml"
    assert data["valid"] is False
    assert set(data["findings"][0]) == {"rule", "severity", "layer", "location", "line", "message"}
    assert Finding.from_dict(data["findings"][0]) == validate(broken()).findings[0]


def test_svrl_rendering_is_standard_svrl() -> None:
    report = validate(broken(), fired_rules=True)
    svrl = etree.fromstring(report.to_svrl().encode())
    assert svrl.tag == SVRL + "schematron-output"
    failed = svrl.findall(SVRL + "failed-assert")
    assert {(f.get("id"), f.get("flag")) for f in failed} == {(f.rule, f.severity.value) for f in report.findings}
    assert all(f.get("location") and f.findtext(SVRL + "text") for f in failed)
    fired = svrl.findall(SVRL + "fired-rule")
    assert any(f.get("context") == "/ubl:ApplicationResponse" for f in fired)
    prefixes = {n.get("prefix") for n in svrl.findall(SVRL + "ns-prefix-in-attribute-values")}
    assert {"ubl", "cac", "cbc"} <= prefixes
    # each failed assert follows the active pattern it belongs to
    patterns = [e.get("id") for e in svrl if e.tag == SVRL + "active-pattern"]
    assert patterns[0] == "xsd"
    assert "PEPPOL-T111-structure" in patterns


def test_text_rendering() -> None:
    text = validate(broken()).to_text("x.xml")
    assert text.startswith("x.xml: INVALID (Invoice Response; 3 fatal, 1 warning)")
    assert "PEPPOL-T111-B03001" in text
    assert "line 36" in text
    assert validate(MINIMAL).to_text().startswith("document: valid")


def test_report_has_no_truth_value() -> None:
    with pytest.raises(TypeError):
        bool(validate(FULL))


def test_evaluation_errors_are_reported_as_fatal_under_the_rule() -> None:
    """A comment inside cbc:ResponseCode makes two text nodes: the official XSLT stops on B03001."""
    xml = FULL.replace("<cbc:ResponseCode>UQ</cbc:ResponseCode>", "<cbc:ResponseCode>U<!--x-->Q</cbc:ResponseCode>")
    report = validate(xml)
    assert not report.valid
    [finding] = report.findings
    assert finding.rule == "PEPPOL-T111-B03001"
    assert finding.fatal
    assert "XPTY0004" in finding.message


def test_strict_profile() -> None:
    xml = MINIMAL.replace("<cbc:ResponseCode>PD</cbc:ResponseCode>", "<cbc:ResponseCode>RE</cbc:ResponseCode>")
    assert validate(xml).valid  # PPD under RE: the official R005 never fires
    strict = validate(xml, strict=True)
    assert not strict.valid
    assert [f.rule for f in strict.findings] == ["PR-T111-R005"]
    assert strict.strict
    assert "PR-T111-strict" in strict.rules
    assert validate(MINIMAL, strict=True).valid


def test_report_equality_ignores_rendering_details() -> None:
    assert validate(FULL) == validate(FULL.encode())
    assert isinstance(validate(FULL), Report)


def test_findings_built_without_the_dataclass_init_are_ordinary_findings() -> None:
    from peppol_response.validation.report import Finding, _new_finding

    args = ("PEPPOL-T111-R001", Severity.FATAL, Layer.RULES, "/ubl:ApplicationResponse[1]", 3, "m", "t()", "p")
    fast, plain = _new_finding(*args), Finding(*args)
    assert type(fast) is Finding
    assert fast == plain
    assert hash(fast) == hash(plain)
    assert repr(fast) == repr(plain)
    assert (fast.test, fast.pattern) == ("t()", "p")
    with pytest.raises(AttributeError):
        fast.rule = "x"  # type: ignore[misc]  # still frozen
