"""``peppol-response track``: record, ingest, status, history, list, overdue; tables and JSON."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from click.testing import CliRunner

from peppol_response.as4.sender import Attempt, AttemptOutcome
from peppol_response.cli import cli
from peppol_response.tracker import Tracker

from ..tracker.conftest import BUYER, SELLER, response


def run(*args: str, db: str, input: bytes | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["track", *args, "--db", db], input=input)
    return result.exit_code, result.output


def test_track_commands(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 't.db'}"
    code, out = run("record", "--seller", SELLER, "--buyer", BUYER, "--id", "INV-7", "--issue-date", "2026-03-02",
                    "--amount", "99.90", "--currency", "EUR", db=db)
    assert code == 0
    assert "INV-7" in out
    assert "99.90 EUR" in out
    files = []
    for i, (c, day) in enumerate((("AP", 3), ("UQ", 4), ("AB", 2))):
        f = tmp_path / f"r{i}.xml"
        f.write_bytes(response(f"R{i}", c, doc="INV-7", day=dt.date(2026, 3, day)).to_xml())
        files.append(str(f))
    code, out = run("ingest", *files, "--json", db=db)
    rows = json.loads(out)
    assert code == 0
    assert [r["mark"] for r in rows] == ["accepted", "ignored", "accepted"]
    assert rows[1]["rule"] == "OP-BR111-R005"
    assert rows[2]["stale"] is True
    code, out = run("ingest", "-", "--as4-message-id", "m-1@ap", db=db,
                    input=response("R9", "PD", doc="INV-7", day=dt.date(2026, 3, 9)).to_xml())
    assert code == 0
    assert "stored" in out
    assert "AP -> PD" in out
    code, out = run("status", "--seller", SELLER, "--buyer", BUYER, "--id", "INV-7", db=db)
    assert code == 0
    assert " PD " in out
    assert "final" in out
    code, out = run("history", "--invoice", "1", db=db)
    assert code == 0
    lines = [ln for ln in out.splitlines() if ln.split()[:1] and ln.split()[0].isdigit()]
    assert [ln.split()[1] for ln in lines] == ["R2", "R0", "R1", "R9"]  # issue order
    assert "OP-BR111-R005" in out
    assert "m-1@ap" in out
    code, out = run("history", "--invoice", "1", "--json", db=db)
    assert [h["status"] for h in json.loads(out)["history"]] == ["AB", "AP", "UQ", "PD"]
    code, out = run("list", "--status", "PD", "--json", db=db)
    assert [r["invoice_id"] for r in json.loads(out)] == ["INV-7"]
    code, out = run("list", "--counts", "--json", db=db)
    assert json.loads(out)["PD"] == 1
    run("record", "--seller", SELLER, "--buyer", BUYER, "--id", "INV-8", "--issue-date", "2026-03-02", db=db)
    code, out = run("overdue", "--today", "2026-03-09", "--holiday", "2026-03-04", "--json", db=db)
    assert code == 0
    assert [o["invoice"]["invoice_id"] for o in json.loads(out)] == ["INV-8"]
    code, out = run("overdue", "--today", "2026-03-06", "--holiday", "2026-03-04", db=db)
    assert code == 0
    assert "(nothing)" in out
    code, out = run("status", "--invoice", "99", db=db)
    assert code == 1
    assert "no recorded invoice" in out
    code, out = run("status", db=db)
    assert code == 2
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<Invoice/>")
    code, out = run("ingest", str(bad), db=db)
    assert code == 1
    assert "error" in out


def test_history_shows_the_transport_attempts(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 't.db'}"
    with Tracker(db) as t:
        rec = t.record_invoice(seller=SELLER, buyer=BUYER, invoice_id="INV-9", issue_date=dt.date(2026, 3, 2),
                               transport_state="queued")
        record = t.attempt_recorder(rec)
        t0 = dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)
        record(Attempt(1, "out-9@ap", "https://ap.example/as4", t0, 0.1, AttemptOutcome.RETRYABLE, 502,
                       "HTTP 502 with text/html: not an AS4 signal", "EBMS:0301"))
        record(Attempt(2, "out-9@ap", "https://ap.example/as4", t0 + dt.timedelta(seconds=2), 0.2,
                       AttemptOutcome.RECEIPTED, 200, receipt_message_id="rcpt-9@them"))
    code, out = run("history", "--invoice", str(rec.pk), db=db)
    assert code == 0
    assert "(nothing)" in out  # no response yet
    table = out.split("transport attempts:", 1)[1].splitlines()
    rows = [ln.split() for ln in table if ln.startswith("invoice")]
    assert [(r[1], r[2], r[5], r[6]) for r in rows] == [("out-9@ap", "1", "502", "retryable"),
                                                        ("out-9@ap", "2", "200", "receipted")]
    assert "rcpt-9@them" in rows[1]
    assert "EBMS:0301" in rows[0]
    code, out = run("history", "--invoice", str(rec.pk), "--json", db=db)
    data = json.loads(out)
    assert data["invoice"]["transport_state"] == "receipted"
    assert [(a["number"], a["outcome"], a["http_status"], a["receipt_message_id"]) for a in data["transport"]] == [
        (1, "retryable", 502, None), (2, "receipted", 200, "rcpt-9@them")]
