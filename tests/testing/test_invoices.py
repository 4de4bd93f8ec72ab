"""The chain-test invoice generator: what it writes is a BIS Billing 3 document the readers understand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from lxml import etree

from peppol_response.errors import ConfigError
from peppol_response.identifiers import (
    BILLING_CREDIT_NOTE,
    BILLING_INVOICE,
    BILLING_PROCESS,
    document_type_of,
    process_of,
)
from peppol_response.invoice import read_invoice
from peppol_response.reply import paid, reply_to
from peppol_response.testing.invoices import TradeParty, from_example, make_invoice
from peppol_response.testing.network import BUYER, SELLER
from peppol_response.validation import validate

CBC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}"


def test_generated_invoice_totals_and_parties() -> None:
    xml = make_invoice(invoice_id="INV-1", seller=SELLER, buyer=BUYER, issue_date=dt.date(2026, 3, 2),
                       lines=[("Chairs", 3, "249.90"), ("Desk", 1, "659.00")], currency="NOK", vat_percent=25)
    s = read_invoice(xml)
    assert (s.id, s.issue_date, str(s.type_code), s.currency) == ("INV-1", dt.date(2026, 3, 2), "380", "NOK")
    net = Decimal("3") * Decimal("249.90") + Decimal("659.00")
    assert s.payable_amount == (net * Decimal("1.25")).quantize(Decimal("0.01"))
    assert s.due_date == dt.date(2026, 4, 1)
    assert str(s.seller.endpoint) == SELLER.endpoint
    assert str(s.buyer.endpoint) == BUYER.endpoint
    assert document_type_of(xml) == BILLING_INVOICE
    assert process_of(xml) == BILLING_PROCESS
    root = etree.fromstring(xml)
    lines = root.findall("{*}InvoiceLine")
    assert [ln.findtext(f"{CBC}LineExtensionAmount") for ln in lines] == ["749.70", "659.00"]
    assert root.findtext(f"{{*}}TaxTotal/{CBC}TaxAmount") == str((net / 4).quantize(Decimal("0.01")))


def test_responses_to_a_generated_invoice_are_valid() -> None:
    xml = make_invoice(invoice_id="INV-2", seller=SELLER, buyer=BUYER, billing_with_response=True)
    for response in (reply_to(xml, "AB"), reply_to(xml, "RE", reasons=["REF"]), paid(xml, "100.00")):
        report = validate(response.to_xml())
        assert report.valid, [f.rule for f in report.findings]
    assert reply_to(xml, "AB").profile_id == "urn:peppol:bis:billing_with_response"
    assert paid(xml, "100.00").is_partial_payment


def test_credit_note() -> None:
    xml = make_invoice(invoice_id="CN-1", seller=SELLER, buyer=BUYER, type_code="381", issue_date=dt.date(2026, 1, 5))
    s = read_invoice(xml)
    assert (s.kind, str(s.type_code), s.due_date) == ("CreditNote", "381", dt.date(2026, 2, 4))
    assert document_type_of(xml) == BILLING_CREDIT_NOTE


def test_from_example_renumbers_and_readdresses() -> None:
    other = TradeParty("0192:963852746", "Vestland Verktoy AS")
    xml = from_example("invoice-380.xml", invoice_id="X-9", issue_date=dt.date(2026, 5, 1), seller=other)
    s = read_invoice(xml)
    assert (s.id, s.issue_date) == ("X-9", dt.date(2026, 5, 1))
    assert str(s.seller.endpoint) == "0192:963852746"
    assert s.seller.name == "Vestland Verktoy AS"
    assert s.seller.identifiers == ()  # the example party's other ids are gone
    assert str(s.buyer.endpoint) == BUYER.endpoint  # unchanged: the example's buyer is our default buyer
    assert s.payable_amount == Decimal("72312.50")  # the rest stays


def test_bad_parameters() -> None:
    with pytest.raises(ConfigError, match="at least one line"):
        make_invoice(invoice_id="I", seller=SELLER, buyer=BUYER, lines=[])
    with pytest.raises(ConfigError, match="scheme:value"):
        make_invoice(invoice_id="I", seller=TradeParty("924681357", "x"), buyer=BUYER)
