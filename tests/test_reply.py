"""Replying to invoices: addressing, clarifications, the status helpers, and what the builder refuses."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from peppol_response import (
    PROFILE_BILLING_WITH_RESPONSE,
    PROFILE_ID,
    BuildError,
    Clarification,
    CodeError,
    Condition,
    Contact,
    DocumentReference,
    EndpointId,
    InvoiceResponse,
    Party,
    PartyId,
    ReferencedParty,
    ResponseCode,
    StatusAction,
    StatusReason,
    parse,
)
from peppol_response.examples import EXAMPLE_INVOICES, example_invoice
from peppol_response.invoice import read_invoice
from peppol_response.reply import (
    accept,
    acknowledge,
    build_response,
    conditionally_accept,
    in_process,
    paid,
    query,
    reject,
    reply_to,
)
from peppol_response.resources import data_path

from .conftest import CONFORMANCE

WHEN = {"issued_on": dt.date(2026, 3, 5), "response_id": "IR-T"}
CLARIFY = {"reasons": [("REF", "PO unknown")], "actions": ["NIN"]}


@pytest.mark.parametrize("name", sorted(EXAMPLE_INVOICES))
@pytest.mark.parametrize("code", list(ResponseCode))
def test_reply_to_every_example_with_every_status(name: str, code: ResponseCode) -> None:
    summary = read_invoice(example_invoice(name))
    extra = CLARIFY if code.requires_clarification else {}
    r = reply_to(example_invoice(name), code, **WHEN, **extra)  # type: ignore[arg-type]
    assert r.code is code
    assert r.sender.endpoint == summary.recipient.endpoint
    assert r.receiver.endpoint == summary.issuer.endpoint
    assert r.sender.name == summary.recipient.name
    assert r.document == DocumentReference(summary.id, summary.type_code, summary.issue_date)
    assert r.profile_id == summary.response_profile_id
    assert r.issuer_party is None
    assert r.recipient_party is None
    assert parse(r.to_xml()) == r
    assert r.check() is r


def test_self_billed_goes_from_seller_to_buyer() -> None:
    r = reject(example_invoice("self-billed"), **CLARIFY, **WHEN)  # type: ignore[arg-type]
    assert r.sender.endpoint == EndpointId("0192", "980246132")  # the seller
    assert r.receiver.endpoint == EndpointId("0192", "913579240")  # the buyer, who issued it
    assert r.document.type_code == "389"


def test_billing_with_response_profile() -> None:
    assert acknowledge(example_invoice("billing-with-response"), **WHEN).profile_id == PROFILE_BILLING_WITH_RESPONSE
    assert acknowledge(example_invoice("invoice"), **WHEN).profile_id == PROFILE_ID
    forced = acknowledge(example_invoice("invoice"), profile_id=PROFILE_BILLING_WITH_RESPONSE, **WHEN)
    assert forced.profile_id == PROFILE_BILLING_WITH_RESPONSE


PROVIDER = Party(EndpointId("0192", "931782401"), "Fakturaflyt Tjenester AS")


def test_on_behalf_of_the_buyer_names_the_buyer_like_use_case_8() -> None:
    r = accept(example_invoice("invoice"), sender=PROVIDER, **WHEN)
    assert r.sender == PROVIDER
    assert r.recipient_party == ReferencedParty("Fjellheim Logistikk AS", PartyId("7042760000022", "0088"))
    assert r.issuer_party is None
    assert r.receiver.name == "Nordlys Kontorutstyr AS"


@pytest.mark.conformance
def test_on_behalf_shape_matches_official_use_case_8_conformance() -> None:
    path = CONFORMANCE / "examples" / "T111-uc008-Invoice is accepted by third party.xml"
    if not path.exists():
        pytest.skip(f"{path} is not here")
    official = parse(path.read_bytes())
    ours = accept(example_invoice("invoice"), sender=PROVIDER, **WHEN)
    # Same parts present and absent: a sender that is not the buyer, the buyer named as RecipientParty.
    shape = {
        "recipient_party": (official.recipient_party is not None, ours.recipient_party is not None),
        "issuer_party": (official.issuer_party is not None, ours.issuer_party is not None),
        "code": (official.code, ours.code),
    }
    assert all(a == b for a, b in shape.values()), shape


def test_on_behalf_for_self_billing_and_explicit_choices() -> None:
    r = accept(example_invoice("self-billed"), sender=PROVIDER, **WHEN)
    assert r.issuer_party is not None
    assert r.issuer_party.name == "Vestlandsk Transport AS"  # the seller, for whom the provider answers
    assert r.recipient_party is None
    r = accept(example_invoice("invoice"), sender=PROVIDER, recipient_party=None, **WHEN)
    assert r.recipient_party is None
    buyer = ReferencedParty("Buyer A", PartyId("9876549873211", "0088"))
    assert accept(example_invoice("invoice"), sender=PROVIDER, recipient_party=buyer, **WHEN).recipient_party == buyer
    # A receiver that is the seller's service provider: the seller is named as IssuerParty.
    seller_sp = Party(EndpointId("0088", "7300010000001"), "Seller SP")
    r = accept(example_invoice("invoice"), receiver=seller_sp, **WHEN)
    assert r.receiver == seller_sp
    assert r.issuer_party is not None
    assert r.issuer_party.name == "Nordlys Kontorutstyr AS"


def test_contact_goes_on_the_sender() -> None:
    contact = Contact("Mats", None, "m@example.org")
    assert accept(example_invoice("invoice"), contact=contact, **WHEN).sender.contact == contact
    assert accept(example_invoice("invoice"), sender=PROVIDER, contact=contact, **WHEN).sender.contact == contact


def test_clarification_forms_and_order() -> None:
    r = reject(
        example_invoice("invoice"),
        reasons=["LEG", (StatusReason.REF, "PO unknown", [("BT-13", "PO-1"), Condition("BT-10"), "BT-11"])],
        actions=[("CNF", None), StatusAction.NIN],
        clarifications=[Clarification(None, "see our letter")],
        conditions=[("BT-48", "NO999999999MVA")],
        **WHEN,  # type: ignore[arg-type]
    )
    assert [c.code for c in r.clarifications] == [StatusReason.LEG, StatusReason.REF, StatusAction.CNF,
                                                  StatusAction.NIN, None]
    assert r.clarifications[0].conditions == (Condition("BT-48", "NO999999999MVA"),)
    assert r.clarifications[1].conditions == (Condition("BT-13", "PO-1"), Condition("BT-10"), Condition("BT-11"))
    assert r.clarifications[4].reason == "see our letter"  # a code exists: the text stays text-only


@pytest.mark.parametrize("code", ["UQ", "CA", "RE"])
def test_text_only_reason_becomes_oth_where_a_code_is_needed(code: str) -> None:
    r = reply_to(example_invoice("invoice"), code, reasons=[(None, "Missing contract number")],
                 actions=[(None, "Call us")], **WHEN)  # type: ignore[arg-type]
    assert [(c.code, c.reason) for c in r.clarifications] == [
        (StatusReason.OTH, "Missing contract number"), (StatusAction.OTH, "Call us")]


def test_text_only_reason_stays_text_where_no_code_is_needed() -> None:
    r = in_process(example_invoice("invoice"), reasons=[(None, "Postponed to next week")], **WHEN)
    assert r.clarifications == (Clarification(None, "Postponed to next week"),)


@pytest.mark.parametrize("code", ["UQ", "CA", "RE"])
def test_refused_without_any_clarification_r001(code: str) -> None:
    with pytest.raises(BuildError) as info:
        reply_to(example_invoice("invoice"), code, **WHEN)  # type: ignore[arg-type]
    assert info.value.rule == "PEPPOL-T111-R001"
    with pytest.raises(BuildError) as info:  # conditions alone are no clarification code either
        reply_to(example_invoice("invoice"), code, conditions=[("BT-9", "2026-05-01")], **WHEN)  # type: ignore[arg-type]
    assert info.value.rule == "PEPPOL-T111-R001"


def test_refusals_name_the_rule_or_list() -> None:
    inv = example_invoice("invoice")
    with pytest.raises(BuildError) as info:
        reply_to(inv, "PD", clarifications=[Clarification(StatusReason.PPD)], **WHEN)  # type: ignore[arg-type]
    assert info.value.rule == "PEPPOL-T111-R004"
    with pytest.raises(BuildError) as info:
        reject(inv, reasons=[(StatusReason.PPD, "500 NOK")], **WHEN)  # type: ignore[arg-type]
    assert info.value.rule == "PEPPOL-T111-R005"
    with pytest.raises(CodeError, match="OPStatusReason"):
        reject(inv, reasons=["NIN"], **WHEN)  # type: ignore[arg-type]
    with pytest.raises(CodeError, match="OPStatusAction"):
        reject(inv, actions=["REF"], **WHEN)  # type: ignore[arg-type]
    with pytest.raises(CodeError, match="UNCL4343"):
        reply_to(inv, "OK", **WHEN)  # type: ignore[arg-type]
    with pytest.raises(BuildError) as info:
        accept(inv, profile_id="urn:fdc:peppol.eu:2017:poacc:billing:01:1.0", **WHEN)
    assert info.value.rule == "PEPPOL-T111-R008"
    with pytest.raises(BuildError) as info:
        build_response("AP", sender=PROVIDER, receiver=PROVIDER, document=DocumentReference("1", "380"),
                       customization_id="urn:fdc:peppol.eu:poacc:trns:mlr:3", **WHEN)  # type: ignore[arg-type]
    assert info.value.rule == "PEPPOL-T111-R003"
    with pytest.raises(BuildError) as info:
        accept(inv, note="   ", **WHEN)
    assert info.value.rule == "PEPPOL-COMMON-R001"
    with pytest.raises(BuildError, match="lists of items"):
        reject(inv, reasons="REF", **WHEN)  # type: ignore[arg-type]
    with pytest.raises(BuildError, match="a reason is"):
        reject(inv, reasons=[("REF", "a", [], "extra")], **WHEN)  # type: ignore[list-item]
    with pytest.raises(BuildError, match="condition is"):
        reject(inv, reasons=["REF"], conditions=[("a", "b", "c")], **WHEN)  # type: ignore[list-item]
    with pytest.raises(BuildError, match="not int"):
        accept(42, **WHEN)  # type: ignore[arg-type]


def test_status_helpers() -> None:
    inv = read_invoice(example_invoice("invoice"))
    assert acknowledge(inv, **WHEN).code is ResponseCode.AB
    assert in_process(inv, **WHEN).code is ResponseCode.IP
    assert query(inv, ["REF"], **WHEN).code is ResponseCode.UQ
    ca = conditionally_accept(inv, ["PAY"], [("BT-9", "2026-04-16")], **WHEN)
    assert ca.code is ResponseCode.CA
    assert ca.clarifications[0].conditions == (Condition("BT-9", "2026-04-16"),)
    assert reject(inv, actions=["NIN"], **WHEN).code is ResponseCode.RE
    assert accept(inv, **WHEN).code is ResponseCode.AP
    assert paid(inv, **WHEN).code is ResponseCode.PD


def test_paid_in_part_and_in_full() -> None:
    inv = read_invoice(example_invoice("invoice"))  # 72312.50 NOK
    part = paid(inv, Decimal("30000"), **WHEN)
    assert part.is_partial_payment
    assert part.clarifications == (Clarification(StatusReason.PPD, "Partially paid: 30000 NOK of 72312.50 NOK"),)
    assert paid(inv, "72312.50", **WHEN).clarifications == ()  # the full amount: final PD
    assert paid(inv, 80000, **WHEN).is_final
    assert paid(inv, 1000.5, **WHEN).clarifications[0].reason == "Partially paid: 1000.5 NOK of 72312.50 NOK"
    other = paid(inv, "1000", "EUR", **WHEN)
    assert other.is_partial_payment  # another currency cannot be compared with the amount due
    assert "1000 EUR of 72312.50 NOK" in (other.clarifications[0].reason or "")
    with_reason = paid(inv, "10", reasons=[("OTH", "rest after the credit note")], **WHEN)
    assert [c.code for c in with_reason.clarifications] == [StatusReason.PPD, StatusReason.OTH]
    for bad in ("0", "-5", "abc", "NaN", float("inf")):
        with pytest.raises(BuildError, match="amount paid"):
            paid(inv, bad, **WHEN)  # type: ignore[arg-type]
    with pytest.raises(BuildError, match="currency"):
        paid(inv, "5", " ", **WHEN)


def test_defaults_fresh_id_and_now() -> None:
    before = dt.datetime.now().astimezone()
    r = accept(example_invoice("invoice"))
    after = dt.datetime.now().astimezone()
    uuid.UUID(r.id)
    assert r.id != accept(example_invoice("invoice")).id
    assert before.date() <= r.issue_date <= after.date()
    assert r.issue_time is not None
    assert r.issue_time.tzinfo is not None
    assert r.issue_time.microsecond == 0
    # With an explicit date there is a time only when one is given.
    assert accept(example_invoice("invoice"), issued_on=dt.date(2026, 1, 1)).issue_time is None
    t = dt.time(9, 30)
    assert accept(example_invoice("invoice"), issued_on=dt.date(2026, 1, 1), issue_time=t).issue_time == t


def test_invoice_given_as_path_or_text(tmp_path: Path) -> None:
    path = data_path("examples", "invoices", "invoice-380.xml")
    by_path = accept(path, **WHEN)
    assert by_path == accept(path.read_text(encoding="utf-8"), **WHEN)
    assert by_path == accept(read_invoice(path.read_bytes()), **WHEN)


def test_build_response_without_an_invoice() -> None:
    r = build_response(
        "UQ",
        sender=Party(EndpointId("0088", "5798000012349"), "Buyer organization"),
        receiver=Party(EndpointId("0088", "7330001000000"), "Seller company"),
        document=DocumentReference("inv021", "380", dt.date(2018, 9, 22)),
        reasons=[("REF", None, [("BT-13", "PO0001")])],
        actions=["PIN"],
        effective_date=dt.date(2018, 9, 24),
        **WHEN,  # type: ignore[arg-type]
    )
    assert isinstance(r, InvoiceResponse)
    assert r.effective_date == dt.date(2018, 9, 24)
    assert parse(r.to_xml()) == r
