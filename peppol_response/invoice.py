"""Read the few fields of a Peppol BIS Billing 3 invoice or credit note that a reply (and a tracker) needs.

:func:`read_invoice` accepts a UBL 2.1 ``Invoice`` or ``CreditNote`` (optionally inside its SBDH envelope)
and returns an :class:`InvoiceSummary`: the parties' electronic addresses, legal names and identifiers,
the document's number, issue date, type code and process (ProfileID), the amount due with its currency
and the due date. It is not a validator of invoices: it refuses only what it cannot read (a missing
number, date, type code, party address or amount; a malformed date or amount; an electronic address
scheme outside the EAS list, which no Invoice Response could carry), with the line and XPath of the
fault, and ignores everything else.

Who answers whom (OP-BR111-R001): the receiver of the document answers its issuer. Usually the seller
issues and the buyer answers; for a self-billed document (type code 389, 261 or 527) the buyer issues
it, so the seller answers. :attr:`InvoiceSummary.issuer` and :attr:`InvoiceSummary.recipient` say which.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final

from lxml import etree

from . import codelists
from .binding import PROFILE_BILLING_WITH_RESPONSE, PROFILE_ID, UBL_NS
from .codes import DocumentTypeCode
from .errors import CodeError, ParseError
from .model import XML_WHITESPACE, Contact, DocumentReference, EndpointId, Party, PartyId, ReferencedParty
from .ubl import SBDH_NS, unwrap_sbdh
from .xmlsafe import location, parse_xml, qname, source_line

__all__ = [
    "CREDIT_NOTE_NS",
    "INVOICE_NS",
    "MAX_INVOICE_BYTES",
    "InvoiceParty",
    "InvoiceSummary",
    "read_invoice",
    "summarize_element",
]

INVOICE_NS: Final = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS: Final = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
MAX_INVOICE_BYTES: Final = 50 * 1024 * 1024
"""Largest invoice :func:`read_invoice` accepts by default (50 MiB: invoices may embed attachments)."""

_CAC: Final = "{urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2}"
_CBC: Final = "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}"
_ROOTS: Final = {
    "{" + INVOICE_NS + "}Invoice": ("Invoice", _CBC + "InvoiceTypeCode"),
    "{" + CREDIT_NOTE_NS + "}CreditNote": ("CreditNote", _CBC + "CreditNoteTypeCode"),
}
_DECIMAL: Final = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$")


@dataclass(frozen=True, slots=True)
class InvoiceParty:
    """The seller or buyer of an invoice, as far as a response needs it.

    ``name`` is the legal name (``PartyLegalEntity/RegistrationName``), or the trading name
    (``PartyName/Name``) when the invoice gives no legal name. ``identifiers`` are the
    ``PartyIdentification/ID`` values whose scheme is in the ICD list or absent (others, such as a SEPA
    creditor id, cannot appear in a response and are left out); ``legal_id`` is
    ``PartyLegalEntity/CompanyID`` under the same condition.
    """

    endpoint: EndpointId
    name: str
    trading_name: str | None = None
    identifiers: tuple[PartyId, ...] = ()
    legal_id: PartyId | None = None

    @property
    def identifier(self) -> PartyId | None:
        """The identifier a response names the party by: the first party identifier, else the legal id."""
        return self.identifiers[0] if self.identifiers else self.legal_id

    def as_party(self, *, contact: Contact | None = None) -> Party:
        """This party as ``cac:SenderParty``/``cac:ReceiverParty`` of a response (only a sender has a contact)."""
        return Party(self.endpoint, self.name, self.identifier, contact)

    def as_referenced(self) -> ReferencedParty:
        """This party as ``cac:IssuerParty``/``cac:RecipientParty`` of a response."""
        return ReferencedParty(self.name, self.identifier)


@dataclass(frozen=True, slots=True)
class InvoiceSummary:
    """What a reply and a tracker need from a BIS Billing 3 invoice or credit note."""

    kind: str
    """``"Invoice"`` or ``"CreditNote"`` (the UBL root element)."""
    id: str
    issue_date: dt.date
    type_code: DocumentTypeCode
    seller: InvoiceParty
    buyer: InvoiceParty
    payable_amount: Decimal
    currency: str
    """The ``currencyID`` of ``PayableAmount``."""
    due_date: dt.date | None = None
    customization_id: str | None = None
    profile_id: str | None = None

    @property
    def is_credit_note(self) -> bool:
        """A CreditNote document, or an Invoice whose type code is a credit-note type."""
        return self.kind == "CreditNote" or self.type_code.is_credit_note

    @property
    def is_self_billed(self) -> bool:
        """Issued by the buyer (type code 389, 261 or 527): the seller answers it."""
        return self.type_code.is_self_billed

    @property
    def issuer(self) -> InvoiceParty:
        """Who issued the document and receives the response: the seller, or the buyer when self-billed."""
        return self.buyer if self.is_self_billed else self.seller

    @property
    def recipient(self) -> InvoiceParty:
        """Who received the document and sends the response: the buyer, or the seller when self-billed."""
        return self.seller if self.is_self_billed else self.buyer

    @property
    def billing_with_response(self) -> bool:
        """Sent under BIS Billing with Response: at least one Invoice Response is mandatory."""
        return self.profile_id is not None and self.profile_id.strip(XML_WHITESPACE) == PROFILE_BILLING_WITH_RESPONSE

    @property
    def response_profile_id(self) -> str:
        """The ProfileID a response to this document carries (PEPPOL-T111-R008)."""
        return PROFILE_BILLING_WITH_RESPONSE if self.billing_with_response else PROFILE_ID

    @property
    def document_reference(self) -> DocumentReference:
        """The ``cac:DocumentReference`` of a response to this document (OP-BR111-R014: same type code)."""
        return DocumentReference(self.id, self.type_code, self.issue_date)

    @property
    def key(self) -> tuple[str, str, str, str, dt.date]:
        """(seller address, buyer address, number, type code, issue date): identifies the document."""
        return (str(self.seller.endpoint), str(self.buyer.endpoint), self.id, str(self.type_code), self.issue_date)

    @classmethod
    def from_xml(cls, data: bytes | str, *, max_bytes: int = MAX_INVOICE_BYTES) -> InvoiceSummary:
        """Same as :func:`read_invoice`."""
        return read_invoice(data, max_bytes=max_bytes)


def _fail(el: etree._Element, message: str) -> ParseError:
    return ParseError(message, line=source_line(el), path=location(el))


def _children(el: etree._Element, wanted: frozenset[str]) -> dict[str, etree._Element]:
    """The wanted children of ``el`` by tag; a wanted tag that occurs twice is ambiguous and refused."""
    found: dict[str, etree._Element] = {}
    for c in el:
        tag = c.tag
        if tag in wanted:
            if tag in found:
                raise _fail(c, f"{qname(tag)} occurs more than once in {qname(el.tag)}")
            found[tag] = c
    return found


def _first(el: etree._Element, tag: str) -> etree._Element | None:
    for c in el.iterchildren(tag):
        return c
    return None


def _need(found: dict[str, etree._Element], parent: etree._Element, tag: str) -> etree._Element:
    el = found.get(tag)
    if el is None:
        raise _fail(parent, f"{qname(parent.tag)} lacks the mandatory element {qname(tag)}")
    return el


def _text(el: etree._Element) -> str:
    if len(el):  # comments inside the text: join the pieces around them
        text = (el.text or "") + "".join(c.tail or "" for c in el)
        if any(isinstance(c.tag, str) for c in el):
            raise _fail(el, f"{qname(el.tag)} holds elements where text belongs")
    else:
        text = el.text or ""
    if not text.strip(XML_WHITESPACE):
        raise _fail(el, f"{qname(el.tag)} is empty")
    return text


def _date(el: etree._Element) -> dt.date:
    text = _text(el).strip(XML_WHITESPACE)
    # PEPPOL-COMMON-R030: YYYY-MM-DD exactly, no time zone.
    if len(text) == 10 and text.isascii() and text[4] == "-" and text[7] == "-":
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    raise _fail(el, f"{qname(el.tag)} {text!r} is not a date (YYYY-MM-DD)")


def _party_id(el: etree._Element) -> PartyId | None:
    value = el.text
    scheme = el.get("schemeID")
    if value is None or not value.strip(XML_WHITESPACE) or len(el):
        value = _text(el)
    if scheme is not None and scheme.strip() not in codelists.ICD:
        return None
    return PartyId(value.strip(XML_WHITESPACE), None if scheme is None else scheme.strip())


_PARTY_WANTED: Final = frozenset({_CBC + "EndpointID"})


def _party(holder: etree._Element) -> InvoiceParty:
    """``cac:AccountingSupplierParty`` or ``cac:AccountingCustomerParty`` -> InvoiceParty."""
    party = _need(_children(holder, frozenset({_CAC + "Party"})), holder, _CAC + "Party")
    endpoint_el = _need(_children(party, _PARTY_WANTED), party, _CBC + "EndpointID")
    scheme = endpoint_el.get("schemeID")
    if scheme is None:
        raise _fail(endpoint_el, f"{qname(endpoint_el.tag)} lacks the mandatory attribute schemeID")
    try:
        endpoint = EndpointId(scheme.strip(), _text(endpoint_el).strip(XML_WHITESPACE))
    except CodeError as exc:
        raise _fail(endpoint_el, f"{exc}: no Invoice Response can be addressed to it") from None
    identifiers = []
    for pi in party.iterchildren(_CAC + "PartyIdentification"):
        id_el = _first(pi, _CBC + "ID")
        if id_el is not None:
            pid = _party_id(id_el)
            if pid is not None:
                identifiers.append(pid)
    trading_name = None
    for pn in party.iterchildren(_CAC + "PartyName"):
        name_el = _first(pn, _CBC + "Name")
        if name_el is not None:
            trading_name = _text(name_el)
            break
    legal_name = legal_id = None
    legal = _first(party, _CAC + "PartyLegalEntity")
    if legal is not None:
        reg = _first(legal, _CBC + "RegistrationName")
        if reg is not None:
            legal_name = _text(reg)
        company = _first(legal, _CBC + "CompanyID")
        if company is not None:
            legal_id = _party_id(company)
    name = legal_name or trading_name
    if name is None:
        raise _fail(party, f"{qname(party.tag)} has neither cac:PartyLegalEntity/cbc:RegistrationName "
                           "nor cac:PartyName/cbc:Name")
    return InvoiceParty(endpoint, name, trading_name, tuple(identifiers), legal_id)


def _amount(el: etree._Element) -> tuple[Decimal, str]:
    text = _text(el).strip(XML_WHITESPACE)
    if not _DECIMAL.match(text):
        raise _fail(el, f"{qname(el.tag)} {text!r} is not a decimal amount")
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        raise _fail(el, f"{qname(el.tag)} {text!r} is not a decimal amount") from None
    currency = el.get("currencyID")
    if currency is None or not currency.strip():
        raise _fail(el, f"{qname(el.tag)} lacks the mandatory attribute currencyID")
    return value, currency.strip()


_ROOT_WANTED: Final = frozenset(
    _CBC + t for t in ("CustomizationID", "ProfileID", "ID", "IssueDate", "DueDate", "InvoiceTypeCode",
                       "CreditNoteTypeCode")
) | frozenset(_CAC + t for t in ("AccountingSupplierParty", "AccountingCustomerParty", "LegalMonetaryTotal"))


def summarize_element(root: etree._Element) -> InvoiceSummary:
    """Read an already parsed ``Invoice`` or ``CreditNote`` element."""
    root_info = _ROOTS.get(root.tag) if isinstance(root.tag, str) else None
    if root_info is None:
        name = qname(root.tag) if isinstance(root.tag, str) else "?"
        if isinstance(root.tag, str) and root.tag == "{" + UBL_NS + "}ApplicationResponse":
            raise _fail(root, "this is an ApplicationResponse (an Invoice Response, MLR or MLS), not an invoice")
        raise _fail(root, f"the root element is {name}, not a UBL Invoice or CreditNote")
    kind, type_tag = root_info
    found = _children(root, _ROOT_WANTED)
    other_type = (_CBC + "CreditNoteTypeCode") if kind == "Invoice" else (_CBC + "InvoiceTypeCode")
    if other_type in found:
        raise _fail(found[other_type], f"{qname(other_type)} does not belong in a UBL {kind}")
    type_el = _need(found, root, type_tag)
    type_text = " ".join(_text(type_el).split())
    try:
        type_code = DocumentTypeCode(type_text)
    except CodeError as exc:
        raise _fail(type_el, str(exc)) from None
    totals = _need(found, root, _CAC + "LegalMonetaryTotal")
    payable_el = _need(_children(totals, frozenset({_CBC + "PayableAmount"})), totals, _CBC + "PayableAmount")
    amount, currency = _amount(payable_el)
    due_el = found.get(_CBC + "DueDate")
    if due_el is None:  # a credit note states its due date under the payment means (BT-9)
        for means in root.iterchildren(_CAC + "PaymentMeans"):
            due_el = _first(means, _CBC + "PaymentDueDate")
            if due_el is not None:
                break
    customization_el = found.get(_CBC + "CustomizationID")
    profile_el = found.get(_CBC + "ProfileID")
    return InvoiceSummary(
        kind=kind,
        id=_text(_need(found, root, _CBC + "ID")).strip(XML_WHITESPACE),
        issue_date=_date(_need(found, root, _CBC + "IssueDate")),
        type_code=type_code,
        seller=_party(_need(found, root, _CAC + "AccountingSupplierParty")),
        buyer=_party(_need(found, root, _CAC + "AccountingCustomerParty")),
        payable_amount=amount,
        currency=currency,
        due_date=None if due_el is None else _date(due_el),
        customization_id=None if customization_el is None else _text(customization_el).strip(XML_WHITESPACE),
        profile_id=None if profile_el is None else _text(profile_el).strip(XML_WHITESPACE),
    )


def read_invoice(data: bytes | str, *, max_bytes: int = MAX_INVOICE_BYTES) -> InvoiceSummary:
    """Read a BIS Billing 3 Invoice or CreditNote (optionally in its SBDH envelope) into a summary.

    Raises :class:`~peppol_response.errors.ParseError` (line and XPath) when a field a response needs
    is missing or unreadable, :class:`~peppol_response.errors.UnsafeXmlError` for hostile input.
    """
    # No depth walk: the reader visits a few fixed levels only, and libxml2 caps nesting at 256.
    root = parse_xml(data, what="invoice", max_bytes=max_bytes, max_depth=None)
    if root.tag == "{" + SBDH_NS + "}StandardBusinessDocument":
        root = unwrap_sbdh(root)
    return summarize_element(root)
