"""The status tracker: every invoice's status and history, matched responses, events and webhooks.

::

    from peppol_response.tracker import Tracker, NewInvoice
    tracker = Tracker("sqlite:///responses.db")          # or postgresql+psycopg://...
    tracker.record_invoice(seller="0088:7300010000001", buyer="0088:7300010000002",
                           invoice_id="INV-1", issue_date=date(2026, 3, 1), amount="1250.00", currency="EUR")
    result = tracker.ingest(xml_bytes)                    # -> IngestResult(outcome, mark, rule, previous, current)
    tracker.status(InvoiceKey("0088:7300010000001", "0088:7300010000002", "INV-1")).history

See ``docs/tracker.md``.
"""

from __future__ import annotations

from .calendar import WorkingCalendar
from .core import DEFAULT_URL, Tracker, content_hash
from .records import (
    Event,
    HistoryEntry,
    IngestResult,
    InvoiceKey,
    InvoiceRecord,
    InvoiceStatus,
    Mark,
    NewInvoice,
    Outcome,
    OverdueInvoice,
    TransportAttempt,
    TransportEvidence,
)
from .transport import TransportState
from .webhooks import SeenIds, WebhookDispatcher, WebhookMessage, WebhookVerifier

__all__ = [
    "DEFAULT_URL",
    "Event",
    "HistoryEntry",
    "IngestResult",
    "InvoiceKey",
    "InvoiceRecord",
    "InvoiceStatus",
    "Mark",
    "NewInvoice",
    "Outcome",
    "OverdueInvoice",
    "SeenIds",
    "Tracker",
    "TransportAttempt",
    "TransportEvidence",
    "TransportState",
    "WebhookDispatcher",
    "WebhookMessage",
    "WebhookVerifier",
    "WorkingCalendar",
    "content_hash",
]
