"""Property tests: any arrival order of the same responses gives the status the BIS defines (the oracle)."""

from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peppol_response.process import Mode, State
from peppol_response.tracker import Mark, Outcome, Tracker

from . import oracle
from .conftest import BUYER, SELLER, response, unique

STATUSES = [("AB", False), ("IP", False), ("UQ", False), ("CA", False), ("RE", False), ("AP", False),
            ("PD", True), ("PD", False)]
PLUS2 = dt.timezone(dt.timedelta(hours=2))
MINUS5 = dt.timezone(dt.timedelta(hours=-5))
TIMES = [None, dt.time(9, 0), dt.time(12, 0), dt.time(11, 0, tzinfo=PLUS2), dt.time(4, 0, tzinfo=MINUS5),
         dt.time(1, 0, tzinfo=PLUS2)]  # 09:00Z, 12:00Z, 09:00Z (tie), 09:00Z (tie), 23:00Z of the day before

spec = st.tuples(st.sampled_from(STATUSES), st.integers(0, 3), st.sampled_from(TIMES))


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, object]:
    specs = draw(st.lists(spec, min_size=1, max_size=7))
    n = len(specs)
    arrival = draw(st.permutations(list(range(n))))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, n - 1)), max_size=3))) if n > 1 else []
    record_after = draw(st.integers(0, n))  # how many responses arrive before the invoice is recorded
    again = draw(st.lists(st.integers(0, n - 1), max_size=3))
    credit_note = draw(st.booleans())
    return {"specs": specs, "arrival": arrival, "cuts": cuts, "record_after": record_after, "again": again,
            "credit_note": credit_note}


def run_scenario(tracker: Tracker, sc: dict[str, object], *, lenient: bool = False) -> None:
    specs: list[tuple[tuple[str, bool], int, dt.time | None]] = sc["specs"]  # type: ignore[assignment]
    arrival: list[int] = sc["arrival"]  # type: ignore[assignment]
    credit_note = bool(sc["credit_note"])
    type_code = "381" if credit_note else "380"
    doc = unique()
    base = dt.date(2026, 3, 2)
    models = []
    for i, ((code, partial), day, time) in enumerate(specs):
        models.append(response(f"{doc}-r{i}", code, doc=doc, day=base + dt.timedelta(days=day), time=time,
                               partial=partial, type_code=type_code))

    def record() -> int:
        return tracker.record_invoice(seller=SELLER, buyer=BUYER, invoice_id=doc, issue_date=base,
                                      type_code=type_code).pk

    # arrive in the drawn order, in batches cut at the drawn points; the invoice is recorded in between
    order = [arrival[i] for i in range(len(arrival))]
    record_after = int(sc["record_after"])  # type: ignore[call-overload]
    bounds = sorted({0, len(order), record_after, *sc["cuts"]})  # type: ignore[misc]
    pk: int | None = None
    for a, b in itertools.pairwise(bounds):
        if a == record_after and pk is None:
            pk = record()
        results = tracker.ingest_many([models[i] for i in order[a:b]])
        for r in results:
            assert r.outcome in (Outcome.STORED, Outcome.ORPHAN)
    if pk is None:
        pk = record()

    # the oracle: replay in the documented issue order
    keyed = sorted(range(len(specs)), key=lambda i: oracle.issue_order_key(
        base + dt.timedelta(days=specs[i][1]), specs[i][2], specs[i][0], models[i].id))
    final, rules = oracle.fold([specs[i][0] for i in keyed], credit_note=credit_note, lenient=lenient)
    expected_rule = {models[i].id: rule for i, rule in zip(keyed, rules, strict=True)}
    # stale: arrived after a response issued later
    keys = {models[i].id: oracle.issue_order_key(base + dt.timedelta(days=specs[i][1]), specs[i][2], specs[i][0],
                                                 models[i].id) for i in range(len(specs))}
    expected_stale = {}
    for pos, i in enumerate(order):
        earlier = [keys[models[j].id] for j in order[:pos]]
        expected_stale[models[i].id] = any(k > keys[models[i].id] for k in earlier)

    status = tracker.status(pk)
    want = None if final is None else State.of(final[0], final[1])
    assert status.state == want, (status.state, want, specs)
    # nothing lost: every response is in the history, marked as the oracle says
    assert sorted(h.response_id for h in status.history) == sorted(m.id for m in models)
    for h in status.history:
        rule = expected_rule[h.response_id]
        assert h.mark is (Mark.ACCEPTED if rule is None else Mark.IGNORED), (h, rule)
        assert h.rule == rule
        assert h.stale == expected_stale[h.response_id], h
    # the history is in issue order
    assert [h.response_id for h in status.history] == [models[i].id for i in keyed]

    # idempotent: the same responses again change nothing
    before = tracker.status(pk)
    events_before = tracker.events(after=0, limit=100000, invoice=pk)
    again: list[int] = sc["again"]  # type: ignore[assignment]
    for r in tracker.ingest_many([models[i] for i in again]):
        assert r.outcome is Outcome.DUPLICATE
    for i in again:
        assert tracker.ingest(models[i].to_xml()).outcome is Outcome.DUPLICATE  # the XML is the same response
    assert tracker.status(pk) == before
    assert tracker.events(after=0, limit=100000, invoice=pk) == events_before


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(sc=scenarios())
def test_any_arrival_order_gives_the_bis_status(tracker: Tracker, sc: dict[str, object]) -> None:
    run_scenario(tracker, sc)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sc=scenarios())
def test_lenient_mode_matches_the_lenient_oracle(store_url: str, sc: dict[str, object]) -> None:
    with Tracker(store_url, mode=Mode.LENIENT) as tracker:
        run_scenario(tracker, sc, lenient=True)
