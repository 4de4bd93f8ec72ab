"""The tracker's tables (SQLAlchemy Core) and the migrations that build and upgrade them.

Every column and index carries the schema version that introduced it (``info={"since": n}``; 1
when absent). A migration creates tables as they were at its version and adds later columns with
``ALTER TABLE ... ADD COLUMN``, so a store created by an old release upgrades in place. The migrations
are :class:`peppol_response.db.Migration` steps of the component ``tracker``, applied by
:func:`peppol_response.db.migrate` (in order, in one transaction, under a lock) and recorded in the
shared ``pr_migration`` table, like the AS4 inbound store's.

Releases before that kept the tracker's versions in a table of its own, ``pr_schema_version``; the first
:func:`migrate` of such a store carries its rows (version, description, time applied) over into
``pr_migration`` and drops it, in the same transaction as the migrations that follow.

Times are naive UTC datetimes; dates are dates. Every table name starts with ``pr_`` so the tracker can
share a database with an application.
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa

from .. import db
from ..db import Migration

__all__ = ["COMPONENT", "LATEST", "MIGRATIONS", "metadata", "migrate", "schema_version"]

COMPONENT: Final = "tracker"
"""The tracker's name in ``pr_migration``."""

metadata = sa.MetaData()

# 64-bit keys on PostgreSQL; SQLite's rowid alias must be INTEGER to autoincrement.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _since(version: int) -> dict[str, int]:
    return {"since": version}


invoices = sa.Table(
    "pr_invoice",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("direction", sa.String, nullable=False),  # outbound: we issued it; inbound: we received it
    sa.Column("invoice_no", sa.String, nullable=False),
    sa.Column("seller", sa.String, nullable=False),
    sa.Column("buyer", sa.String, nullable=False),
    sa.Column("type_code", sa.String, nullable=False),
    sa.Column("issue_date", sa.Date, nullable=False),
    sa.Column("seller_keys", sa.String),  # JSON list of every identifier of the seller (matching aliases)
    sa.Column("buyer_keys", sa.String),
    sa.Column("seller_name", sa.String),
    sa.Column("buyer_name", sa.String),
    sa.Column("amount", sa.String),  # exact decimal text
    sa.Column("currency", sa.String),
    sa.Column("due_date", sa.Date),
    # transport (queued/sent/receipted/failed): never touched by business statuses
    sa.Column("transport_state", sa.String),
    sa.Column("transport_at", sa.DateTime),
    sa.Column("transport_detail", sa.String),
    sa.Column("as4_message_id", sa.String),
    sa.Column("sbdh_instance_id", sa.String),
    sa.Column("delivered_at", sa.DateTime),
    # business status (AB...PD): never touched by transport
    sa.Column("status", sa.String),
    sa.Column("status_since", sa.DateTime),
    sa.Column("status_response", Id),
    sa.Column("first_response_at", sa.DateTime),
    sa.Column("recorded_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("clock_start", sa.Date, info=_since(2)),  # the day the OP-BR111-R006 clock starts
    sa.UniqueConstraint("invoice_no", "seller", "buyer", "type_code", "issue_date", name="uq_pr_invoice_key"),
)
sa.Index("ix_pr_invoice_seller", invoices.c.seller, invoices.c.issue_date)
sa.Index("ix_pr_invoice_buyer", invoices.c.buyer, invoices.c.issue_date)
sa.Index("ix_pr_invoice_issue_date", invoices.c.issue_date)
sa.Index("ix_pr_invoice_status", invoices.c.status, invoices.c.status_since, info=_since(2))
sa.Index(
    "ix_pr_invoice_awaiting",
    invoices.c.clock_start,
    sqlite_where=invoices.c.first_response_at.is_(None),
    postgresql_where=invoices.c.first_response_at.is_(None),
    info=_since(2),
)

responses = sa.Table(
    "pr_response",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),  # arrival order
    sa.Column("invoice_id", Id, sa.ForeignKey("pr_invoice.id"), nullable=True),  # NULL: orphan
    sa.Column("direction", sa.String, nullable=False),  # received | sent
    sa.Column("sender", sa.String, nullable=False),
    sa.Column("receiver", sa.String, nullable=False),
    sa.Column("response_id", sa.String, nullable=False),
    sa.Column("variant", sa.Integer, nullable=False),  # 0; n > 0 for a conflicting document with the same id
    sa.Column("content_hash", sa.String, nullable=False),
    sa.Column("code", sa.String, nullable=False),
    sa.Column("state", sa.String, nullable=False),  # process.State value (PD+PPD for a partial payment)
    sa.Column("issue_date", sa.Date, nullable=False),
    sa.Column("issue_time", sa.String),  # as written, ISO 8601
    sa.Column("issued_at", sa.DateTime, nullable=False),  # UTC instant used for ordering
    sa.Column("effective_date", sa.Date),
    sa.Column("doc_id", sa.String, nullable=False),
    sa.Column("doc_type_code", sa.String, nullable=False),
    sa.Column("doc_issue_date", sa.Date),
    sa.Column("seller_keys", sa.String, nullable=False),
    sa.Column("buyer_keys", sa.String, nullable=False),
    sa.Column("clarifications", sa.String),  # JSON
    sa.Column("note", sa.String),
    sa.Column("parties", sa.String),  # JSON: sender/receiver names, issuer/recipient party
    sa.Column("mark", sa.String, nullable=False),  # accepted | ignored | conflict | orphan
    sa.Column("rule", sa.String),
    sa.Column("stale", sa.Boolean, nullable=False),
    sa.Column("received_at", sa.DateTime, nullable=False),
    sa.Column("as4_message_id", sa.String),
    sa.Column("sbdh_instance_id", sa.String),
    sa.Column("sender_ap", sa.String),
    sa.Column("transport_state", sa.String),  # for responses we send
    sa.Column("xml", sa.LargeBinary),
    sa.UniqueConstraint("sender", "response_id", "variant", name="uq_pr_response_identity"),
)
sa.Index("ix_pr_response_invoice", responses.c.invoice_id)
sa.Index(
    "ix_pr_response_orphan",
    responses.c.doc_id,
    sqlite_where=responses.c.invoice_id.is_(None),
    postgresql_where=responses.c.invoice_id.is_(None),
)

