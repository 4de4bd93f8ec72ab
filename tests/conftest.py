"""Fixtures shared by the whole suite.

* ``shared_dir`` / ``conformance_dir``: the official files in ``../shared`` (override with
  ``PEPPOL_RESPONSE_SHARED``). Tests that need them skip cleanly when the folder is absent.
* ``postgres_url``: a fresh PostgreSQL schema for the test (``PEPPOL_RESPONSE_PG`` overrides the
  server, default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``); skips with the reason when
  PostgreSQL is unreachable.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = ["tests._pki_fixtures", "peppol_response.testing.pytest_plugin"]

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PEPPOL_RESPONSE_SHARED", ROOT.parent / "shared"))
CONFORMANCE = SHARED / "conformance"
EXAMPLES = ROOT / "examples"
PG_URL = os.environ.get("PEPPOL_RESPONSE_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def official_examples() -> list[Path]:
    """The official OpenPeppol example files (empty when ../shared is absent)."""
    folder = CONFORMANCE / "examples"
    return sorted(folder.glob("*.xml")) if folder.is_dir() else []


def official_invoice_response_examples() -> list[Path]:
    """The official T111 examples (Invoice Responses, not the MLR files)."""
    return [p for p in official_examples() if p.name.startswith(("T111-", "InvoiceResponse_"))]


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"the official reference files are not here ({SHARED})")
    return SHARED


@pytest.fixture(scope="session")
def conformance_dir(shared_dir: Path) -> Path:
    if not CONFORMANCE.is_dir():
        pytest.skip(f"the official conformance files are not here ({CONFORMANCE})")
    return CONFORMANCE


def _pg_reachable() -> str | None:
    """None when PostgreSQL answers, else the reason it does not."""
    try:
        import sqlalchemy as sa
    except ImportError as exc:  # pragma: no cover
        return f"SQLAlchemy missing: {exc}"
    try:
        engine = sa.create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
    except Exception as exc:
        return f"PostgreSQL is not reachable at {PG_URL}: {type(exc).__name__}: {exc}".splitlines()[0]
    return None


@pytest.fixture(scope="session")
def _pg_available() -> str:
    reason = _pg_reachable()
    if reason:
        pytest.skip(reason)
    return PG_URL


@pytest.fixture
def postgres_url(_pg_available: str) -> Iterator[str]:
    """A URL whose search_path is a fresh schema, dropped after the test."""
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(_pg_available)
    with engine.begin() as conn:
        conn.execute(sa.text(f'create schema "{schema}"'))
    sep = "&" if "?" in _pg_available else "?"
    try:
        yield f"{_pg_available}{sep}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'drop schema if exists "{schema}" cascade'))
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty tracker store: a SQLite file, or a fresh PostgreSQL schema (skipped when unreachable)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tracker.db'}"
    return str(request.getfixturevalue("postgres_url"))
