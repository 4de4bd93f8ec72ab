"""The :class:`Tracker`: invoices, the responses that answer them, their status, history and events.

Storage is SQLAlchemy Core over SQLite (default: one file, WAL, nothing to set up; ``sqlite://`` in
memory for tests) or PostgreSQL (``postgresql+psycopg://...``, for several processes).

Every write is one transaction that also writes the events it causes (the outbox), so a status change
and its announcement commit or vanish together. Concurrency:

* SQLite: writes start with ``BEGIN IMMEDIATE`` (one writer at a time, readers never blocked in WAL).
* PostgreSQL: each write first takes transaction-scoped advisory locks on the invoice numbers it touches
  (sorted, so two writers never deadlock on them); ingesting and recording the same invoice therefore
  serialise, and an orphan can never miss the invoice recorded at the same moment. Unique constraints
  back the identity rules; a transaction that loses a race (unique violation, deadlock, serialization
  failure) is retried from the start.
"""

from __future__ import annotations

import base64
import collections
import datetime as dt
import hashlib
import importlib
import json
import logging
import operator
import secrets as _secrets
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Protocol, TypeVar

import sqlalchemy as sa

from ..codes import DocumentTypeCode
from ..db import make_engine, retrying
from ..errors import (
    ConfigError,
    LocalOrderError,
    NotFoundError,
    ParseError,
    PeppolResponseError,
    StoreError,
)
from ..model import InvoiceResponse
from ..process import R012, Mode, State, check
from . import schema
from .calendar import WorkingCalendar
from .history import Item, issued_instant, order_key, replay_items
from .matching import dump_keys, keys_match, load_keys, norm_id, response_parties
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
from .schema import events as t_events
from .schema import invoices as t_inv
from .schema import outbox as t_outbox
from .schema import responses as t_resp
from .schema import transport_attempts as t_att
from .schema import webhooks as t_hooks
from .transport import TRANSPORT_TRANSITIONS, TransportState, check_transport

__all__ = ["DEFAULT_URL", "SenderAttempt", "Source", "Tracker"]

log = logging.getLogger(__name__)

DEFAULT_URL: Final = "sqlite:///peppol-response-tracker.db"
"""A SQLite file in the current directory."""

Source = bytes | str | InvoiceResponse
"""A response to ingest: its XML (optionally in an SBDH envelope) or a parsed model."""

_T = TypeVar("_T")
_CHUNK: Final = 2000


class SenderAttempt(Protocol):
    """What :meth:`Tracker.attempt_recorder` takes: the AS4 sender's
    :class:`~peppol_response.as4.sender.Attempt`, or anything with the same attributes."""

    @property
    def number(self) -> int: ...
    @property
    def message_id(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def started_at(self) -> dt.datetime: ...
    @property
    def duration(self) -> float: ...
    @property
    def outcome(self) -> Any: ...  # AttemptOutcome (an enum of these strings) or the string
    @property
    def http_status(self) -> int | None: ...
    @property
    def error(self) -> str | None: ...
    @property
    def error_code(self) -> str | None: ...
    @property
    def error_detail(self) -> str | None: ...
    @property
    def receipt_message_id(self) -> str | None: ...


_ATTEMPT_STATES: Final = {
    "receipted": TransportState.RECEIPTED,  # a verified receipt: delivered to the other access point
    "retryable": TransportState.SENT,  # on the wire, no verdict: it may have arrived; the sender tries again
    "refused": TransportState.FAILED,  # an ebMS error or a receipt that does not hold: final for this message
    "failed": TransportState.FAILED,  # a local failure no retry helps
}
"""The transport state an attempt's outcome leads to (when the transport rules allow the move)."""


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _naive_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is not None and value.utcoffset() is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.replace(tzinfo=None)


def _chunks(seq: Sequence[_T], size: int = _CHUNK) -> Iterator[Sequence[_T]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def _lock_key(doc_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(doc_id.encode(), digest_size=8).digest(), "big", signed=True)


def _iso_default(value: object) -> str:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(f"cannot send {value!r} as a JSON parameter")


_PG_ARRAYS: Final = {int: "bigint[]", str: "text[]", dt.date: "date[]"}


def _among(conn: sa.Connection, cols: Sequence[sa.ColumnElement[Any]], values: Sequence[Any],
           kinds: Sequence[type]) -> sa.ColumnElement[bool]:
    """``cols IN values`` with all the values in one parameter (a JSON text on SQLite, arrays on PostgreSQL).

    An expanding ``IN (?, ?, ...)`` re-renders the statement for every batch; this keeps it compiled once.
    ``values`` are scalars for one column, tuples for several; ``kinds`` the Python type of each column.
    """
    multi = len(cols) > 1
    target = sa.tuple_(*cols) if multi else cols[0]
    names: list[sa.ColumnClause[Any]] = [sa.column(f"c{i}") for i in range(len(cols))]
    if conn.dialect.name == "postgresql":
        rows = [v if multi else (v,) for v in values]
        params = {f"pr_vals{i}": [r[i] for r in rows] for i in range(len(cols))}
        unnest = ", ".join(f"CAST(:pr_vals{i} AS {_PG_ARRAYS[k]})" for i, k in enumerate(kinds))
        # the text holds only our own fixed fragments; every value is a bound parameter
        sub = sa.text(f"SELECT * FROM unnest({unnest})").bindparams(**params).columns(*names)  # noqa: S608
    else:
        picks = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(cols))) if multi else "value"
        payload = json.dumps(list(values), default=_iso_default)
        sub = sa.text(f"SELECT {picks} FROM json_each(:pr_vals)").bindparams(  # noqa: S608 - fixed fragments only
            pr_vals=payload).columns(*names)
    return target.in_(sub)


# -------------------------------------------------------------------------------------------------
# Preparing a response for storage
# -------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Prepared:
    response: InvoiceResponse
    state: State
    sender: str
    content_hash: str
    doc_id: str
    row: dict[str, Any]
    seller_keys: frozenset[str]
    buyer_keys: frozenset[str]
    seller: str
    buyer: str


def _clarifications(response: InvoiceResponse) -> list[dict[str, Any]]:
    out = []
    for c in response.clarifications:
        out.append({
            "list": None if c.list_id is None else c.list_id.value,
            "code": None if c.code is None else c.code.value,
            "text": c.reason,
            "conditions": [[k.attribute_id, k.description] for k in c.conditions],
        })
    return out


def _parties(response: InvoiceResponse) -> str | None:
    """JSON of IssuerParty/RecipientParty (who the response speaks for), None when neither is given."""
    if response.issuer_party is None and response.recipient_party is None:
        return None
    out: dict[str, Any] = {"sender_name": response.sender.name, "receiver_name": response.receiver.name}
    if response.issuer_party is not None:
        ip = response.issuer_party
        out["issuer_party"] = {"name": ip.name, "id": None if ip.identifier is None else str(ip.identifier)}
    if response.recipient_party is not None:
        rp = response.recipient_party
        out["recipient_party"] = {"name": rp.name, "id": None if rp.identifier is None else str(rp.identifier)}
    return json.dumps(out, ensure_ascii=False)


def _party_canon(p: Any) -> list[Any]:
    contact = p.contact
    return [str(p.endpoint), p.name, None if p.identifier is None else [p.identifier.scheme, p.identifier.value],
            None if contact is None else [contact.name, contact.telephone, contact.email]]


def _ref_canon(p: Any) -> list[Any] | None:
    if p is None:
        return None
    return [p.name, None if p.identifier is None else [p.identifier.scheme, p.identifier.value]]


def content_hash(response: InvoiceResponse) -> str:
    """SHA-256 over every field of the response in a fixed canonical form (a list of its fields' texts).

    Equal for the XML and the parsed model of one document, whatever its whitespace, comments or
    envelope; different as soon as any business content differs. (A test fails if the model gains a
    field this function does not cover.)
    """
    doc = response.document
    canon = [
        "pr-canon-1", response.customization_id, response.profile_id, response.id, response.issue_date.isoformat(),
        None if response.issue_time is None else response.issue_time.isoformat(), response.note,
        _party_canon(response.sender), _party_canon(response.receiver), response.code.value,
        None if response.effective_date is None else response.effective_date.isoformat(),
        [doc.id, str(doc.type_code), None if doc.issue_date is None else doc.issue_date.isoformat()],
        [[None if c.code is None else [c.code.list_id().value, c.code.value], c.reason,
          [[k.attribute_id, k.description] for k in c.conditions]] for c in response.clarifications],
        _ref_canon(response.issuer_party), _ref_canon(response.recipient_party),
    ]
    return hashlib.sha256(repr(canon).encode()).hexdigest()


