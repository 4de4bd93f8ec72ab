"""Reading the fields a reply needs from BIS Billing 3 invoices and credit notes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from peppol_response import DocumentTypeCode, EndpointId, ParseError, PartyId
from peppol_response.binding import PROFILE_BILLING_WITH_RESPONSE, PROFILE_ID
from peppol_response.examples import example_invoice
from peppol_response.invoice import InvoiceSummary, read_invoice

from .conftest import CONFORMANCE

NORDLYS = EndpointId("0192", "924681357")
FJELLHEIM = EndpointId("0192", "913579240")
VESTLANDSK = EndpointId("0192", "980246132")


def test_invoice_380() -> None:
    s = read_invoice(example_invoice("invoice"))
    assert s.kind == "Invoice"
    assert s.id == "NKU-2026-0117"
    assert s.issue_date == dt.date(2026, 3, 2)
    assert s.type_code == DocumentTypeCode.COMMERCIAL_INVOICE
    assert s.due_date == dt.date(2026, 4, 1)
    assert (s.payable_amount, s.currency) == (Decimal("72312.50"), "NOK")
    assert s.seller.endpoint == NORDLYS
    assert s.seller.name == "Nordlys Kontorutstyr AS"  # the legal name, not the trading name
    assert s.seller.trading_name == "Nordlys Kontor"
    assert s.seller.identifiers == (PartyId("7042760000015", "0088"),)
    assert s.seller.legal_id == PartyId("924681357", "0192")
    assert s.buyer.endpoint == FJELLHEIM
    assert (s.issuer, s.recipient) == (s.seller, s.buyer)
    assert not s.is_self_billed
    assert not s.is_credit_note
    assert not s.billing_with_response
    assert s.response_profile_id == PROFILE_ID
    assert s.document_reference.type_code == "380"
    assert s.key == ("0192:924681357", "0192:913579240", "NKU-2026-0117", "380", dt.date(2026, 3, 2))


def test_credit_note_381_due_date_from_payment_means() -> None:
    s = read_invoice(example_invoice("credit-note"))
    assert s.kind == "CreditNote"
    assert s.is_credit_note
    assert s.type_code == "381"
    assert s.due_date == dt.date(2026, 3, 23)
    assert s.payable_amount == Decimal("6225.00")
    assert s.issuer.endpoint == NORDLYS


def test_self_billed_389_is_issued_by_the_buyer() -> None:
    s = read_invoice(example_invoice("self-billed"))
    assert s.is_self_billed
    assert s.seller.endpoint == VESTLANDSK
    assert s.issuer.endpoint == FJELLHEIM  # the buyer issued it ...
    assert s.recipient.endpoint == VESTLANDSK  # ... so the seller answers


def test_billing_with_response() -> None:
    s = read_invoice(example_invoice("billing-with-response"))
    assert s.billing_with_response
    assert s.profile_id == PROFILE_BILLING_WITH_RESPONSE
    assert s.response_profile_id == PROFILE_BILLING_WITH_RESPONSE


def test_sbdh_wrapped_and_str_input() -> None:
    body = example_invoice("invoice").split(b"?>", 1)[1]
    wrapped = (b'<StandardBusinessDocument xmlns="http://www.unece.org/cefact/namespaces/'
               b'StandardBusinessDocumentHeader"><StandardBusinessDocumentHeader><HeaderVersion>1.0'
               b"</HeaderVersion></StandardBusinessDocumentHeader>" + body + b"</StandardBusinessDocument>")
    assert read_invoice(wrapped) == read_invoice(example_invoice("invoice"))
    assert InvoiceSummary.from_xml(example_invoice("invoice").decode()) == read_invoice(example_invoice("invoice"))


def edited(old: bytes, new: bytes, name: str = "invoice") -> bytes:
    data = example_invoice(name)
    assert old in data
    return data.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "message", "path"),
    [
        (b"<cbc:ID>NKU-2026-0117</cbc:ID>", b"", "lacks the mandatory element cbc:ID", "/ubl:Invoice[1]"),
        (b"<cbc:IssueDate>2026-03-02</cbc:IssueDate>", b"<cbc:IssueDate>02.03.2026</cbc:IssueDate>", "not a date",
         "/ubl:Invoice[1]/cbc:IssueDate[1]"),
        (b"<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>", b"", "cbc:InvoiceTypeCode", "/ubl:Invoice[1]"),
        (b"<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>", b"<cbc:InvoiceTypeCode>9999</cbc:InvoiceTypeCode>",
         "UNCL1001", "/ubl:Invoice[1]/cbc:InvoiceTypeCode[1]"),
        (b'<cbc:EndpointID schemeID="0192">924681357</cbc:EndpointID>', b"", "cbc:EndpointID",
         "/ubl:Invoice[1]/cac:AccountingSupplierParty[1]/cac:Party[1]"),
        (b'<cbc:EndpointID schemeID="0192">924681357</cbc:EndpointID>',
         b'<cbc:EndpointID schemeID="0037">924681357</cbc:EndpointID>', "EAS",
         "/ubl:Invoice[1]/cac:AccountingSupplierParty[1]/cac:Party[1]/cbc:EndpointID[1]"),
        (b'<cbc:EndpointID schemeID="0192">924681357</cbc:EndpointID>',
         b"<cbc:EndpointID>924681357</cbc:EndpointID>", "schemeID",
         "/ubl:Invoice[1]/cac:AccountingSupplierParty[1]/cac:Party[1]/cbc:EndpointID[1]"),
        (b'<cbc:PayableAmount currencyID="NOK">72312.50</cbc:PayableAmount>', b"", "cbc:PayableAmount",
         "/ubl:Invoice[1]/cac:LegalMonetaryTotal[1]"),
        (b'<cbc:PayableAmount currencyID="NOK">72312.50</cbc:PayableAmount>',
         b'<cbc:PayableAmount currencyID="NOK">72 312,50</cbc:PayableAmount>', "not a decimal",
         "/ubl:Invoice[1]/cac:LegalMonetaryTotal[1]/cbc:PayableAmount[1]"),
        (b'<cbc:PayableAmount currencyID="NOK">72312.50</cbc:PayableAmount>',
         b"<cbc:PayableAmount>72312.50</cbc:PayableAmount>", "currencyID",
         "/ubl:Invoice[1]/cac:LegalMonetaryTotal[1]/cbc:PayableAmount[1]"),
        (b"<cbc:ID>NKU-2026-0117</cbc:ID>", b"<cbc:ID>NKU-2026-0117</cbc:ID><cbc:ID>X</cbc:ID>",
         "more than once", "/ubl:Invoice[1]/cbc:ID[2]"),
        (b"<cbc:DueDate>2026-04-01</cbc:DueDate>", b"<cbc:DueDate>2026-04-01+01:00</cbc:DueDate>", "not a date",
         "/ubl:Invoice[1]/cbc:DueDate[1]"),
    ],
)
def test_what_a_reply_needs_is_required(old: bytes, new: bytes, message: str, path: str) -> None:
    with pytest.raises(ParseError, match=message) as info:
        read_invoice(edited(old, new))
    assert info.value.path == path
    assert info.value.line is not None


def test_names_and_identifiers_fallbacks() -> None:
    data = edited(b"<cbc:RegistrationName>Fjellheim Logistikk AS</cbc:RegistrationName>", b"")
    with pytest.raises(ParseError, match="neither"):
        read_invoice(data)
    data = data.replace(b"<cac:PostalAddress>\n        <cbc:StreetName>Kokstadflaten 12",
                        b"<cac:PartyName><cbc:Name>Fjellheim</cbc:Name></cac:PartyName>"
                        b"<cac:PostalAddress>\n        <cbc:StreetName>Kokstadflaten 12", 1)
    assert read_invoice(data).buyer.name == "Fjellheim"
    # A SEPA creditor id cannot appear in a response: it is left out, the next identifier is used.
    data = edited(b'<cbc:ID schemeID="0088">7042760000015</cbc:ID>', b'<cbc:ID schemeID="SEPA">NO12ZZZ123</cbc:ID>')
    seller = read_invoice(data).seller
    assert seller.identifiers == ()
    assert seller.identifier == PartyId("924681357", "0192")  # the legal id instead
    assert seller.as_party().identifier == seller.identifier
    assert seller.as_referenced().name == "Nordlys Kontorutstyr AS"


def test_other_documents_are_refused() -> None:
    with pytest.raises(ParseError, match="ApplicationResponse"):
        read_invoice(example_invoice("invoice").replace(b"Invoice-2", b"ApplicationResponse-2").replace(
            b"<Invoice ", b"<ApplicationResponse ").replace(b"</Invoice>", b"</ApplicationResponse>"))
    with pytest.raises(ParseError, match="not a UBL Invoice or CreditNote"):
        read_invoice(b"<Order xmlns='urn:oasis:names:specification:ubl:schema:xsd:Order-2'/>")
    with pytest.raises(ParseError, match="does not belong"):
        read_invoice(edited(b"<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>",
                            b"<cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>"))


@pytest.mark.interop
def test_interop_oxalis_sbdh_invoice_names_the_missing_endpoint() -> None:
    """A real SBDH-wrapped invoice of the old BIS 4A (UBL 2.0): no EndpointID, so no response can be addressed."""
    path = CONFORMANCE / "as4" / "oxalis" / "sbdh-peppol-bis-invoice.xml"
    if not path.exists():
        pytest.skip(f"{path} is not here")
    with pytest.raises(ParseError, match="cbc:EndpointID") as info:
        read_invoice(path.read_bytes())
    # The path is the one in the file: through the envelope.
    envelope = "/sh:StandardBusinessDocument[1]"
    assert info.value.path == f"{envelope}/ubl:Invoice[1]/cac:AccountingSupplierParty[1]/cac:Party[1]"
    assert info.value.line is not None
    assert info.value.line > 30


def test_reads_invoices_in_a_real_peppol_sbdh() -> None:
    from peppol_response import sbdh

    for name in ("invoice", "credit-note", "self-billed", "billing-with-response"):
        data = example_invoice(name)
        wrapped = sbdh.wrap(data, country_c1="NO")
        assert read_invoice(wrapped) == read_invoice(data)