events = sa.Table(
    "pr_event",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("invoice_id", Id),
    sa.Column("response_row", Id),
    sa.Column("previous", sa.String),
    sa.Column("current", sa.String),
    sa.Column("rule", sa.String),
    sa.Column("payload", sa.String, nullable=False),  # JSON, the body webhooks carry
)
sa.Index("ix_pr_event_invoice", events.c.invoice_id)

webhooks = sa.Table(
    "pr_webhook",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("url", sa.String, nullable=False),
    sa.Column("secret", sa.String, nullable=False),  # base64; never logged, never shown
    sa.Column("kinds", sa.String),  # JSON list of event kinds, NULL = all
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("name", name="uq_pr_webhook_name"),
    info=_since(2),
)

outbox = sa.Table(
    "pr_outbox",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("event_id", Id, sa.ForeignKey("pr_event.id"), nullable=False),
    sa.Column("webhook_id", Id, sa.ForeignKey("pr_webhook.id"), nullable=False),
    sa.Column("state", sa.String, nullable=False),  # pending | delivered | dead
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime, nullable=False),
    sa.Column("lease_owner", sa.String),
    sa.Column("lease_until", sa.DateTime),
    sa.Column("delivered_at", sa.DateTime),
    sa.Column("last_status", sa.Integer),
    sa.Column("last_error", sa.String),
    sa.UniqueConstraint("event_id", "webhook_id", name="uq_pr_outbox_delivery"),
    info=_since(2),
)
sa.Index("ix_pr_outbox_due", outbox.c.state, outbox.c.next_attempt_at, info=_since(2))

transport_attempts = sa.Table(
    "pr_transport_attempt",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    # what travelled: an invoice we sent (response_row NULL), or a response we sent (response_row set;
    # invoice_id is then the invoice it answers, NULL while it is an orphan)
    sa.Column("invoice_id", Id),
    sa.Column("response_row", Id),
    sa.Column("message_id", sa.String, nullable=False),  # the AS4 MessageId (the same on every retry)
    sa.Column("attempt", sa.Integer, nullable=False),  # 1 for the first POST of the message
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("duration", sa.Float),  # seconds
    sa.Column("url", sa.String, nullable=False),
    sa.Column("http_status", sa.Integer),
    sa.Column("outcome", sa.String, nullable=False),  # receipted | retryable | refused | failed
    sa.Column("error_code", sa.String),  # ebMS error code (EBMS:0004 ...)
    sa.Column("error_detail", sa.String),  # ebMS ErrorDetail (PEPPOL:NOT_SERVICED ...)
    sa.Column("error", sa.String),
    sa.Column("receipt_message_id", sa.String),
    sa.Column("recorded_at", sa.DateTime, nullable=False),
    # the same attempt handed over twice is stored once; a later resend of the message starts again at 1
    sa.UniqueConstraint("message_id", "attempt", "started_at", name="uq_pr_transport_attempt"),
    info=_since(3),
)
sa.Index("ix_pr_transport_attempt_invoice", transport_attempts.c.invoice_id, info=_since(3))
sa.Index("ix_pr_transport_attempt_response", transport_attempts.c.response_row, info=_since(3))


def _version_of(item: sa.Table | sa.Column[object] | sa.Index) -> int:
    return int(item.info.get("since", 1))


