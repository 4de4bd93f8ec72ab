"""Serializer and parser: official examples round-trip, errors name line and path."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from peppol_response import ParseError, ResponseCode, parse, serialize
from peppol_response.binding import BINDING

from .conftest import official_invoice_response_examples


def canonical(data: bytes) -> bytes:
    """Exclusive c14n without comments and without whitespace-only text between elements."""
    root = etree.fromstring(data, etree.XMLParser(remove_comments=True))
    for el in root.iter():
        if el.text is not None and len(el) and not el.text.strip():
            el.text = None
        if el.tail is not None and not el.tail.strip():
            el.tail = None
    return etree.tostring(root, method="c14n", exclusive=True, with_comments=False)


@pytest.mark.conformance
@pytest.mark.parametrize("path", official_invoice_response_examples(), ids=lambda p: p.name)
def test_official_example_round_trips(path: Path) -> None:
    data = path.read_bytes()
    assert canonical(serialize(parse(data))) == canonical(data)


def test_serializer_follows_binding_order() -> None:
    example = Path(__file__).parent.parent / "examples"
    del example
    # Every aggregate's children appear in the binding's order.
    import datetime as dt

    from peppol_response.codes import StatusReason
    from peppol_response.model import (
        Clarification,
        Condition,
        Contact,
        DocumentReference,
        EndpointId,
        InvoiceResponse,
        Party,
        PartyId,
        ReferencedParty,
    )

    full = InvoiceResponse(
        id="R1",
        issue_date=dt.date(2026, 1, 2),
        issue_time=dt.time(10, 0),
        note="n",
        sender=Party(EndpointId("0088", "7300010000001"), "Buyer", PartyId("1", "0088"), Contact("a", "b", "c")),
        receiver=Party(EndpointId("0088", "7300010000001"), "Seller", PartyId("2")),
        code=ResponseCode.RE,
        effective_date=dt.date(2026, 1, 2),
        clarifications=(Clarification(StatusReason.REF, "why", (Condition("BT-13", "PO1"),)),),
        document=DocumentReference("INV-1", "380", dt.date(2026, 1, 1)),
        issuer_party=ReferencedParty("Seller", PartyId("3")),
        recipient_party=ReferencedParty("Buyer", PartyId("4")),
    )
    root = etree.fromstring(serialize(full))

    def check(el: etree._Element, spec: object) -> None:
        from peppol_response.binding import Element

        assert isinstance(spec, Element)
        order = [c.clark for c in spec.children]
        seen = [c.tag for c in el]
        assert seen == [t for t in order if t in seen], f"order under {spec.tag}"
        for child in el:
            check(child, next(c for c in spec.children if c.clark == child.tag))

    check(root, BINDING)


def test_parse_error_names_line_and_path() -> None:
    bad = b"""<?xml version="1.0"?>
<ApplicationResponse xmlns="urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:CustomizationID>urn:fdc:peppol.eu:poacc:trns:invoice_response:3</cbc:CustomizationID>
  <cbc:UBLVersionID>2.1</cbc:UBLVersionID>
</ApplicationResponse>"""
    with pytest.raises(ParseError) as info:
        parse(bad)
    assert info.value.line == 5
    assert info.value.path == "/ubl:ApplicationResponse[1]/cbc:UBLVersionID[1]"
