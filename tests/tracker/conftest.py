"""Fixtures for the tracker tests: the same tests run on SQLite and on PostgreSQL (``store_url``, in
``tests/conftest.py``)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator

import pytest

from peppol_response.codes import DocumentTypeCode, ResponseCode, StatusReason
from peppol_response.model import (
    Clarification,
    DocumentReference,
    EndpointId,
    InvoiceResponse,
    Party,
    PartyId,
    ReferencedParty,
)
from peppol_response.tracker import Tracker

SELLER = "0088:7300010000001"
BUYER = "0088:7300010000002"

_counter = itertools.count()


@pytest.fixture
def tracker(store_url: str) -> Iterator[Tracker]:
    t = Tracker(store_url)
    try:
        yield t
    finally:
        t.close()


def unique(prefix: str = "INV") -> str:
    return f"{prefix}-{next(_counter)}"


def endpoint(text: str) -> EndpointId:
    return EndpointId.parse(text)


def response(
    rid: str,
    code: str,
    *,
    doc: str = "INV-1",
    day: dt.date = dt.date(2026, 3, 2),
    time: dt.time | None = None,
    partial: bool = False,
    seller: str = SELLER,
    buyer: str = BUYER,
    type_code: str = "380",
    doc_date: dt.date | None = None,
    self_billing: bool = False,
    recipient_id: PartyId | None = None,
    note: str | None = None,
) -> InvoiceResponse:
    """A valid response from the buyer to the seller (roles swapped with ``self_billing``)."""
    if partial:
        clar: tuple[Clarification, ...] = (Clarification(StatusReason.PPD, "paid 50.00"),)
    elif code in ("UQ", "CA", "RE"):
        clar = (Clarification(StatusReason.REF, "PO missing"),)
    else:
        clar = ()
    sender, receiver = (seller, buyer) if self_billing else (buyer, seller)
    return InvoiceResponse(
        id=rid,
        issue_date=day,
        issue_time=time,
        sender=Party(endpoint(sender), "Sender Ltd"),
        receiver=Party(endpoint(receiver), "Receiver Ltd"),
        code=ResponseCode(code),
        document=DocumentReference(doc, DocumentTypeCode(type_code), doc_date),
        clarifications=clar,
        note=note,
        recipient_party=None if recipient_id is None else ReferencedParty("Buyer A", recipient_id),
    ).check()
