"""The receiver's durable inbound store: every accepted message, its receipt, and its delivery state.

A message is written here — payload, SOAP header, receipt, evidence — in one committed transaction
*before* the receipt goes back to the sender; the MessageId is unique, so a retry of the same message
(or the same message arriving at two receiver processes at once) finds the original row and gets the
original receipt, never a second delivery. Rows are kept for the duplicate-detection window
(``retention``); only delivered rows are ever purged.

Delivery to the application is a separate, small state machine (:data:`DELIVERY_TRANSITIONS`):
``pending`` → ``delivered``, or back to ``pending`` with a later ``next_attempt_at`` after a failed try,
or ``failed`` after the last try (kept; :meth:`InboundStore.requeue` puts it back). Workers *claim*
pending rows atomically with a lease (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite: the single writer
lock), so several receiver processes sharing one database never hand the same message to the handler
twice; a worker that dies mid-delivery loses its lease when it expires, and another one takes over.

This is transport state only (received, delivered to the application); business statuses (AB...PD)
live in the tracker and never here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.pool import StaticPool

from ..db import GroupCommit, Migration, make_engine, migrate, retrying
from .message import ReferenceDigest

__all__ = [
    "DEFAULT_STORE_URL",
    "DELIVERY_TRANSITIONS",
    "DeliveryState",
    "InboundStore",
    "NewInbound",
    "StoredInbound",
    "nri_fingerprint",
]

DEFAULT_STORE_URL: Final = "sqlite:///peppol-response-inbox.db"
COMPONENT: Final = "as4-inbound"


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    """Stored and receipted; waiting for (another) delivery attempt."""
    DELIVERED = "delivered"
    """The delivery handler took it."""
    FAILED = "failed"
    """Every delivery attempt failed; kept until an operator requeues it."""


DELIVERY_TRANSITIONS: Final[Mapping[DeliveryState, frozenset[DeliveryState]]] = {
    DeliveryState.PENDING: frozenset({DeliveryState.DELIVERED, DeliveryState.PENDING, DeliveryState.FAILED}),
    DeliveryState.FAILED: frozenset({DeliveryState.PENDING}),
    DeliveryState.DELIVERED: frozenset(),
}
"""state -> the states a delivery may move to (a message is never delivered twice)."""

_meta = sa.MetaData()
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

inbound = sa.Table(
    "pr_as4_inbound",
    _meta,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("message_id", sa.String, nullable=False, unique=True),
    sa.Column("received_at", sa.DateTime, nullable=False),
    sa.Column("from_party", sa.String, nullable=False),
    sa.Column("original_sender", sa.String),
    sa.Column("final_recipient", sa.String),
    sa.Column("service", sa.String),
    sa.Column("service_type", sa.String),
    sa.Column("action", sa.String),
    sa.Column("conversation_id", sa.String),
    sa.Column("sbdh_instance_id", sa.String),
    sa.Column("nri_fingerprint", sa.String, nullable=False),  # what makes a retry "the same message"
    sa.Column("content_type", sa.String),
    sa.Column("envelope", sa.LargeBinary, nullable=False),  # the SOAP part as received (headers, signature)
    sa.Column("payload", sa.LargeBinary, nullable=False),  # decrypted, decompressed (the SBD)
    sa.Column("receipt", sa.LargeBinary, nullable=False),  # the signed receipt we answered with
    sa.Column("receipt_message_id", sa.String, nullable=False),
    sa.Column("receipt_at", sa.DateTime, nullable=False),
    sa.Column("signer_cert", sa.LargeBinary, nullable=False),  # DER
    sa.Column("evidence", sa.Text, nullable=False),  # JSON: the signed references
    sa.Column("delivery_state", sa.String, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime, nullable=False),
    sa.Column("lease_owner", sa.String),
    sa.Column("lease_until", sa.DateTime),
    sa.Column("delivered_at", sa.DateTime),
    sa.Column("last_error", sa.String),
    sa.Column("duplicates", sa.Integer, nullable=False),
    sa.Column("last_duplicate_at", sa.DateTime),
)
sa.Index("ix_pr_as4_inbound_due", inbound.c.delivery_state, inbound.c.next_attempt_at)
sa.Index("ix_pr_as4_inbound_received", inbound.c.received_at)


def _m1(conn: sa.Connection) -> None:
    _meta.create_all(conn)


MIGRATIONS: Final = (Migration(1, "AS4 inbound messages with receipts and delivery state", _m1),)


def nri_fingerprint(references: Iterable[ReferenceDigest]) -> str:
    """A hash of the signed references (URI, digest method, digest): equal for a retry of the same message."""
    h = hashlib.sha256()
    for r in sorted(references, key=lambda r: r.uri):
        h.update(f"{r.uri}\x00{r.digest_method}\x00{r.digest_value.hex()}\x01".encode())
    return h.hexdigest()


def _naive(when: dt.datetime) -> dt.datetime:
    if when.tzinfo is not None and when.utcoffset() is not None:
        return when.astimezone(dt.UTC).replace(tzinfo=None)
    return when


def _aware(when: dt.datetime | None) -> dt.datetime | None:
    return None if when is None else when.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class NewInbound:
    """A message that passed every check, to be stored before it is receipted."""

    message_id: str
    received_at: dt.datetime
    from_party: str
    original_sender: str | None
    final_recipient: str | None
    service: str | None
    service_type: str | None
    action: str | None
    conversation_id: str | None
    sbdh_instance_id: str | None
    nri_fingerprint: str
    content_type: str | None
    envelope: bytes
    payload: bytes
    receipt: bytes
    receipt_message_id: str
    receipt_at: dt.datetime
    signer_cert: bytes
    evidence: Mapping[str, Any]


@dataclass(frozen=True)
class StoredInbound:
    """A stored message (``payload`` and ``envelope`` only when asked for)."""

    id: int
    message_id: str
    received_at: dt.datetime
    from_party: str
    original_sender: str | None
    final_recipient: str | None
    service: str | None
    service_type: str | None
    action: str | None
    conversation_id: str | None
    sbdh_instance_id: str | None
    nri_fingerprint: str
    receipt: bytes
    receipt_message_id: str
    receipt_at: dt.datetime
    delivery_state: DeliveryState
    attempts: int
    next_attempt_at: dt.datetime
    delivered_at: dt.datetime | None
    last_error: str | None
    duplicates: int
    payload: bytes | None = None
    envelope: bytes | None = None
    signer_cert: bytes | None = None
    evidence: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Metadata for APIs and logs: no payload, no receipt bytes."""
        return {
            "message_id": self.message_id, "received_at": self.received_at.isoformat(),
            "from_party": self.from_party, "original_sender": self.original_sender,
            "final_recipient": self.final_recipient, "service": self.service, "action": self.action,
            "conversation_id": self.conversation_id, "sbdh_instance_id": self.sbdh_instance_id,
            "receipt_message_id": self.receipt_message_id, "delivery_state": self.delivery_state.value,
            "attempts": self.attempts, "delivered_at": self.delivered_at.isoformat() if self.delivered_at else None,
            "last_error": self.last_error, "duplicates": self.duplicates,
        }


