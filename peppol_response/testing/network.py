"""A complete local Peppol network on loopback, for chain tests and the demo.

::

    with LocalNetwork() as net:                          # a few seconds with cached test keys
        sent = net.seller.send_invoice(to=net.buyer)     # C1 -> C2 == AS4 ==> C3 -> C4
        net.buyer.reply(sent, "AB")                      # C4 -> C3 == AS4 ==> C2 -> C1's tracker
        net.buyer.reply(sent, "PD", amount="500.00")     # a partial payment (PD + PPD)
        net.seller.status(sent).state                    # State.PD_PARTIAL, with the full history

What :class:`LocalNetwork` starts, all on 127.0.0.1 with free ports, nothing stubbed:

* a **test PKI** shaped like Peppol's G3 (:func:`~peppol_response.testing.pki.create_test_pki`; RSA keys cached
  on disk so a start takes seconds), with a TLS CA for the HTTPS servers;
* a **DNS responder** that answers NAPTR queries for an SML zone of our own, and an **SMP over HTTPS**
  publishing signed ServiceMetadata: each participant's SMP is found as in production (U-NAPTR -> SMP
  -> endpoint URL + certificate, signatures and certificates checked);
* **two access points**: each a real AS4 receiver (Starlette under uvicorn, HTTPS) with its own durable
  inbound store, seat id (certificate), trust in the test PKI and delivery worker, and a sender that finds
  its peers through that discovery;
* **participants**: by default a seller (C1) at the first access point, registered for Invoice Responses, a
  buyer (C4) at the second, registered for BIS Billing invoices and credit notes, and a second seller that
  is *not* registered for Invoice Responses (to show the NotServiced pre-flight outcome). Each has its own
  tracker (SQLite in the work directory, or a PostgreSQL URL) and inbox folder.

Messages travel for real: the seller's invoice is recorded in its tracker, wrapped in its SBDH, signed,
compressed and encrypted, POSTed over TLS to the buyer's access point, receipted, stored, delivered to the
buyer (recorded in the buyer's tracker as received). The buyer's responses are checked against its tracker
(:meth:`~peppol_response.tracker.Tracker.can_send`, forced sends possible for negative tests), built with
:func:`~peppol_response.reply.reply_to`, validated, sent back the same way and ingested into the seller's
tracker by the receiving access point's delivery handler
(:class:`~peppol_response.server.InboxHandler`), with the AS4 MessageId, SBDH InstanceIdentifier and the
sending access point's seat as transport evidence. Each side's sender reports every attempt to that side's
tracker as it happens (:meth:`~peppol_response.tracker.Tracker.attempt_recorder`): the transport history of
the invoice and of each response.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Literal

from ..as4.core import As4Endpoint, seat_of
from ..as4.receiver import As4Receiver, InboundMessage, ReceiverSettings
from ..as4.sender import Attempt, RequestsTransport, RetryPolicy, Sender, SendResult, Target, Timeouts, as4_identity
from ..as4.store import InboundStore
from ..codes import ResponseCode
from ..errors import ConfigError, NetworkError, NotServicedError, SendError
from ..identifiers import (
    BILLING_CREDIT_NOTE,
    BILLING_INVOICE,
    BILLING_PROCESS,
    BILLING_WITH_RESPONSE_PROCESS,
    INVOICE_RESPONSE,
    INVOICE_RESPONSE_PROCESS,
    DocumentTypeId,
    ParticipantId,
    ProcessId,
)
from ..invoice import InvoiceSummary, read_invoice
from ..model import InvoiceResponse
from ..process import State
from ..reply import ActionSpec, ReasonSpec, paid, reply_to
from ..sbdh import SbdhHeader
from ..server import InboxHandler, create_app
from ..smp import NaptrLocator, SmpDiscovery
from ..tracker import HistoryEntry, IngestResult, InvoiceKey, InvoiceRecord, InvoiceStatus, Tracker
from .invoices import TradeParty, from_example, make_invoice
from .loopback import LoopbackServer
from .pki import KeyCache, TestPki, create_test_pki
from .smp_server import LocalDns, LocalSmp

__all__ = [
    "BILLING_SERVICES",
    "BUYER",
    "INVOICE_RESPONSE_SERVICES",
    "SELLER",
    "SELLER_WITHOUT_RESPONSES",
    "ZONE",
    "AccessPoint",
    "AccessPointSpec",
    "Delivery",
    "LocalNetwork",
    "Participant",
    "ParticipantSpec",
    "SentInvoice",
    "SentResponse",
    "default_key_cache",
    "default_participants",
]

ZONE: Final = "participant.sml.peppol-response.test"
"""The SML zone of the local network (our own, so nothing can leak to the real SML)."""

Service = tuple[DocumentTypeId, ProcessId]

INVOICE_RESPONSE_SERVICES: Final[tuple[Service, ...]] = (
    (INVOICE_RESPONSE, INVOICE_RESPONSE_PROCESS),
    (INVOICE_RESPONSE, BILLING_WITH_RESPONSE_PROCESS),
)
"""What a seller registers to receive Invoice Responses: in their own process and in Billing with Response."""

BILLING_SERVICES: Final[tuple[Service, ...]] = (
    (BILLING_INVOICE, BILLING_PROCESS),
    (BILLING_CREDIT_NOTE, BILLING_PROCESS),
    (BILLING_INVOICE, BILLING_WITH_RESPONSE_PROCESS),
    (BILLING_CREDIT_NOTE, BILLING_WITH_RESPONSE_PROCESS),
)
"""What a buyer registers to receive BIS Billing 3 invoices and credit notes (plain and with response)."""

SELLER: Final = TradeParty("0192:924681357", "Nordlys Kontorutstyr AS", vat_id="NO924681357MVA",
                           street="Sandakerveien 64", city="Oslo", postal_zone="0484")
BUYER: Final = TradeParty("0192:913579240", "Fjellheim Logistikk AS", vat_id="NO913579240MVA",
                          street="Kokstadflaten 12", city="Bergen", postal_zone="5257")
SELLER_WITHOUT_RESPONSES: Final = TradeParty("0192:963852746", "Vestland Verktoy AS", vat_id="NO963852746MVA",
                                             street="Bryggen 3", city="Bergen", postal_zone="5003")

_SAFE: Final = re.compile(r"[^A-Za-z0-9._@-]")


def default_key_cache() -> Path | None:
    """Where test RSA keys are kept between runs: ``$PEPPOL_RESPONSE_KEY_CACHE``, else
    ``$XDG_CACHE_HOME/peppol-response/test-keys`` (``~/.cache/...``); None when it cannot be created."""
    env = os.environ.get("PEPPOL_RESPONSE_KEY_CACHE")
    base = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / (
        "peppol-response/test-keys")
    try:
        base.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:
        return None
    return base


# --------------------------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class AccessPointSpec:
    """An access point to start: a name, its seat in the test PKI and its role in the four corners."""

    name: str
    seat: str
    corner: str = "C2"


@dataclass(frozen=True)
class ParticipantSpec:
    """A participant: who it is, where it is served and what it registers in the SMP.

    ``receives`` are the (document type, process) pairs published for it; a seller that leaves out
    :data:`INVOICE_RESPONSE_SERVICES` cannot be sent Invoice Responses (discovery says NotServiced).
    """

    name: str
    party: TradeParty
    role: Literal["seller", "buyer"]
    access_point: str
    receives: tuple[Service, ...]

    @property
    def receives_responses(self) -> bool:
        return any(doc == INVOICE_RESPONSE for doc, _ in self.receives)


DEFAULT_ACCESS_POINTS: Final = (
    AccessPointSpec("ap-seller", "PXX000001", "C2"),
    AccessPointSpec("ap-buyer", "PXX000002", "C3"),
)


def default_participants(*, seller_receives_responses: bool = True) -> tuple[ParticipantSpec, ...]:
    """The seller (at ``ap-seller``), the buyer (at ``ap-buyer``) and ``seller-without-responses``.

    ``seller_receives_responses=False`` leaves the Invoice Response registration out for the main seller too.
    """
    seller_services = (*INVOICE_RESPONSE_SERVICES, *BILLING_SERVICES) if seller_receives_responses else BILLING_SERVICES
    return (
        ParticipantSpec("seller", SELLER, "seller", "ap-seller", seller_services),
        ParticipantSpec("buyer", BUYER, "buyer", "ap-buyer", BILLING_SERVICES),
        ParticipantSpec("seller-without-responses", SELLER_WITHOUT_RESPONSES, "seller", "ap-seller", BILLING_SERVICES),
    )


# ------------------------------------------------------------------------------------------- the results


@dataclass(frozen=True)
class Delivery:
    """A message as the receiving side handed it to a participant (or failed to)."""

    message_id: str
    access_point: str
    participant: str | None
    received_at: dt.datetime
    sbdh_instance_id: str | None
    receipt_message_id: str
    sending_ap: str
    validation: Mapping[str, Any] | None = None
    """The verdict of the receiving side's validation (Invoice Responses): ``valid`` and the findings' rules."""
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        return {"message_id": self.message_id, "access_point": self.access_point, "participant": self.participant,
                "received_at": self.received_at.isoformat(), "sbdh_instance_id": self.sbdh_instance_id,
                "receipt_message_id": self.receipt_message_id, "sending_ap": self.sending_ap,
                "validation": None if self.validation is None else dict(self.validation), "error": self.error}


@dataclass(frozen=True)
class SentInvoice:
    """An invoice the seller sent: its key, the XML, the AS4 evidence on both sides and the buyer's delivery."""

    key: InvoiceKey
    xml: bytes
    summary: InvoiceSummary
    seller: str
    buyer: str
    message_id: str | None
    receipt_message_id: str | None
    sbdh_instance_id: str | None
    delivery: Delivery | None
    record: InvoiceRecord
    error: str | None = None
    not_serviced: bool = False
    timings: Mapping[str, float] = field(default_factory=dict)

    @property
    def delivered(self) -> bool:
        return self.delivery is not None and self.delivery.ok


