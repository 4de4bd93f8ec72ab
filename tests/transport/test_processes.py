"""Receivers as real processes: one killed between storing and answering, and two sharing PostgreSQL under
eight concurrent senders. In both, every message is delivered exactly once and every sender holds a
verified receipt."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from peppol_response.as4.sender import AttemptOutcome, RequestsTransport, RetryPolicy, Sender, SendResult, Target
from peppol_response.as4.store import InboundStore
from peppol_response.testing.pki import TestPki
from tests.transport.helpers import OWN_RESPONSE, example

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Receiver:
    """A receiver process (``tests.transport.receiver_proc``) on a fixed port."""

    def __init__(self, pki: TestPki, store: str, deliveries: Path, *, port: int | None = None,
                 die_after_store: bool = False) -> None:
        self.pki, self.port = pki, port or _free_port()
        self.spec = {
            "serve": {"ap": {"pki_dir": str(pki.directory), "seat": "PXX000002"}, "store_url": store},
            "port": self.port, "deliveries": str(deliveries), "die_after_store": die_after_store,
            "tls": [str(pki.path("tls-localhost.cert.pem")), str(pki.path("tls-localhost.key.pem"))],
        }
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.transport.receiver_proc", json.dumps(self.spec)],
                                     cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.url = f"https://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the receiver died: {self.proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                if requests.get(self.url + "/health", verify=str(pki.tls_ca_file), timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the receiver did not come up")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # graceful; idle TLS keep-alive peers can hold uvicorn up to its grace period
            try:
                self.proc.wait(2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr is not None:
            self.proc.stderr.close()


def _deliveries(path: Path, count: int, timeout: float) -> Counter[str]:
    deadline = time.monotonic() + timeout
    while True:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= count or time.monotonic() > deadline:
            time.sleep(0.3)  # a second delivery, if there were one, would show up now
            lines = path.read_text().splitlines() if path.exists() else []
            return Counter(line.split()[1] for line in lines)
        time.sleep(0.05)


def _sender(pki: TestPki, **kw: Any) -> Sender:
    trust = pki.ap_trust_store()
    kw.setdefault("transport", RequestsTransport(verify=str(pki.tls_ca_file)))
    return Sender(pki.ap("PXX000001"), trust=trust, country_c1="BE", **kw)


@pytest.fixture
def running() -> Iterator[list[Receiver]]:
    procs: list[Receiver] = []
    yield procs
    for p in procs:
        p.stop()


def test_receiver_killed_after_storing_is_answered_by_the_next_one(test_pki: TestPki, tmp_path: Path,
                                                                    running: list[Receiver]) -> None:
    store, deliveries = f"sqlite:///{tmp_path / 'in.db'}", tmp_path / "deliveries.txt"
    first = Receiver(test_pki, store, deliveries, die_after_store=True)
    running.append(first)
    restarted: list[int] = []

    def sleep(seconds: float) -> None:  # the sender's backoff: bring the service back meanwhile
        code = first.proc.wait(10)
        restarted.append(code)
        running.append(Receiver(test_pki, store, deliveries, port=first.port))

    with _sender(test_pki, sleep=sleep, retry=RetryPolicy(attempts=3)) as sender:
        result = sender.send(example(), target=Target(first.url + "/as4", test_pki.ap("PXX000002").certificate))
    assert restarted == [17]  # it really died at the fault point
    one, two = result.attempts
    assert one.outcome is AttemptOutcome.RETRYABLE
    assert one.http_status is None
    assert two.outcome is AttemptOutcome.RECEIPTED
    row = InboundStore(store).get(result.message_id)
    assert row is not None
    assert row.receipt == result.receipt.raw
    assert row.duplicates == 1
    assert _deliveries(deliveries, 1, 10) == {result.message_id: 1}


@pytest.mark.slow
@pytest.mark.postgres
def test_eight_senders_two_receivers_one_postgresql(test_pki: TestPki, tmp_path: Path, postgres_url: str,
                                                    running: list[Receiver]) -> None:
    senders, per_sender = 8, 200
    deliveries = tmp_path / "deliveries.txt"
    a = Receiver(test_pki, postgres_url, deliveries)
    running.append(a)
    b = Receiver(test_pki, postgres_url, deliveries)
    running.append(b)
    cert = test_pki.ap("PXX000002").certificate
    results: list[SendResult] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        mine, other = (a, b) if n % 2 == 0 else (b, a)
        try:
            with _sender(test_pki, retry=RetryPolicy(attempts=5, first_delay=0.2)) as sender:
                for i in range(per_sender):
                    sbd, header = sender.envelope(OWN_RESPONSE)
                    out = sender.prepare(sbd, header, Target(mine.url + "/as4", cert))
                    r = sender.deliver(out, mine.url + "/as4")
                    if i % 25 == 0:  # the same message through the other process: a duplicate there
                        again = sender.deliver(out, other.url + "/as4")
                        assert again.receipt.raw == r.receipt.raw
                    with lock:
                        results.append(r)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    t0 = time.monotonic()
    threads = [threading.Thread(target=work, args=(n,)) for n in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    sent = {r.message_id for r in results}
    assert len(results) == len(sent) == senders * per_sender
    delivered = _deliveries(deliveries, senders * per_sender, 60)
    elapsed = time.monotonic() - t0
    assert set(delivered) == sent
    assert set(delivered.values()) == {1}, delivered.most_common(3)
    pids = Counter(line.split()[0] for line in deliveries.read_text().splitlines())
    assert len(pids) == 2  # both processes delivered a share
    store = InboundStore(postgres_url)
    assert store.counts()["delivered"] == senders * per_sender
    print(f"{senders * per_sender} messages in {elapsed:.1f} s ({senders * per_sender / elapsed:.0f}/s)")