def _insert_ids(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` with ids allocated up front (fast executemany, no per-row RETURNING); return the ids.

    SQLite: the transaction holds the write lock (BEGIN IMMEDIATE), so max(id)+1... is ours alone.
    PostgreSQL: the ids come from the table's own sequence.
    """
    if not rows:
        return []
    n = len(rows)
    if conn.dialect.name == "postgresql":
        ids = sorted(conn.execute(
            sa.text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
            {"t": table.name, "n": n}).scalars())
    else:
        start = int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one())
        ids = list(range(start + 1, start + n + 1))
    for row, pk in zip(rows, ids, strict=True):
        row["id"] = pk
    _insert_many(conn, table, rows)
    return ids


_PROCS: dict[tuple[str, tuple[str, ...]], tuple[str, list[Any]]] = {}


def _sqlite_datetime(v: dt.datetime) -> str:
    # exactly SQLAlchemy's SQLite DATETIME storage format, at a third of the cost
    return (f"{v.year:04d}-{v.month:02d}-{v.day:02d} {v.hour:02d}:{v.minute:02d}:{v.second:02d}."
            f"{v.microsecond:06d}")


def _sqlite_date(v: dt.date) -> str:
    return f"{v.year:04d}-{v.month:02d}-{v.day:02d}"


def _bind_proc(col: sa.Column[Any], dialect: sa.Dialect) -> Any:
    """The dialect's own conversion of a Python value for this column (e.g. SQLite's datetime text)."""
    if dialect.name == "sqlite" and isinstance(col.type, sa.DateTime):
        return _sqlite_datetime
    if dialect.name == "sqlite" and isinstance(col.type, sa.Date):
        return _sqlite_date
    return col.type.dialect_impl(dialect).bind_processor(dialect)


def _update_many(conn: sa.Connection, table: sa.Table, sets: dict[str, str], rows: list[dict[str, Any]]) -> None:
    """executemany of ``UPDATE table SET col = :param ... WHERE id = :b_id`` (``sets``: param -> column).

    On SQLite it goes straight to the driver with the columns' bind processors, as :func:`_insert_many`.
    """
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        stmt = table.update().where(table.c.id == sa.bindparam("b_id")).values(
            {col: sa.bindparam(param) for param, col in sets.items()})
        conn.execute(stmt, rows)
        return
    key = (table.name + ":update", tuple(sets))
    found = _PROCS.get(key)
    if found is None:
        assign = ", ".join(f"{table.c[col].name} = ?" for col in sets.values())
        sql = f"UPDATE {table.name} SET {assign} WHERE id = ?"  # noqa: S608 - our own column names only
        found = _PROCS[key] = (sql, [_bind_proc(table.c[col], conn.dialect) for col in sets.values()])
    sql, procs = found
    pairs = list(zip(sets, procs, strict=True))
    data = [(*(v if (v := row[n]) is None or p is None else p(v) for n, p in pairs), row["b_id"]) for row in rows]
    conn.exec_driver_sql(sql, data)


def _insert_many(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """executemany of an INSERT. On SQLite it goes straight to the driver with the columns' own bind
    processors (the same values SQLAlchemy would send, at a third of the cost per row)."""
    if conn.dialect.name != "sqlite":
        conn.execute(table.insert(), rows)
        return
    names = tuple(rows[0])
    key = (table.name, names)
    found = _PROCS.get(key)
    if found is None:
        cols = ", ".join(table.c[n].name for n in names)  # names are our own column names (KeyError otherwise)
        sql = f"INSERT INTO {table.name} ({cols}) VALUES ({', '.join('?' * len(names))})"  # noqa: S608
        found = _PROCS[key] = (sql, [_bind_proc(table.c[n], conn.dialect) for n in names])
    sql, procs = found
    getter = operator.itemgetter(*names)
    convert = [(i, p) for i, p in enumerate(procs) if p is not None]
    data = []
    for row in rows:
        values = list(getter(row))
        for i, p in convert:
            v = values[i]
            if v is not None:
                values[i] = p(v)
        data.append(tuple(values))
    conn.exec_driver_sql(sql, data)


def _prepare(
    source: Source,
    *,
    direction: str,
    evidence: TransportEvidence | None,
    received_at: dt.datetime,
    keep_xml: bool,
) -> _Prepared:
    xml: bytes | None = None
    if isinstance(source, InvoiceResponse):
        response = source
    elif isinstance(source, (bytes, str)):
        from ..ubl import parse

        response = parse(source)
        xml = source.encode() if isinstance(source, str) else source
        if (evidence is None or evidence.sbdh_instance_id is None) and b"StandardBusinessDocument" in xml[:2048]:
            evidence = _with_sbdh_id(xml, evidence)
    else:
        raise ConfigError(f"cannot ingest a {type(source).__name__}: give XML bytes or an InvoiceResponse")
    state = State.of(response.code, response.is_partial_payment)
    parties = response_parties(response)
    digest = content_hash(response)
    ev = evidence or TransportEvidence()
    got = _naive_utc(ev.received_at) if ev.received_at is not None else received_at
    row = {
        "direction": direction,
        "sender": norm_id(response.sender.endpoint),
        "receiver": norm_id(response.receiver.endpoint),
        "response_id": response.id,
        "content_hash": digest,
        "code": response.code.value,
        "state": state.value,
        "issue_date": response.issue_date,
        "issue_time": None if response.issue_time is None else response.issue_time.isoformat(),
        "issued_at": issued_instant(response.issue_date, response.issue_time),
        "effective_date": response.effective_date,
        "doc_id": response.document.id,
        "doc_type_code": str(response.document.type_code),
        "doc_issue_date": response.document.issue_date,
        "seller_keys": dump_keys(parties.seller_keys),
        "buyer_keys": dump_keys(parties.buyer_keys),
        "clarifications": (json.dumps(_clarifications(response), ensure_ascii=False)
                           if response.clarifications else None),
        "note": response.note,
        "parties": _parties(response),
        "received_at": got,
        "as4_message_id": ev.as4_message_id,
        "sbdh_instance_id": ev.sbdh_instance_id,
        "sender_ap": ev.sender_ap,
        "transport_state": None,
        "xml": xml if keep_xml else None,
    }
    return _Prepared(response, state, norm_id(response.sender.endpoint), digest, response.document.id, row,
                     parties.seller_keys, parties.buyer_keys, parties.seller, parties.buyer)


def _with_sbdh_id(xml: bytes, evidence: TransportEvidence | None) -> TransportEvidence | None:
    """Fill the evidence's SBDH InstanceIdentifier from the envelope the response came in, if it reads."""
    from ..errors import EnvelopeError
    from ..sbdh import read_sbdh

    try:
        instance = read_sbdh(xml).header.instance_identifier
    except (EnvelopeError, ParseError):
        return evidence  # the response itself parsed; a sloppy envelope only costs us this id
    base = evidence or TransportEvidence()
    return TransportEvidence(base.as4_message_id, instance, base.received_at, base.sender_ap)


def _decimal(value: Decimal | str | None) -> str | None:
    if value is None:
        return None
    try:
        return str(Decimal(str(value)))
    except InvalidOperation:
        raise ConfigError(f"amount {value!r} is not a decimal number") from None


def _invoice_row(inv: NewInvoice, now: dt.datetime) -> dict[str, Any]:
    if inv.direction not in ("outbound", "inbound"):
        raise ConfigError(f"direction must be 'outbound' or 'inbound', not {inv.direction!r}")
    if not isinstance(inv.issue_date, dt.date) or isinstance(inv.issue_date, dt.datetime):
        raise ConfigError("issue_date must be a datetime.date")
    if not str(inv.invoice_id).strip():
        raise ConfigError("invoice_id must not be empty")
    seller, buyer = norm_id(inv.seller), norm_id(inv.buyer)
    if ":" not in seller or ":" not in buyer:
        raise ConfigError(
            f"seller and buyer must be Peppol endpoints 'scheme:value', got {inv.seller!r}, {inv.buyer!r}")
    type_code = str(DocumentTypeCode(inv.type_code))
    state = None if inv.transport_state is None else TransportState(inv.transport_state)
    delivered = None if inv.delivered_at is None else _naive_utc(inv.delivered_at)
    if delivered is None and state in (TransportState.SENT, TransportState.RECEIPTED):
        delivered = now
    return {
        "direction": inv.direction,
        "invoice_no": inv.invoice_id,
        "seller": seller,
        "buyer": buyer,
        "type_code": type_code,
        "issue_date": inv.issue_date,
        "seller_keys": dump_keys({norm_id(a) for a in inv.seller_aliases}) if inv.seller_aliases else None,
        "buyer_keys": dump_keys({norm_id(a) for a in inv.buyer_aliases}) if inv.buyer_aliases else None,
        "seller_name": inv.seller_name,
        "buyer_name": inv.buyer_name,
        "amount": _decimal(inv.amount),
        "currency": inv.currency,
        "due_date": inv.due_date,
        "transport_state": None if state is None else state.value,
        "transport_at": now if state is not None else None,
        "transport_detail": None,
        "as4_message_id": inv.as4_message_id,
        "sbdh_instance_id": inv.sbdh_instance_id,
        "delivered_at": delivered,
        "status": None,
        "status_since": None,
        "status_response": None,
        "first_response_at": None,
        "recorded_at": now,
        "updated_at": now,
        "clock_start": delivered.date() if delivered is not None else inv.issue_date,
    }


def _record_from_row(r: Any) -> InvoiceRecord:
    return InvoiceRecord(
        pk=r.id, direction=r.direction, seller=r.seller, buyer=r.buyer, invoice_id=r.invoice_no,
        type_code=r.type_code, issue_date=r.issue_date,
        amount=None if r.amount is None else Decimal(r.amount), currency=r.currency, due_date=r.due_date,
        seller_name=r.seller_name, buyer_name=r.buyer_name,
        status=None if r.status is None else State(r.status), status_since=r.status_since,
        first_response_at=r.first_response_at,
        transport_state=None if r.transport_state is None else TransportState(r.transport_state),
        transport_at=r.transport_at, as4_message_id=r.as4_message_id, sbdh_instance_id=r.sbdh_instance_id,
        delivered_at=r.delivered_at, recorded_at=r.recorded_at,
    )


_HISTORY_COLS: Final = [c for c in t_resp.columns if c.name != "xml"]


def _entry_from_row(r: Any) -> HistoryEntry:
    return HistoryEntry(
        pk=r.id, direction=r.direction, response_id=r.response_id, sender=r.sender, receiver=r.receiver,
        state=State(r.state), issue_date=r.issue_date, issue_time=r.issue_time, issued_at=r.issued_at,
        effective_date=r.effective_date,
        clarifications=tuple(json.loads(r.clarifications)) if r.clarifications else (),
        note=r.note, mark=Mark(r.mark), rule=r.rule, stale=bool(r.stale), received_at=r.received_at,
        evidence=TransportEvidence(r.as4_message_id, r.sbdh_instance_id, r.received_at, r.sender_ap),
        transport_state=None if r.transport_state is None else TransportState(r.transport_state),
        content_hash=r.content_hash,
    )


def _history_sort_key(e: HistoryEntry) -> tuple[Any, ...]:
    return (*order_key(e.issued_at, e.state, e.response_id, e.sender, e.content_hash), e.pk)


@dataclass(slots=True)
class _EventDraft:
    kind: str
    invoice_pk: int | None
    response_pk: int | None
    previous: str | None
    current: str | None
    rule: str | None
    payload: dict[str, Any]


@dataclass(slots=True)
class _Settled:
    previous: State | None
    current: State | None


# -------------------------------------------------------------------------------------------------
# The tracker
# -------------------------------------------------------------------------------------------------


class Tracker:
    """Invoices and their statuses, over SQLite (default) or PostgreSQL.

    ``mode`` selects the strict (BIS) or lenient order (:class:`peppol_response.process.Mode`);
    ``sqlite_cache_mb``/``sqlite_mmap_mb`` tune a SQLite store (see :func:`peppol_response.db.make_engine`);
    ``calendar`` the working days for OP-BR111-R006; ``clock`` returns "now" as a UTC datetime (tests
    pass a fixed one). The store is created or upgraded to the latest schema when opened
    (``migrate=False`` refuses to open an outdated store instead).
    """

    def __init__(
        self,
        url: str | sa.Engine = DEFAULT_URL,
        *,
        mode: Mode | str = Mode.STRICT,
        calendar: WorkingCalendar | None = None,
        clock: Callable[[], dt.datetime] | None = None,
        migrate: bool = True,
        sqlite_cache_mb: int = 64,
        sqlite_mmap_mb: int = 1024,
    ) -> None:
        self.engine = make_engine(url, sqlite_cache_mb=sqlite_cache_mb, sqlite_mmap_mb=sqlite_mmap_mb)
        self.mode = Mode(mode)
        self.calendar = calendar or WorkingCalendar()
        self._clock = clock or _utcnow
        self._subscribers: list[Callable[[Event], None]] = []
        self._local = threading.RLock() if self.engine.dialect.name == "sqlite" else None
        self._memory = self.engine.dialect.name == "sqlite" and self.engine.url.database in (None, "", ":memory:")
        self._reader = threading.local()  # PostgreSQL: each thread's autocommit connection for status()
        self._readers: list[sa.Connection] = []
        self._readers_lock = threading.Lock()
        try:
            if migrate:
                schema.migrate(self.engine)
            else:
                with self._read() as conn:
                    found = schema.schema_version(conn)
                if found != schema.LATEST:
                    raise StoreError(f"the tracker store has schema version {found}, this release needs "
                                     f"{schema.LATEST}: open it with migrate=True to upgrade")
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"cannot open the tracker store: {exc}") from exc

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        with self._readers_lock:
            readers, self._readers = self._readers, []
        for conn in readers:
            conn.close()
        self.engine.dispose()

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def now(self) -> dt.datetime:
        return _naive_utc(self._clock())

    # -- transactions ------------------------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        # an in-memory SQLite store is one shared connection: reads must not interleave with a write
        shared = self._local if self._memory else None
        if shared is not None:
            shared.acquire()
        try:
            with self.engine.connect() as conn:
                conn = conn.execution_options(pr_read=True)
                with conn.begin():
                    yield conn
        finally:
            if shared is not None:
                shared.release()

    def _write(self, work: Callable[[sa.Connection, list[_EventDraft]], _T]) -> _T:
        """Run ``work`` in one write transaction with its events; retry lost races; notify subscribers."""

        def transaction() -> tuple[_T, list[Event]]:
            drafts: list[_EventDraft] = []
            with self._local or nullcontext(), self.engine.begin() as conn:
                result = work(conn, drafts)
                written = self._write_events(conn, drafts)
            return result, written

        result, written = retrying(transaction, what="the tracker store")
        self._notify(written)
        return result

    def _lock_docs(self, conn: sa.Connection, doc_ids: Iterable[str]) -> None:
        if conn.dialect.name != "postgresql":
            return  # SQLite: BEGIN IMMEDIATE already made this the only writer
        keys = sorted({_lock_key(d) for d in doc_ids})
        for chunk in _chunks(keys):
            conn.execute(
                sa.text("SELECT count(pg_advisory_xact_lock(k)) FROM "
                        "(SELECT k FROM unnest(CAST(:keys AS bigint[])) AS k ORDER BY k) AS s"),
                {"keys": list(chunk)},
            )

    # -- events --------------------------------------------------------------------------------------

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        """Call ``callback(event)`` after each commit of this tracker that caused events; returns unsubscribe.

        Subscribers run in the writing thread after the commit; an exception in one is logged and does
        not undo anything. Other processes' changes reach you through :meth:`events` or webhooks.
        """
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    def _notify(self, written: list[Event]) -> None:
        for ev in written:
            for cb in list(self._subscribers):
                try:
                    cb(ev)
                except Exception:
                    log.exception("tracker subscriber %r failed on event %s", cb, ev.id)

    def _write_events(self, conn: sa.Connection, drafts: list[_EventDraft]) -> list[Event]:
        if not drafts:
            return []
        now = self.now()
        rows = [{
            "created_at": now, "kind": d.kind, "invoice_id": d.invoice_pk, "response_row": d.response_pk,
            "previous": d.previous, "current": d.current, "rule": d.rule,
            "payload": json.dumps(d.payload, ensure_ascii=False, default=str),
        } for d in drafts]
        ids = _insert_ids(conn, t_events, rows)
        hooks = conn.execute(sa.select(t_hooks.c.id, t_hooks.c.kinds).where(t_hooks.c.active.is_(True))).all()
        if hooks:
            deliveries = []
            for event_id, d in zip(ids, drafts, strict=True):
                for hook in hooks:
                    kinds = json.loads(hook.kinds) if hook.kinds else None
                    if kinds is None or d.kind in kinds:
                        deliveries.append({"event_id": event_id, "webhook_id": hook.id, "state": "pending",
                                           "attempts": 0, "next_attempt_at": now})
            if deliveries:
                conn.execute(t_outbox.insert(), deliveries)
        return [Event(i, d.kind, now, d.invoice_pk, d.response_pk, d.previous, d.current, d.rule, d.payload)
                for i, d in zip(ids, drafts, strict=True)]

    def events(self, *, after: int = 0, limit: int = 100, invoice: InvoiceKey | InvoiceRecord | int | None = None
               ) -> list[Event]:
        """Events with id greater than ``after``, oldest first: a feed to poll instead of webhooks."""
        with self._read() as conn:
            q = sa.select(t_events).where(t_events.c.id > after).order_by(t_events.c.id).limit(limit)
            if invoice is not None:
                q = q.where(t_events.c.invoice_id == self._invoice_pk(conn, invoice))
            rows = conn.execute(q).all()
        return [Event(r.id, r.kind, r.created_at, r.invoice_id, r.response_row, r.previous, r.current, r.rule,
                      json.loads(r.payload)) for r in rows]

    # -- invoices --------------------------------------------------------------------------------------

    def record_invoice(self, invoice: NewInvoice | None = None, /, **fields: Any) -> InvoiceRecord:
        """Record one invoice (a :class:`NewInvoice`, or its fields as keywords); return it.

        Recording the same (seller, buyer, id, type code, issue date) again returns the stored invoice
        unchanged. Responses that arrived before it (orphans) are attached now.
        """
        inv = invoice if invoice is not None else NewInvoice(**fields)
        pk = self.record_invoices([inv])[0]
        with self._read() as conn:
            row = conn.execute(sa.select(t_inv).where(t_inv.c.id == pk)).one()
        return _record_from_row(row)

    def record_invoice_xml(self, xml: bytes | str, **fields: Any) -> InvoiceRecord:
        """Record an invoice from its BIS Billing XML (invoice or credit note, bare or in its SBDH).

        Reads seller, buyer, id, type code, issue date, payable amount, currency, due date and the
        parties' other identifiers with :func:`peppol_response.invoice.read_invoice`; ``fields``
        (``direction``, ``as4_message_id``, ``transport_state``, ...) add or override.
        """
        try:
            reader = importlib.import_module("peppol_response.invoice")
        except ImportError:  # pragma: no cover - until the document layer lands
            raise ConfigError("reading invoice XML needs peppol_response.invoice, which is not installed") from None
        summary = reader.read_invoice(xml)
        return self.record_invoice(_from_summary(summary, fields))

    def record_invoices(self, items: Iterable[NewInvoice]) -> list[int]:
        """Record many invoices in one transaction (batched); return their ids in order."""
        batch = list(items)
        now = self.now()
        rows = [_invoice_row(i, now) for i in batch]
        return self._write(lambda conn, drafts: self._record(conn, rows, drafts))

    def _record(self, conn: sa.Connection, rows: list[dict[str, Any]], drafts: list[_EventDraft]) -> list[int]:
        if not rows:
            return []
        self._lock_docs(conn, {r["invoice_no"] for r in rows})

        def key(r: dict[str, Any]) -> tuple[Any, ...]:
            return (r["invoice_no"], r["seller"], r["buyer"], r["type_code"], r["issue_date"])

        existing: dict[tuple[Any, ...], int] = {}
        cols = (t_inv.c.invoice_no, t_inv.c.seller, t_inv.c.buyer, t_inv.c.type_code, t_inv.c.issue_date)
        for chunk in _chunks(list({key(r) for r in rows})):
            cond = _among(conn, cols, list(chunk), (str, str, str, str, dt.date))
            for found in conn.execute(sa.select(t_inv.c.id, *cols).where(cond)):
                existing[(found.invoice_no, found.seller, found.buyer, found.type_code, found.issue_date)] = found.id
        fresh: list[dict[str, Any]] = []
        seen: set[tuple[Any, ...]] = set()
        for r in rows:
            k = key(r)
            if k not in existing and k not in seen:
                seen.add(k)
                fresh.append(r)
        if fresh:
            ids = _insert_ids(conn, t_inv, fresh)
            for r, pk in zip(fresh, ids, strict=True):
                existing[key(r)] = pk
            self._adopt_orphans(conn, sorted({r["invoice_no"] for r in fresh}), drafts)
        return [existing[key(r)] for r in rows]

    def _adopt_orphans(self, conn: sa.Connection, doc_ids: list[str], drafts: list[_EventDraft]) -> None:
        orphans: list[Any] = []
        for chunk in _chunks(doc_ids):
            orphans.extend(conn.execute(
                sa.select(t_resp.c.id, t_resp.c.doc_id, t_resp.c.doc_type_code, t_resp.c.doc_issue_date,
                          t_resp.c.seller_keys, t_resp.c.buyer_keys, t_resp.c.direction)
                .where(t_resp.c.invoice_id.is_(None), _among(conn, [t_resp.c.doc_id], list(chunk), (str,)))
            ).all())
        if not orphans:
            return
        cands = self._candidates_by_doc(conn, sorted({o.doc_id for o in orphans}))
        attach: list[dict[str, Any]] = []
        sent: list[dict[str, Any]] = []
        for o in orphans:
            pk = _match(o.doc_id, o.doc_type_code, o.doc_issue_date, load_keys(o.seller_keys),
                        load_keys(o.buyer_keys), cands.get(o.doc_id, []))
            if pk is not None:
                attach.append({"b_id": o.id, "b_inv": pk})
                if o.direction == "sent":
                    sent.append({"b_id": o.id, "b_inv": pk})
        if attach:
            conn.execute(t_resp.update().where(t_resp.c.id == sa.bindparam("b_id"))
                         .values(invoice_id=sa.bindparam("b_inv"), mark="accepted"), attach)
            _attach_attempts(conn, sent)
            self._settle(conn, {a["b_inv"] for a in attach}, drafts)

    def _candidates_by_doc(self, conn: sa.Connection, doc_ids: Sequence[str]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = defaultdict(list)
        for chunk in _chunks(doc_ids):
            cond = _among(conn, [t_inv.c.invoice_no], list(chunk), (str,))
            for r in _fast_rows(conn.execute(sa.select(*_CAND_COLS).where(cond)), _Cand):
                out[r.invoice_no].append(r)
        return out

    def set_transport(
        self,
        invoice: InvoiceKey | InvoiceRecord | int,
        state: TransportState | str,
        *,
        at: dt.datetime | None = None,
        as4_message_id: str | None = None,
        sbdh_instance_id: str | None = None,
        detail: str | None = None,
    ) -> InvoiceRecord:
        """Move an invoice's *transport* state (queued/sent/receipted/failed); the status is untouched.

        The first ``sent`` or ``receipted`` sets the delivery time, which starts the OP-BR111-R006 clock.
        """
        when = _naive_utc(at) if at is not None else self.now()

        def work(conn: sa.Connection, drafts: list[_EventDraft]) -> int:
            pk = self._invoice_pk(conn, invoice)
            self._move_invoice_transport(conn, drafts, pk, TransportState(state), when, as4_message_id=as4_message_id,
                                         sbdh_instance_id=sbdh_instance_id, detail=detail)
            return pk

        pk = self._write(work)
        return self.invoice(pk)

    def _move_invoice_transport(
        self,
        conn: sa.Connection,
        drafts: list[_EventDraft],
        pk: int,
        state: TransportState,
        when: dt.datetime,
        *,
        as4_message_id: str | None = None,
        sbdh_instance_id: str | None = None,
        detail: str | None = None,
        only_if_allowed: bool = False,
    ) -> None:
        """Move invoice ``pk``'s transport state (TransportStateError, or with ``only_if_allowed`` nothing, when
        the transport rules refuse it); the first ``sent``/``receipted`` starts the R006 clock."""
        number = conn.execute(sa.select(t_inv.c.invoice_no).where(t_inv.c.id == pk)).scalar_one()
        self._lock_docs(conn, [number])  # then read the row: what we check is what we update
        row = conn.execute(sa.select(t_inv).where(t_inv.c.id == pk)).one()
        if only_if_allowed and not _transport_allowed(row.transport_state, state):
            return
        new = check_transport(row.transport_state, state)
        values: dict[str, Any] = {"transport_state": new.value, "transport_at": when, "updated_at": self.now()}
        if as4_message_id is not None:
            values["as4_message_id"] = as4_message_id
        if sbdh_instance_id is not None:
            values["sbdh_instance_id"] = sbdh_instance_id
        if detail is not None:
            values["transport_detail"] = detail
        if row.delivered_at is None and new in (TransportState.SENT, TransportState.RECEIPTED):
            values["delivered_at"] = when
            values["clock_start"] = when.date()
        conn.execute(t_inv.update().where(t_inv.c.id == pk).values(**values))
        if new.value != row.transport_state:
            drafts.append(_EventDraft("transport.changed", pk, None, row.transport_state, new.value, None, {
                "type": "transport.changed", "invoice": _invoice_payload(row),
                "previous": row.transport_state, "current": new.value, "at": when.isoformat(),
                "as4_message_id": values.get("as4_message_id", row.as4_message_id),
            }))

    def _move_response_transport(
        self,
        conn: sa.Connection,
        drafts: list[_EventDraft],
        response_pk: int,
        state: TransportState,
        *,
        as4_message_id: str | None = None,
        only_if_allowed: bool = False,
    ) -> Any:
        """Move the transport state of response ``response_pk`` (one we send); return its row as it was."""
        row = conn.execute(sa.select(t_resp.c.transport_state, t_resp.c.direction, t_resp.c.invoice_id)
                           .where(t_resp.c.id == response_pk).with_for_update()).one_or_none()
        if row is None:
            raise NotFoundError(f"no stored response #{response_pk}")
        if row.direction != "sent":
            raise ConfigError(f"response #{response_pk} was received, not sent: it has no transport state of ours")
        if only_if_allowed and not _transport_allowed(row.transport_state, state):
            return row
        new = check_transport(row.transport_state, state)
        values: dict[str, Any] = {"transport_state": new.value}
        if as4_message_id is not None:
            values["as4_message_id"] = as4_message_id
        conn.execute(t_resp.update().where(t_resp.c.id == response_pk).values(**values))
        if new.value != row.transport_state:
            drafts.append(_EventDraft("transport.changed", row.invoice_id, response_pk, row.transport_state,
                                      new.value, None, {"type": "transport.changed", "response_pk": response_pk,
                                                        "previous": row.transport_state, "current": new.value}))
        return row

    # -- transport history ------------------------------------------------------------------------------

    def _transport_target(self, ref: InvoiceKey | InvoiceRecord | int | IngestResult | HistoryEntry | None,
                          response_pk: int | None) -> tuple[int | None, int | None]:
        """(invoice pk, None) for an invoice, (None, response pk) for a response we sent; checked now."""
        if (ref is None) == (response_pk is None):
            raise ConfigError("name an invoice (InvoiceKey, InvoiceRecord or its number) or a response we sent "
                              "(the IngestResult of record_sent, its HistoryEntry, or response_pk=)")
        if isinstance(ref, IngestResult):
            response_pk = ref.response_pk
        elif isinstance(ref, HistoryEntry):
            response_pk = ref.pk
        elif ref is not None:
            with self._read() as conn:
                return self._invoice_pk(conn, ref), None
        with self._read() as conn:
            direction = conn.execute(sa.select(t_resp.c.direction).where(t_resp.c.id == response_pk)).scalar()
        if direction is None:
            raise NotFoundError(f"no stored response #{response_pk}")
        if direction != "sent":
            raise ConfigError(f"response #{response_pk} was received, not sent: we made no attempts to deliver it")
        return None, response_pk

    def attempt_recorder(
        self,
        ref: InvoiceKey | InvoiceRecord | int | IngestResult | HistoryEntry | None = None,
        *,
        response_pk: int | None = None,
    ) -> Callable[[SenderAttempt], None]:
        """A callable for the AS4 sender's ``on_attempt``: it keeps each attempt in the transport history.

        ``ref`` names what is being sent: an invoice we send (an :class:`InvoiceKey`, its
        :class:`InvoiceRecord` or its number), or a response we send on the buyer's side (the
        :class:`IngestResult` :meth:`record_sent` returned, its :class:`HistoryEntry`, or ``response_pk=``).
        It is checked now (:class:`~peppol_response.errors.NotFoundError`).

        Each attempt is stored in a short transaction of its own, as it happens, and moves the transport
        state where the transport rules allow: a ``retryable`` attempt (no verdict) to ``sent``, a
        ``receipted`` one to ``receipted``, a ``refused`` or ``failed`` one to ``failed``; a receipt is final,
        so nothing moves it back. The first ``sent``/``receipted`` of an invoice starts its R006 clock. When
        every retry is spent (:class:`~peppol_response.errors.RetriesExhaustedError`) the state stays
        ``sent``: the message may have arrived. The same attempt handed over twice is stored once.

        A failure to store is logged and does not interrupt the delivery (the attempts are still in the
        sender's result or error, and recording them again later fills the gaps).
        """
        invoice_pk, resp_pk = self._transport_target(ref, response_pk)

        def record(attempt: SenderAttempt) -> None:
            try:
                self._record_attempt(invoice_pk, resp_pk, attempt)
            except PeppolResponseError:
                log.exception("could not keep attempt %s of AS4 message %s in the tracker's transport history",
                              getattr(attempt, "number", "?"), getattr(attempt, "message_id", "?"))

        return record

    def _record_attempt(self, invoice_pk: int | None, response_pk: int | None, attempt: SenderAttempt) -> None:
        outcome = str(getattr(attempt.outcome, "value", attempt.outcome))
        state = _ATTEMPT_STATES.get(outcome)
        if state is None:
            raise ConfigError(f"unknown attempt outcome {outcome!r}; expected one of {sorted(_ATTEMPT_STATES)}")
        started = _naive_utc(attempt.started_at)
        row = {
            "invoice_id": invoice_pk, "response_row": response_pk, "message_id": attempt.message_id,
            "attempt": int(attempt.number), "started_at": started, "duration": attempt.duration, "url": attempt.url,
            "http_status": attempt.http_status, "outcome": outcome, "error_code": attempt.error_code,
            "error_detail": attempt.error_detail, "error": attempt.error,
            "receipt_message_id": attempt.receipt_message_id, "recorded_at": self.now(),
        }

        def work(conn: sa.Connection, drafts: list[_EventDraft]) -> None:
            seen = conn.execute(_Q_ATTEMPT_SEEN, {"mid": attempt.message_id, "n": row["attempt"],
                                                  "at": started}).first()
            if seen is not None:
                return  # the same attempt again (two callbacks, or recorded after the fact): stored once
            if response_pk is not None:
                sent = self._move_response_transport(conn, drafts, response_pk, state,
                                                     as4_message_id=attempt.message_id, only_if_allowed=True)
                row["invoice_id"] = sent.invoice_id
            else:
                assert invoice_pk is not None
                self._move_invoice_transport(conn, drafts, invoice_pk, state, started,
                                             as4_message_id=attempt.message_id, detail=_attempt_detail(attempt),
                                             only_if_allowed=True)
            conn.execute(t_att.insert().values(**row))

        self._write(work)

    def transport_history(
        self,
        ref: InvoiceKey | InvoiceRecord | int | IngestResult | HistoryEntry | None = None,
        *,
        response_pk: int | None = None,
    ) -> tuple[TransportAttempt, ...]:
        """Every recorded attempt to deliver ``ref``, oldest first (see :meth:`attempt_recorder` for ``ref``).

        For an invoice: the attempts to send the invoice and those to send the responses we sent for it
        (:attr:`TransportAttempt.response_pk` tells them apart); for a response: its own.
        """
        invoice_pk, resp_pk = self._transport_target(ref, response_pk)
        with self._read() as conn:
            if resp_pk is not None:
                rows = conn.execute(_Q_ATTEMPTS_BY_RESPONSE, {"pk": resp_pk}).all()
            else:
                rows = conn.execute(_Q_ATTEMPTS_BY_INVOICE, {"pk": invoice_pk}).all()
        return tuple(_attempt_from_row(r) for r in rows)

    # -- responses ---------------------------------------------------------------------------------------

    def ingest(
        self,
        source: Source,
        *,
        evidence: TransportEvidence | None = None,
        keep_xml: bool = True,
    ) -> IngestResult:
        """Store a received response and update its invoice's status; return what happened.

        ``source`` is the XML (bare or in its SBDH envelope) or a parsed
        :class:`~peppol_response.model.InvoiceResponse`; ``evidence`` how it travelled. Ingesting the same
        response again (same sender, response ID and content) changes nothing and reports ``duplicate``.
        """
        return self.ingest_many([(source, evidence)], keep_xml=keep_xml)[0]

    def ingest_delivery(self, payload: bytes, evidence: TransportEvidence) -> IngestResult:
        """Ingest what the AS4 receiver delivered: the payload with its transport evidence."""
        return self.ingest(payload, evidence=evidence)

    def ingest_many(
        self,
        sources: Iterable[Source | tuple[Source, TransportEvidence | None]],
        *,
        keep_xml: bool = True,
    ) -> list[IngestResult]:
        """Ingest many responses in one transaction (the fast path); results in input order.

        ``previous``/``current`` of each result are its invoice's status before and after the whole batch.
        XML that does not parse raises :class:`~peppol_response.errors.ParseError` before anything is
        stored (naming the position in the batch).
        """
        now = self.now()
        prepared: list[_Prepared] = []
        for i, item in enumerate(sources):
            src, ev = item if isinstance(item, tuple) else (item, None)
            try:
                prepared.append(_prepare(src, direction="received", evidence=ev, received_at=now, keep_xml=keep_xml))
            except ParseError as exc:
                raise ParseError(f"response #{i} of the batch: {exc.reason}", line=exc.line, path=exc.path) from exc
        if not prepared:
            return []
        return self._write(lambda conn, drafts: self._ingest(conn, prepared, drafts))

    def _ingest(
        self,
        conn: sa.Connection,
        items: list[_Prepared],
        drafts: list[_EventDraft],
        *,
        before_insert: Callable[[sa.Connection, _Prepared, int | None], None] | None = None,
    ) -> list[IngestResult]:
        self._lock_docs(conn, {it.doc_id for it in items})
        # 1. identity: (sender, response ID); the same content again is a duplicate
        idents = list({(it.sender, it.row["response_id"]) for it in items})
        known: dict[tuple[str, str], list[Any]] = defaultdict(list)
        for chunk in _chunks(idents):
            q = sa.select(t_resp.c.id, t_resp.c.sender, t_resp.c.response_id, t_resp.c.variant,
                          t_resp.c.content_hash, t_resp.c.invoice_id, t_resp.c.mark, t_resp.c.rule,
                          t_resp.c.stale, t_resp.c.state)
            cond = _among(conn, [t_resp.c.sender, t_resp.c.response_id], list(chunk), (str, str))
            for r in conn.execute(q.where(cond)):
                known[(r.sender, r.response_id)].append(r)
        plan: list[tuple[str, Any]] = []  # ("new", index into fresh) | ("dup", stored row) | ("dup-new", index)
        fresh: list[_Prepared] = []
        pending: dict[tuple[str, str, str], int] = {}
        variants: dict[tuple[str, str], int] = {}
        for it in items:
            ident = (it.sender, it.row["response_id"])
            stored = next((r for r in known[ident] if r.content_hash == it.content_hash), None)
            if stored is not None:
                plan.append(("dup", stored))
                continue
            in_batch = pending.get((*ident, it.content_hash))
            if in_batch is not None:
                plan.append(("dup-new", in_batch))
                continue
            variant = variants.get(ident, len(known[ident]))
            variants[ident] = variant + 1
            it.row["variant"] = variant
            pending[(*ident, it.content_hash)] = len(fresh)
            plan.append(("new", len(fresh)))
            fresh.append(it)
        # 2. match the new ones to invoices
        matched = self._match_many(conn, fresh)
        for it, pk in zip(fresh, matched, strict=True):
            if before_insert is not None:
                before_insert(conn, it, pk)
            it.row["invoice_id"] = pk
            it.row["mark"] = "conflict" if it.row["variant"] else ("orphan" if pk is None else "accepted")
            it.row["rule"] = None
            it.row["stale"] = False
        # 3. store them
        ids: list[int] = []
        if fresh:
            ids = _insert_ids(conn, t_resp, [it.row for it in fresh])
        # 4. recompute the invoices they belong to
        affected = {it.row["invoice_id"] for it in fresh if it.row["invoice_id"] is not None and not it.row["variant"]}
        dup_invoices = {r.invoice_id for kind, r in plan if kind == "dup" and r.invoice_id is not None}
        settled, marks = self._settle(conn, affected, drafts)
        statuses: dict[int, State | None] = {}
        extra = dup_invoices - set(settled)
        for chunk in _chunks(sorted(extra)):
            cond = _among(conn, [t_inv.c.id], list(chunk), (int,))
            for srow in conn.execute(sa.select(t_inv.c.id, t_inv.c.status).where(cond)):
                statuses[srow.id] = None if srow.status is None else State(srow.status)
        for it, rid in zip(fresh, ids, strict=True):
            if it.row["variant"]:
                drafts.append(self._response_event("response.conflict", it, rid, None))
            elif it.row["invoice_id"] is None:
                drafts.append(self._response_event("response.orphaned", it, rid, None))
        results: list[IngestResult] = []
        for kind, ref in plan:
            if kind == "dup":
                st = statuses.get(ref.invoice_id) if ref.invoice_id not in settled else settled[ref.invoice_id].current
                results.append(IngestResult(Outcome.DUPLICATE, ref.id, ref.invoice_id, State(ref.state),
                                            Mark(ref.mark), ref.rule, bool(ref.stale), st, st))
                continue
            it = fresh[ref]
            rid = ids[ref]
            pk = it.row["invoice_id"]
            if kind == "dup-new":
                mark, rule, stale = marks.get(rid, (it.row["mark"], None, False))
                cur = settled[pk].current if pk in settled else None
                results.append(IngestResult(Outcome.DUPLICATE, rid, pk, it.state, Mark(mark), rule, stale, cur, cur))
                continue
            if it.row["variant"]:
                results.append(IngestResult(Outcome.CONFLICT, rid, pk, it.state, Mark.CONFLICT,
                                            message="another document was stored under this sender and response ID"))
                continue
            if pk is None:
                results.append(IngestResult(Outcome.ORPHAN, rid, None, it.state, Mark.ORPHAN,
                                            message="no recorded invoice matches this response (yet)"))
                continue
            mark, rule, stale = marks[rid]
            s = settled[pk]
            results.append(IngestResult(Outcome.STORED, rid, pk, it.state, Mark(mark), rule, stale, s.previous,
                                        s.current, message=self._rule_message(rule, s, it.state)))
        return results

    @staticmethod
    def _rule_message(rule: str | None, s: _Settled, state: State) -> str | None:
        if rule is None:
            return None
        return f"{state.value} was ignored ({rule}); the status stays {s.current.value if s.current else 'none'}"

    @staticmethod
    def _response_event(kind: str, it: _Prepared, rid: int, invoice: Any) -> _EventDraft:
        return _EventDraft(kind, it.row.get("invoice_id"), rid, None, it.state.value, None, {
            "type": kind, "invoice": invoice,
            "response": {"id": it.row["response_id"], "sender": it.sender, "status": it.state.value,
                         "issued_at": it.row["issued_at"].isoformat(), "document_id": it.doc_id,
                         "document_type_code": it.row["doc_type_code"]},
        })

    def _match_many(self, conn: sa.Connection, fresh: list[_Prepared]) -> list[int | None]:
        if not fresh:
            return []
        exact: dict[tuple[str, str, str], list[Any]] = defaultdict(list)
        triples = list({(it.doc_id, it.seller, it.buyer) for it in fresh})
        for chunk in _chunks(triples):
            q = sa.select(*_CAND_COLS).where(
                _among(conn, [t_inv.c.invoice_no, t_inv.c.seller, t_inv.c.buyer], list(chunk), (str, str, str)))
            for r in _fast_rows(conn.execute(q), _Cand):
                exact[(r.invoice_no, r.seller, r.buyer)].append(r)
        out: list[int | None] = []
        retry: list[int] = []
        for i, it in enumerate(fresh):
            cands = exact.get((it.doc_id, it.seller, it.buyer), [])
            pk = _match(it.doc_id, it.row["doc_type_code"], it.row["doc_issue_date"], it.seller_keys, it.buyer_keys,
                        cands)
            out.append(pk)
            if pk is None and (len(it.seller_keys) > 1 or len(it.buyer_keys) > 1 or not cands):
                retry.append(i)
        if retry:
            # aliases (party identifiers, IssuerParty/RecipientParty) or invoices recorded under other endpoints
            wide = self._candidates_by_doc(conn, sorted({fresh[i].doc_id for i in retry}))
            for i in retry:
                it = fresh[i]
                out[i] = _match(it.doc_id, it.row["doc_type_code"], it.row["doc_issue_date"], it.seller_keys,
                                it.buyer_keys, wide.get(it.doc_id, []))
        return out

    def _settle(
        self, conn: sa.Connection, invoice_pks: set[int], drafts: list[_EventDraft]
    ) -> tuple[dict[int, _Settled], dict[int, tuple[str, str | None, bool]]]:
        """Replay each invoice's responses in issue order; store marks, status and events that changed."""
        settled: dict[int, _Settled] = {}
        all_marks: dict[int, tuple[str, str | None, bool]] = {}
        if not invoice_pks:
            return settled, all_marks
        pks = sorted(invoice_pks)
        inv_rows: dict[int, Any] = {}
        per_invoice: dict[int, list[Any]] = defaultdict(list)
        for chunk in _chunks(pks):
            cond = _among(conn, [t_inv.c.id], list(chunk), (int,))
            for r in _fast_rows(conn.execute(sa.select(*_SETTLE_INV_COLS).where(cond)), _SettleInv):
                inv_rows[r.id] = r
            cond = _among(conn, [t_resp.c.invoice_id], list(chunk), (int,))
            for rr in _fast_rows(conn.execute(sa.select(*_SETTLE_RESP_COLS).where(cond)), _SettleResp):
                per_invoice[rr.invoice_id].append(rr)
        mark_updates: list[dict[str, Any]] = []
        inv_updates: list[dict[str, Any]] = []
        now = self.now()
        for pk in pks:
            inv = inv_rows[pk]
            rows = per_invoice.get(pk, [])
            items = []
            for r in rows:
                st = _STATES[r.state]
                items.append(Item(r.id, order_key(r.issued_at, st, r.response_id, r.sender, r.content_hash), st,
                                  conflict=bool(r.variant)))
            credit_note = _is_credit(inv.type_code)
            outcome = replay_items(items, credit_note=credit_note, mode=self.mode)
            all_marks.update(outcome.marks)
            by_id = {r.id: r for r in rows}
            ignored_drafts: list[_EventDraft] = []
            for rid, (mark, rule, stale) in outcome.marks.items():
                r = by_id[rid]
                if (r.mark, r.rule, bool(r.stale)) != (mark, rule, stale):
                    mark_updates.append({"b_id": rid, "b_mark": mark, "b_rule": rule, "b_stale": stale})
                    if mark == "ignored" and r.mark != "ignored":
                        ignored_drafts.append(_EventDraft("response.ignored", pk, rid, inv.status, r.state, rule, {
                            "type": "response.ignored", "invoice": _invoice_payload(inv), "rule": rule,
                            "response": {"id": r.response_id, "sender": r.sender, "status": r.state,
                                         "issued_at": r.issued_at.isoformat()},
                        }))
            previous = None if inv.status is None else _STATES[inv.status]
            current = outcome.state
            deciding = by_id[outcome.deciding_row] if outcome.deciding_row is not None else None
            live = [r.received_at for r in rows if not r.variant]
            first = min(live) if live else None
            since = deciding.issued_at if deciding is not None else None
            new_vals = (None if current is None else current.value, since,
                        None if deciding is None else deciding.id, first)
            if new_vals != (inv.status, inv.status_since, inv.status_response, inv.first_response_at):
                inv_updates.append({"b_id": pk, "b_status": new_vals[0], "b_since": since, "b_resp": new_vals[2],
                                    "b_first": first, "b_now": now})
            if previous != current:
                drafts.append(_EventDraft("status.changed", pk, None if deciding is None else deciding.id,
                                          None if previous is None else previous.value,
                                          None if current is None else current.value, None, {
                    "type": "status.changed", "invoice": _invoice_payload(inv),
                    "previous": None if previous is None else previous.value,
                    "current": None if current is None else current.value,
                    "final": current is not None and current.is_final,
                    "since": None if since is None else since.isoformat(),
                    "response": None if deciding is None else {
                        "id": deciding.response_id, "sender": deciding.sender,
                        "issued_at": deciding.issued_at.isoformat(),
                        "received_at": deciding.received_at.isoformat()},
                }))
            drafts.extend(ignored_drafts)
            settled[pk] = _Settled(previous, current)
        _update_many(conn, t_resp, {"b_mark": "mark", "b_rule": "rule", "b_stale": "stale"}, mark_updates)
        _update_many(conn, t_inv, {"b_status": "status", "b_since": "status_since", "b_resp": "status_response",
                                   "b_first": "first_response_at", "b_now": "updated_at"}, inv_updates)
        return settled, all_marks

    def attach(self, response_pk: int, invoice: InvoiceKey | InvoiceRecord | int) -> IngestResult:
        """Attach an orphan response to an invoice by hand (when the automatic matching cannot decide)."""

        def work(conn: sa.Connection, drafts: list[_EventDraft]) -> IngestResult:
            pk = self._invoice_pk(conn, invoice)
            row = conn.execute(sa.select(t_resp.c.id, t_resp.c.invoice_id, t_resp.c.doc_id, t_resp.c.state,
                                         t_resp.c.direction).where(t_resp.c.id == response_pk)).one_or_none()
            if row is None:
                raise NotFoundError(f"no stored response #{response_pk}")
            if row.invoice_id is not None:
                raise ConfigError(f"response #{response_pk} already belongs to invoice #{row.invoice_id}")
            self._lock_docs(conn, [row.doc_id])
            conn.execute(t_resp.update().where(t_resp.c.id == response_pk).values(invoice_id=pk, mark="accepted"))
            if row.direction == "sent":
                _attach_attempts(conn, [{"b_id": response_pk, "b_inv": pk}])
            settled, marks = self._settle(conn, {pk}, drafts)
            mark, rule, stale = marks[response_pk]
            return IngestResult(Outcome.STORED, response_pk, pk, State(row.state), Mark(mark), rule, stale,
                                settled[pk].previous, settled[pk].current)

        return self._write(work)

    # -- the buyer's side: guard what we send -----------------------------------------------------------

    def can_send(
        self, invoice: InvoiceKey | InvoiceRecord | int, code: str | State, *, partial: bool = False
    ) -> State:
        """Check that we may send ``code`` for ``invoice`` now; return the state it leads to.

        Raises :class:`~peppol_response.errors.LocalOrderError` naming the OP-BR111 rule otherwise.
        """
        record = self.invoice(invoice)
        new = code if isinstance(code, State) else State.of(code, partial)
        refusal = check(record.status, new, credit_note=DocumentTypeCode(record.type_code).is_credit_note,
                        mode=self.mode)
        if refusal is not None:
            raise LocalOrderError(refusal.message, rule=refusal.rule,
                                  current=None if record.status is None else record.status.value, attempted=new.value)
        return new

    def record_sent(
        self,
        response: InvoiceResponse | bytes,
        *,
        force: bool = False,
        transport_state: TransportState | str | None = TransportState.QUEUED,
        evidence: TransportEvidence | None = None,
    ) -> IngestResult:
        """Store a response *we* send (the buyer's side), after checking the order rules.

        The invoice must be recorded (``direction="inbound"``). A response the rules refuse raises
        :class:`~peppol_response.errors.LocalOrderError` and nothing is stored, unless ``force=True``
        (it is then stored and marked ignored, like any out-of-order response).
        """
        now = self.now()
        it = _prepare(response, direction="sent", evidence=evidence, received_at=now, keep_xml=True)
        if transport_state is not None:
            it.row["transport_state"] = TransportState(transport_state).value

        def guard(conn: sa.Connection, item: _Prepared, pk: int | None) -> None:
            if pk is None:
                if force:
                    return
                raise NotFoundError(f"no recorded invoice {item.doc_id!r} from {item.seller} to {item.buyer}: "
                                    "record it (direction='inbound') before answering it")
            if force:
                return
            self._check_send(conn, pk, item)

        def work(conn: sa.Connection, drafts: list[_EventDraft]) -> IngestResult:
            return self._ingest(conn, [it], drafts, before_insert=guard)[0]

        return self._write(work)

    def _check_send(self, conn: sa.Connection, pk: int, item: _Prepared) -> None:
        inv = conn.execute(sa.select(t_inv.c.status, t_inv.c.status_response, t_inv.c.type_code)
                           .where(t_inv.c.id == pk)).one()
        current = None if inv.status is None else State(inv.status)
        refusal = check(current, item.state, credit_note=DocumentTypeCode(inv.type_code).is_credit_note,
                        mode=self.mode)
        if refusal is None and inv.status_response is not None:
            d = conn.execute(sa.select(t_resp.c.issued_at, t_resp.c.state, t_resp.c.response_id, t_resp.c.sender,
                                       t_resp.c.content_hash).where(t_resp.c.id == inv.status_response)).one()
            mine = order_key(item.row["issued_at"], item.state, item.row["response_id"], item.sender,
                             item.content_hash)
            if mine < order_key(d.issued_at, State(d.state), d.response_id, d.sender, d.content_hash):
                raise LocalOrderError(
                    f"this response is dated before the current status {current} (issued "
                    f"{d.issued_at.isoformat()}); it would not count", rule=R012,
                    current=None if current is None else current.value, attempted=item.state.value)
        if refusal is not None:
            raise LocalOrderError(refusal.message, rule=refusal.rule,
                                  current=None if current is None else current.value, attempted=item.state.value)

    def set_response_transport(self, response_pk: int, state: TransportState | str, *,
                               as4_message_id: str | None = None) -> None:
        """Move the transport state of a response we send (queued/sent/receipted/failed)."""
        self._write(lambda conn, drafts: self._move_response_transport(
            conn, drafts, response_pk, TransportState(state), as4_message_id=as4_message_id))

    # -- queries -----------------------------------------------------------------------------------------

    def _invoice_row(self, conn: sa.Connection, ref: InvoiceKey | InvoiceRecord | int) -> Any:
        """The stored invoice row named by ``ref`` (one query, prebuilt statements)."""
        if isinstance(ref, InvoiceRecord):
            ref = ref.pk
        if isinstance(ref, int) and not isinstance(ref, bool):
            found = conn.execute(_Q_INVOICE_BY_PK, {"pk": ref}).one_or_none()
            if found is None:
                raise NotFoundError(f"no recorded invoice #{ref}")
            return found
        if not isinstance(ref, InvoiceKey):
            raise ConfigError(f"an invoice is named by an InvoiceKey, an InvoiceRecord or its id, not {ref!r}")
        rows = conn.execute(_Q_INVOICE_BY_KEY, {"no": ref.invoice_id, "seller": norm_id(ref.seller),
                                                "buyer": norm_id(ref.buyer), "type": str(ref.type_code)}).all()
        if ref.issue_date is not None:
            rows = [r for r in rows if r.issue_date == ref.issue_date]
        if not rows:
            raise NotFoundError(f"no recorded invoice {ref.invoice_id!r} ({ref.type_code}) from {ref.seller} to "
                                f"{ref.buyer}" + (f" issued {ref.issue_date}" if ref.issue_date else ""))
        if len(rows) > 1:
            raise ConfigError(f"invoice {ref.invoice_id!r} from {ref.seller} to {ref.buyer} was issued more than once; "
                              "give its issue date")
        return rows[0]

    def _invoice_pk(self, conn: sa.Connection, ref: InvoiceKey | InvoiceRecord | int) -> int:
        if isinstance(ref, InvoiceRecord):
            return ref.pk
        return int(self._invoice_row(conn, ref).id)

    def invoice(self, ref: InvoiceKey | InvoiceRecord | int) -> InvoiceRecord:
        """The invoice with its current status (no history)."""
        with self._read() as conn:
            return _record_from_row(self._invoice_row(conn, ref))

    def status(self, ref: InvoiceKey | InvoiceRecord | int) -> InvoiceStatus:
        """The invoice, its current status and its full history (issue order, every response kept)."""
        if self._memory or self.engine.dialect.name != "postgresql":
            with self._read() as conn:
                inv = self._invoice_row(conn, ref)
                rows = conn.execute(_Q_HISTORY, {"pk": inv.id}).all()
                # the invoice row says whether it has any (an index probe), so most invoices cost no query
                sent = conn.execute(_Q_ATTEMPTS_BY_INVOICE, {"pk": inv.id}).all() if inv.has_attempts else ()
            history = sorted((_entry_from_row(r) for r in rows), key=_history_sort_key)
            return InvoiceStatus(_record_from_row(inv), tuple(history), tuple(_attempt_from_row(a) for a in sent))
        return self._status_one_statement(ref)

    def _status_one_statement(self, ref: InvoiceKey | InvoiceRecord | int) -> InvoiceStatus:
        """PostgreSQL: the invoice and its history in one statement on an autocommit connection.

        Over a network every round trip counts: the general read path costs a pool pre-ping, BEGIN, two
        queries and a ROLLBACK. One statement sees one snapshot, so the invoice and its history agree
        without a transaction; the connection stays with the thread (no checkout ping) and a statement
        that fails on a dropped connection is run once more on a fresh one.
        """
        if isinstance(ref, InvoiceRecord):
            ref = ref.pk
        params: dict[str, Any]
        if isinstance(ref, int) and not isinstance(ref, bool):
            query, params = _Q_STATUS_BY_PK, {"pk": ref}
        elif isinstance(ref, InvoiceKey):
            query, params = _Q_STATUS_BY_KEY, {"no": ref.invoice_id, "seller": norm_id(ref.seller),
                                               "buyer": norm_id(ref.buyer), "type": str(ref.type_code)}
        else:
            raise ConfigError(f"an invoice is named by an InvoiceKey, an InvoiceRecord or its id, not {ref!r}")
        rows = self._autocommit_rows(query, params)
        by_invoice: dict[int, tuple[Any, list[HistoryEntry]]] = {}
        for r in rows:
            got = by_invoice.get(r.id)
            if got is None:
                got = by_invoice[r.id] = (r, [])
            if r.h_id is not None:
                got[1].append(_entry_from_row(_Prefixed(r, "h_")))
        if isinstance(ref, InvoiceKey) and ref.issue_date is not None:
            by_invoice = {k: v for k, v in by_invoice.items() if v[0].issue_date == ref.issue_date}
        if not by_invoice:
            if isinstance(ref, InvoiceKey):
                raise NotFoundError(f"no recorded invoice {ref.invoice_id!r} ({ref.type_code}) from {ref.seller} to "
                                    f"{ref.buyer}" + (f" issued {ref.issue_date}" if ref.issue_date else ""))
            raise NotFoundError(f"no recorded invoice #{ref}")
        if len(by_invoice) > 1:
            assert isinstance(ref, InvoiceKey)
            raise ConfigError(f"invoice {ref.invoice_id!r} from {ref.seller} to {ref.buyer} was issued more than "
                              "once; give its issue date")
        inv, entries = next(iter(by_invoice.values()))
        # a second statement only for an invoice with delivery attempts (attempts are only ever added: it
        # may see one that came after the first statement, never miss one the invoice row reflects)
        sent = self._autocommit_rows(_Q_ATTEMPTS_BY_INVOICE, {"pk": inv.id}) if inv.has_attempts else ()
        return InvoiceStatus(_record_from_row(inv), tuple(sorted(entries, key=_history_sort_key)),
                             tuple(_attempt_from_row(a) for a in sent))

    def _autocommit_rows(self, query: sa.Select[Any], params: dict[str, Any]) -> Sequence[Any]:
        for attempt in (1, 2):
            conn = getattr(self._reader, "conn", None)
            if conn is None or conn.closed or conn.invalidated:
                conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
                self._reader.conn = conn
                with self._readers_lock:
                    self._readers.append(conn)
            try:
                return conn.execute(query, params).all()
            except sa.exc.DBAPIError as exc:
                self._reader.conn = None
                with self._readers_lock:
                    self._readers.remove(conn)
                conn.close()
                if attempt == 2 or not exc.connection_invalidated:
                    raise
        raise AssertionError("unreachable")

    def history(self, ref: InvoiceKey | InvoiceRecord | int) -> tuple[HistoryEntry, ...]:
        return self.status(ref).history

    def response_xml(self, response_pk: int) -> bytes | None:
        """The XML a response was ingested from (None when it was ingested as a model)."""
        with self._read() as conn:
            return conn.execute(sa.select(t_resp.c.xml).where(t_resp.c.id == response_pk)).scalar()

    def orphans(self, *, limit: int = 100) -> list[HistoryEntry]:
        """Responses that match no recorded invoice (yet), oldest first."""
        with self._read() as conn:
            rows = conn.execute(sa.select(*_HISTORY_COLS).where(t_resp.c.invoice_id.is_(None))
                                .order_by(t_resp.c.id).limit(limit)).all()
        return [_entry_from_row(r) for r in rows]

    def list_invoices(
        self,
        *,
        status: State | str | None = None,
        seller: str | None = None,
        buyer: str | None = None,
        issued_from: dt.date | None = None,
        issued_to: dt.date | None = None,
        direction: str | None = None,
        no_status: bool = False,
        limit: int = 100,
        offset: int = 0,
    ) -> list[InvoiceRecord]:
        """Invoices filtered by status (``"PD+PPD"`` for partial payments), parties and issue dates."""
        q = sa.select(t_inv)
        if status is not None:
            q = q.where(t_inv.c.status == State(status).value)
        if no_status:
            q = q.where(t_inv.c.status.is_(None))
        if seller is not None:
            q = q.where(t_inv.c.seller == norm_id(seller))
        if buyer is not None:
            q = q.where(t_inv.c.buyer == norm_id(buyer))
        if issued_from is not None:
            q = q.where(t_inv.c.issue_date >= issued_from)
        if issued_to is not None:
            q = q.where(t_inv.c.issue_date <= issued_to)
        if direction is not None:
            q = q.where(t_inv.c.direction == direction)
        q = q.order_by(t_inv.c.issue_date.desc(), t_inv.c.id.desc()).limit(limit).offset(offset)
        with self._read() as conn:
            return [_record_from_row(r) for r in conn.execute(q)]

    def counts(self, *, seller: str | None = None, buyer: str | None = None, direction: str | None = None
               ) -> dict[str, int]:
        """How many invoices stand at each status (``"none"``: no response yet)."""
        q = sa.select(t_inv.c.status, sa.func.count()).group_by(t_inv.c.status)
        if seller is not None:
            q = q.where(t_inv.c.seller == norm_id(seller))
        if buyer is not None:
            q = q.where(t_inv.c.buyer == norm_id(buyer))
        if direction is not None:
            q = q.where(t_inv.c.direction == direction)
        with self._read() as conn:
            rows = conn.execute(q).all()
        out = {s.value: 0 for s in State}
        out["none"] = 0
        for status, n in rows:
            out["none" if status is None else status] = int(n)
        return out

    def overdue(
        self,
        *,
        today: dt.date | None = None,
        days: int = 3,
        uq_days: int | None = None,
        direction: str | None = "outbound",
        limit: int = 1000,
    ) -> list[OverdueInvoice]:
        """Invoices waiting too long.

        * no first response within ``days`` working days of delivery (OP-BR111-R006; the clock starts on
          the delivery day, or the issue day when no delivery is recorded; the calendar's weekends and
          holidays do not count);
        * with ``uq_days``: under query (UQ) for more than that many calendar days.
        """
        day = today or self.now().date()
        cutoff = self.calendar.latest_overdue_start(day, days)
        out: list[OverdueInvoice] = []
        with self._read() as conn:
            q = sa.select(t_inv).where(t_inv.c.first_response_at.is_(None), t_inv.c.clock_start <= cutoff)
            if direction is not None:
                q = q.where(t_inv.c.direction == direction)
            for r in conn.execute(q.order_by(t_inv.c.clock_start, t_inv.c.id).limit(limit)):
                out.append(OverdueInvoice(_record_from_row(r), "no-response", "OP-BR111-R006",
                                          self.calendar.deadline(r.clock_start, days)))
            if uq_days is not None:
                since = dt.datetime.combine(day, dt.time()) - dt.timedelta(days=uq_days)
                q = sa.select(t_inv).where(t_inv.c.status == State.UQ.value, t_inv.c.status_since < since)
                if direction is not None:
                    q = q.where(t_inv.c.direction == direction)
                for r in conn.execute(q.order_by(t_inv.c.status_since).limit(limit)):
                    out.append(OverdueInvoice(_record_from_row(r), "stuck-in-uq", None,
                                              r.status_since + dt.timedelta(days=uq_days)))
        return out

    # -- webhooks --------------------------------------------------------------------------------------

    def add_webhook(self, name: str, url: str, secret: bytes | str | None = None, *,
                    kinds: Iterable[str] | None = None) -> str:
        """Register a webhook endpoint; return its signing secret (``whsec_`` + base64; generated if None).

        Every event committed from now on is queued for it in the outbox. The secret is stored in the
        database (the dispatcher needs it to sign) and never logged or listed.
        """
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"webhook URL must be http(s): {url!r}")
        if secret is None:
            raw = _secrets.token_bytes(32)
        elif isinstance(secret, str):
            raw = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        else:
            raw = secret
        if len(raw) < 16:
            raise ConfigError("a webhook secret needs at least 16 bytes")
        text = "whsec_" + base64.b64encode(raw).decode()

        def work(conn: sa.Connection, drafts: list[_EventDraft]) -> None:
            conn.execute(t_hooks.insert().values(name=name, url=url, secret=text, active=True,
                                                 kinds=None if kinds is None else json.dumps(sorted(kinds)),
                                                 created_at=self.now()))

        self._write(work)
        return text

    def remove_webhook(self, name: str) -> None:
        """Deactivate a webhook: no new deliveries are queued; pending ones are dropped."""

        def work(conn: sa.Connection, drafts: list[_EventDraft]) -> None:
            hook = conn.execute(sa.select(t_hooks.c.id).where(t_hooks.c.name == name)).scalar()
            if hook is None:
                raise NotFoundError(f"no webhook named {name!r}")
            conn.execute(t_hooks.update().where(t_hooks.c.id == hook).values(active=False))
            conn.execute(t_outbox.update().where(t_outbox.c.webhook_id == hook, t_outbox.c.state == "pending")
                         .values(state="dead", last_error="webhook removed"))

        self._write(work)

    def webhooks(self) -> list[dict[str, Any]]:
        """Registered webhooks (name, url, kinds, active) — never the secret."""
        with self._read() as conn:
            rows = conn.execute(sa.select(t_hooks.c.name, t_hooks.c.url, t_hooks.c.kinds, t_hooks.c.active)).all()
        return [{"name": r.name, "url": r.url, "kinds": json.loads(r.kinds) if r.kinds else None,
                 "active": bool(r.active)} for r in rows]

    def outbox_counts(self) -> dict[str, int]:
        """Webhook deliveries per state (pending, delivered, dead)."""
        with self._read() as conn:
            rows = conn.execute(sa.select(t_outbox.c.state, sa.func.count()).group_by(t_outbox.c.state)).all()
        return {str(s): int(n) for s, n in rows}


_HAS_ATTEMPTS: Final = sa.exists().where(t_att.c.invoice_id == t_inv.c.id).label("has_attempts")
_Q_INVOICE_BY_PK: Final = sa.select(t_inv, _HAS_ATTEMPTS).where(t_inv.c.id == sa.bindparam("pk"))
_Q_INVOICE_BY_KEY: Final = sa.select(t_inv, _HAS_ATTEMPTS).where(
    t_inv.c.invoice_no == sa.bindparam("no"), t_inv.c.seller == sa.bindparam("seller"),
    t_inv.c.buyer == sa.bindparam("buyer"), t_inv.c.type_code == sa.bindparam("type"))
_ATTEMPT_ORDER: Final = (t_att.c.started_at, t_att.c.attempt, t_att.c.id)
_Q_ATTEMPTS_BY_INVOICE: Final = sa.select(t_att).where(t_att.c.invoice_id == sa.bindparam("pk")).order_by(
    *_ATTEMPT_ORDER)
_Q_ATTEMPTS_BY_RESPONSE: Final = sa.select(t_att).where(t_att.c.response_row == sa.bindparam("pk")).order_by(
    *_ATTEMPT_ORDER)
_Q_ATTEMPT_SEEN: Final = sa.select(t_att.c.id).where(
    t_att.c.message_id == sa.bindparam("mid"), t_att.c.attempt == sa.bindparam("n"),
    t_att.c.started_at == sa.bindparam("at"))


def _attach_attempts(conn: sa.Connection, pairs: list[dict[str, Any]]) -> None:
    """Sent responses (``b_id``) now answer invoices (``b_inv``): so do their delivery attempts."""
    if pairs:
        conn.execute(t_att.update().where(t_att.c.response_row == sa.bindparam("b_id"))
                     .values(invoice_id=sa.bindparam("b_inv")), pairs)


def _transport_allowed(current: str | None, new: TransportState) -> bool:
    cur = None if current is None else TransportState(current)
    return new is cur or new in TRANSPORT_TRANSITIONS[cur]


def _attempt_detail(a: SenderAttempt) -> str:
    """What the invoice's ``transport_detail`` says after an attempt."""
    if a.receipt_message_id is not None:
        return f"receipt {a.receipt_message_id}"
    parts = [f"HTTP {a.http_status}" if a.http_status is not None else None, a.error_code, a.error_detail, a.error]
    return f"attempt {a.number}: " + (", ".join(p for p in parts if p) or str(getattr(a.outcome, "value", a.outcome)))


def _attempt_from_row(r: Any) -> TransportAttempt:
    return TransportAttempt(
        pk=r.id, invoice_pk=r.invoice_id, response_pk=r.response_row, message_id=r.message_id, number=r.attempt,
        started_at=r.started_at, duration=r.duration, url=r.url, http_status=r.http_status, outcome=r.outcome,
        error_code=r.error_code, error_detail=r.error_detail, error=r.error, receipt_message_id=r.receipt_message_id)
_Q_HISTORY: Final = sa.select(*_HISTORY_COLS).where(t_resp.c.invoice_id == sa.bindparam("pk"))
_STATUS_JOIN: Final = t_inv.outerjoin(t_resp, t_resp.c.invoice_id == t_inv.c.id)
_STATUS_COLS: Final = [*t_inv.columns, _HAS_ATTEMPTS, *(c.label(f"h_{c.name}") for c in _HISTORY_COLS)]
_Q_STATUS_BY_PK: Final = sa.select(*_STATUS_COLS).select_from(_STATUS_JOIN).where(t_inv.c.id == sa.bindparam("pk"))
_Q_STATUS_BY_KEY: Final = sa.select(*_STATUS_COLS).select_from(_STATUS_JOIN).where(
    t_inv.c.invoice_no == sa.bindparam("no"), t_inv.c.seller == sa.bindparam("seller"),
    t_inv.c.buyer == sa.bindparam("buyer"), t_inv.c.type_code == sa.bindparam("type"))


class _Prefixed:
    """A joined row read through the names of one side (``h_id`` seen as ``id``)."""

    __slots__ = ("_prefix", "_row")

    def __init__(self, row: Any, prefix: str) -> None:
        self._row = row
        self._prefix = prefix

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, self._prefix + name)
_SETTLE_INV_COLS: Final = (t_inv.c.id, t_inv.c.invoice_no, t_inv.c.seller, t_inv.c.buyer, t_inv.c.type_code,
                           t_inv.c.issue_date, t_inv.c.direction, t_inv.c.status, t_inv.c.status_since,
                           t_inv.c.status_response, t_inv.c.first_response_at)
_STATES: Final = {s.value: s for s in State}
_CREDIT: dict[str, bool] = {}


def _is_credit(type_code: str) -> bool:
    found = _CREDIT.get(type_code)
    if found is None:
        found = _CREDIT[type_code] = DocumentTypeCode(type_code).is_credit_note
    return found


_CAND_COLS: Final = (t_inv.c.id, t_inv.c.invoice_no, t_inv.c.seller, t_inv.c.buyer, t_inv.c.type_code,
                     t_inv.c.issue_date, t_inv.c.seller_keys, t_inv.c.buyer_keys)
_SETTLE_RESP_COLS: Final = (t_resp.c.id, t_resp.c.invoice_id, t_resp.c.state, t_resp.c.issued_at,
                            t_resp.c.response_id, t_resp.c.sender, t_resp.c.content_hash, t_resp.c.mark,
                            t_resp.c.rule, t_resp.c.stale, t_resp.c.received_at, t_resp.c.variant)

# Plain named tuples for the hot loops: SQLAlchemy's Row resolves attribute names per access (about 1 µs),
# a named tuple's attribute is a C-level item lookup.
_Cand = collections.namedtuple("_Cand", [c.name for c in _CAND_COLS])  # type: ignore[misc]
_SettleInv = collections.namedtuple("_SettleInv", [c.name for c in _SETTLE_INV_COLS])  # type: ignore[misc]
_SettleResp = collections.namedtuple("_SettleResp", [c.name for c in _SETTLE_RESP_COLS])  # type: ignore[misc]


def _fast_rows(result: sa.CursorResult[Any], kind: Any) -> list[Any]:
    make = kind._make
    return [make(row) for row in result.all()]


def _match(
    doc_id: str,
    type_code: str,
    doc_issue_date: dt.date | None,
    seller_keys: frozenset[str],
    buyer_keys: frozenset[str],
    candidates: Sequence[Any],
) -> int | None:
    """The one candidate invoice a response answers, or None (none, or more than one: ambiguous)."""
    found = []
    for c in candidates:
        if c.invoice_no != doc_id or c.type_code != type_code:
            continue
        if doc_issue_date is not None and c.issue_date != doc_issue_date:
            continue
        if not keys_match(seller_keys, {c.seller} | load_keys(c.seller_keys)):
            continue
        if not keys_match(buyer_keys, {c.buyer} | load_keys(c.buyer_keys)):
            continue
        found.append(c.id)
    return found[0] if len(found) == 1 else None


def _from_summary(summary: Any, fields: dict[str, Any]) -> NewInvoice:
    """A :class:`NewInvoice` from :class:`peppol_response.invoice.InvoiceSummary`, ``fields`` taking precedence.

    The parties' other identifiers (``PartyIdentification/ID``, ``PartyLegalEntity/CompanyID``) become
    aliases, so a response sent on a party's behalf that names it by one of them still matches.
    """

    def aliases(party: Any) -> tuple[str, ...]:
        ids = list(getattr(party, "identifiers", ()))
        legal = getattr(party, "legal_id", None)
        if legal is not None:
            ids.append(legal)
        return tuple(norm_id(i) for i in ids)

    base: dict[str, Any] = {
        "seller": str(summary.seller.endpoint),
        "buyer": str(summary.buyer.endpoint),
        "invoice_id": summary.id,
        "issue_date": summary.issue_date,
        "type_code": str(summary.type_code),
        "amount": summary.payable_amount,
        "currency": summary.currency,
        "due_date": summary.due_date,
        "seller_name": summary.seller.name,
        "buyer_name": summary.buyer.name,
        "seller_aliases": aliases(summary.seller),
        "buyer_aliases": aliases(summary.buyer),
    }
    base.update({k: v for k, v in fields.items() if v is not None})
    return NewInvoice(**base)


def _invoice_payload(inv: Any) -> dict[str, Any]:
    return {"pk": inv.id, "id": inv.invoice_no, "seller": inv.seller, "buyer": inv.buyer, "type_code": inv.type_code,
            "issue_date": inv.issue_date.isoformat(), "direction": inv.direction}
