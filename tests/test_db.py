"""The shared database layer: engine set-up, retried transactions, the migration runner's adoption hook."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from peppol_response import db
from peppol_response.errors import ConfigError, NotFoundError, StoreError


def _pragmas(engine: sa.Engine) -> dict[str, object]:
    with engine.connect() as conn:
        return {p: conn.exec_driver_sql(f"PRAGMA {p}").scalar() for p in
                ("journal_mode", "synchronous", "cache_size", "mmap_size", "foreign_keys", "busy_timeout")}


def test_sqlite_engines_get_the_settings_each_store_asks_for(tmp_path: Path) -> None:
    tuned = db.make_engine(f"sqlite:///{tmp_path / 'a.db'}", sqlite_cache_mb=8, sqlite_mmap_mb=16)
    assert _pragmas(tuned) == {"journal_mode": "wal", "synchronous": 1, "cache_size": -8 * 1024,
                               "mmap_size": 16 * 1024 * 1024, "foreign_keys": 1, "busy_timeout": 60000}
    plain = db.make_engine(f"sqlite:///{tmp_path / 'b.db'}", synchronous="FULL")
    with sa.create_engine(f"sqlite:///{tmp_path / 'c.db'}").connect() as conn:  # SQLite's own defaults
        default_cache = conn.exec_driver_sql("PRAGMA cache_size").scalar()
        default_mmap = conn.exec_driver_sql("PRAGMA mmap_size").scalar()
    got = _pragmas(plain)
    assert (got["synchronous"], got["cache_size"], got["mmap_size"]) == (2, default_cache, default_mmap)
    memory = db.make_engine("sqlite://", sqlite_cache_mb=4, sqlite_mmap_mb=16)  # mmap: nothing to map
    assert _pragmas(memory)["cache_size"] == -4 * 1024
    for engine in (tuned, plain, memory):
        engine.dispose()


@pytest.mark.parametrize("bad", [{"sqlite_cache_mb": -1}, {"sqlite_mmap_mb": True}, {"sqlite_cache_mb": "8"},
                                 {"synchronous": "SOMETIMES"}])
def test_bad_engine_settings_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        db.make_engine("sqlite://", **bad)  # type: ignore[arg-type]


def test_a_transaction_that_lost_a_race_runs_again(tmp_path: Path) -> None:
    path = tmp_path / "race.db"
    engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})  # no waiting: fail at once
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    runs: list[int] = []

    def transaction() -> int:
        runs.append(1)
        if len(runs) == 3:
            holder.execute("COMMIT")  # the other writer finishes
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            return int(conn.exec_driver_sql("SELECT count(*) FROM t").scalar_one())

    try:
        assert db.retrying(transaction, what="the test store") == 1
        assert len(runs) == 3  # two lost races ("database is locked"), then it went through
        holder.execute("BEGIN IMMEDIATE")  # and now it keeps it
        runs.clear()

        def blocked() -> None:
            runs.append(1)
            with engine.begin() as conn:
                conn.exec_driver_sql("INSERT INTO t VALUES (2)")

        with pytest.raises(StoreError, match="the test store failed: OperationalError: database is locked"):
            db.retrying(blocked, what="the test store", tries=2)
        assert len(runs) == 2
    finally:
        holder.close()
        engine.dispose()


def test_other_errors_are_not_retried(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    runs: list[int] = []

    def broken() -> None:
        runs.append(1)
        with engine.begin() as conn:
            conn.exec_driver_sql("SELECT * FROM no_such_table")

    with pytest.raises(StoreError, match="no such table"):
        db.retrying(broken, what="the test store")

    def not_found() -> None:
        runs.append(1)
        raise NotFoundError("no such invoice")

    with pytest.raises(NotFoundError):
        db.retrying(not_found, what="the test store")
    assert len(runs) == 2
    engine.dispose()


def test_adopt_runs_in_the_migration_transaction_before_the_version_is_read(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    applied: list[int] = []
    steps = [db.Migration(v, f"step {v}", lambda conn, v=v: applied.append(v)) for v in (1, 2, 3)]

    def adopt(conn: sa.Connection) -> None:  # an older release had applied 1 and 2 on its own
        if db.migration_version(conn, "demo") == 0:
            conn.execute(db.migrations_table.insert(), [
                {"component": "demo", "version": v, "description": f"old {v}", "applied_at": dt.datetime(2026, 1, 1)}
                for v in (1, 2)])

    assert db.migrate(engine, "demo", steps, adopt=adopt) == 3
    assert applied == [3]
    assert db.migrate(engine, "demo", steps, adopt=adopt) == 3  # adopting again finds nothing to do
    assert applied == [3]

    def refuse(conn: sa.Connection) -> None:
        raise StoreError("cannot adopt this store")

    other = db.make_engine(f"sqlite:///{tmp_path / 'n.db'}")
    with pytest.raises(StoreError, match="cannot adopt"):
        db.migrate(other, "demo", steps, adopt=refuse)
    with other.connect() as conn:
        assert not sa.inspect(conn).has_table("pr_migration")  # rolled back with everything else
    engine.dispose()
    other.dispose()
