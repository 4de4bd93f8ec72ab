"""``network run``, ``network up`` and the full-chain ``demo``: through click's runner and as real processes."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import pytest
from click.testing import CliRunner, Result

from peppol_response.cli import cli
from peppol_response.reply import reply_to
from peppol_response.resources import data_path
from peppol_response.testing.invoices import make_invoice
from peppol_response.testing.network import BUYER, SELLER
from peppol_response.testing.pki import KeyCache
from peppol_response.tracker import Mark, Tracker

SCENARIOS = data_path("examples", "scenarios")


@pytest.fixture(autouse=True)
def _shared_keys(key_cache: KeyCache, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI uses the user's key cache; point it at the test session's so nothing is generated twice."""
    monkeypatch.setenv("PEPPOL_RESPONSE_KEY_CACHE", str(key_cache.directory))


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def _script() -> str:
    found = shutil.which("peppol-response", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("the peppol-response console script is not installed next to this Python")
    return found


# -- network run --------------------------------------------------------------------------------------------


def test_run_exit_1_when_a_scenario_fails(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('name = "expects too much"\n[[step]]\nsend = "AB"\nexpect = { status = "AP" }\n')
    result = run("network", "run", str(SCENARIOS / "order-violation-ap-then-re.toml"), str(wrong),
                 "--workdir", str(tmp_path / "net"))
    assert result.exit_code == 1, result.output
    assert "scenario: Order violation" in result.output
    assert "refused OP-BR111-R005" in result.output
    assert "ignored OP-BR111-R005" in result.output
    assert "expected status 'AP', got 'AB'" in result.output
    assert "1 of 2 scenario(s) passed: expects too much failed" in result.output
    assert (tmp_path / "net" / "participants" / "seller" / "tracker.db").exists()  # a given workdir is kept


def test_run_json_exit_0(tmp_path: Path) -> None:
    result = run("network", "run", str(SCENARIOS / "not-serviced.toml"), str(SCENARIOS / "stale-response.toml"),
                 "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] is True
    assert [s["steps"][1]["outcome"] for s in data["scenarios"]] == ["not-serviced", "held"]


def test_run_usage_errors_exit_2_before_any_network(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[step]]\nsend = "ZZ"\n')
    result = run("network", "run", str(bad))
    assert result.exit_code == 2
    assert "bad.toml, step 1, 'send': 'ZZ' is not a status code" in result.output
    assert run("network", "run", str(tmp_path / "missing.toml")).exit_code == 2
    assert run("network", "run").exit_code == 2


# -- network up ---------------------------------------------------------------------------------------------


def _lines(stream: IO[str], into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


def _wait_for(lines: queue.Queue[str], text: str, timeout: float) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f"{text!r} did not appear within {timeout} s; got {seen}")


def test_up_serves_until_interrupted_and_takes_messages_from_outside(tmp_path: Path) -> None:
    script = _script()
    workdir = tmp_path / "net"
    proc = subprocess.Popen([script, "network", "up", "--workdir", str(workdir)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    assert proc.stderr is not None
    errors: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stderr, errors), daemon=True).start()
    try:
        _wait_for(errors, "ready; press Ctrl-C", 60)
        info = json.loads((workdir / "network.json").read_text())
        seller = next(p for p in info["participants"] if p["name"] == "seller")
        buyer_ap = next(a for a in info["access_points"] if a["name"] == "ap-buyer")
        # a chain-test tool of its own sends an Invoice Response as the buyer's access point
        response = reply_to(make_invoice(invoice_id="EXT-1", seller=SELLER, buyer=BUYER), "AB")
        doc = tmp_path / "response.xml"
        doc.write_bytes(response.to_xml())
        sent = subprocess.run([script, "send", str(doc), "--pki", info["pki"]["directory"], "--seat",
                               buyer_ap["seat"], "--smp-url", info["smp"]["url"], "--country", "NO", "--json"],
                              capture_output=True, text=True, timeout=60, check=False)
        assert sent.returncode == 0, sent.stdout + sent.stderr
        result = json.loads(sent.stdout)
        assert result["url"] == next(a for a in info["access_points"] if a["name"] == "ap-seller")["as4_url"]
        tracker = Tracker(seller["tracker"])
        try:
            deadline = time.monotonic() + 10
            while not tracker.orphans() and time.monotonic() < deadline:
                time.sleep(0.05)
            orphans = tracker.orphans()  # no invoice EXT-1 was recorded: kept as an orphan
            assert [o.evidence.as4_message_id for o in orphans] == [result["message_id"]]
            assert orphans[0].mark is Mark.ORPHAN
        finally:
            tracker.close()
        ports = [int(a["as4_url"].split(":")[2].split("/")[0]) for a in info["access_points"]]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
        _wait_for(errors, "network stopped", 5)
        for port in ports:
            with socket.socket() as s, pytest.raises(ConnectionRefusedError):
                s.connect(("127.0.0.1", port))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.stdout is not None
    out = proc.stdout.read()
    assert "ap-seller  C2  seat PXX000001" in out
    assert "seller-without-responses" in out
    assert "does NOT receive Invoice Responses" in out


# -- the demo -------------------------------------------------------------------------------------------------


def _check_demo_output(out: str) -> None:
    for section in ("== 1. Documents", "== 2. A local Peppol network", "== 3. The seller sends an invoice",
                    "== 4. The buyer answers", "== 5. Out of order", "== 6. Payment in steps",
                    "== 7. Before sending", "== 8. The seller's history", "== 9. Summary"):
        assert section in out
    assert "refused by the buyer's own tracker, nothing sent: [OP-BR111-R005]" in out
    assert "this response ignored under OP-BR111-R005" in out
    assert "AB  not sent: NotServiced." in out
    assert "seller's transport history: attempt 1: receipted (HTTP 200)" in out
    assert "the seller's tracker says: PD (final)" in out
    assert out.count("at the seller's AP: valid (T111 rules)") == 7
    assert "demo finished: every step passed" in out
    assert "Traceback" not in out


def test_demo_through_clicks_runner(tmp_path: Path) -> None:
    result = run("demo", "--workdir", str(tmp_path))
    assert result.exit_code == 0, result.output
    _check_demo_output(result.stdout)
    assert (tmp_path / "responses" / "PD-paid.xml").exists()
    tracker = Tracker(f"sqlite:///{tmp_path / 'network' / 'participants' / 'seller' / 'tracker.db'}")
    try:
        [record] = tracker.list_invoices(direction="outbound")
        history = tracker.history(record)
        assert [(h.state.value, h.mark.value) for h in history] == [
            ("AB", "accepted"), ("IP", "accepted"), ("UQ", "accepted"), ("AP", "accepted"), ("RE", "ignored"),
            ("PD+PPD", "accepted"), ("PD", "accepted")]
        assert all(h.evidence.as4_message_id and h.evidence.sbdh_instance_id for h in history)
    finally:
        tracker.close()


def test_demo_as_a_console_script(tmp_path: Path) -> None:
    t0 = time.monotonic()
    done = subprocess.run([_script(), "demo", "--workdir", str(tmp_path)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    _check_demo_output(done.stdout)
    assert done.stderr == ""  # no warnings, no server logs, no stack traces
    assert time.monotonic() - t0 < 60
