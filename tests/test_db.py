"""peppol_response.db: the group commit that lets the threads of one process share write transactions.

The transaction here is a stand-in that keeps a journal: the works of one transaction are "committed" only
when all of them returned, so a caller can check, the moment :meth:`GroupCommit.run` returns, that its work
is in the journal (committed) exactly once. The real stores are exercised in tests/as4/test_store.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from peppol_response.db import GroupCommit
from peppol_response.errors import ConfigError, StoreError


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


def test_alone_a_caller_commits_at_once_and_gets_its_result() -> None:
    journal = Journal()
    gc = GroupCommit(journal.transaction)
    assert gc.run(_write("a")) == "done a"
    assert gc.run(_write("b")) == "done b"
    assert journal.transactions == [["a"], ["b"]]
    assert (gc.commits, gc.jobs) == (2, 2)


def test_callers_arriving_during_a_commit_share_the_next_one_in_key_order() -> None:
    journal = Journal()
    journal.gate = threading.Event()
    gc = GroupCommit(journal.transaction)
    outcome: dict[str, Any] = {}
    first = _start(gc, journal, ["m-first"], outcome)
    assert journal.entered.wait(30)  # the first caller is committing; everyone else now queues
    names = [f"m-{i:02d}" for i in range(12, 0, -1)]
    rest = _start(gc, journal, names, outcome)
    _wait_queued(gc, len(names))
    journal.gate.set()
    for t in first + rest:
        t.join(30)
    assert outcome == {n: f"done {n}" for n in ["m-first", *names]}
    assert journal.transactions == [["m-first"], sorted(names)]  # one shared commit, row locks in key order
    assert sorted(journal.committed) == sorted(["m-first", *names])
    assert (gc.commits, gc.jobs) == (2, 13)


def test_a_batch_is_capped_and_the_oldest_waiting_caller_leads_the_next() -> None:
    journal = Journal()
    journal.gate = threading.Event()
    gc = GroupCommit(journal.transaction, max_batch=4)
    outcome: dict[str, Any] = {}
    first = _start(gc, journal, ["a"], outcome)
    assert journal.entered.wait(30)
    names = [f"b{i}" for i in range(10)]
    rest = _start(gc, journal, names, outcome)
    _wait_queued(gc, len(names))
    journal.gate.set()
    for t in first + rest:
        t.join(30)
    assert len(outcome) == 11
    assert [len(t) for t in journal.transactions] == [1, 4, 4, 2]
    assert sorted(journal.committed) == sorted(["a", *names])


def test_one_failing_work_fails_alone_and_nothing_is_committed_twice() -> None:
    journal = Journal()
    journal.gate = threading.Event()
    gc = GroupCommit(journal.transaction)
    outcome: dict[str, Any] = {}
    first = _start(gc, journal, ["a"], outcome)
    assert journal.entered.wait(30)
    names = ["b", "c", "d", "e"]
    rest = _start(gc, journal, names, outcome, fail=frozenset({"c"}))
    _wait_queued(gc, len(names))
    journal.gate.set()
    for t in first + rest:
        t.join(30)
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
