"""A generated corpus of Invoice Responses and broken variants of them, for tests and benchmarks.

Base documents are our own (written here, covering every element of the binding) plus, when
``../shared/conformance`` is present, the official examples. Each base is mutated systematically
(delete, duplicate, reorder, empty, pad and comment-split every element; retype codes, scheme ids,
identifier check digits, dates and times; insert elements from outside the data model; add
attributes) and randomly (a seeded mix of two to four mutations), so that every rule id of the
official T111 artefacts fails somewhere and passes somewhere.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Iterator
from pathlib import Path

from lxml import etree

NS = {
    "ubl": "urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "ext": "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
CAC = "{{{}}}".format(NS["cac"])
CBC = "{{{}}}".format(NS["cbc"])

FULL = """<?xml version="1.0" encoding="UTF-8"?>
<ApplicationResponse xmlns="urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2"
    xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
    xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:CustomizationID>urn:fdc:peppol.eu:poacc:trns:invoice_response:3</cbc:CustomizationID>
  <cbc:ProfileID>urn:fdc:peppol.eu:poacc:bis:invoice_response:3</cbc:ProfileID>
  <cbc:ID>resp-2026-0042</cbc:ID>
  <cbc:IssueDate>2026-03-02</cbc:IssueDate>
  <cbc:IssueTime>09:15:00</cbc:IssueTime>
  <cbc:Note>Two lines on the delivery note do not match the invoice.</cbc:Note>
  <cac:SenderParty>
    <cbc:EndpointID schemeID="0192">987654325</cbc:EndpointID>
    <cac:PartyIdentification>
      <cbc:ID schemeID="0088">5790000435951</cbc:ID>
    </cac:PartyIdentification>
    <cac:PartyLegalEntity>
      <cbc:RegistrationName>Fjordbuyer AS</cbc:RegistrationName>
    </cac:PartyLegalEntity>
    <cac:Contact>
      <cbc:Name>Kari Nordmann</cbc:Name>
      <cbc:Telephone>+47 22 00 00 00</cbc:Telephone>
      <cbc:ElectronicMail>ap@fjordbuyer.example</cbc:ElectronicMail>
    </cac:Contact>
  </cac:SenderParty>
  <cac:ReceiverParty>
    <cbc:EndpointID schemeID="0208">0403170701</cbc:EndpointID>
    <cac:PartyIdentification>
      <cbc:ID schemeID="0208">0403170701</cbc:ID>
    </cac:PartyIdentification>
    <cac:PartyLegalEntity>
      <cbc:RegistrationName>Brabant Supplies NV</cbc:RegistrationName>
    </cac:PartyLegalEntity>
  </cac:ReceiverParty>
  <cac:DocumentResponse>
    <cac:Response>
      <cbc:ResponseCode>UQ</cbc:ResponseCode>
      <cbc:EffectiveDate>2026-03-01</cbc:EffectiveDate>
      <cac:Status>
        <cbc:StatusReasonCode listID="OPStatusReason">QTY</cbc:StatusReasonCode>
        <cbc:StatusReason>Delivered 8, invoiced 10</cbc:StatusReason>
        <cac:Condition>
          <cbc:AttributeID>BT-129</cbc:AttributeID>
          <cbc:Description>8</cbc:Description>
        </cac:Condition>
      </cac:Status>
      <cac:Status>
        <cbc:StatusReasonCode listID="OPStatusAction">CNP</cbc:StatusReasonCode>
      </cac:Status>
    </cac:Response>
    <cac:DocumentReference>
      <cbc:ID>INV-77812</cbc:ID>
      <cbc:IssueDate>2026-02-26</cbc:IssueDate>
      <cbc:DocumentTypeCode>380</cbc:DocumentTypeCode>
    </cac:DocumentReference>
    <cac:IssuerParty>
      <cac:PartyIdentification>
        <cbc:ID schemeID="0208">0403170701</cbc:ID>
      </cac:PartyIdentification>
      <cac:PartyName>
        <cbc:Name>Brabant Supplies NV</cbc:Name>
      </cac:PartyName>
    </cac:IssuerParty>
    <cac:RecipientParty>
      <cac:PartyIdentification>
        <cbc:ID schemeID="0192">987654325</cbc:ID>
      </cac:PartyIdentification>
      <cac:PartyName>
        <cbc:Name>Fjordbuyer AS</cbc:Name>
      </cac:PartyName>
    </cac:RecipientParty>
  </cac:DocumentResponse>
