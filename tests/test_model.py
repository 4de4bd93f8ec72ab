"""The model: every value checked where it is created, business rules in check(), XML-safe text."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import zoneinfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peppol_response import (
    PROFILE_BILLING_WITH_RESPONSE,
    BuildError,
    Clarification,
    CodeError,
    Condition,
    Contact,
    DocumentReference,
    DocumentTypeCode,
    EndpointId,
    InvoiceResponse,
    Party,
    PartyId,
    ReferencedParty,
    ResponseCode,
    StatusAction,
    StatusReason,
)
from peppol_response.model import clarifications, xml_text_problem

from .strategies import FORBIDDEN, responses

SELLER = Party(EndpointId("0192", "924681357"), "Nordlys Kontorutstyr AS")
BUYER = Party(EndpointId("0192", "913579240"), "Fjellheim Logistikk AS", PartyId("7042760000022", "0088"))
DOC = DocumentReference("NKU-2026-0117", "380", dt.date(2026, 3, 2))


def response(**changes: object) -> InvoiceResponse:
    fields: dict[str, object] = {
        "id": "IR-1", "issue_date": dt.date(2026, 3, 3), "sender": BUYER, "receiver": SELLER, "code": "AP",
        "document": DOC,
    }
    fields.update(changes)
    return InvoiceResponse(**fields)  # type: ignore[arg-type]


# -- values --------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["", "   ", "\t\r\n "])
def test_empty_text_is_refused_with_common_r001(bad: str) -> None:
    with pytest.raises(BuildError) as info:
        Party(EndpointId("0088", "7300010000001"), bad)
    assert info.value.rule == "PEPPOL-COMMON-R001"
    assert info.value.field == "PartyLegalEntity/RegistrationName"


def test_no_break_space_is_text_as_normalize_space_sees_it() -> None:
    # normalize-space() removes only XML whitespace; a no-break space is content.
    assert Condition("BT-13", "\xa0").description == "\xa0"


@pytest.mark.parametrize("char", [*FORBIDDEN, "\ud800"])
def test_characters_xml_cannot_carry_are_refused_not_dropped(char: str) -> None:
    with pytest.raises(BuildError) as info:
        Condition("BT-13", f"PO{char}4711")
    assert f"U+{ord(char):04X}" in str(info.value)
    assert "position 2" in str(info.value)
    assert info.value.field == "Condition/Description"


@pytest.mark.parametrize("ok", ["tab\there", "line\nbreak", "carriage\rreturn", "emoji 🚀", "\u2028", "\x7f"])
def test_characters_xml_can_carry_are_kept(ok: str) -> None:
    assert xml_text_problem(ok) is None
    assert Condition("BT-1", ok).description == ok


def test_non_string_text_is_refused() -> None:
    with pytest.raises(BuildError, match="must be a string, not int"):
        ReferencedParty(42)  # type: ignore[arg-type]


def test_codes_outside_their_lists_name_the_list() -> None:
    with pytest.raises(CodeError) as info:
        EndpointId("9999", "1")
    assert info.value.code_list == "EAS"
    with pytest.raises(CodeError, match="ICD"):
        PartyId("1", "SEPA")
    with pytest.raises(CodeError, match="UNCL1001"):
        DocumentReference("1", "9999")
    with pytest.raises(CodeError, match="UNCL4343-T111"):
        response(code="XX")
    with pytest.raises(CodeError, match="UNCL4343-T111"):
        response(code="ap")  # exact comparison, as the official rules


def test_endpoint_parse_accepts_the_usual_spellings() -> None:
    assert EndpointId.parse("0088:7300010000001") == EndpointId("0088", "7300010000001")
    assert EndpointId.parse("iso6523-actorid-upis::0192:924681357") == EndpointId("0192", "924681357")
    assert str(EndpointId("0192", "924681357")) == "0192:924681357"
    with pytest.raises(BuildError, match="SCHEME:VALUE"):
        EndpointId.parse("7300010000001")
    assert PartyId.parse("0192:987654325") == PartyId("987654325", "0192")
    assert PartyId.parse("DK88776655") == PartyId("DK88776655")


def test_parts_must_have_their_types() -> None:
    with pytest.raises(BuildError, match="EndpointId"):
        Party("0088:7300010000001", "x")  # type: ignore[arg-type]
    with pytest.raises(BuildError, match="PartyId"):
        Party(EndpointId("0088", "1"), "x", "id")  # type: ignore[arg-type]
    with pytest.raises(BuildError, match="StatusReason or StatusAction"):
        Clarification("REF")  # type: ignore[arg-type]
    with pytest.raises(BuildError, match="Condition objects"):
        Clarification(StatusReason.REF, None, [("BT-1", "x")])  # type: ignore[list-item]
    with pytest.raises(BuildError, match="DocumentReference"):
        response(document="INV-1")
    with pytest.raises(BuildError, match="Clarification objects"):
        response(clarifications=[StatusReason.REF])


def test_empty_aggregates_are_refused() -> None:
    with pytest.raises(BuildError, match="contact needs"):
        Contact()
    with pytest.raises(BuildError, match="clarification needs"):
        Clarification()


def test_receiver_cannot_carry_a_contact() -> None:
    with pytest.raises(BuildError) as info:
        response(receiver=Party(SELLER.endpoint, SELLER.name, None, Contact("x")))
    assert info.value.rule == "PEPPOL-T111-B02003"


def test_dates_and_times_are_checked() -> None:
    with pytest.raises(BuildError, match=r"datetime\.date"):
        response(issue_date=dt.datetime(2026, 3, 3, 12, 0))
    with pytest.raises(BuildError, match=r"datetime\.date"):
        response(issue_date="2026-03-03")
    with pytest.raises(BuildError, match=r"datetime\.date"):
        DocumentReference("1", "380", "2026-01-01")  # type: ignore[arg-type]
    with pytest.raises(BuildError, match=r"datetime\.time"):
        response(issue_time="12:00:00")
    with pytest.raises(BuildError, match="whole minutes"):
        response(issue_time=dt.time(12, tzinfo=dt.timezone(dt.timedelta(seconds=30))))
    with pytest.raises(BuildError, match="14:00"):
        response(issue_time=dt.time(12, tzinfo=dt.timezone(dt.timedelta(hours=15))))
    with pytest.raises(BuildError, match="fixed UTC offset"):
        response(issue_time=dt.time(12, tzinfo=zoneinfo.ZoneInfo("Europe/Oslo")))
    assert response(issue_time=dt.time(12, 0, 1, 5, tzinfo=dt.UTC)).issue_time == dt.time(12, 0, 1, 5, dt.UTC)


def test_codes_given_as_strings_become_enums() -> None:
    r = response(code="RE", clarifications=clarifications(["REF"], [("NIN", "reissue")]))
    assert r.code is ResponseCode.RE
    assert r.reasons == (StatusReason.REF,)
    assert r.actions == (StatusAction.NIN,)
    assert r.document.type_code == DocumentTypeCode.COMMERCIAL_INVOICE
    assert isinstance(DocumentReference("1", 381).type_code, DocumentTypeCode)


def test_models_are_frozen_values() -> None:
    r = response()
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.id = "other"  # type: ignore[misc]
    assert r == response()
    assert hash(r) == hash(response())
    assert r.replace(id="IR-2").id == "IR-2"
    with pytest.raises(CodeError):
        r.replace(code="XX")  # replace() goes through the checks


# -- check(): the official rules a model can break --------------------------------------------------


@pytest.mark.parametrize("code", ["UQ", "CA", "RE"])
def test_r001_needs_a_clarification_code(code: str) -> None:
    with pytest.raises(BuildError) as info:
        response(code=code).check()
    assert info.value.rule == "PEPPOL-T111-R001"
    with pytest.raises(BuildError, match="R001"):
        response(code=code, clarifications=[Clarification(None, "text only")]).check()
    assert response(code=code, clarifications=[Clarification(StatusAction.NOA)]).check()


@pytest.mark.parametrize("code", ["AB", "IP", "AP", "PD"])
def test_other_statuses_need_no_clarification(code: str) -> None:
    assert response(code=code).check().code == code


def test_r004_ppd_needs_a_text_and_r005_only_with_pd() -> None:
    with pytest.raises(BuildError) as info:
        response(code="PD", clarifications=[Clarification(StatusReason.PPD)]).check()
    assert info.value.rule == "PEPPOL-T111-R004"
    with pytest.raises(BuildError) as info:
        response(code="RE", clarifications=[Clarification(StatusReason.PPD, "500 EUR")]).check()
    assert info.value.rule == "PEPPOL-T111-R005"
    partial = response(code="PD", clarifications=[Clarification(StatusReason.PPD, "500 EUR")]).check()
    assert partial.is_partial_payment
    assert not partial.is_final


def test_r003_and_r008_identifiers() -> None:
    ok = response(customization_id="urn:fdc:peppol.eu:poacc:trns:invoice_response:3:extended:x",
                  profile_id=f"  {PROFILE_BILLING_WITH_RESPONSE}\n")
    assert ok.check() is ok
    with pytest.raises(BuildError) as info:
        response(customization_id="urn:fdc:peppol.eu:poacc:trns:mlr:3").check()
    assert info.value.rule == "PEPPOL-T111-R003"
    with pytest.raises(BuildError) as info:
        response(profile_id="urn:fdc:peppol.eu:poacc:bis:mlr:3").check()
    assert info.value.rule == "PEPPOL-T111-R008"


def test_final_statuses() -> None:
    assert response(code="RE", clarifications=clarifications(["REF"])).is_final
    assert response(code="PD").is_final
    assert not response(code="AP").is_final


# -- to_dict ----------------------------------------------------------------------------------------


@given(responses())
def test_to_dict_is_json_ready_and_complete(r: InvoiceResponse) -> None:
    data = json.loads(json.dumps(r.to_dict()))
    assert data["id"] == r.id
    assert data["code"] == r.code.value
    assert data["issue_date"] == r.issue_date.isoformat()
    assert len(data["clarifications"]) == len(r.clarifications)
    for got, want in zip(data["clarifications"], r.clarifications, strict=True):
        assert got["code"] == (None if want.code is None else want.code.value)
        assert [c["attribute_id"] for c in got["conditions"]] == [c.attribute_id for c in want.conditions]
    assert data["sender"]["endpoint"] == {"scheme": r.sender.endpoint.scheme, "value": r.sender.endpoint.value}
    assert data["document"]["type_code"] == str(r.document.type_code)


@given(st.data())
def test_every_generated_response_rebuilds_through_the_public_constructors(data: st.DataObject) -> None:
    r = data.draw(responses())
    assert dataclasses.replace(r) == r
