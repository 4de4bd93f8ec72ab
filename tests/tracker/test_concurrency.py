"""Four processes ingest interleaved (and overlapping) responses for the same invoices while others record
those invoices: every invoice ends with the BIS status and its complete history, each response once."""

from __future__ import annotations

import datetime as dt
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from peppol_response.process import State
from peppol_response.tracker import Mark, Tracker

from . import oracle
from .conftest import BUYER, SELLER, unique

ROOT = Path(__file__).resolve().parents[2]
STATUSES = [("AB", False), ("IP", False), ("UQ", False), ("CA", False), ("RE", False), ("AP", False),
            ("PD", True), ("PD", False)]


@pytest.mark.slow
def test_four_processes_end_with_the_bis_status_and_complete_history(store_url: str, tmp_path: Path) -> None:
    rng = random.Random(20260302)
    invoices = [unique("CC") for _ in range(30)]
    truth: dict[str, list[dict[str, object]]] = {}
    every: list[dict[str, object]] = []
    for doc in invoices:
        rs = []
        for i in range(rng.randint(2, 6)):
            code, partial = rng.choice(STATUSES)
            rs.append({"doc": doc, "rid": f"{doc}-{i}", "code": code, "partial": partial, "day": rng.randint(0, 4)})
        truth[doc] = rs
        every.extend(rs)
    with Tracker(store_url) as t:  # half the invoices exist before; the workers record the rest concurrently
        for doc in invoices[::2]:
            t.record_invoice(seller=SELLER, buyer=BUYER, invoice_id=doc, issue_date=dt.date(2026, 3, 2))
    # each response goes to two of the four workers (duplicates race too), in a shuffled order
    lists: list[list[dict[str, object]]] = [[] for _ in range(4)]
    for r in every:
        for w in rng.sample(range(4), 2):
            lists[w].append(r)
    procs = []
    for w in range(4):
        rng.shuffle(lists[w])
        plan: list[dict[str, object]] = []
        pos = 0
        late = invoices[1::2][w::4]
        while pos < len(lists[w]):
            n = rng.randint(1, 6)
            plan.append({"op": "ingest", "responses": lists[w][pos : pos + n]})
            pos += n
            if late and rng.random() < 0.3:
                plan.append({"op": "record", "doc": late.pop()})
        plan.extend({"op": "record", "doc": d} for d in late)
        f = tmp_path / f"plan{w}.json"
        f.write_text(json.dumps(plan))
        procs.append(subprocess.Popen([sys.executable, "-m", "tests.tracker._worker", store_url, str(f)], cwd=ROOT,
                                      stderr=subprocess.PIPE, text=True))
    for p in procs:
        _out, err = p.communicate(timeout=240)
        assert p.returncode == 0, err[-3000:]

    with Tracker(store_url) as t:
        assert not [o for o in t.orphans(limit=10000) if o.response_id.startswith("CC-")]
        for doc in invoices:
            rs = truth[doc]
            keyed = sorted(rs, key=lambda r: oracle.issue_order_key(
                dt.date(2026, 3, 2) + dt.timedelta(days=int(r["day"])), None,  # type: ignore[call-overload]
                (str(r["code"]), bool(r["partial"])), str(r["rid"])))
            final, rules = oracle.fold([(str(r["code"]), bool(r["partial"])) for r in keyed])
            st = t.status(_pk(t, doc))
            assert [h.response_id for h in st.history] == [r["rid"] for r in keyed], doc
            assert st.state == (None if final is None else State.of(final[0], final[1])), doc
            assert [h.rule for h in st.history] == rules
            assert all(h.mark in (Mark.ACCEPTED, Mark.IGNORED) for h in st.history)
            changes = [e for e in t.events(limit=100000, invoice=st.invoice.pk) if e.kind == "status.changed"]
            assert changes
            assert changes[-1].current == (None if st.state is None else st.state.value)


def _pk(t: Tracker, doc: str) -> int:
    from peppol_response.tracker import InvoiceKey

    return t.invoice(InvoiceKey(SELLER, BUYER, doc)).pk