def _create_table_as_of(conn: sa.Connection, table: sa.Table, version: int) -> None:
    """Create ``table`` with the columns and constraints it had at ``version`` (indexes separately)."""
    scratch = sa.MetaData()
    cols = [c._copy() for c in table.columns if _version_of(c) <= version]
    names = {c.name for c in cols}
    cons: list[sa.Constraint] = []
    for con in table.constraints:
        if isinstance(con, sa.UniqueConstraint) and all(c.name in names for c in con.columns):
            cons.append(sa.UniqueConstraint(*[c.name for c in con.columns], name=con.name))
    old = sa.Table(table.name, scratch, *cols, *cons)
    for fk_table in {fk.column.table for c in table.columns for fk in c.foreign_keys}:
        # foreign keys resolve against a stub of the referenced table in the scratch metadata
        if fk_table.name not in scratch.tables:
            sa.Table(fk_table.name, scratch, *[c._copy() for c in fk_table.primary_key.columns])
    conn.execute(sa.schema.CreateTable(old))


def _add_columns(conn: sa.Connection, table: sa.Table, version: int) -> None:
    """``ALTER TABLE ADD COLUMN`` for the columns ``version`` introduced (nullable, no default)."""
    preparer = conn.dialect.identifier_preparer
    for col in table.columns:
        if _version_of(col) == version:
            assert col.nullable, "columns added by a migration must be nullable"
            ddl = col.type.compile(dialect=conn.dialect)
            name = preparer.quote(col.name)
            conn.execute(sa.text(f"ALTER TABLE {preparer.format_table(table)} ADD COLUMN {name} {ddl}"))


def _create_indexes(conn: sa.Connection, version: int) -> None:
    for table in metadata.sorted_tables:
        for index in table.indexes:
            if _version_of(index) == version and _version_of(table) <= version:
                index.create(conn)


def _m1(conn: sa.Connection) -> None:
    for table in (invoices, responses, events):
        _create_table_as_of(conn, table, 1)
    _create_indexes(conn, 1)


def _m2(conn: sa.Connection) -> None:
    _add_columns(conn, invoices, 2)
    for table in (webhooks, outbox):
        _create_table_as_of(conn, table, 2)
    _create_indexes(conn, 2)
    # data: the R006 clock of existing invoices starts on the delivery day, else the issue day
    rows = conn.execute(sa.select(invoices.c.id, invoices.c.delivered_at, invoices.c.issue_date)).all()
    updates = [{"b_id": r.id, "b_start": r.delivered_at.date() if r.delivered_at else r.issue_date} for r in rows]
    if updates:
        conn.execute(
            invoices.update().where(invoices.c.id == sa.bindparam("b_id")).values(clock_start=sa.bindparam("b_start")),
            updates,
        )


def _m3(conn: sa.Connection) -> None:
    _create_table_as_of(conn, transport_attempts, 3)
    _create_indexes(conn, 3)


MIGRATIONS: Final[tuple[Migration, ...]] = (
    Migration(1, "invoices, responses and events", _m1),
    Migration(2, "webhooks and their outbox; R006 clock start; status and overdue indexes", _m2),
    Migration(3, "transport history: every attempt to send an invoice or a response", _m3),
)
LATEST: Final = MIGRATIONS[-1].version

# Where releases before pr_migration kept the tracker's versions (read once, then dropped).
_legacy_versions = sa.Table(
    "pr_schema_version",
    sa.MetaData(),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("description", sa.String, nullable=False),
    sa.Column("applied_at", sa.DateTime, nullable=False),
)


def _legacy_version(conn: sa.Connection) -> int | None:
    """The highest version in ``pr_schema_version``; None when the table is not there."""
    if not sa.inspect(conn).has_table(_legacy_versions.name):
        return None
    return int(conn.execute(sa.select(sa.func.max(_legacy_versions.c.version))).scalar() or 0)


def _adopt_legacy_versions(conn: sa.Connection) -> None:
    """Carry ``pr_schema_version``'s rows over into ``pr_migration`` (what is not there yet), then drop it."""
    if not sa.inspect(conn).has_table(_legacy_versions.name):
        return
    mt = db.migrations_table
    have = set(conn.execute(sa.select(mt.c.version).where(mt.c.component == COMPONENT)).scalars())
    rows = conn.execute(sa.select(_legacy_versions).order_by(_legacy_versions.c.version)).all()
    carried = [{"component": COMPONENT, "version": r.version, "description": r.description,
                "applied_at": r.applied_at} for r in rows if r.version not in have]
    if carried:
        conn.execute(mt.insert(), carried)
    _legacy_versions.drop(conn)


def schema_version(conn: sa.Connection) -> int:
    """The tracker's highest applied version (0 for an empty database), also in a store not adopted yet."""
    found = db.migration_version(conn, COMPONENT)
    if found == 0:
        found = _legacy_version(conn) or 0
    return found


def migrate(engine: sa.Engine, target: int | None = None) -> int:
    """Apply the missing migrations up to ``target`` (default: the latest); return the version reached.

    Adopts a store whose versions are in ``pr_schema_version``; refuses a store newer than this code
    knows (a downgrade would lose data): :class:`~peppol_response.errors.StoreError`.
    """
    return db.migrate(engine, COMPONENT, MIGRATIONS, target, adopt=_adopt_legacy_versions)