</ApplicationResponse>
"""
"""Our own full Invoice Response: every element of the binding, valid under the 2026.5 rules."""

MINIMAL = (
    """<?xml version="1.0" encoding="UTF-8"?>
<ApplicationResponse xmlns="urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2"
    xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
    xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">"""
    '<cbc:CustomizationID>urn:fdc:peppol.eu:poacc:trns:invoice_response:3</cbc:CustomizationID>'
    '<cbc:ProfileID>urn:peppol:bis:billing_with_response</cbc:ProfileID><cbc:ID>r1</cbc:ID>'
    '<cbc:IssueDate>2026-05-04</cbc:IssueDate><cac:SenderParty><cbc:EndpointID schemeID="0007">'
    '5560360793</cbc:EndpointID><cac:PartyLegalEntity><cbc:RegistrationName>'
    'Norrbuy AB</cbc:RegistrationName></cac:PartyLegalEntity></cac:SenderParty><cac:ReceiverParty>'
    '<cbc:EndpointID schemeID="9944">NL123456789B01</cbc:EndpointID><cac:PartyLegalEntity>'
    '<cbc:RegistrationName>Delft Levering BV</cbc:RegistrationName></cac:PartyLegalEntity>'
    '</cac:ReceiverParty><cac:DocumentResponse><cac:Response><cbc:ResponseCode>PD</cbc:ResponseCode>'
    '<cac:Status><cbc:StatusReasonCode listID="OPStatusReason">PPD</cbc:StatusReasonCode>'
    '<cbc:StatusReason>Paid 400.00 of 1000.00 EUR</cbc:StatusReason></cac:Status></cac:Response>'
    '<cac:DocumentReference><cbc:ID>F-2026-118</cbc:ID><cbc:DocumentTypeCode>'
    '389</cbc:DocumentTypeCode></cac:DocumentReference></cac:DocumentResponse></ApplicationResponse>'
    "\n"
)
"""Our own minimal Invoice Response on a single line (Billing with Response, partial payment)."""

MLR = """<?xml version="1.0" encoding="UTF-8"?>
<ApplicationResponse xmlns="urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2"
    xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
    xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:CustomizationID>urn:fdc:peppol.eu:poacc:trns:mlr:3</cbc:CustomizationID>
  <cbc:ProfileID>urn:fdc:peppol.eu:poacc:bis:mlr:3</cbc:ProfileID>
  <cbc:ID>mlr-881</cbc:ID>
  <cbc:IssueDate>2026-03-02</cbc:IssueDate>
  <cbc:IssueTime>10:00:00Z</cbc:IssueTime>
  <cac:SenderParty><cbc:EndpointID schemeID="0192">987654325</cbc:EndpointID></cac:SenderParty>
  <cac:ReceiverParty><cbc:EndpointID schemeID="0088">5790000435951</cbc:EndpointID></cac:ReceiverParty>
  <cac:DocumentResponse>
    <cac:Response>
      <cbc:ResponseCode>RE</cbc:ResponseCode>
      <cbc:Description>The invoice breaks a business rule.</cbc:Description>
    </cac:Response>
    <cac:DocumentReference>
      <cbc:ID>3a1c7e52-1d5b-4b8e-9f0e-6a0c2f1d9b11</cbc:ID>
      <cbc:DocumentTypeCode>380</cbc:DocumentTypeCode>
      <cbc:VersionID>2.1</cbc:VersionID>
    </cac:DocumentReference>
    <cac:LineResponse>
      <cac:LineReference><cbc:LineID>/Invoice/cac:AccountingSupplierParty</cbc:LineID></cac:LineReference>
      <cac:Response>
        <cbc:ResponseCode>RE</cbc:ResponseCode>
        <cbc:Description>The seller's VAT number is missing.</cbc:Description>
        <cac:Status><cbc:StatusReasonCode>BV</cbc:StatusReasonCode></cac:Status>
      </cac:Response>
    </cac:LineResponse>
  </cac:DocumentResponse>
</ApplicationResponse>
"""
"""Our own Message Level Response (T71) with one issue."""

