"""BIS Billing 3 invoices for chain tests: generated from parameters, or an example with new numbers.

::

    xml = make_invoice(invoice_id="INV-42", seller=SELLER, buyer=BUYER, lines=[("Desk", 2, "450.00")])
    xml = from_example("invoice-380.xml", invoice_id="INV-43", seller=SELLER, buyer=BUYER)

:func:`make_invoice` writes a complete BIS Billing 3 invoice (or credit note): both parties with their
electronic address, postal address, VAT number and legal entity; payment means; one VAT breakdown (standard
rate); the totals computed from the lines with two decimals. It is for tests and demos: it writes what the
parameters say and does not check them against the EN 16931 rules beyond computing consistent totals.

:func:`from_example` takes a document from ``examples/invoices`` (or any BIS Billing XML) and gives it another
number, issue date and parties, so one example can be sent many times through a network whose trackers
identify invoices by (seller, buyer, number, type, date).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from lxml import etree

from ..binding import PROFILE_BILLING_WITH_RESPONSE
from ..errors import ConfigError
from ..identifiers import ParticipantId
from ..invoice import CREDIT_NOTE_NS, INVOICE_NS
from ..xmlsafe import parse_xml

__all__ = [
    "BILLING_CUSTOMIZATION",
    "BILLING_PROFILE",
    "TradeParty",
    "from_example",
    "make_invoice",
]

BILLING_CUSTOMIZATION: Final = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
BILLING_PROFILE: Final = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"

_CAC: Final = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
_CBC: Final = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
_C: Final = "{" + _CAC + "}"
_B: Final = "{" + _CBC + "}"
_CENT: Final = Decimal("0.01")


@dataclass(frozen=True)
class TradeParty:
    """A seller or buyer as an invoice names it. ``endpoint`` is its Peppol id (``0192:924681357``)."""

    endpoint: str
    name: str
    country: str = "NO"
    vat_id: str | None = None
    street: str = "Storgata 1"
    city: str = "Oslo"
    postal_zone: str = "0155"

    @property
    def participant(self) -> ParticipantId:
        return ParticipantId.parse(self.endpoint)

    @property
    def scheme(self) -> str:
        return self.endpoint.split(":", 1)[0]

    @property
    def value(self) -> str:
        return self.endpoint.split(":", 1)[1]


def _money(value: Decimal) -> str:
    return f"{value.quantize(_CENT, rounding=ROUND_HALF_UP):f}"


def _el(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, tag, attrs)
    if text is not None:
        el.text = text
    return el


def _party(parent: etree._Element, tag: str, party: TradeParty) -> None:
    if ":" not in party.endpoint:
        raise ConfigError(f"a party endpoint is 'scheme:value', not {party.endpoint!r}")
    p = _el(_el(parent, _C + tag), _C + "Party")
    _el(p, _B + "EndpointID", party.value, schemeID=party.scheme)
    _el(_el(p, _C + "PartyName"), _B + "Name", party.name)
    addr = _el(p, _C + "PostalAddress")
    _el(addr, _B + "StreetName", party.street)
    _el(addr, _B + "CityName", party.city)
    _el(addr, _B + "PostalZone", party.postal_zone)
    _el(_el(addr, _C + "Country"), _B + "IdentificationCode", party.country)
    if party.vat_id:
        tax = _el(p, _C + "PartyTaxScheme")
        _el(tax, _B + "CompanyID", party.vat_id)
        _el(_el(tax, _C + "TaxScheme"), _B + "ID", "VAT")
    legal = _el(p, _C + "PartyLegalEntity")
    _el(legal, _B + "RegistrationName", party.name)
    _el(legal, _B + "CompanyID", party.value, schemeID=party.scheme)


def make_invoice(
    *,
    invoice_id: str,
    seller: TradeParty,
    buyer: TradeParty,
    issue_date: dt.date | None = None,
    lines: Sequence[tuple[str, Decimal | int | str, Decimal | int | str]] = (("Consulting services", 1, "1000.00"),),
    currency: str = "EUR",
    vat_percent: Decimal | int | str = 25,
    due_days: int = 30,
    type_code: str = "380",
    billing_with_response: bool = False,
    buyer_reference: str = "CHAIN-TEST",
    order_reference: str | None = None,
    note: str | None = None,
) -> bytes:
    """A BIS Billing 3 invoice (type 380 ...) or credit note (type 381) as UTF-8 XML bytes.

    ``lines`` are (item name, quantity, unit price net of VAT); every line has the standard VAT rate
    ``vat_percent``. ``billing_with_response`` uses the ProfileID of Billing with Response, under which the
    buyer must answer with at least one Invoice Response.
    """
    if not lines:
        raise ConfigError("an invoice needs at least one line")
    credit = type_code == "381"
    root_tag = "{" + (CREDIT_NOTE_NS if credit else INVOICE_NS) + "}" + ("CreditNote" if credit else "Invoice")
    line_tag = "CreditNoteLine" if credit else "InvoiceLine"
    qty_tag = "CreditedQuantity" if credit else "InvoicedQuantity"
    issued = issue_date or dt.date.today()
    rate = Decimal(str(vat_percent))
    priced = []
    for name, qty, price in lines:
        q, p = Decimal(str(qty)), Decimal(str(price))
        priced.append((name, q, p, (q * p).quantize(_CENT, rounding=ROUND_HALF_UP)))
    net = sum((amount for *_, amount in priced), Decimal(0))
    vat = (net * rate / 100).quantize(_CENT, rounding=ROUND_HALF_UP)
    gross = net + vat

    nsmap = {None: root_tag[1:].split("}")[0], "cac": _CAC, "cbc": _CBC}
    root = etree.Element(root_tag, nsmap=nsmap)  # type: ignore[arg-type]  # lxml-stubs lack the default namespace key
    _el(root, _B + "CustomizationID", BILLING_CUSTOMIZATION)
    _el(root, _B + "ProfileID", PROFILE_BILLING_WITH_RESPONSE if billing_with_response else BILLING_PROFILE)
    _el(root, _B + "ID", invoice_id)
    _el(root, _B + "IssueDate", issued.isoformat())
    if not credit:
        _el(root, _B + "DueDate", (issued + dt.timedelta(days=due_days)).isoformat())
    _el(root, _B + ("CreditNoteTypeCode" if credit else "InvoiceTypeCode"), type_code)
    if note:
        _el(root, _B + "Note", note)
    _el(root, _B + "DocumentCurrencyCode", currency)
    _el(root, _B + "BuyerReference", buyer_reference)
    if order_reference:
        _el(_el(root, _C + "OrderReference"), _B + "ID", order_reference)
    _party(root, "AccountingSupplierParty", seller)
    _party(root, "AccountingCustomerParty", buyer)
    means = _el(root, _C + "PaymentMeans")
    _el(means, _B + "PaymentMeansCode", "30", name="Credit transfer")
    if credit:
        _el(means, _B + "PaymentDueDate", (issued + dt.timedelta(days=due_days)).isoformat())
    _el(means, _B + "PaymentID", invoice_id)
    _el(_el(means, _C + "PayeeFinancialAccount"), _B + "ID", "NO9386011117947")
    tax_total = _el(root, _C + "TaxTotal")
    _el(tax_total, _B + "TaxAmount", _money(vat), currencyID=currency)
    sub = _el(tax_total, _C + "TaxSubtotal")
    _el(sub, _B + "TaxableAmount", _money(net), currencyID=currency)
    _el(sub, _B + "TaxAmount", _money(vat), currencyID=currency)
    _tax_category(sub, "TaxCategory", rate)
    totals = _el(root, _C + "LegalMonetaryTotal")
    _el(totals, _B + "LineExtensionAmount", _money(net), currencyID=currency)
    _el(totals, _B + "TaxExclusiveAmount", _money(net), currencyID=currency)
    _el(totals, _B + "TaxInclusiveAmount", _money(gross), currencyID=currency)
    _el(totals, _B + "PayableAmount", _money(gross), currencyID=currency)
    for number, (name, q, p, amount) in enumerate(priced, start=1):
        line = _el(root, _C + line_tag)
        _el(line, _B + "ID", str(number))
        _el(line, _B + qty_tag, f"{q:f}", unitCode="C62")
        _el(line, _B + "LineExtensionAmount", _money(amount), currencyID=currency)
        item = _el(line, _C + "Item")
        _el(item, _B + "Name", name)
        _tax_category(item, "ClassifiedTaxCategory", rate)
        _el(_el(line, _C + "Price"), _B + "PriceAmount", _money(p), currencyID=currency)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _tax_category(parent: etree._Element, tag: str, rate: Decimal) -> None:
    cat = _el(parent, _C + tag)
    _el(cat, _B + "ID", "S")
    _el(cat, _B + "Percent", f"{rate.normalize():f}")
    _el(_el(cat, _C + "TaxScheme"), _B + "ID", "VAT")


def _set(root: etree._Element, path: Iterable[str], value: str, scheme: str | None = None) -> None:
    el: etree._Element | None = root
    for tag in path:
        el = None if el is None else el.find(tag)
    if el is None:
        raise ConfigError(f"the example has no {'/'.join(path)}")
    el.text = value
    if scheme is not None:
        el.set("schemeID", scheme)


def from_example(
    example: str | bytes,
    *,
    invoice_id: str | None = None,
    issue_date: dt.date | None = None,
    seller: TradeParty | None = None,
    buyer: TradeParty | None = None,
) -> bytes:
    """An example invoice (a name in ``examples/invoices``, or XML bytes) with a new number, date and parties.

    The parties' electronic addresses, names and legal ids are replaced; the rest of the document stays.
    """
    if isinstance(example, str):
        from ..examples import example_invoice

        data = example_invoice(example)
    else:
        data = example
    root = parse_xml(data, what="example invoice")
    if invoice_id is not None:
        _set(root, [_B + "ID"], invoice_id)
    if issue_date is not None:
        _set(root, [_B + "IssueDate"], issue_date.isoformat())
    for tag, party in (("AccountingSupplierParty", seller), ("AccountingCustomerParty", buyer)):
        if party is None:
            continue
        base = [_C + tag, _C + "Party"]
        _set(root, [*base, _B + "EndpointID"], party.value, party.scheme)
        legal = root.find("/".join([*base, _C + "PartyLegalEntity"]))
        if legal is not None:
            _set(legal, [_B + "RegistrationName"], party.name)
            company = legal.find(_B + "CompanyID")
            if company is not None:
                company.text = party.value
                company.set("schemeID", party.scheme)
        name = root.find("/".join([*base, _C + "PartyName", _B + "Name"]))
        if name is not None:
            name.text = party.name
        holder = root.find("/".join(base))
        assert holder is not None
        for ident in holder.findall(_C + "PartyIdentification"):
            holder.remove(ident)  # other ids of the example's party
        for tax in holder.findall(_C + "PartyTaxScheme"):
            vat = tax.find(_B + "CompanyID")
            if vat is not None and party.vat_id:
                vat.text = party.vat_id
            else:
                holder.remove(tax)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
