"""What the tracker returns: invoices, history entries, statuses, ingest results, events (frozen)."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..codes import ResponseCode
from ..errors import RemoteOrderError
from ..process import State
from .transport import TransportState

__all__ = [
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
    "TransportAttempt",
    "TransportEvidence",
]


class Mark(enum.StrEnum):
    """How a stored response counts (see :mod:`peppol_response.tracker.history`)."""

    ACCEPTED = "accepted"
    """Counted: it moved (or would have moved) the status in issue order."""
    IGNORED = "ignored"
    """Refused by the order rules; ``rule`` names which (OP-BR111-R004/R005/R012)."""
    CONFLICT = "conflict"
    """Same sender and response ID as an earlier, different document; kept, never counted."""
    ORPHAN = "orphan"
    """No recorded invoice matches it (yet); attached when the invoice is recorded."""


class Outcome(enum.StrEnum):
    """What ingesting one response did."""

    STORED = "stored"
    """New response, attached to its invoice (its mark says whether it counted)."""
    ORPHAN = "orphan"
    """New response, no invoice matches yet."""
    DUPLICATE = "duplicate"
    """Already stored (same sender, ID and content): nothing changed."""
    CONFLICT = "conflict"
    """Same sender and ID as a stored response but different content: kept, marked, not counted."""


@dataclass(frozen=True, slots=True)
class InvoiceKey:
    """How an invoice is named: (seller, buyer, invoice id, type code, issue date).

    Endpoints are ``scheme:value`` (``0088:7300010000001``), compared case-insensitively.
    ``issue_date`` may be left out when the other four fields name exactly one invoice.
    """

    seller: str
    buyer: str
    invoice_id: str
    type_code: str = "380"
    issue_date: dt.date | None = None


@dataclass(frozen=True, slots=True)
class NewInvoice:
    """An invoice to record: who, which, how much, and how it travelled.

    ``seller``/``buyer`` are the Peppol endpoints (``scheme:value``). ``seller_aliases``/``buyer_aliases``
    are other identifiers of the same parties (legal or VAT ids, ``0192:987654321``) that a response sent
    on a party's behalf may use in ``IssuerParty``/``RecipientParty``. ``direction`` is ``outbound`` when
    we issued the invoice (responses come to us) and ``inbound`` when we received it (we send responses).
    """

    seller: str
    buyer: str
    invoice_id: str
    issue_date: dt.date
    type_code: str = "380"
    amount: Decimal | str | None = None
    currency: str | None = None
    due_date: dt.date | None = None
    seller_name: str | None = None
    buyer_name: str | None = None
    seller_aliases: tuple[str, ...] = ()
    buyer_aliases: tuple[str, ...] = ()
    direction: str = "outbound"
    transport_state: TransportState | str | None = None
    as4_message_id: str | None = None
    sbdh_instance_id: str | None = None
    delivered_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class OverdueInvoice:
    """An invoice that waits too long: no first response (OP-BR111-R006) or stuck under query."""

    invoice: InvoiceRecord
    reason: str
    """``no-response`` or ``stuck-in-uq``."""
    rule: str | None
    """OP-BR111-R006 for a missing first response; None for a long query (a business choice, no rule)."""
    due: dt.date | dt.datetime
    """The last day the first response was on time, or when the query became too long."""

    def to_dict(self) -> dict[str, Any]:
        return {"invoice": self.invoice.to_dict(), "reason": self.reason, "rule": self.rule, "due": _iso(self.due)}


@dataclass(frozen=True, slots=True)
class TransportEvidence:
    """How a message travelled: the ids and times needed to answer "we never received it".

    ``as4_message_id`` is the ebMS MessageId of the AS4 UserMessage, ``sbdh_instance_id`` the SBDH
    ``InstanceIdentifier``, ``sender_ap`` the sending access point's seat id (from its certificate),
    ``received_at`` when our access point received it (UTC).
    """

    as4_message_id: str | None = None
    sbdh_instance_id: str | None = None
    received_at: dt.datetime | None = None
    sender_ap: str | None = None


@dataclass(frozen=True, slots=True)
class InvoiceRecord:
    """An invoice as the tracker knows it, with its current business status and transport state."""

    pk: int
    direction: str
    seller: str
    buyer: str
    invoice_id: str
    type_code: str
    issue_date: dt.date
    amount: Decimal | None
    currency: str | None
    due_date: dt.date | None
    seller_name: str | None
    buyer_name: str | None
    status: State | None
    status_since: dt.datetime | None
    first_response_at: dt.datetime | None
    transport_state: TransportState | None
    transport_at: dt.datetime | None
    as4_message_id: str | None
    sbdh_instance_id: str | None
    delivered_at: dt.datetime | None
    recorded_at: dt.datetime

    @property
    def key(self) -> InvoiceKey:
        return InvoiceKey(self.seller, self.buyer, self.invoice_id, self.type_code, self.issue_date)

    @property
    def code(self) -> ResponseCode | None:
        """The current status code (PD for both partial and full payment)."""
        return None if self.status is None else self.status.code

    @property
    def is_final(self) -> bool:
        """RE or full PD: no further response is expected (stop polling)."""
        return self.status is not None and self.status.is_final

    def to_dict(self) -> dict[str, Any]:
        return {
            "pk": self.pk, "direction": self.direction, "seller": self.seller, "buyer": self.buyer,
            "invoice_id": self.invoice_id, "type_code": self.type_code, "issue_date": _iso(self.issue_date),
            "amount": None if self.amount is None else str(self.amount), "currency": self.currency,
            "due_date": _iso(self.due_date), "status": None if self.status is None else self.status.value,
            "status_since": _iso(self.status_since), "first_response_at": _iso(self.first_response_at),
            "transport_state": None if self.transport_state is None else self.transport_state.value,
            "transport_at": _iso(self.transport_at), "as4_message_id": self.as4_message_id,
            "sbdh_instance_id": self.sbdh_instance_id, "delivered_at": _iso(self.delivered_at),
            "recorded_at": _iso(self.recorded_at),
        }


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One stored response: what it said, when, how it travelled, and how it counted."""

    pk: int
    direction: str
    response_id: str
    sender: str
    receiver: str
    state: State
    issue_date: dt.date
    issue_time: str | None
    issued_at: dt.datetime
    effective_date: dt.date | None
    clarifications: tuple[dict[str, Any], ...]
    note: str | None
    mark: Mark
    rule: str | None
    stale: bool
    received_at: dt.datetime
    evidence: TransportEvidence
    transport_state: TransportState | None
    content_hash: str

    @property
    def code(self) -> ResponseCode:
        return self.state.code

    @property
    def counted(self) -> bool:
        return self.mark is Mark.ACCEPTED

    def to_dict(self) -> dict[str, Any]:
        return {
            "pk": self.pk, "direction": self.direction, "response_id": self.response_id, "sender": self.sender,
            "receiver": self.receiver, "status": self.state.value, "issue_date": _iso(self.issue_date),
            "issue_time": self.issue_time, "issued_at": _iso(self.issued_at),
            "effective_date": _iso(self.effective_date), "clarifications": list(self.clarifications),
            "note": self.note, "mark": self.mark.value, "rule": self.rule, "stale": self.stale,
            "received_at": _iso(self.received_at),
            "as4_message_id": self.evidence.as4_message_id, "sbdh_instance_id": self.evidence.sbdh_instance_id,
            "sender_ap": self.evidence.sender_ap,
            "transport_state": None if self.transport_state is None else self.transport_state.value,
            "content_hash": self.content_hash,
        }


