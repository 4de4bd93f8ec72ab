"""The shared database layer: engine set-up, retried transactions, the migration runner's adoption hook, and
the group commit that lets the threads of one process share write transactions.

For the group commit the transaction is a stand-in that keeps a journal: the works of one transaction are
"committed" only when all of them returned, so a caller can check, the moment :meth:`GroupCommit.run`
returns, that its work is in the journal (committed) exactly once. The real stores are exercised in
tests/as4/test_store.py.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from peppol_response import db
from peppol_response.db import GroupCommit
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


# --- group commit ---------------------------------------------------------------------------------------

class Journal:
    """A fake database: ``transaction(fn)`` runs ``fn`` and commits what it recorded only if it returned."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.committed: list[str] = []
        self.transactions: list[list[str]] = []  # what each committed transaction held
        self.gate: threading.Event | None = None  # the first transaction waits here
        self.entered = threading.Event()

    def transaction(self, fn: Callable[[Any], Any]) -> Any:
        pending: list[str] = []
        if self.gate is not None:
            self.entered.set()
            self.gate.wait(30)
            self.gate = None
        result = fn(pending)  # raising: nothing of this transaction is committed
        with self.lock:
            self.committed.extend(pending)
            self.transactions.append(list(pending))
        return result


def _write(name: str, fail: bool = False) -> Callable[[Any], str]:
    def work(pending: Any) -> str:
        if fail:
            raise StoreError(f"{name} cannot be written")
        pending.append(name)
        return f"done {name}"

    return work


def _wait_queued(gc: GroupCommit, n: int) -> None:
    deadline = time.monotonic() + 30
    while len(gc._queue) < n:  # the callers that are now waiting for the next commit
        assert time.monotonic() < deadline, "the callers did not queue"
        time.sleep(0.005)


def _start(gc: GroupCommit, journal: Journal, names: list[str], outcome: dict[str, Any],
           fail: frozenset[str] = frozenset()) -> list[threading.Thread]:
    def call(name: str) -> None:
        try:
            result = gc.run(_write(name, name in fail), key=name)
        except StoreError as exc:
            outcome[name] = exc
            return
        with journal.lock:  # returned: our work must already be committed, once
            outcome[name] = result if journal.committed.count(name) == 1 else "returned before its commit"

    threads = [threading.Thread(target=call, args=(n,)) for n in names]
    for t in threads:
        t.start()
    return threads


def _burst(gc: GroupCommit, journal: Journal, first: str, names: list[str],
           fail: frozenset[str] = frozenset()) -> dict[str, Any]:
    """``first`` calls and is held inside its commit; ``names`` call meanwhile and queue; then all finish."""
    journal.gate = threading.Event()
    outcome: dict[str, Any] = {}
    leader = _start(gc, journal, [first], outcome)
    assert journal.entered.wait(30)  # the first caller is committing; everyone else now queues
    rest = _start(gc, journal, names, outcome, fail)
    _wait_queued(gc, len(names))
    journal.gate.set()
    for t in leader + rest:
        t.join(30)
    return outcome


def test_alone_a_caller_commits_at_once_and_gets_its_result() -> None:
    journal = Journal()
    gc = GroupCommit(journal.transaction)
    assert gc.run(_write("a")) == "done a"
    assert gc.run(_write("b")) == "done b"
    assert journal.transactions == [["a"], ["b"]]
    assert (gc.commits, gc.jobs) == (2, 2)


def test_callers_arriving_during_a_commit_share_the_next_one_in_key_order() -> None:
    journal = Journal()
    gc = GroupCommit(journal.transaction)
    names = [f"m-{i:02d}" for i in range(12, 0, -1)]
    outcome = _burst(gc, journal, "m-first", names)
    assert outcome == {n: f"done {n}" for n in ["m-first", *names]}
    assert journal.transactions == [["m-first"], sorted(names)]  # one shared commit, row locks in key order
    assert sorted(journal.committed) == sorted(["m-first", *names])
    assert (gc.commits, gc.jobs) == (2, 13)


def test_a_batch_is_capped_and_the_oldest_waiting_caller_leads_the_next() -> None:
    journal = Journal()
    gc = GroupCommit(journal.transaction, max_batch=4)
    names = [f"b{i}" for i in range(10)]
    outcome = _burst(gc, journal, "a", names)
    assert len(outcome) == 11
    assert [len(t) for t in journal.transactions] == [1, 4, 4, 2]
    assert sorted(journal.committed) == sorted(["a", *names])


def test_one_failing_work_fails_alone_and_nothing_is_committed_twice() -> None:
    journal = Journal()
    gc = GroupCommit(journal.transaction)
    outcome = _burst(gc, journal, "a", ["b", "c", "d", "e"], fail=frozenset({"c"}))
    assert isinstance(outcome["c"], StoreError)
    assert {n: outcome[n] for n in "abde"} == {n: f"done {n}" for n in "abde"}
    # the shared transaction failed (committed nothing); each work then ran in its own transaction
    assert journal.transactions == [["a"], ["b"], ["d"], ["e"]]
    assert sorted(journal.committed) == ["a", "b", "d", "e"]


def test_an_error_outside_the_works_reaches_every_caller_and_the_next_call_works() -> None:
    calls = {"n": 0}

    def broken(fn: Callable[[Any], Any]) -> Any:
        calls["n"] += 1
        raise StoreError("the database is down")

    gc = GroupCommit(broken)
    with pytest.raises(StoreError, match="down"):
        gc.run(_write("a"))
    journal = Journal()
    gc._transaction = journal.transaction  # back up
    assert gc.run(_write("b")) == "done b"
    assert journal.committed == ["b"]


def test_max_batch_must_be_positive() -> None:
    with pytest.raises(ConfigError):
        GroupCommit(Journal().transaction, max_batch=0)
