"""A tracker store as the release before ``pr_migration`` left it: schema version 2, its versions in
``pr_schema_version``.

The statements are the ones that release executed (captured from its ``schema.migrate`` on SQLite and on
PostgreSQL), written once here as text so the tests do not depend on today's table definitions: ``{id}``,
``{bigint}``, ``{ts}`` and ``{blob}`` are the only places where the two dialects differ.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

_TYPES = {
    "sqlite": {"id": "INTEGER", "bigint": "INTEGER", "ts": "DATETIME", "blob": "BLOB"},
    "postgresql": {"id": "BIGSERIAL", "bigint": "BIGINT", "ts": "TIMESTAMP WITHOUT TIME ZONE", "blob": "BYTEA"},
}

_V1 = [
    """CREATE TABLE pr_schema_version (
\tversion INTEGER NOT NULL,
\tdescription VARCHAR NOT NULL,
\tapplied_at {ts} NOT NULL,
\tPRIMARY KEY (version)
)""",
    """CREATE TABLE pr_invoice (
\tid {id} NOT NULL,
\tdirection VARCHAR NOT NULL,
\tinvoice_no VARCHAR NOT NULL,
\tseller VARCHAR NOT NULL,
\tbuyer VARCHAR NOT NULL,
\ttype_code VARCHAR NOT NULL,
\tissue_date DATE NOT NULL,
\tseller_keys VARCHAR,
\tbuyer_keys VARCHAR,
\tseller_name VARCHAR,
\tbuyer_name VARCHAR,
\tamount VARCHAR,
\tcurrency VARCHAR,
\tdue_date DATE,
\ttransport_state VARCHAR,
\ttransport_at {ts},
\ttransport_detail VARCHAR,
\tas4_message_id VARCHAR,
\tsbdh_instance_id VARCHAR,
\tdelivered_at {ts},
\tstatus VARCHAR,
\tstatus_since {ts},
\tstatus_response {bigint},
\tfirst_response_at {ts},
\trecorded_at {ts} NOT NULL,
\tupdated_at {ts} NOT NULL,
\tPRIMARY KEY (id),
\tCONSTRAINT uq_pr_invoice_key UNIQUE (invoice_no, seller, buyer, type_code, issue_date)
)""",
    """CREATE TABLE pr_response (
\tid {id} NOT NULL,
\tinvoice_id {bigint},
\tdirection VARCHAR NOT NULL,
\tsender VARCHAR NOT NULL,
\treceiver VARCHAR NOT NULL,
\tresponse_id VARCHAR NOT NULL,
\tvariant INTEGER NOT NULL,
\tcontent_hash VARCHAR NOT NULL,
\tcode VARCHAR NOT NULL,
\tstate VARCHAR NOT NULL,
\tissue_date DATE NOT NULL,
\tissue_time VARCHAR,
\tissued_at {ts} NOT NULL,
\teffective_date DATE,
\tdoc_id VARCHAR NOT NULL,
\tdoc_type_code VARCHAR NOT NULL,
\tdoc_issue_date DATE,
\tseller_keys VARCHAR NOT NULL,
\tbuyer_keys VARCHAR NOT NULL,
\tclarifications VARCHAR,
\tnote VARCHAR,
\tparties VARCHAR,
\tmark VARCHAR NOT NULL,
\trule VARCHAR,
\tstale BOOLEAN NOT NULL,
\treceived_at {ts} NOT NULL,
\tas4_message_id VARCHAR,
\tsbdh_instance_id VARCHAR,
\tsender_ap VARCHAR,
\ttransport_state VARCHAR,
\txml {blob},
\tPRIMARY KEY (id),
\tCONSTRAINT uq_pr_response_identity UNIQUE (sender, response_id, variant)
)""",
    """CREATE TABLE pr_event (
\tid {id} NOT NULL,
\tcreated_at {ts} NOT NULL,
\tkind VARCHAR NOT NULL,
\tinvoice_id {bigint},
\tresponse_row {bigint},
\tprevious VARCHAR,
\tcurrent VARCHAR,
\trule VARCHAR,
\tpayload VARCHAR NOT NULL,
\tPRIMARY KEY (id)
)""",
    "CREATE INDEX ix_pr_event_invoice ON pr_event (invoice_id)",
    "CREATE INDEX ix_pr_invoice_buyer ON pr_invoice (buyer, issue_date)",
    "CREATE INDEX ix_pr_invoice_issue_date ON pr_invoice (issue_date)",
    "CREATE INDEX ix_pr_invoice_seller ON pr_invoice (seller, issue_date)",
    "CREATE INDEX ix_pr_response_invoice ON pr_response (invoice_id)",
    "CREATE INDEX ix_pr_response_orphan ON pr_response (doc_id) WHERE invoice_id IS NULL",
]

_V2 = [
    "ALTER TABLE pr_invoice ADD COLUMN clock_start DATE",
    """CREATE TABLE pr_webhook (
\tid {id} NOT NULL,
\tname VARCHAR NOT NULL,
\turl VARCHAR NOT NULL,
\tsecret VARCHAR NOT NULL,
\tkinds VARCHAR,
\tactive BOOLEAN NOT NULL,
\tcreated_at {ts} NOT NULL,
\tPRIMARY KEY (id),
\tCONSTRAINT uq_pr_webhook_name UNIQUE (name)
)""",
    """CREATE TABLE pr_outbox (
\tid {id} NOT NULL,
\tevent_id {bigint} NOT NULL,
\twebhook_id {bigint} NOT NULL,
\tstate VARCHAR NOT NULL,
\tattempts INTEGER NOT NULL,
\tnext_attempt_at {ts} NOT NULL,
\tlease_owner VARCHAR,
\tlease_until {ts},
\tdelivered_at {ts},
\tlast_status INTEGER,
\tlast_error VARCHAR,
\tPRIMARY KEY (id),
\tCONSTRAINT uq_pr_outbox_delivery UNIQUE (event_id, webhook_id)
)""",
    "CREATE INDEX ix_pr_invoice_status ON pr_invoice (status, status_since)",
    "CREATE INDEX ix_pr_invoice_awaiting ON pr_invoice (clock_start) WHERE first_response_at IS NULL",
    "CREATE INDEX ix_pr_outbox_due ON pr_outbox (state, next_attempt_at)",
]

DESCRIPTIONS = {
    1: "invoices, responses and events",
    2: "webhooks and their outbox; R006 clock start; status and overdue indexes",
}
APPLIED = {1: dt.datetime(2026, 1, 5, 8, 0, 0, 123456), 2: dt.datetime(2026, 2, 9, 17, 30, 0, 654321)}


def statements(dialect: str, version: int = 2) -> list[str]:
    """The DDL that release ran to reach ``version`` (1 or 2), for ``dialect`` (sqlite or postgresql)."""
    steps = _V1 + (_V2 if version >= 2 else [])
    return [s.format(**_TYPES[dialect]) for s in steps]


def create_legacy_store(url: str, version: int = 2) -> None:
    """Build an empty store of that release at ``version``, its versions in ``pr_schema_version``."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for stmt in statements(conn.dialect.name, version):
                conn.exec_driver_sql(stmt)
            for v in range(1, version + 1):
                conn.execute(sa.text("INSERT INTO pr_schema_version (version, description, applied_at) "
                                     "VALUES (:v, :d, :a)"), {"v": v, "d": DESCRIPTIONS[v], "a": APPLIED[v]})
    finally:
        engine.dispose()
