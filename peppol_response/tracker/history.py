"""Recomputing an invoice's status from its stored responses, whatever order they arrived in.

The BIS order rules are about the order in which the buyer *issued* its responses; the network may
deliver them in any order. So the tracker never folds statuses in arrival order: after every change it
sorts the invoice's responses by :func:`order_key` and replays them through the table of
:mod:`peppol_response.process`. The result, and every response's mark, is then a function of the *set*
of responses, identical for any arrival order.

Ordering (``order_key``), all ascending:

1. the issue instant: ``IssueDate`` + ``IssueTime`` converted to UTC; a time without a zone is taken as
   UTC; a response without ``IssueTime`` counts as issued at 00:00 UTC of its ``IssueDate``;
2. on a tie, the rank of the status (AB first ... PD last; the partial PD before the full PD): two
   responses issued "at the same time" are taken in the order the BIS lets them follow each other;
3. then the response ID, the sender and the content hash, only so that the order is total.

Marks:

* ``accepted``: the replay accepted it (the last accepted one decides the current status);
* ``ignored`` with the rule (OP-BR111-R004/R005/R012): the replay refused it; it never moves the status;
* ``stale`` (a flag, on top of the mark): it arrived after a response that was issued later (its key is
  below the largest key among responses that arrived before it). Arrival order is the row id.
* ``conflict``: the same sender already sent a different document under the same response ID; the first
  one stands, the later one is kept for the record and never counts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from ..process import Mode, State, check

__all__ = ["Item", "Outcome", "issued_instant", "order_key", "replay_items"]

OrderKey = tuple[dt.datetime, int, int, str, str, str]


def issued_instant(issue_date: dt.date, issue_time: dt.time | None) -> dt.datetime:
    """The issue instant as a naive UTC datetime (see the module docstring for missing zones and times)."""
    if issue_time is None:
        return dt.datetime.combine(issue_date, dt.time())
    moment = dt.datetime.combine(issue_date, issue_time)
    if moment.tzinfo is not None and moment.utcoffset() is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.replace(tzinfo=None)


def order_key(issued_at: dt.datetime, state: State, response_id: str, sender: str, content_hash: str) -> OrderKey:
    """The total order responses are replayed in."""
    return (issued_at, state.rank, 0 if state is State.PD_PARTIAL else 1, response_id, sender, content_hash)


@dataclass(frozen=True, slots=True)
class Item:
    """One stored response of an invoice, as the replay needs it."""

    row: int
    """Row id: the arrival order."""
    key: OrderKey
    state: State
    conflict: bool = False


@dataclass(frozen=True, slots=True)
class Outcome:
    state: State | None
    """The current status after the replay (None: no accepted response)."""
    deciding_row: int | None
    """The row of the accepted response that set it."""
    marks: dict[int, tuple[str, str | None, bool]]
    """row -> (mark, rule, stale)."""


def replay_items(items: Sequence[Item], *, credit_note: bool, mode: Mode) -> Outcome:
    """Replay one invoice's responses in issue order; mark each (see the module docstring)."""
    marks: dict[int, tuple[str, str | None, bool]] = {}
    live = [it for it in items if not it.conflict]
    for it in items:
        if it.conflict:
            marks[it.row] = ("conflict", None, False)
    stale: dict[int, bool] = {}
    highest: OrderKey | None = None
    for it in sorted(live, key=lambda i: i.row):
        stale[it.row] = highest is not None and it.key < highest
        if highest is None or it.key > highest:
            highest = it.key
    state: State | None = None
    deciding: int | None = None
    for it in sorted(live, key=lambda i: i.key):
        refusal = check(state, it.state, credit_note=credit_note, mode=mode)
        if refusal is None:
            state, deciding = it.state, it.row
            marks[it.row] = ("accepted", None, stale[it.row])
        else:
            marks[it.row] = ("ignored", refusal.rule, stale[it.row])
    return Outcome(state, deciding, marks)
