"""An independent oracle of the BIS order, written from the reference's pseudocode (invoice-response.md §6.2).

It shares no code with peppol_response.process: statuses are plain (code, partial) pairs, the history
``H`` is the list of accepted ones, and the conditions are checked in the pseudocode's order.
"""

from __future__ import annotations

import datetime as dt

RANK = {"AB": 1, "IP": 2, "UQ": 3, "CA": 4, "RE": 5, "AP": 6, "PD": 7}

Status = tuple[str, bool]  # (code, partial)


def _furthest(accepted: list[Status]) -> Status | None:
    best: Status | None = None
    for h in accepted:
        # among equal ranks (several PD), a full PD is "further" than a partial one
        if best is None or RANK[h[0]] > RANK[best[0]] or (RANK[h[0]] == RANK[best[0]] and not h[1]):
            best = h
    return best


def refuse(accepted: list[Status], new: Status, *, credit_note: bool = False, lenient: bool = False) -> str | None:
    """The rule id that refuses ``new`` after the accepted history, or None."""
    code, _partial = new
    if any(h[0] == "RE" or (h[0] == "PD" and not h[1]) for h in accepted):
        return "OP-BR111-R004"
    if credit_note and code == "PD" and not lenient:
        return "OP-BR111-R012"  # the task: credit notes follow the order without PD
    far = _furthest(accepted)
    if far is None:
        return None
    if far[0] == "AP" and code != "PD":
        return "OP-BR111-R005"
    if RANK[code] < RANK[far[0]]:
        return "OP-BR111-R012"
    if RANK[code] == RANK[far[0]]:
        allowed = code == "UQ" or (code == "PD" and far[0] == "PD" and far[1])
        if not allowed and not lenient:
            return "OP-BR111-R012"
    return None


def fold(seq: list[Status], *, credit_note: bool = False,
         lenient: bool = False) -> tuple[Status | None, list[str | None]]:
    """Replay statuses in issue order: the final status and each status' rule (None = accepted)."""
    accepted: list[Status] = []
    rules: list[str | None] = []
    for s in seq:
        rule = refuse(accepted, s, credit_note=credit_note, lenient=lenient)
        rules.append(rule)
        if rule is None:
            accepted.append(s)
    return (accepted[-1] if accepted else None), rules


def instant(day: dt.date, time: dt.time | None) -> dt.datetime:
    """Issue date + time in UTC; a missing time is midnight, a time without zone is UTC."""
    if time is None:
        return dt.datetime(day.year, day.month, day.day)
    moment = dt.datetime.combine(day, time)
    if time.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def issue_order_key(day: dt.date, time: dt.time | None, status: Status, rid: str) -> tuple[object, ...]:
    """Documented order: instant, then status rank (partial PD before full PD), then response ID."""
    code, partial = status
    return (instant(day, time), RANK[code], 0 if (code == "PD" and partial) else 1, rid)