@dataclass(frozen=True)
class SentResponse:
    """A response the buyer built and sent (or held in its outbox, or could not send).

    ``recorded`` is what the buyer's tracker made of it; ``seller_entry`` the seller's history entry for it
    once delivered (status mark, rule, stale flag, transport evidence); ``seller_status`` the seller's
    view of the invoice after it.
    """

    invoice: InvoiceKey
    response: InvoiceResponse
    xml: bytes
    state: State
    forced: bool
    recorded: IngestResult | None
    held: bool = False
    message_id: str | None = None
    receipt_message_id: str | None = None
    sbdh_instance_id: str | None = None
    delivery: Delivery | None = None
    seller_entry: HistoryEntry | None = None
    seller_status: InvoiceStatus | None = None
    error: str | None = None
    not_serviced: bool = False
    timings: Mapping[str, float] = field(default_factory=dict)
    _outbox: Any = field(default=None, repr=False, compare=False)

    @property
    def delivered(self) -> bool:
        return self.delivery is not None and self.delivery.ok


@dataclass
class _Received:
    xml: bytes
    summary: InvoiceSummary
    message_id: str


# ------------------------------------------------------------------------------------------ participants


class Participant:
    """A seller or buyer of the network: its Peppol id, its access point, its tracker and inbox.

    The drivers (:meth:`send_invoice`, :meth:`reply`, :meth:`release`) wait until the other side has the
    message (delivered to its participant), so a test can assert on both trackers right after a call.
    """

    def __init__(self, network: LocalNetwork, spec: ParticipantSpec, ap: AccessPoint, tracker: Tracker,
                 tracker_url: str, inbox: Path) -> None:
        self.network = network
        self.spec = spec
        self.name = spec.name
        self.party = spec.party
        self.id = spec.party.participant
        self.role = spec.role
        self.access_point = ap
        self.tracker = tracker
        self.tracker_url = tracker_url
        self.inbox = inbox
        self._responses = InboxHandler(inbox, tracker=tracker, validate=True)
        self._documents = InboxHandler(inbox, validate=False)
        self._received: dict[tuple[str, str, str], list[_Received]] = {}
        self._last_issued: dt.datetime | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<Participant {self.name} {self.id} at {self.access_point.name}>"

    @property
    def endpoint(self) -> str:
        """``scheme:value``, as the tracker names parties."""
        return self.party.endpoint

    # -- receiving (called by the access point's delivery worker) ---------------------------------------

    def _deliver(self, msg: InboundMessage) -> Mapping[str, Any] | None:
        """Take a delivered message: a response into the tracker (the server's default handler), an invoice
        recorded as received. Returns the validation verdict, if any."""
        if msg.document_type == INVOICE_RESPONSE:
            self._responses(msg)
            verdict: Mapping[str, Any] | None = _inbox_meta(self.inbox, msg.message_id).get("validation")
            return verdict
        self._documents(msg)
        document = msg.document()
        summary = read_invoice(document)
        self.tracker.record_invoice_xml(document, direction="inbound", as4_message_id=msg.message_id,
                                        sbdh_instance_id=msg.sbdh_instance_id, delivered_at=msg.received_at)
        with self._lock:
            key = (summary.seller.endpoint.value.lower(), summary.id, str(summary.type_code))
            self._received.setdefault(key, []).append(_Received(document, summary, msg.message_id))
        return None

    def received_invoice(self, invoice: SentInvoice | InvoiceKey) -> bytes:
        """The XML of an invoice this participant received (the latest copy, if it came more than once)."""
        key = invoice.key if isinstance(invoice, SentInvoice) else invoice
        value = key.seller.split(":", 1)[-1].lower()
        with self._lock:
            copies = self._received.get((value, key.invoice_id, str(key.type_code)))
        if not copies:
            raise ConfigError(f"{self.name} has not received invoice {key.invoice_id!r} from {key.seller}")
        return copies[-1].xml

    def received_count(self, invoice: SentInvoice | InvoiceKey) -> int:
        """How many copies of an invoice arrived (a resent invoice arrives twice)."""
        key = invoice.key if isinstance(invoice, SentInvoice) else invoice
        with self._lock:
            return len(self._received.get((key.seller.split(":", 1)[-1].lower(), key.invoice_id,
                                           str(key.type_code)), []))

    # -- what the tracker says ------------------------------------------------------------------------------

    def status(self, invoice: SentInvoice | SentResponse | InvoiceKey) -> InvoiceStatus:
        """This participant's tracker view of an invoice: current status and full history."""
        key = invoice.key if isinstance(invoice, SentInvoice) else (
            invoice.invoice if isinstance(invoice, SentResponse) else invoice)
        return self.tracker.status(key)

    # -- the seller's side ----------------------------------------------------------------------------------

    def make_invoice(self, to: Participant | str, *, invoice_id: str | None = None, issue_date: dt.date | None = None,
                     example: str | None = None, **options: Any) -> bytes:
        """A BIS Billing 3 invoice from this participant to ``to``: generated (``options`` go to
        :func:`~peppol_response.testing.invoices.make_invoice`) or an example with a new number."""
        buyer = self.network.participant(to)
        number = invoice_id or f"INV-{_short_uuid()}"
        if example is not None:
            return from_example(example, invoice_id=number, issue_date=issue_date or dt.date.today(),
                                seller=self.party, buyer=buyer.party)
        return make_invoice(invoice_id=number, seller=self.party, buyer=buyer.party, issue_date=issue_date,
                            **options)

    def send_invoice(self, to: Participant | str | None = None, xml: bytes | None = None, *,
                     wait: bool = True, **options: Any) -> SentInvoice:
        """Send an invoice (``xml``, or one made with ``options``) to ``to`` through both access points.

        The seller's tracker records it (outbound), every attempt to deliver it (its transport history) and
        its transport state: ``receipted`` with the AS4 MessageId and SBDH InstanceIdentifier, or ``failed``
        with the reason. With ``wait`` this returns once
        the buyer has it. A recipient not registered for the document type gives ``not_serviced`` (nothing sent).
        """
        t0 = time.perf_counter()
        if xml is None:
            if to is None:
                raise ConfigError("send_invoice needs a recipient or the invoice XML")
            xml = self.make_invoice(to, **options)
        elif options:
            raise ConfigError(f"options {sorted(options)} only apply when the invoice is generated")
        summary = read_invoice(xml)
        if str(summary.seller.endpoint) != self.party.endpoint:
            raise ConfigError(f"the invoice is from {summary.seller.endpoint}, not from {self.name} ({self.id})")
        record = self.tracker.record_invoice_xml(xml, direction="outbound", transport_state="queued")
        key = record.key
        buyer_id = f"{summary.buyer.endpoint.scheme}:{summary.buyer.endpoint.value}"
        timings: dict[str, float] = {"prepare": _ms(t0)}
        buyer_name = self.network.name_of(buyer_id)

        def result(**kw: Any) -> SentInvoice:
            return SentInvoice(key, xml, summary, self.name, buyer_name, **kw)

        try:
            sent = self.access_point.send(xml, country_c1=self.party.country,
                                          on_attempt=self.tracker.attempt_recorder(record))
        except NotServicedError as exc:
            record = self.tracker.set_transport(record, "failed", detail=f"not serviced: {exc}")
            return result(message_id=None, receipt_message_id=None, sbdh_instance_id=None, delivery=None,
                          record=record, error=str(exc), not_serviced=True, timings=timings)
        except SendError as exc:
            record = self.tracker.set_transport(record, "failed", as4_message_id=exc.message_id, detail=str(exc))
            return result(message_id=exc.message_id, receipt_message_id=None, sbdh_instance_id=None, delivery=None,
                          record=record, error=str(exc), timings=timings)
        timings["send"] = sent.ms
        record = self.tracker.set_transport(
            record, "receipted", as4_message_id=sent.result.message_id,
            sbdh_instance_id=sent.header.instance_identifier,
            detail=f"receipt {sent.result.receipt_message_id} from {sent.target_seat}")
        delivery = None
        if wait:
            t1 = time.perf_counter()
            delivery = self.network.wait_delivered(sent.result.message_id, sent.url)
            timings["deliver"] = _ms(t1)
        timings["total"] = _ms(t0)
        return result(message_id=sent.result.message_id, receipt_message_id=sent.result.receipt_message_id,
                      sbdh_instance_id=sent.header.instance_identifier, delivery=delivery, record=record,
                      error=None if delivery is None or delivery.ok else delivery.error, timings=timings)

    # -- the buyer's side -------------------------------------------------------------------------------------

    def build_reply(self, invoice: SentInvoice | InvoiceKey, code: ResponseCode | str, *,
                    amount: Decimal | str | None = None, reasons: Iterable[ReasonSpec] = (),
                    actions: Iterable[ActionSpec] = (), note: str | None = None,
                    issued_at: dt.datetime | None = None) -> InvoiceResponse:
        """The response this participant would send for an invoice it received (nothing checked or sent).

        UQ, CA and RE without reasons get a plain one (the official rule R001 needs a clarification code).
        ``amount`` with PD makes a partial payment when it is less than the amount due. ``issued_at`` defaults
        to now, but one second after this participant's previous response when that is not earlier: the order
        rules compare issue times, to the second.
        """
        xml = self.received_invoice(invoice)
        rc = ResponseCode(code)
        with self._lock:
            if issued_at is None:
                # Responses are ordered by issue time, to the second: never issue two at the same instant.
                now = dt.datetime.now(dt.UTC).replace(microsecond=0)
                last = self._last_issued
                when = now if last is None or now > last else last + dt.timedelta(seconds=1)
            else:
                when = issued_at.astimezone(dt.UTC).replace(microsecond=0)
            if self._last_issued is None or when > self._last_issued:
                self._last_issued = when
        options: dict[str, Any] = {"issued_on": when.date(), "issue_time": when.timetz(), "note": note}
        reasons, actions = list(reasons), list(actions)
        if rc.requires_clarification and not reasons and not actions:
            reasons = [_DEFAULT_REASON[rc]]
        if rc is ResponseCode.PD:
            return paid(xml, amount, reasons=reasons, actions=actions, **options)
        return reply_to(xml, rc, reasons=reasons, actions=actions, **options)

    def reply(self, invoice: SentInvoice | InvoiceKey, code: ResponseCode | str, *, force: bool = False,
              hold: bool = False, wait: bool = True, response: InvoiceResponse | None = None,
              **options: Any) -> SentResponse:
        """Answer an invoice this participant received with status ``code`` and send it to its issuer.

        Order: the tracker checks the status may follow the current one (a refusal raises
        :class:`~peppol_response.errors.LocalOrderError` naming the OP-BR111 rule; ``force=True`` sends anyway,
        the tracker keeps it marked ignored); discovery checks the issuer receives Invoice Responses (else the
        result says ``not_serviced``: nothing recorded, nothing sent); the tracker records it; the access point
        sends it. ``hold=True`` records it and keeps it in the outbox: :meth:`release` sends it later (a
        response delayed in transit). ``options`` go to :meth:`build_reply`.
        """
        t0 = time.perf_counter()
        key = invoice.key if isinstance(invoice, SentInvoice) else invoice
        resp = response if response is not None else self.build_reply(key, code, **options)
        state = State.of(resp.code, resp.is_partial_payment)
        if not force:
            self.tracker.can_send(key, state)  # LocalOrderError: nothing built leaves the building
        xml = resp.to_xml()
        timings: dict[str, float] = {"build": _ms(t0)}
        t1 = time.perf_counter()
        try:
            outbox = self.access_point.envelope(xml, country_c1=self.party.country)
        except NotServicedError as exc:
            return SentResponse(key, resp, xml, state, force, None, error=str(exc), not_serviced=True,
                                timings=timings)
        timings["discover"] = _ms(t1)
        t1 = time.perf_counter()
        recorded = self.tracker.record_sent(resp, force=force, transport_state="queued")
        timings["record"] = _ms(t1)
        sent = SentResponse(key, resp, xml, state, force, recorded, held=True, timings=timings, _outbox=outbox)
        if hold:
            return sent
        return self.release(sent, wait=wait, _t0=t0, _rediscover=False)

    def release(self, held: SentResponse, *, wait: bool = True, _t0: float | None = None,
                _rediscover: bool = True) -> SentResponse:
        """Send a response that :meth:`reply` held in the outbox (discovery is asked again now)."""
        if not held.held or held._outbox is None or held.recorded is None:
            raise ConfigError("only a held response (reply(..., hold=True)) can be released, and only once")
        t0 = _t0 if _t0 is not None else time.perf_counter()
        timings = dict(held.timings)
        pk = held.recorded.response_pk
        outbox = replace(held._outbox, target=None) if _rediscover else held._outbox
        try:
            sent = self.access_point.deliver(outbox, on_attempt=self.tracker.attempt_recorder(held.recorded))
        except NotServicedError as exc:
            self.tracker.set_response_transport(pk, "failed")
            return replace(held, held=False, error=str(exc), not_serviced=True, timings=timings, _outbox=None)
        except SendError as exc:
            self.tracker.set_response_transport(pk, "failed", as4_message_id=exc.message_id)
            return replace(held, held=False, message_id=exc.message_id, error=str(exc), timings=timings,
                           _outbox=None)
        timings["send"] = sent.ms
        self.tracker.set_response_transport(pk, "receipted", as4_message_id=sent.result.message_id)
        result = replace(held, held=False, message_id=sent.result.message_id,
                         receipt_message_id=sent.result.receipt_message_id,
                         sbdh_instance_id=sent.header.instance_identifier, timings=timings, _outbox=None)
        if not wait:
            return result
        t1 = time.perf_counter()
        delivery = self.network.wait_delivered(sent.result.message_id, sent.url)
        timings["deliver"] = _ms(t1)
        receiver = self.network.participant_at(sent.url, sent.header.receiver)
        entry = status = None
        if receiver is not None and delivery.ok:
            with contextlib.suppress(LookupError):
                status = receiver.status(held.invoice)
                entry = next((h for h in status.history if h.evidence.as4_message_id == sent.result.message_id), None)
        timings["total"] = _ms(t0)
        return replace(result, delivery=delivery, seller_entry=entry, seller_status=status,
                       error=None if delivery.ok else delivery.error, timings=timings)


