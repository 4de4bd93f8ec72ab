"""``peppol-response serve`` (two worker processes, HTTPS with the test PKI) and ``peppol-response send``
against it: exit statuses 0 / 1 / 2 and the JSON result."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from peppol_response.cli import cli
from peppol_response.testing.pki import TestPki
from tests.transport.helpers import OWN_RESPONSE
from tests.transport.test_processes import _free_port

ROOT = Path(__file__).resolve().parents[2]


def _serve(pki: TestPki, tmp: Path, *extra: str, env: dict[str, str] | None = None
           ) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    cmd = [sys.executable, "-c", "from peppol_response.cli import main; main()", "serve", "--port", str(port),
           "--pki", str(pki.directory), "--seat", "PXX000002", "--store", f"sqlite:///{tmp / 'in.db'}",
           "--inbox", str(tmp / "inbox"), "--log-json", *extra]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    url = f"https://127.0.0.1:{port}"
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(proc.stderr.read().decode()[-3000:])  # type: ignore[union-attr]
        try:
            if requests.get(url + "/health", verify=str(pki.tls_ca_file), timeout=1).status_code == 200:
                return proc, url
        except requests.RequestException:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("serve did not come up")


@pytest.fixture
def served(test_pki: TestPki, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    proc, url = _serve(test_pki, tmp_path, "--workers", "2", "--participant", "0088:7300010000002")
    try:
        yield url, tmp_path
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log = proc.stderr.read().decode() if proc.stderr else ""
        proc.stderr.close()  # type: ignore[union-attr]
        assert "Traceback" not in log, log[-3000:]


def _send(pki: TestPki, url: str, doc: Path, *extra: str) -> tuple[int, dict[str, object]]:
    args = ["send", str(doc), "--endpoint", url + "/as4", "--endpoint-cert",
            str(pki.path("PXX000002.cert.pem")), "--pki", str(pki.directory), "--seat", "PXX000001",
            "--country", "BE", "--json", "--backoff", "0.05", *extra]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    return result.exit_code, json.loads(result.output) if result.output.strip().startswith("{") else {}


def test_send_and_serve(test_pki: TestPki, served: tuple[str, Path]) -> None:
    url, tmp = served
    doc = tmp / "response.xml"
    doc.write_bytes(OWN_RESPONSE)
    code, out = _send(test_pki, url, doc)
    assert code == 0, out
    assert out["ok"] is True
    assert out["receiver"] == "iso6523-actorid-upis::0088:7300010000002"
    message_id = str(out["message_id"])
    deadline = time.monotonic() + 10
    while not (tmp / "inbox" / f"{message_id}.json").exists() and time.monotonic() < deadline:
        time.sleep(0.05)  # the metadata is written after the payload
    assert (tmp / "inbox" / f"{message_id}.xml").exists()
    meta = json.loads((tmp / "inbox" / f"{message_id}.json").read_text())
    assert meta["sending_ap"] == "PXX000001"
    assert meta["receipt_message_id"] == out["receipt_message_id"]

    # a receiver the server does not serve: refused with PEPPOL:NOT_SERVICED -> exit 1
    other = tmp / "other.xml"
    other.write_bytes(OWN_RESPONSE.replace(b'"0088">7300010000002<', b'"0088">7300010000003<'))
    code, out = _send(test_pki, url, other)
    assert (code, out["error"], out["detail"]) == (1, "refused", "PEPPOL:NOT_SERVICED")

    # nobody listening: every retry spent -> exit 2; a file that is not there -> exit 2
    code, out = _send(test_pki, f"https://127.0.0.1:{_free_port()}", doc, "--attempts", "2")
    assert (code, out["error"], len(out["attempts"])) == (2, "transport", 2)  # type: ignore[arg-type]
    code, out = _send(test_pki, url, tmp / "missing.xml")
    assert code == 2


def test_send_with_tracker_keeps_the_attempts_and_guards_the_order(test_pki: TestPki, served: tuple[str, Path]) -> None:
    from peppol_response.process import State
    from peppol_response.tracker import InvoiceKey, Tracker, TransportState

    url, tmp = served
    db = f"sqlite:///{tmp / 'buyer.db'}"
    seller, buyer = "0088:7300010000002", "0088:7300010000001"
    doc = tmp / "response.xml"
    doc.write_bytes(OWN_RESPONSE)
    # the buyer has not recorded the invoice it answers: the tracker says so, nothing is sent
    code, out = _send(test_pki, url, doc, "--tracker", db)
    assert (code, out["error"]) == (2, "tracker"), out
    with Tracker(db) as t:
        t.record_invoice(seller=seller, buyer=buyer, invoice_id="INV-1", issue_date=dt.date(2026, 3, 1),
                         direction="inbound")
    code, out = _send(test_pki, url, doc, "--tracker", db)
    assert code == 0, out
    with Tracker(db) as t:
        st = t.status(InvoiceKey(seller, buyer, "INV-1"))
        assert st.invoice.status is State.AB
        assert [e.transport_state for e in st.history] == [TransportState.RECEIPTED]
        assert [(a.message_id, a.outcome) for a in st.transport] == [(out["message_id"], "receipted")]
        # PD is final: a later AB breaks OP-BR111 and is refused before anything is sent
        t.record_sent(OWN_RESPONSE.replace(b"resp-1", b"resp-2").replace(b">AB<", b">PD<")
                      .replace(b"2026-03-02", b"2026-03-03"), transport_state=None)
    late = tmp / "late.xml"
    late.write_bytes(OWN_RESPONSE.replace(b"resp-1", b"resp-3").replace(b"2026-03-02", b"2026-03-04"))
    code, out = _send(test_pki, url, late, "--tracker", db)
    assert (code, out["error"], out["rule"]) == (1, "order", "OP-BR111-R004"), out
    with Tracker(db) as t:
        assert len(t.transport_history(InvoiceKey(seller, buyer, "INV-1"))) == 1


def test_send_invoice_with_tracker_records_a_refused_attempt(test_pki: TestPki, served: tuple[str, Path]) -> None:
    from peppol_response.tracker import Tracker, TransportState

    url, tmp = served
    db = f"sqlite:///{tmp / 'seller.db'}"
    invoice = ROOT / "examples" / "invoices" / "invoice-380.xml"
    code, out = _send(test_pki, url, invoice, "--tracker", db)  # the receiver serves Invoice Responses only
    assert (code, out["error"]) == (1, "refused"), out
    with Tracker(db) as t:
        [record] = t.list_invoices()
        assert record.transport_state is TransportState.FAILED
        [attempt] = t.transport_history(record)
        assert (attempt.outcome, attempt.error_code, attempt.message_id) == ("refused", "EBMS:0004", out["message_id"])


def test_serve_runs_without_uvloop_and_httptools(test_pki: TestPki, tmp_path: Path) -> None:
    hidden = tmp_path / "hidden"
    for name in ("uvloop", "httptools"):  # both optional: asyncio's own loop and h11 then
        (hidden / name).mkdir(parents=True)
        (hidden / name / "__init__.py").write_text(f"raise ImportError('{name} is not installed here')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(hidden), str(ROOT),
                                                                     os.environ.get("PYTHONPATH")]))}
    check = subprocess.run([sys.executable, "-c", "import peppol_response.server as s; print(s.http_protocol())"],
                           cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert check.stdout.strip() == "peppol_response.server:GuardedH11Protocol"
    proc, url = _serve(test_pki, tmp_path, env=env)
    try:
        doc = tmp_path / "response.xml"
        doc.write_bytes(OWN_RESPONSE)
        code, out = _send(test_pki, url, doc)
        assert code == 0, out
        assert out["ok"] is True
    finally:
        proc.terminate()
        proc.wait(10)
        log = proc.stderr.read().decode() if proc.stderr else ""
        proc.stderr.close()  # type: ignore[union-attr]
    assert "Traceback" not in log, log[-3000:]