_META_COLS: Final = [c for c in inbound.c if c.name not in ("payload", "envelope", "signer_cert", "evidence")]

# The statements of the per-message paths, built once with bound parameters: SQLAlchemy then reuses their
# compiled form and cache key instead of building and hashing a new statement for every message.
_BY_ID: Final = sa.bindparam("b_message_id", type_=sa.String)
_GET_META: Final = sa.select(*_META_COLS).where(inbound.c.message_id == _BY_ID)
_GET_FULL: Final = sa.select(*inbound.c).where(inbound.c.message_id == _BY_ID)
_NOTE_DUPLICATE: Final = (inbound.update().where(inbound.c.message_id == _BY_ID)
                          .values(duplicates=inbound.c.duplicates + 1,
                                  last_duplicate_at=sa.bindparam("b_now", type_=sa.DateTime)))
_MARK_DELIVERED: Final = (inbound.update()
                          .where(inbound.c.id == sa.bindparam("b_id", type_=Id),
                                 inbound.c.lease_owner == sa.bindparam("b_owner", type_=sa.String),
                                 inbound.c.delivery_state == DeliveryState.PENDING.value)
                          .values(lease_owner=None, lease_until=None, delivery_state=DeliveryState.DELIVERED.value,
                                  delivered_at=sa.bindparam("b_now", type_=sa.DateTime), last_error=None))