BASES: dict[str, str] = {"full": FULL, "minimal": MINIMAL, "mlr": MLR}

# Identifier values per scheme: valid first, then broken ones (check digits, lengths, characters).
IDENTIFIERS: dict[str, tuple[str, ...]] = {
    "0088": ("5790000435951", "5790000435954", "0", "57900004359X1", " 5790000435951 ", "579000043595"),
    "0192": ("987654325", "987654321", "991825827", "000000000", "9876543250", "98765432A"),
    "0184": ("DK12345678", "12345678", "DK1234567", "dk12345678", " DK12345678", "1234567A"),
    "0096": ("1234567890", "123456789", "12345678901", "123456789A"),
    "0198": ("DK12345678", "12345678", "DK1234567X"),
    "0208": ("0403170701", "0403170702", "403170701", "04031707011", "0000000097"),
    "0201": ("UFJ1KL", "UFJ1K", "UFJ1KL7", "UFJ-KL"),
    "0210": ("RSSMRA85T10A562S", "RSSMRA8LT10A562S", "12345678901", "+1234567890", "RSSMRA85T10A56", "ABC"),
    "9907": ("RSSMRA85T10A562S", "1234567890", "RSSMRA85T1OA562S"),
    "0211": ("IT01234567897", "IT01234567890", "it01234567897", "DE123456789", "IT0123456789", "IT+1234567890",
             "IT 2345678901", "ITABCDEFGHIJK"),
    "0007": ("5560360793", "5560360794", "556036079", "556036-0793", "55603607931"),
    "0151": ("51824753556", "51824753557", "5182475355", "01824753556"),
    "0106": ("12345678", "1234567", "1234567A"),
    "0190": ("12345678901234567890", "1234567890123456789"),
    "9944": ("NL123456789B01", "NL123456789B1", "nl123456789B01"),
    "0217": ("123456789012", "12345678901"),
}


def parse(xml: str | bytes) -> etree._Element:
    return etree.fromstring(xml.encode() if isinstance(xml, str) else xml, etree.XMLParser(resolve_entities=False))


def dump(root: etree._Element) -> bytes:
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8")


def _elements(root: etree._Element) -> list[etree._Element]:
    return list(root.iter(etree.Element))


def _path(el: etree._Element) -> str:
    parts = []
    node: etree._Element | None = el
    while node is not None:
        parts.append(etree.QName(node).localname)
        node = node.getparent()
    return "/".join(reversed(parts))


def _leaf(root: etree._Element, tag: str, nth: int = 0) -> etree._Element | None:
    found = list(root.iter(tag))
    return found[nth] if len(found) > nth else None


