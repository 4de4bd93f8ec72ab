"""Participant, document type and process identifiers; deriving them from documents."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peppol_response import identifiers as ids
from peppol_response.errors import CodeError, IdentifierError
from peppol_response.identifiers import DocumentTypeId, ParticipantId, ProcessId
from peppol_response.model import EndpointId


def test_invoice_response_constants() -> None:
    assert str(ids.INVOICE_RESPONSE) == (
        "busdox-docid-qns::urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2::ApplicationResponse"
        "##urn:fdc:peppol.eu:poacc:trns:invoice_response:3::2.1")
    assert str(ids.INVOICE_RESPONSE_PROCESS) == "cenbii-procid-ubl::urn:fdc:peppol.eu:poacc:bis:invoice_response:3"
    assert str(ids.BILLING_WITH_RESPONSE_PROCESS) == "cenbii-procid-ubl::urn:peppol:bis:billing_with_response"
    assert ids.INVOICE_RESPONSE.parts == ("urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2",
                                          "ApplicationResponse", "urn:fdc:peppol.eu:poacc:trns:invoice_response:3",
                                          "2.1")
    assert ids.MLR.customization_id == "urn:fdc:peppol.eu:poacc:trns:mlr:3"
    assert ids.BILLING_CREDIT_NOTE.root_name == "CreditNote"


def test_participant_parse_format_and_case_rules() -> None:
    a = ParticipantId.parse("iso6523-actorid-upis::0088:123ABC")
    b = ParticipantId.of("0088:123abc")
    c = ParticipantId.parse("ISO6523-ACTORID-UPIS::0088:123Abc")
    assert a == b == c
    assert len({a, b, c}) == 1
    assert str(a) == "iso6523-actorid-upis::0088:123ABC"  # the original spelling is kept
    assert (a.icd, a.identifier) == ("0088", "123ABC")
    assert a.uri_encoded == "iso6523-actorid-upis%3A%3A0088%3A123ABC"


def test_doctype_and_process_values_are_case_sensitive() -> None:
    assert DocumentTypeId.parse(str(ids.INVOICE_RESPONSE).replace("busdox", "BUSDOX")) == ids.INVOICE_RESPONSE
    assert DocumentTypeId(ids.DOCTYPE_SCHEME, ids.INVOICE_RESPONSE.value.upper()) != ids.INVOICE_RESPONSE
    assert ProcessId.parse("urn:fdc:peppol.eu:poacc:bis:invoice_response:3") == ids.INVOICE_RESPONSE_PROCESS
    assert ProcessId.of("URN:FDC:peppol.eu:poacc:bis:invoice_response:3") != ids.INVOICE_RESPONSE_PROCESS
    assert "%23" in ids.INVOICE_RESPONSE.uri_encoded


@pytest.mark.parametrize("text", ["0088", "88:123", "0088:", "0088: 12", "xx::0088:1", "0088:" + "9" * 131,
                                  "0088:12\x00", "0088:caf\u00e9"])
def test_malformed_participants_are_refused(text: str) -> None:
    with pytest.raises(IdentifierError):
        ParticipantId.parse(text) if "::" in text else ParticipantId.of(text)


def test_eas_check_is_explicit() -> None:
    legacy = ParticipantId.of("9908:971033533")  # legacy SMP data must still be readable
    assert not legacy.is_known_scheme
    with pytest.raises(CodeError):
        legacy.check_scheme()
    with pytest.raises(CodeError):
        ParticipantId.of("9908:971033533", strict=True)
    assert ParticipantId.of("9915:helger", strict=True).is_known_scheme


def test_endpoint_conversions() -> None:
    endpoint = EndpointId("0088", "7300010000001")
    pid = ParticipantId.from_endpoint(endpoint)
    assert str(pid) == "iso6523-actorid-upis::0088:7300010000001"
    assert pid.to_endpoint() == endpoint
    with pytest.raises(CodeError):
        ParticipantId.of("9908:971033533").to_endpoint()


@pytest.mark.parametrize("text", ["urn:x::Invoice##c::2.1", "busdox-docid-qns::has space##x::2.1", ""])
def test_malformed_doctypes(text: str) -> None:
    with pytest.raises(IdentifierError):
        DocumentTypeId.parse(text)


def test_other_schemes_are_refused() -> None:
    with pytest.raises(IdentifierError, match="scheme"):
        ProcessId("other-scheme", "x")
    with pytest.raises(IdentifierError, match="scheme"):
        DocumentTypeId("other-scheme", "x")


def test_parts_of_a_non_ubl_value() -> None:
    with pytest.raises(IdentifierError, match="namespace::root"):
        _ = DocumentTypeId.of("urn:something-else").parts


def test_derivation_uses_the_whole_customization_id() -> None:
    doc = (b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" '
           b'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">'
           b'<cbc:CustomizationID> urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0 '
           b'</cbc:CustomizationID><cbc:ProfileID>urn:fdc:peppol.eu:2017:poacc:billing:01:1.0</cbc:ProfileID>'
           b'</Invoice>')
    assert ids.document_type_of(doc) == ids.BILLING_INVOICE
    assert ids.process_of(doc) == ids.BILLING_PROCESS
    pint = doc.replace(b"urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0",
                       b"urn:peppol:pint:billing-1@jp-1")
    assert ids.document_type_of(pint).scheme == ids.DOCTYPE_WILDCARD_SCHEME
    with pytest.raises(IdentifierError, match="ProfileID"):
        ids.process_of(doc.replace(b"ProfileID", b"Note"))


@pytest.mark.interop
def test_derivation_from_the_phase4_payload(conformance_dir: Path) -> None:
    raw = (conformance_dir / "as4" / "phase4" / "payload-InvoiceResponse_Example.xml").read_bytes()
    assert ids.document_type_of(raw) == ids.INVOICE_RESPONSE
    assert ids.process_of(raw) == ids.INVOICE_RESPONSE_PROCESS


def test_seat_ids() -> None:
    assert ids.is_seat_id("POP000306")
    assert not ids.is_seat_id("blaPZZ999999")
    assert not ids.is_seat_id("PZZ999999foo")
    assert not ids.is_seat_id("pop000306")


_values = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=60)


@given(icd=st.from_regex(r"[0-9]{4}", fullmatch=True), value=_values)
def test_participant_round_trip(icd: str, value: str) -> None:
    pid = ParticipantId.of(f"{icd}:{value}")
    assert ParticipantId.parse(str(pid)) == pid
    assert ParticipantId.parse(str(pid).upper()) == pid
    assert hash(ParticipantId.parse(str(pid).lower())) == hash(pid)


@given(value=_values)
def test_process_and_doctype_round_trip(value: str) -> None:
    assert ProcessId.parse(str(ProcessId.of(value))) == ProcessId.of(value)
    dt = DocumentTypeId.of(value)
    assert DocumentTypeId.parse(str(dt)) == dt
