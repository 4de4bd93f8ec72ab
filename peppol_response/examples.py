"""The example documents shipped in ``examples/``: which they are and how the responses are made.

``examples/invoices/`` holds four BIS Billing 3 documents written for this project (a 380 invoice, a
381 credit note, a 389 self-billed invoice and an invoice under Billing with Response).
``examples/responses/`` holds Invoice Responses to them, one per status code and a few more (partial
payment, self-billing, a service provider answering for the buyer, Billing with Response, a credit
note). The responses are *generated*: :func:`example_responses` builds each one with :mod:`.reply`
from fixed dates and ids, and a test checks that the committed files equal what it builds, so they
never drift from the builder. Regenerate them after a deliberate change with::

    python -m peppol_response.examples examples/responses
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from .codes import StatusAction, StatusReason
from .invoice import InvoiceSummary, read_invoice
from .model import Contact, EndpointId, InvoiceResponse, Party, PartyId
from .reply import accept, acknowledge, conditionally_accept, in_process, paid, query, reject
from .resources import data_path

__all__ = ["EXAMPLE_INVOICES", "ExampleResponse", "example_invoice", "example_responses", "write_responses"]

EXAMPLE_INVOICES: Final = {
    "invoice": "invoice-380.xml",
    "credit-note": "credit-note-381.xml",
    "self-billed": "self-billed-389.xml",
    "billing-with-response": "invoice-billing-with-response.xml",
}
"""Short name -> file in ``examples/invoices/``."""

_TZ: Final = dt.timezone(dt.timedelta(hours=1))
_BUYER_CONTACT: Final = Contact("Mats Fjellheim", "+47 55 20 31 00", "innkjop@fjellheim-logistikk.example")
_SERVICE_PROVIDER: Final = Party(
    EndpointId("0192", "931782401"), "Fakturaflyt Tjenester AS", PartyId("931782401", "0192")
)


def example_invoice(name: str) -> bytes:
    """The bytes of an example invoice by short name (see :data:`EXAMPLE_INVOICES`) or file name."""
    return data_path("examples", "invoices", EXAMPLE_INVOICES.get(name, name)).read_bytes()


@dataclass(frozen=True, slots=True)
class ExampleResponse:
    """One example: its file name, the invoice it answers, what it shows, and the response."""

    file_name: str
    invoice: str
    description: str
    response: InvoiceResponse


def _when(day: int, month: int = 3, hour: int = 9, minute: int = 0) -> dict[str, Any]:
    return {"issued_on": dt.date(2026, month, day), "issue_time": dt.time(hour, minute, tzinfo=_TZ)}


def _specs(inv: Callable[[str], InvoiceSummary]) -> list[tuple[str, str, str, Callable[[], InvoiceResponse]]]:
    invoice = inv("invoice")
    return [
        ("AB-acknowledged.xml", "invoice", "AB: the buyer received a readable invoice and handed it to processing",
         lambda: acknowledge(invoice, response_id="IR-NKU-2026-0117-1", **_when(2, hour=14, minute=5))),
        ("IP-in-process.xml", "invoice", "IP: processing started; the buyer's own reference is given as a detail",
         lambda: in_process(invoice, response_id="IR-NKU-2026-0117-2", effective_date=dt.date(2026, 3, 3),
                            actions=[(StatusAction.NOA, None, [("Buyer process reference", "FL-2026-0881")])],
                            **_when(3))),
        ("UQ-under-query.xml", "invoice", "UQ: the order reference is wrong; the buyer proposes the right one",
         lambda: query(invoice, response_id="IR-NKU-2026-0117-3",
                       reasons=[(StatusReason.REF, "The order reference does not match our purchase order.",
                                 [("BT-13", "PO-2026-0414")])],
                       actions=[(StatusAction.PIN, "Confirm the order reference; no new invoice is needed.")],
                       contact=_BUYER_CONTACT, **_when(4, hour=10, minute=30))),
        ("CA-conditionally-accepted.xml", "invoice", "CA: accepted with the agreed later due date",
         lambda: conditionally_accept(invoice, response_id="IR-NKU-2026-0117-4",
                                      reasons=[(StatusReason.PAY, "Payment terms are 45 days as agreed in the "
                                                "framework contract.")],
                                      conditions=[("BT-9", "2026-04-16")], **_when(5, hour=11))),
        ("RE-rejected.xml", "invoice", "RE: the invoice is rejected; a new one is asked for",
         lambda: reject(invoice, response_id="IR-NKU-2026-0117-5",
                        reasons=[(StatusReason.QTY, "We received 8 chairs, not 10.")],
                        actions=[StatusAction.NIN], note="See the delivery note of 2026-02-26.",
                        contact=_BUYER_CONTACT, **_when(5, hour=15, minute=45))),
        ("AP-accepted.xml", "invoice", "AP: final approval; payment is next",
         lambda: accept(invoice, response_id="IR-NKU-2026-0117-6", **_when(9, hour=8, minute=15))),
        ("PD-partially-paid.xml", "invoice", "PD with PPD: part of the amount was paid",
         lambda: paid(invoice, "36156.25", response_id="IR-NKU-2026-0117-7", effective_date=dt.date(2026, 3, 20),
                      **_when(20, hour=12))),
        ("PD-paid.xml", "invoice", "PD: the (rest of the) amount was paid; final",
         lambda: paid(invoice, response_id="IR-NKU-2026-0117-8", effective_date=dt.date(2026, 4, 1),
                      **_when(1, month=4, hour=12))),
        ("AP-on-behalf-of-buyer.xml", "invoice", "AP sent by a service provider for the buyer (use case 8)",
         lambda: accept(invoice, response_id="IR-NKU-2026-0117-SP", sender=_SERVICE_PROVIDER,
                        **_when(9, hour=8, minute=20))),
        ("AP-credit-note.xml", "credit-note", "AP to a credit note (381)",
         lambda: accept(inv("credit-note"), response_id="IR-NKU-2026-0131-K-1", **_when(10))),
        ("RE-self-billed.xml", "self-billed", "RE from the seller to the buyer who issued a self-billed invoice",
         lambda: reject(inv("self-billed"), response_id="IR-FL-SB-2026-0042-1",
                        reasons=[(StatusReason.PRI, "The rate per trip is 8 950 NOK from March.",
                                  [("BT-146", "8950.00")])],
                        actions=[StatusAction.CNP], **_when(2, month=4, hour=9, minute=40))),
        ("AB-billing-with-response.xml", "billing-with-response",
         "AB to an invoice under Billing with Response (response ProfileID urn:peppol:bis:billing_with_response)",
         lambda: acknowledge(inv("billing-with-response"), response_id="IR-NKU-2026-0158-1",
                             **_when(16, hour=16, minute=2))),
    ]


def example_responses() -> list[ExampleResponse]:
    """Build every example response from the shipped example invoices, in a fixed order."""
    cache: dict[str, InvoiceSummary] = {}

    def inv(name: str) -> InvoiceSummary:
        if name not in cache:
            cache[name] = read_invoice(example_invoice(name))
        return cache[name]

    return [ExampleResponse(f, i, d, make()) for f, i, d, make in _specs(inv)]


def write_responses(folder: Path) -> list[Path]:
    """Write every example response into ``folder`` (created if needed); return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for example in example_responses():
        path = folder / example.file_name
        path.write_bytes(example.response.to_xml())
        written.append(path)
    return written


def _main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m peppol_response.examples FOLDER", file=sys.stderr)
        return 2
    for path in write_responses(Path(argv[0])):
        print(path)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_main(sys.argv[1:]))