def _new(tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    prefix, _, local = tag.partition(":")
    el = etree.Element(f"{{{NS[prefix]}}}{local}", nsmap={prefix: NS[prefix]})
    el.text = text
    for k, v in attrs.items():
        el.set(k, v)
    return el


Mutation = Callable[[etree._Element], str | None]  # mutates in place; returns a label, None = not applicable


def _structural(root: etree._Element) -> Iterator[tuple[str, Mutation]]:
    """Delete, duplicate, reorder, empty, pad and comment-split each element (by position)."""
    count = len(_elements(root))
    for i in range(count):
        def delete(r: etree._Element, i: int = i) -> str | None:
            el = _elements(r)[i]
            parent = el.getparent()
            if parent is None:
                return None
            parent.remove(el)
            return f"delete {_path(el)}"

        def duplicate(r: etree._Element, i: int = i) -> str | None:
            el = _elements(r)[i]
            if el.getparent() is None:
                return None
            el.addnext(copy.deepcopy(el))
            return f"duplicate {_path(el)}"

        def swap(r: etree._Element, i: int = i) -> str | None:
            el = _elements(r)[i]
            nxt = el.getnext()
            while nxt is not None and not isinstance(nxt.tag, str):
                nxt = nxt.getnext()
            if nxt is None:
                return None
            nxt.addnext(el)
            return f"swap {_path(el)} after its next sibling"

        def empty(r: etree._Element, i: int = i) -> str | None:
            el = _elements(r)[i]
            for child in list(el):
                el.remove(child)
            el.text = None
            return f"empty {_path(el)}"

        def pad(r: etree._Element, i: int = i) -> str | None:
            el = _elements(r)[i]
            if len(el) or not el.text:
                return None
            el.text = f"  {el.text}\n\t"
            return f"pad {_path(el)}"

        def split(r: etree._Element, i: int = i) -> str | None:
            el = _elements(r)[i]
            if len(el) or not el.text or len(el.text) < 2:
                return None
            text = el.text
            el.text = text[:1]
            comment = etree.Comment("split")
            comment.tail = text[1:]
            el.append(comment)
            return f"comment-split {_path(el)}"

        yield from (("delete", delete), ("duplicate", duplicate), ("swap", swap), ("empty", empty),
                    ("pad", pad), ("split", split))


def _set_text(tag: str, value: str, nth: int = 0) -> Mutation:
    def mutate(r: etree._Element) -> str | None:
        el = _leaf(r, tag, nth)
        if el is None:
            return None
        el.text = value
        return f"{etree.QName(tag).localname}[{nth}] = {value!r}"
    return mutate


def _set_attr(tag: str, name: str, value: str | None, nth: int = 0) -> Mutation:
    def mutate(r: etree._Element) -> str | None:
        el = _leaf(r, tag, nth)
        if el is None:
            return None
        if value is None:
            el.attrib.pop(name, None)
        else:
            el.set(name, value)
        return f"{etree.QName(tag).localname}[{nth}]/@{name} = {value!r}"
    return mutate


def _insert(parent_tag: str | None, new: Callable[[], etree._Element], *, index: int | None = None,
            after: str | None = None) -> Mutation:
    def mutate(r: etree._Element) -> str | None:
        if parent_tag is not None and "/" in parent_tag and not parent_tag.startswith("{"):
            parent = r.find(parent_tag, NS)
        else:
            parent = r if parent_tag is None else _leaf(r, parent_tag)
        if parent is None:
            return None
        el = new()
        if after is not None:
            ref = parent.find(after)
            if ref is None:
                return None
            ref.addnext(el)
        elif index is None:
            parent.append(el)
        else:
            parent.insert(index, el)
        return f"insert {etree.QName(el).localname} into {etree.QName(parent).localname}"
    return mutate


def _status(code: str, list_id: str | None, reason: str | None) -> Callable[[], etree._Element]:
    def make() -> etree._Element:
        st = _new("cac:Status")
        src = etree.SubElement(st, CBC + "StatusReasonCode")
        src.text = code
        if list_id is not None:
            src.set("listID", list_id)
        if reason is not None:
            etree.SubElement(st, CBC + "StatusReason").text = reason
        return st
    return make


def _replace_statuses(*statuses: Callable[[], etree._Element]) -> Mutation:
    def mutate(r: etree._Element) -> str | None:
        response = _leaf(r, CAC + "Response")
        if response is None:
            return None
        for st in response.findall(CAC + "Status"):
            response.remove(st)
        made = [make() for make in statuses]
        for st in made:
            response.append(st)
        return "statuses " + " + ".join(etree.tostring(st, encoding="unicode").split(">", 1)[1][:80] for st in made)
    return mutate


def _value_mutations() -> Iterator[tuple[str, Mutation]]:
    cbc = CBC
    for code in ("AB", "IP", "UQ", "CA", "RE", "AP", "PD", "XX", "ap", " AP ", "CA UQ", "R E", "\tRE\n"):
        yield "response-code", _set_text(cbc + "ResponseCode", code)
    reasons = ("NON", "REF", "LEG", "REC", "QUA", "DEL", "PRI", "QTY", "ITM", "PAY", "UNR", "FIN", "PPD", "OTH")
    actions = ("NOA", "PIN", "NIN", "CNF", "CNP", "CNA", "OTH")
    for code in (*reasons, *actions, "XXX", " OTH ", "oth", "BV"):
        for list_id in ("OPStatusReason", "OPStatusAction", "UNCL4343", None, " OPStatusReason"):
            for reason in (None, "Because"):
                yield "status", _replace_statuses(_status(code, list_id, reason))
    yield "status-text-only", _replace_statuses(lambda: _new("cac:Status"))
    yield "status-two-codes", _replace_statuses(_status("OTH", "OPStatusAction", None),
                                                _status("PPD", "OPStatusReason", None))
    for response in ("PD", "RE", "AP", " PD "):
        for reason in ("paid half", None):
            yield "ppd", _both(_replace_statuses(_status("PPD", "OPStatusReason", reason)),
                               _set_text(cbc + "ResponseCode", response))
    for code in ("380", "381", "389", "9999", " 380 ", "abc", "1999", ""):
        yield "document-type", _set_text(cbc + "DocumentTypeCode", code)
    for scheme in ("0088", "0192", "9999", "", " 0088", "0242", "0147", "9959", None):
        yield "endpoint-scheme", _set_attr(cbc + "EndpointID", "schemeID", scheme)
        yield "endpoint-scheme", _set_attr(cbc + "EndpointID", "schemeID", scheme, 1)
    for nth in range(6):
        for scheme in ("0002", "0248", "9999", "0093", "", None):
            yield "id-scheme", _set_attr(cbc + "ID", "schemeID", scheme, nth)
    for scheme, values in IDENTIFIERS.items():
        for value in values:
            for nth in (0, 1):
                yield "identifier", _both(_set_attr(cbc + "EndpointID", "schemeID", scheme, nth),
                                          _set_text(cbc + "EndpointID", value, nth))
            yield "identifier", _party_id(scheme, value)
            yield "identifier", _company_id(scheme, value)
    for value in ("NL123456789B01", "NL12345678B01", "NL 123456789B01", "DE123456789"):
        yield "vat", _tax_scheme(value, "VAT")
        yield "vat", _tax_scheme(value, "GST")
    for value in ("2026-03-02", "2017-02-29", "2016-02-29", "1900-02-29", "2000-02-29", "0000-01-01",
                  "0000-02-29", "2017-12-01+01:00", "2017-12-01Z", " 2017-12-01 ", "2017-1-1", "20170-01-01",
                  "-2017-01-01", "2017-13-01", "2017-04-31", "2017-12-01T10:00:00", "", "2017-12-01+14:01",
                  "\u0662\u0660\u0661\u0667-01-01"):
        yield "date", _set_text(cbc + "IssueDate", value)
        yield "date", _set_text(cbc + "EffectiveDate", value)
        yield "date", _set_text(cbc + "IssueDate", value, 1)
    for value in ("12:00:00", "12:00:00+01:00", "24:00:00", "25:00:00", " 12:00:00 ", "12:00", "12:00:00.5Z",
                  "23:59:60", "12:00:00+14:00", "12:00:00-14:30"):
        yield "time", _set_text(cbc + "IssueTime", value)
    for value in ("urn:fdc:peppol.eu:poacc:trns:invoice_response:3",
                  "urn:fdc:peppol.eu:poacc:trns:invoice_response:3:x",
                  " urn:fdc:peppol.eu:poacc:trns:invoice_response:3 ", "urn:fdc:peppol.eu:poacc:trns:invoice_respons:3",
                  "urn:fdc:peppol.eu:poacc:trns:mlr:3"):
        yield "customization", _set_text(cbc + "CustomizationID", value)
    for value in ("urn:fdc:peppol.eu:poacc:bis:invoice_response:3", "urn:peppol:bis:billing_with_response",
                  " urn:peppol:bis:billing_with_response ", "urn:fdc:peppol.eu:poacc:bis:invoice_response:3:x",
                  "urn:fdc:peppol.eu:poacc:bis:mlr:3"):
        yield "profile", _set_text(cbc + "ProfileID", value)
    yield from _forbidden()
    yield from _attributes()


def _both(a: Mutation, b: Mutation) -> Mutation:
    def mutate(r: etree._Element) -> str | None:
        la, lb = a(r), b(r)
        return f"{la}; {lb}" if la and lb else None
    return mutate


def _party_id(scheme: str, value: str) -> Mutation:
    def mutate(r: etree._Element) -> str | None:
        el = _leaf(r, CAC + "PartyIdentification")
        if el is None:
            sender = _leaf(r, CAC + "SenderParty")
            if sender is None:
                return None
            el = _new("cac:PartyIdentification")
            etree.SubElement(el, CBC + "ID")
            endpoint = sender.find(CBC + "EndpointID")
            (endpoint.addnext(el) if endpoint is not None else sender.insert(0, el))
        idel = el.find(CBC + "ID")
        if idel is None:
            return None
        idel.set("schemeID", scheme)
        idel.text = value
        return f"PartyIdentification/ID {scheme} {value!r}"
    return mutate


def _company_id(scheme: str, value: str) -> Mutation:
    def mutate(r: etree._Element) -> str | None:
        ple = _leaf(r, CAC + "PartyLegalEntity")
        if ple is None:
            return None
        ple.append(_new("cbc:CompanyID", value, schemeID=scheme))
        return f"PartyLegalEntity/CompanyID {scheme} {value!r}"
    return mutate


def _tax_scheme(value: str, tax: str) -> Mutation:
    def mutate(r: etree._Element) -> str | None:
        sender = _leaf(r, CAC + "SenderParty")
        if sender is None:
            return None
        ple = sender.find(CAC + "PartyLegalEntity")
        pts = _new("cac:PartyTaxScheme")
        etree.SubElement(pts, CBC + "CompanyID").text = value
        ts = etree.SubElement(pts, CAC + "TaxScheme")
        etree.SubElement(ts, CBC + "ID").text = tax
        if ple is not None:
            ple.addprevious(pts)
        else:
            sender.append(pts)
        return f"PartyTaxScheme {tax} {value!r}"
    return mutate


def _forbidden() -> Iterator[tuple[str, Mutation]]:
    yield "forbidden", _insert(None, lambda: _new("cbc:UBLVersionID", "2.1"), index=0)
    yield "forbidden", _insert(None, lambda: _new("cbc:UUID", "0c1a"), after=CBC + "ID")
    yield "forbidden", _insert(None, lambda: _new("cbc:ResponseDate", "2026-01-01"), after=CBC + "IssueDate")
    yield "forbidden", _insert(None, lambda: _new("cbc:VersionID", "1"), after=CBC + "Note")

    def extensions() -> etree._Element:
        ext = _new("ext:UBLExtensions")
        inner = etree.SubElement(ext, "{{{}}}UBLExtension".format(NS["ext"]))
        etree.SubElement(inner, "{{{}}}ExtensionContent".format(NS["ext"])).append(_new("cbc:Note", "x"))
        return ext
    yield "forbidden", _insert(None, extensions, index=0)

    def signature() -> etree._Element:
        sig = _new("cac:Signature")
        etree.SubElement(sig, CBC + "ID").text = "sig"
        return sig
    yield "forbidden", _insert(None, signature, after=CBC + "ID")
    yield "forbidden", _insert(CAC + "Response", lambda: _new("cbc:Description", "why"), index=1)
    yield "forbidden", _insert(CAC + "Response", lambda: _new("cbc:ReferenceID", "r"), index=0)
    yield "forbidden", _insert(CAC + "Status", lambda: _new("cbc:Description", "why"), index=0)
    yield "forbidden", _insert(CAC + "Status", lambda: _new("cbc:ConditionCode", "c"), index=0)
    yield "forbidden", _insert(CAC + "ReceiverParty", lambda: _new("cac:Contact"))
    yield "forbidden", _insert(CAC + "Contact", lambda: _new("cbc:Telefax", "1"), after=CBC + "Telephone")
    yield "forbidden", _insert(CAC + "Contact", lambda: _new("cbc:ID", "1"), index=0)
    yield "forbidden", _insert(CAC + "PartyLegalEntity", lambda: _new("cbc:CompanyID", "1"))
    yield "forbidden", _insert(".//cac:ReceiverParty/cac:PartyLegalEntity", lambda: _new("cbc:CompanyID", "1"))
    yield "forbidden", _insert(CAC + "SenderParty", lambda: _new("cbc:WebsiteURI", "http://x"), index=0)

    def party_name() -> etree._Element:
        pn = _new("cac:PartyName")
        etree.SubElement(pn, CBC + "Name").text = "n"
        return pn
    yield "forbidden", _insert(CAC + "SenderParty", party_name, after=CAC + "PartyIdentification")
    yield "forbidden", _insert(CAC + "PartyIdentification", lambda: _new("cbc:Name", "n"))
    yield "forbidden", _insert(CAC + "PartyName", lambda: _new("cbc:ID", "n"))

    def line_response() -> etree._Element:
        lr = _new("cac:LineResponse")
        ref = etree.SubElement(lr, CAC + "LineReference")
        etree.SubElement(ref, CBC + "LineID").text = "1"
        resp = etree.SubElement(lr, CAC + "Response")
        etree.SubElement(resp, CBC + "Description").text = "d"
        st = etree.SubElement(resp, CAC + "Status")
        etree.SubElement(st, CBC + "StatusReasonCode").text = "BV"
        return lr
    yield "forbidden", _insert(CAC + "DocumentResponse", line_response)
    yield "forbidden", _insert(CAC + "DocumentReference", lambda: _new("cbc:UUID", "u"), after=CBC + "ID")
    yield "forbidden", _insert(CAC + "DocumentReference", lambda: _new("cbc:DocumentType", "t"))
    yield "forbidden", _insert(CAC + "IssuerParty", lambda: _new("cbc:EndpointID", "5790000435951",
                                                               schemeID="0088"), index=0)
    yield "forbidden", _insert(CAC + "Condition", lambda: _new("cbc:Measure", "1", unitCode="C62"))
    yield "forbidden", _insert(CAC + "RecipientParty", lambda: _new("cac:Contact"))
    yield "forbidden", _insert(CAC + "DocumentResponse", lambda: _new("cbc:Note", "n"), index=0)
    yield "forbidden", _insert(CAC + "LineReference", lambda: _new("cbc:UUID", "u"))
    yield "forbidden", _insert(".//cac:LineResponse/cac:Response", lambda: _new("cbc:EffectiveDate", "2026-01-01"),
                               after=CBC + "Description")
    yield "forbidden", _insert(None, lambda: _new("cbc:Note", "second note"), after=CBC + "Note")


def _attributes() -> Iterator[tuple[str, Mutation]]:
    xsi = "{{{}}}".format(NS["xsi"])
    yield "attr", _set_attr(NS_ROOT, xsi + "schemaLocation", "urn:x ApplicationResponse.xsd")
    yield "attr", _set_attr(NS_ROOT, "schemaLocation", "x")
    yield "attr", _set_attr(CBC + "Note", "languageID", "en")
    yield "attr", _set_attr(CBC + "Note", "languageID", "e_n")
    yield "attr", _set_attr(CBC + "Note", "languageID", " nb-NO ")
    yield "attr", _set_attr(CBC + "Note", "foo", "1")
    yield "attr", _set_attr(CBC + "ID", "schemeAgencyID", "9")
    yield "attr", _set_attr(CBC + "ResponseCode", "listID", "UNCL4343OpSubset")
    yield "attr", _set_attr(CBC + "ResponseCode", "listAgencyID", "6")
    yield "attr", _set_attr(CBC + "IssueDate", "format", "x")
    yield "attr", _set_attr(CBC + "CustomizationID", xsi + "type", "cbc:CustomizationIDType")
    yield "attr", _set_attr(CBC + "Note", xsi + "nil", "true")


NS_ROOT = "{{{}}}ApplicationResponse".format(NS["ubl"])


def systematic(xml: str | bytes) -> Iterator[tuple[str, bytes]]:
    """Every systematic mutation of one base document that applies to it."""
    base = parse(xml)
    for _kind, mutation in (*_structural(base), *_value_mutations()):
        root = copy.deepcopy(base)
        label = mutation(root)
        if label is not None:
            yield label, dump(root)


def _mutations_for(root: etree._Element) -> list[Mutation]:
    return [m for _k, m in (*_structural(root), *_value_mutations())]


def random_mutants(xml: str | bytes, count: int, seed: int = 0) -> Iterator[tuple[str, bytes]]:
    """``count`` documents, each with two to four random mutations applied in turn (reproducible)."""
    rng = random.Random(seed)
    base = parse(xml)
    for _ in range(count):
        root = copy.deepcopy(base)
        labels = []
        for _step in range(rng.randint(2, 4)):
            candidates = _mutations_for(root)
            label = rng.choice(candidates)(root)
            if label:
                labels.append(label)
        yield "; ".join(labels) or "unchanged", dump(root)


def wrap_sbdh(xml: bytes) -> bytes:
    """The document as the payload of a minimal Standard Business Document."""
    body = xml.split(b"?>", 1)[1] if xml.startswith(b"<?xml") else xml
    return (b'<?xml version="1.0" encoding="UTF-8"?>\n'
            b'<StandardBusinessDocument xmlns="http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader">'
            b"<StandardBusinessDocumentHeader><HeaderVersion>1.0</HeaderVersion></StandardBusinessDocumentHeader>"
            + body.strip() + b"</StandardBusinessDocument>")


def official_bases(conformance: Path | None) -> dict[str, bytes]:
    """The official examples, when the conformance folder is available."""
    if conformance is None or not (conformance / "examples").is_dir():
        return {}
    return {p.name: p.read_bytes() for p in sorted((conformance / "examples").glob("*.xml"))}


def corpus(size: int | None = None, *, seed: int = 0, conformance: Path | None = None) -> list[tuple[str, bytes]]:
    """Base documents, all their systematic mutants, and random mutants up to ``size`` documents in all."""
    bases: dict[str, bytes] = {name: text.encode() for name, text in BASES.items()}
    bases.update(official_bases(conformance))
    docs: list[tuple[str, bytes]] = [(name, xml) for name, xml in bases.items()]
    for name, xml in bases.items():
        docs.extend((f"{name}: {label}", mutant) for label, mutant in systematic(xml))
    if size is not None and len(docs) < size:
        names = sorted(bases)
        rng = random.Random(seed)
        while len(docs) < size:
            name = rng.choice(names)
            docs.extend((f"{name}: {label}", m) for label, m in
                        random_mutants(bases[name], min(50, size - len(docs)), rng.randrange(1 << 30)))
    return docs[:size] if size is not None else docs