_DEFAULT_REASON: Final[Mapping[ResponseCode, ReasonSpec]] = {
    ResponseCode.UQ: ("REF", "The purchase order number is missing"),
    ResponseCode.CA: ("PAY", "Accepted if paid 30 days after receipt"),
    ResponseCode.RE: ("REF", "No purchase order matches this invoice"),
}


def _short_uuid() -> str:
    import uuid

    return uuid.uuid4().hex[:10].upper()


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 1)


def _inbox_meta(inbox: Path, message_id: str) -> dict[str, Any]:
    """What the default delivery handler wrote next to the message (validation verdict and envelope data)."""
    path = inbox / f"{_SAFE.sub('_', message_id)[:200]}.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data


# ---------------------------------------------------------------------------------------- access points


@dataclass(frozen=True)
class _Outbox:
    sbd: bytes
    header: SbdhHeader
    target: Target | None = None
    """Where discovery said to send it (None: ask again when sending)."""


@dataclass(frozen=True)
class _Sent:
    result: SendResult
    header: SbdhHeader
    url: str
    target_seat: str
    ms: float


class AccessPoint:
    """One access point: an AS4 receiver over HTTPS (store, delivery worker) and a sender with discovery."""

    def __init__(self, network: LocalNetwork, spec: AccessPointSpec, pki: TestPki, directory: Path,
                 discovery: SmpDiscovery, tls: tuple[str, str], *, settings: ReceiverSettings) -> None:
        self.network = network
        self.spec = spec
        self.name = spec.name
        self.seat = spec.seat
        self.corner = spec.corner
        self.identity = pki.ap(spec.seat)
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.store_url = f"sqlite:///{directory / 'inbound.db'}"
        self.store = InboundStore(self.store_url)
        domain = f"{spec.name}.peppol-response.test"
        endpoint = As4Endpoint(identity=as4_identity(self.identity), trust=pki.ap_trust_store(),
                               message_id_domain=domain)
        self.receiver = As4Receiver(endpoint, self.store, settings=settings, handler=self._handle)
        self.server = LoopbackServer(create_app(self.receiver), tls=tls, header_timeout=5.0)
        self.transport = RequestsTransport(verify=str(pki.tls_ca_file))
        self.sender = Sender(self.identity, trust=pki.ap_trust_store(), discovery=discovery, transport=self.transport,
                             retry=RetryPolicy(attempts=3, first_delay=0.2, max_delay=1.0),
                             timeouts=Timeouts(connect=5.0, read=30.0), message_id_domain=domain)
        self.participants: dict[ParticipantId, Participant] = {}
        self._deliveries: dict[str, Delivery] = {}
        self._cond = threading.Condition()

    def __repr__(self) -> str:
        return f"<AccessPoint {self.name} {self.seat} {self.url}>"

    @property
    def url(self) -> str:
        """The AS4 endpoint URL published in the SMP."""
        return self.server.url + "/as4"

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.transport.close()
        self.server.stop()
        self.store.close()

    # -- sending -------------------------------------------------------------------------------------------

    def envelope(self, document: bytes, *, country_c1: str) -> _Outbox:
        """Wrap in the SBDH and check discovery (NotServicedError before anything is stored or sent)."""
        sbd, header = self.sender.envelope(document, country_c1=country_c1)
        return _Outbox(sbd, header, self.sender.resolve(header))

    def deliver(self, outbox: _Outbox, *, on_attempt: Callable[[Attempt], None] | None = None) -> _Sent:
        """Sign, encrypt and POST until a verified receipt comes back (finding the receiver first if need be).

        ``on_attempt`` gets each attempt as it happens (the participant's tracker keeps them as the
        transport history: :meth:`~peppol_response.tracker.Tracker.attempt_recorder`)."""
        t0 = time.perf_counter()
        target: Target = outbox.target or self.sender.resolve(outbox.header)
        outbound = self.sender.prepare(outbox.sbd, outbox.header, target)
        result = self.sender.deliver(outbound, target.url, on_attempt=on_attempt)
        return _Sent(result, outbox.header, target.url, seat_of(result.receipt.signer) or "?", _ms(t0))

    def send(self, document: bytes, *, country_c1: str,
             on_attempt: Callable[[Attempt], None] | None = None) -> _Sent:
        return self.deliver(self.envelope(document, country_c1=country_c1), on_attempt=on_attempt)

    # -- receiving --------------------------------------------------------------------------------------------

    def _handle(self, msg: InboundMessage) -> None:
        """The receiver's delivery handler: hand the message to the participant it is for, note the outcome."""
        participant = self.participants.get(ParticipantId.parse(msg.receiver)) if msg.receiver else None
        validation = error = None
        try:
            if participant is None:
                raise ConfigError(f"{self.name} serves no participant {msg.receiver}")
            validation = participant._deliver(msg)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            record = Delivery(msg.message_id, self.name, participant.name if participant else None, msg.received_at,
                              msg.sbdh_instance_id, msg.receipt_message_id, msg.from_party, validation, error)
            with self._cond:
                self._deliveries[msg.message_id] = record
                self._cond.notify_all()

    def delivery(self, message_id: str) -> Delivery | None:
        with self._cond:
            return self._deliveries.get(message_id)

    def wait_delivered(self, message_id: str, timeout: float = 15.0) -> Delivery:
        """Wait until the message was handed to its participant; the last failed attempt after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = self._deliveries.get(message_id)
                if got is not None and got.ok:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    if got is not None:
                        return got
                    raise NetworkError(f"{self.name} did not deliver {message_id} within {timeout:g} s")
                self._cond.wait(left)


# ------------------------------------------------------------------------------------------------ network


class LocalNetwork:
    """The whole network (see the module docstring). A context manager; :meth:`start`/:meth:`close` otherwise.

    ``workdir``: where the PKI, stores, trackers and inboxes go (default: a temporary folder, removed on
    close unless ``keep``). ``tracker_url``: None for SQLite files in the work directory; a PostgreSQL URL
    (each participant gets its own schema, created if needed); or a URL with ``{participant}`` in it; or a
    mapping participant name -> URL. ``key_cache``: a directory for the test RSA keys (default
    :func:`default_key_cache`), or False to generate fresh keys. ``seller_receives_responses=False``
    leaves the main seller's Invoice Response registration out (NotServiced). ``participants`` and
    ``access_points`` replace the defaults.
    """

    def __init__(
        self,
        workdir: str | os.PathLike[str] | None = None,
        *,
        tracker_url: str | Mapping[str, str] | None = None,
        key_cache: str | os.PathLike[str] | KeyCache | Literal[False] | None = None,
        seller_receives_responses: bool = True,
        participants: Sequence[ParticipantSpec] | None = None,
        access_points: Sequence[AccessPointSpec] = DEFAULT_ACCESS_POINTS,
        zone: str = ZONE,
        keep: bool | None = None,
        delivery_timeout: float = 15.0,
    ) -> None:
        self._own_workdir = workdir is None
        self.workdir = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="peppol-network-"))
        self.keep = (not self._own_workdir) if keep is None else keep
        self.tracker_url = tracker_url
        self._key_cache = key_cache
        self.specs = tuple(participants) if participants is not None else default_participants(
            seller_receives_responses=seller_receives_responses)
        self.ap_specs = tuple(access_points)
        self.zone = zone
        self.delivery_timeout = delivery_timeout
        names = [p.name for p in self.specs]
        if len(set(names)) != len(names):
            raise ConfigError(f"participant names must be unique: {names}")
        ap_names = {a.name for a in self.ap_specs}
        for p in self.specs:
            if p.access_point not in ap_names:
                raise ConfigError(f"participant {p.name} is served by {p.access_point!r}, which is not an access "
                                  f"point of this network ({', '.join(sorted(ap_names))})")
        self.pki: TestPki | None = None
        self.dns: LocalDns | None = None
        self.smp: LocalSmp | None = None
        self.discovery: SmpDiscovery | None = None
        self.access_points: dict[str, AccessPoint] = {}
        self.participants: dict[str, Participant] = {}
        self._stack = contextlib.ExitStack()
        self._threads: list[threading.Thread] = []
        self.started_in: float | None = None

    # -- life cycle ---------------------------------------------------------------------------------------

    def __enter__(self) -> LocalNetwork:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> LocalNetwork:
        """Start everything; on any failure stop what was started and raise :class:`NetworkError`."""
        t0 = time.perf_counter()
        before = set(threading.enumerate())
        try:
            self._start()
        except BaseException as exc:
            self.close()
            if isinstance(exc, (NetworkError, ConfigError, KeyboardInterrupt)):
                raise
            raise NetworkError(f"the local network did not start: {type(exc).__name__}: {exc}") from exc
        self.started_in = time.perf_counter() - t0
        self._threads = [t for t in threading.enumerate() if t not in before]
        return self

    def _keys(self) -> KeyCache:
        kc = self._key_cache
        if isinstance(kc, KeyCache):
            return kc
        if kc is False:
            return KeyCache(None)
        return KeyCache(Path(kc) if kc is not None else default_key_cache())

    def _start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        pki = self.pki = create_test_pki(self.workdir / "pki", key_cache=self._keys(), label="network")
        tls = (str(pki.path("tls-localhost.cert.pem")), str(pki.path("tls-localhost.key.pem")))
        self.dns = self._stack.enter_context(LocalDns())
        self.smp = self._stack.enter_context(LocalSmp(pki.smp, tls=tls))
        locator = NaptrLocator(self.zone, nameservers=["127.0.0.1"], port=self.dns.port, timeout=2.0, cache_ttl=0)
        self.discovery = SmpDiscovery(locator=locator, smp_trust=pki.smp_trust_store(), ap_trust=pki.ap_trust_store(),
                                      verify_tls=str(pki.tls_ca_file), timeout=5.0, cache_ttl=0)
        for spec in self.ap_specs:
            served = [p for p in self.specs if p.access_point == spec.name]
            accepts: dict[DocumentTypeId, frozenset[ProcessId]] = {}
            for p in served:
                for doc, proc in p.receives:
                    accepts[doc] = accepts.get(doc, frozenset()) | {proc}
            settings = ReceiverSettings(served=frozenset(p.party.participant for p in served) or None,
                                        accepts=accepts or {INVOICE_RESPONSE: frozenset({INVOICE_RESPONSE_PROCESS})},
                                        poll_interval=0.5, delivery_backoff=0.5, delivery_max_backoff=5.0,
                                        delivery_attempts=5)
            ap = AccessPoint(self, spec, pki, self.workdir / "access-points" / spec.name, self.discovery, tls,
                             settings=settings)
            self.access_points[spec.name] = ap
            self._stack.callback(ap.stop)
            ap.start()
        # Stopping: first every sender's pooled connections (so no server waits for an idle keep-alive peer)
        self._stack.callback(self._close_connections)
        for pspec in self.specs:
            ap = self.access_points[pspec.access_point]
            url = self._tracker_url_for(pspec.name)
            tracker = Tracker(url)
            self._stack.callback(tracker.close)
            folder = self.workdir / "participants" / pspec.name
            participant = Participant(self, pspec, ap, tracker, url, folder / "inbox")
            self.participants[pspec.name] = participant
            ap.participants[participant.id] = participant
            for doc, proc in pspec.receives:
                self.smp.register(participant.id, doc, proc, ap.url, ap.identity.certificate)
            self.dns.add_smp(participant.id, self.zone, self.smp.url)

    def _close_connections(self) -> None:
        for ap in self.access_points.values():
            ap.transport.close()

    def close(self) -> None:
        """Stop servers and workers, close stores and trackers; remove a temporary work directory."""
        try:
            self._stack.close()
        finally:
            self._stack = contextlib.ExitStack()
            if self._own_workdir and not self.keep:
                shutil.rmtree(self.workdir, ignore_errors=True)

    # -- trackers ---------------------------------------------------------------------------------------

    def _tracker_url_for(self, name: str) -> str:
        spec = self.tracker_url
        if spec is None:
            folder = self.workdir / "participants" / name
            folder.mkdir(parents=True, exist_ok=True)
            return f"sqlite:///{folder / 'tracker.db'}"
        if isinstance(spec, Mapping):
            try:
                return spec[name]
            except KeyError:
                raise ConfigError(f"tracker_url has no URL for participant {name!r}") from None
        if "{participant}" in spec:
            return spec.replace("{participant}", _SAFE.sub("_", name))
        if spec.startswith("postgresql"):
            return _postgres_schema_url(spec, name)
        raise ConfigError("one tracker URL for several participants must be a PostgreSQL URL (a schema each) or "
                          "contain {participant}")

    # -- finding things ------------------------------------------------------------------------------------

    @property
    def seller(self) -> Participant:
        return self.participant("seller")

    @property
    def buyer(self) -> Participant:
        return self.participant("buyer")

    def participant(self, who: Participant | str) -> Participant:
        """A participant by name (``"seller"``) or Peppol id (``"0192:924681357"``)."""
        if isinstance(who, Participant):
            return who
        if who in self.participants:
            return self.participants[who]
        for p in self.participants.values():
            if p.endpoint.lower() == who.lower() or str(p.id).lower() == who.lower():
                return p
        raise ConfigError(f"no participant {who!r} in this network ({', '.join(self.participants)})")

    def name_of(self, participant_id: str) -> str:
        try:
            return self.participant(participant_id).name
        except ConfigError:
            return participant_id

    def participant_at(self, url: str, participant: ParticipantId) -> Participant | None:
        for ap in self.access_points.values():
            if ap.url == url:
                return ap.participants.get(participant)
        return None

    def wait_delivered(self, message_id: str, url: str, timeout: float | None = None) -> Delivery:
        """Wait until the access point at ``url`` handed ``message_id`` to its participant."""
        for ap in self.access_points.values():
            if ap.url == url:
                return ap.wait_delivered(message_id, timeout or self.delivery_timeout)
        raise NetworkError(f"{url} is not an access point of this network")

    # -- what a chain-test tool needs to know --------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """Endpoints and participants as JSON-ready data (``network up`` prints it and writes network.json)."""
        if self.pki is None or self.smp is None or self.dns is None:
            raise NetworkError("the network is not started")
        return {
            "workdir": str(self.workdir),
            "pki": {"directory": str(self.pki.directory), "tls_ca": str(self.pki.tls_ca_file),
                    "ap_trust": str(self.pki.directory / "trust" / "ap-trust.pem"),
                    "smp_trust": str(self.pki.directory / "trust" / "smp-trust.pem")},
            "sml": {"zone": self.zone, "dns": f"127.0.0.1:{self.dns.port}"},
            "smp": {"url": self.smp.url, "seat": self.pki.smp.certificate.subject.rfc4514_string()},
            "access_points": [{"name": ap.name, "corner": ap.corner, "seat": ap.seat, "as4_url": ap.url,
                               "health": ap.server.url + "/health", "store": ap.store_url,
                               "participants": [p.name for p in ap.participants.values()]}
                              for ap in self.access_points.values()],
            "participants": [{"name": p.name, "id": str(p.id), "role": p.role, "legal_name": p.party.name,
                              "access_point": p.access_point.name, "tracker": _redact(p.tracker_url),
                              "inbox": str(p.inbox), "receives_invoice_responses": p.spec.receives_responses,
                              "registered": [{"document_type": d.value, "process": pr.value}
                                             for d, pr in p.spec.receives]}
                             for p in self.participants.values()],
        }

    def run_scenario(self, scenario: Any, **options: Any) -> Any:
        """Run a scenario (a :class:`~peppol_response.testing.scenario.Scenario`, a file path, or a list of
        steps such as ``["AB", "IP", "UQ", "AP", "PD"]``); returns its report."""
        from .scenario import run_scenario

        return run_scenario(self, scenario, **options)

    def threads(self) -> list[threading.Thread]:
        """The threads this network started that still run (servers, delivery workers, DNS) — for leak checks."""
        return [t for t in self._threads if t.is_alive()]


def _redact(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@/]*@", r"//\1:***@", url)


def _postgres_schema_url(url: str, participant: str) -> str:
    """``url`` with the search path set to a schema of its own for ``participant`` (created if missing)."""
    import sqlalchemy as sa

    parsed = sa.engine.make_url(url)
    options = parsed.query.get("options")
    text = options if isinstance(options, str) else " ".join(options or ())
    found = re.search(r"search_path=([A-Za-z0-9_]+)", text.replace("%3D", "="))
    prefix = found.group(1) if found else "peppol_network"
    schema = f"{prefix}_{re.sub(r'[^a-z0-9_]', '_', participant.lower())}"[:63]
    engine = sa.create_engine(parsed)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    finally:
        engine.dispose()
    rest = re.sub(r"-c\s*search_path=\S+", "", text).strip()
    return parsed.update_query_dict({"options": f"{rest} -csearch_path={schema}".strip()}).render_as_string(
        hide_password=False)