@dataclass(frozen=True, slots=True)
class TransportAttempt:
    """One attempt to deliver a message we sent (an invoice, or a response on the buyer's side): one POST
    of its AS4 message and what came back, as the sender reported it.

    ``response_pk`` is None when the message was the invoice itself; otherwise it names the response we
    sent (``invoice_pk`` is then the invoice it answers, None while it matches no invoice). ``outcome`` is
    the sender's verdict on this attempt (:class:`peppol_response.as4.sender.AttemptOutcome` values):
    ``receipted`` (a verified receipt), ``retryable`` (no verdict: timeout, reset, 5xx, HTML; the same
    bytes go again), ``refused`` (an ebMS error, or a receipt that does not verify) or ``failed`` (a local
    failure no retry helps).
    """

    pk: int
    invoice_pk: int | None
    response_pk: int | None
    message_id: str
    """The AS4 MessageId: the same on every retry of one message."""
    number: int
    """1 for the first POST of the message, 2 for the first retry, ..."""
    started_at: dt.datetime
    duration: float | None
    """Seconds."""
    url: str
    http_status: int | None
    outcome: str
    error_code: str | None
    """The ebMS error code (``EBMS:0004`` ...) of a refusal."""
    error_detail: str | None
    """The ebMS ErrorDetail (``PEPPOL:NOT_SERVICED`` ...)."""
    error: str | None
    receipt_message_id: str | None
    """The MessageId of the receipt that came back."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "pk": self.pk, "invoice_pk": self.invoice_pk, "response_pk": self.response_pk,
            "message_id": self.message_id, "number": self.number, "started_at": _iso(self.started_at),
            "duration": self.duration, "url": self.url, "http_status": self.http_status, "outcome": self.outcome,
            "error_code": self.error_code, "error_detail": self.error_detail, "error": self.error,
            "receipt_message_id": self.receipt_message_id,
        }


@dataclass(frozen=True, slots=True)
class InvoiceStatus:
    """An invoice's current status and its full history (every response, in issue order).

    ``transport`` holds every attempt to deliver the invoice (when we sent it) and the responses we sent
    for it, in the order they were made (:meth:`~peppol_response.tracker.Tracker.attempt_recorder`).
    """

    invoice: InvoiceRecord
    history: tuple[HistoryEntry, ...]
    transport: tuple[TransportAttempt, ...] = ()

    @property
    def state(self) -> State | None:
        return self.invoice.status

    @property
    def since(self) -> dt.datetime | None:
        return self.invoice.status_since

    @property
    def current(self) -> HistoryEntry | None:
        """The accepted response that set the current status."""
        counted = [h for h in self.history if h.counted]
        return counted[-1] if counted else None

    def to_dict(self) -> dict[str, Any]:
        return {"invoice": self.invoice.to_dict(), "history": [h.to_dict() for h in self.history],
                "transport": [a.to_dict() for a in self.transport]}


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What ingesting one response did. ``previous``/``current`` are the invoice's status around it."""

    outcome: Outcome
    response_pk: int
    invoice_pk: int | None
    state: State
    """The status the response carries."""
    mark: Mark
    rule: str | None = None
    stale: bool = False
    previous: State | None = None
    current: State | None = None
    message: str | None = field(default=None, compare=False)

    @property
    def changed(self) -> bool:
        return self.previous != self.current

    @property
    def error(self) -> RemoteOrderError | None:
        """For an ignored response, the peer's breach as a :class:`RemoteOrderError` (not raised)."""
        if self.mark is not Mark.IGNORED or self.rule is None:
            return None
        return RemoteOrderError(self.message or "the sender broke the status order", rule=self.rule,
                                current=None if self.current is None else self.current.value,
                                attempted=self.state.value)


@dataclass(frozen=True, slots=True)
class Event:
    """Something the tracker announces (to subscribers and webhooks), written with the change itself.

    Kinds: ``status.changed`` (``previous`` -> ``current``), ``response.ignored`` (``rule``),
    ``response.orphaned``, ``response.conflict``, ``transport.changed``.
    """

    id: int
    kind: str
    created_at: dt.datetime
    invoice_pk: int | None
    response_pk: int | None
    previous: str | None
    current: str | None
    rule: str | None
    payload: dict[str, Any]


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()