def _claim_statement(dialect: str) -> Any:
    now = sa.bindparam("b_now", type_=sa.DateTime)
    due = (sa.select(inbound.c.id)
           .where(inbound.c.delivery_state == DeliveryState.PENDING.value, inbound.c.next_attempt_at <= now,
                  sa.or_(inbound.c.lease_until.is_(None), inbound.c.lease_until < now))
           .order_by(inbound.c.id).limit(sa.bindparam("b_limit", type_=sa.Integer)))
    if dialect == "postgresql":
        due = due.with_for_update(skip_locked=True)
    return (inbound.update().where(inbound.c.id.in_(due.scalar_subquery()))
            .values(lease_owner=sa.bindparam("b_owner", type_=sa.String),
                    lease_until=sa.bindparam("b_until", type_=sa.DateTime), attempts=inbound.c.attempts + 1)
            .returning(*inbound.c))


def _row(r: Any, *, full: bool) -> StoredInbound:
    m = r._mapping
    return StoredInbound(
        id=m["id"], message_id=m["message_id"], received_at=_aware(m["received_at"]),  # type: ignore[arg-type]
        from_party=m["from_party"], original_sender=m["original_sender"], final_recipient=m["final_recipient"],
        service=m["service"], service_type=m["service_type"], action=m["action"],
        conversation_id=m["conversation_id"], sbdh_instance_id=m["sbdh_instance_id"],
        nri_fingerprint=m["nri_fingerprint"], receipt=bytes(m["receipt"]),
        receipt_message_id=m["receipt_message_id"], receipt_at=_aware(m["receipt_at"]),  # type: ignore[arg-type]
        delivery_state=DeliveryState(m["delivery_state"]), attempts=m["attempts"],
        next_attempt_at=_aware(m["next_attempt_at"]),  # type: ignore[arg-type]
        delivered_at=_aware(m["delivered_at"]), last_error=m["last_error"], duplicates=m["duplicates"],
        payload=bytes(m["payload"]) if full else None, envelope=bytes(m["envelope"]) if full else None,
        signer_cert=bytes(m["signer_cert"]) if full else None,
        evidence=json.loads(m["evidence"]) if full else None,
    )


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class InboundStore:
    """The inbound store over SQLite (default, ``synchronous=FULL``: a receipted message survives a power
    cut) or PostgreSQL (several receiver processes or hosts). Opening it creates or upgrades its tables."""

    def __init__(self, url: str | sa.Engine = DEFAULT_STORE_URL, *, clock: Callable[[], dt.datetime] = _utcnow,
                 synchronous: str = "FULL", migrate_schema: bool = True) -> None:
        self.engine = make_engine(url, synchronous=synchronous)
        self._clock = clock
        # an in-memory SQLite database is one shared connection: one transaction at a time on it
        self._lock = threading.RLock() if isinstance(self.engine.pool, StaticPool) else None
        if migrate_schema:
            migrate(self.engine, COMPONENT, MIGRATIONS)
        # built once: SQLAlchemy then reuses its compiled form (values travel as parameters)
        insert: Any = (pg_dialect.insert if self.dialect == "postgresql" else sqlite_dialect.insert)(inbound)
        self._insert = insert.on_conflict_do_nothing(index_elements=["message_id"]).returning(*_META_COLS)
        self._claim = _claim_statement(self.dialect)
        # every write goes through one group commit: concurrent requests (and the delivery worker) share
        # commits — one fsync for many messages — and each still waits for its own commit
        self._writes = GroupCommit(self._run)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    def now(self) -> dt.datetime:
        return _naive(self._clock())

    def _write(self, work: Callable[[sa.Connection], Any], *, key: str | None = None) -> Any:
        """Run ``work`` in a write transaction (possibly shared with other threads' writes); return after
        the commit. ``key`` orders work within a shared transaction (row locks in one order everywhere)."""
        return self._writes.run(work, key=key)

    def _run(self, work: Callable[[sa.Connection], Any], *, read: bool = False) -> Any:
        def transaction() -> Any:
            with self._lock or contextlib.nullcontext(), self.engine.connect() as conn:
                if read:
                    conn = conn.execution_options(pr_read=True)
                with conn.begin():
                    return work(conn)

        return retrying(transaction, what="the inbound store")

    # -- receiving ------------------------------------------------------------------------------------

    def add(self, item: NewInbound) -> tuple[StoredInbound, bool]:
        """Store ``item`` unless its MessageId is already there; return ``(row, created)``.

        Atomic across processes: of two concurrent adds of one MessageId exactly one creates the row
        (``INSERT ... ON CONFLICT DO NOTHING`` waits for the other transaction to settle).
        """
        now = self.now()
        values = {
            "message_id": item.message_id, "received_at": _naive(item.received_at), "from_party": item.from_party,
            "original_sender": item.original_sender, "final_recipient": item.final_recipient,
            "service": item.service, "service_type": item.service_type, "action": item.action,
            "conversation_id": item.conversation_id, "sbdh_instance_id": item.sbdh_instance_id,
            "nri_fingerprint": item.nri_fingerprint, "content_type": item.content_type, "envelope": item.envelope,
            "payload": item.payload, "receipt": item.receipt, "receipt_message_id": item.receipt_message_id,
            "receipt_at": _naive(item.receipt_at), "signer_cert": item.signer_cert,
            "evidence": json.dumps(item.evidence, sort_keys=True), "delivery_state": DeliveryState.PENDING.value,
            "attempts": 0, "next_attempt_at": now, "duplicates": 0,
        }
        stmt = self._insert

        def work(conn: sa.Connection) -> tuple[StoredInbound, bool]:
            created = conn.execute(stmt, values).one_or_none()
            if created is not None:
                return _row(created, full=False), True
            row = conn.execute(_GET_META, {"b_message_id": item.message_id}).one()
            return _row(row, full=False), False

        result: tuple[StoredInbound, bool] = self._write(work, key=item.message_id)
        return result

    def get(self, message_id: str, *, full: bool = False) -> StoredInbound | None:
        stmt = _GET_FULL if full else _GET_META

        def work(conn: sa.Connection) -> StoredInbound | None:
            r = conn.execute(stmt, {"b_message_id": message_id}).one_or_none()
            return None if r is None else _row(r, full=full)

        found: StoredInbound | None = self._run(work, read=True)
        return found

    def note_duplicate(self, message_id: str) -> None:
        params = {"b_message_id": message_id, "b_now": self.now()}
        self._write(lambda conn: conn.execute(_NOTE_DUPLICATE, params), key=message_id)

    # -- delivering ------------------------------------------------------------------------------------

    def claim(self, owner: str, *, limit: int = 10, lease: dt.timedelta = dt.timedelta(minutes=5)
              ) -> list[StoredInbound]:
        """Take up to ``limit`` due pending messages for ``owner`` until the lease ends (full rows)."""
        claimed: list[StoredInbound] = self._write(self._claim_work(owner, limit, lease))
        return claimed

    def _claim_work(self, owner: str, limit: int, lease: dt.timedelta) -> Callable[[sa.Connection],
                                                                                  list[StoredInbound]]:
        now = self.now()
        params = {"b_now": now, "b_limit": limit, "b_owner": owner, "b_until": now + lease}
        stmt = self._claim

        def work(conn: sa.Connection) -> list[StoredInbound]:
            return sorted((_row(r, full=True) for r in conn.execute(stmt, params)), key=lambda s: s.id)

        return work

    def _finish(self, row_id: int, owner: str, values: dict[str, Any]) -> bool:
        stmt = (inbound.update()
                .where(inbound.c.id == row_id, inbound.c.lease_owner == owner,
                       inbound.c.delivery_state == DeliveryState.PENDING.value)
                .values(lease_owner=None, lease_until=None, **values))
        done: bool = self._write(lambda conn: conn.execute(stmt).rowcount == 1)
        return done

    def mark_delivered(self, row_id: int, owner: str) -> bool:
        """Record a successful delivery; False when ``owner`` no longer holds the lease."""
        params = {"b_id": row_id, "b_owner": owner, "b_now": self.now()}
        done: bool = self._write(lambda conn: conn.execute(_MARK_DELIVERED, params).rowcount == 1)
        return done

    def mark_delivered_and_claim(self, row_id: int, owner: str, *, limit: int = 10,
                                 lease: dt.timedelta = dt.timedelta(minutes=5)) -> tuple[bool, list[StoredInbound]]:
        """:meth:`mark_delivered` and then :meth:`claim` in one transaction: the delivery worker's step from
        one message to the next (one commit between two deliveries instead of two)."""
        params = {"b_id": row_id, "b_owner": owner, "b_now": self.now()}
        claim = self._claim_work(owner, limit, lease)

        def work(conn: sa.Connection) -> tuple[bool, list[StoredInbound]]:
            return conn.execute(_MARK_DELIVERED, params).rowcount == 1, claim(conn)

        result: tuple[bool, list[StoredInbound]] = self._write(work)
        return result

    def mark_attempt_failed(self, row_id: int, owner: str, error: str, *, retry_at: dt.datetime | None) -> bool:
        """Record a failed delivery: try again at ``retry_at``, or ``failed`` for good when it is None."""
        values: dict[str, Any] = {"last_error": error[:2000]}
        if retry_at is None:
            values["delivery_state"] = DeliveryState.FAILED.value
        else:
            values["next_attempt_at"] = _naive(retry_at)
        return self._finish(row_id, owner, values)

    def requeue(self, message_id: str) -> bool:
        """Put a ``failed`` message back to ``pending`` (attempts start again)."""
        now = self.now()
        stmt = (inbound.update()
                .where(inbound.c.message_id == message_id, inbound.c.delivery_state == DeliveryState.FAILED.value)
                .values(delivery_state=DeliveryState.PENDING.value, attempts=0, next_attempt_at=now,
                        lease_owner=None, lease_until=None))
        done: bool = self._write(lambda conn: conn.execute(stmt).rowcount == 1, key=message_id)
        return done

    # -- housekeeping ----------------------------------------------------------------------------------

    def purge(self, before: dt.datetime) -> int:
        """Delete *delivered* messages received before ``before`` (the end of the duplicate window)."""
        stmt = inbound.delete().where(inbound.c.delivery_state == DeliveryState.DELIVERED.value,
                                      inbound.c.received_at < _naive(before))
        n: int = self._write(lambda conn: conn.execute(stmt).rowcount)
        return n

    def counts(self) -> dict[str, int]:
        """Messages per delivery state."""
        def work(conn: sa.Connection) -> dict[str, int]:
            rows = conn.execute(sa.select(inbound.c.delivery_state, sa.func.count())
                                .group_by(inbound.c.delivery_state)).all()
            out = {s.value: 0 for s in DeliveryState}
            out.update({r[0]: int(r[1]) for r in rows})
            return out

        counted: dict[str, int] = self._run(work, read=True)
        return counted

    def list(self, *, state: DeliveryState | str | None = None, limit: int = 100) -> list[StoredInbound]:
        """The latest messages (metadata only), optionally in one delivery state."""
        q = sa.select(*_META_COLS).order_by(inbound.c.id.desc()).limit(limit)
        if state is not None:
            q = q.where(inbound.c.delivery_state == DeliveryState(state).value)
        rows: list[StoredInbound] = self._run(lambda conn: [_row(r, full=False) for r in conn.execute(q)], read=True)
        return rows
