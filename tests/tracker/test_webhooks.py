"""Webhooks: signatures and replay protection; the outbox delivers every event exactly once to a real
HTTP receiver on loopback despite 500s, timeouts, dropped connections and a dispatcher killed mid-request."""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from peppol_response.errors import WebhookReplayError, WebhookVerificationError
from peppol_response.tracker import Tracker
from peppol_response.tracker.webhooks import (
    SeenIds,
    WebhookDispatcher,
    WebhookVerifier,
    sign,
    signature_headers,
)

from .conftest import BUYER, SELLER, response, unique

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_signature_round_trip_and_tampering() -> None:
    body = b'{"id":"evt_1","type":"status.changed"}'
    h = signature_headers(SECRET, "evt_1", body)
    v = WebhookVerifier(SECRET)
    assert v.check(h, body).payload["type"] == "status.changed"
    with pytest.raises(WebhookVerificationError, match="signature"):
        v.check(h, body.replace(b"status", b"statuz"))
    with pytest.raises(WebhookVerificationError, match="signature"):
        v.check(h | {"webhook-id": "evt_2"}, body)
    with pytest.raises(WebhookVerificationError, match="signature"):
        WebhookVerifier("whsec_" + "A" * 24).check(h, body)
    with pytest.raises(WebhookVerificationError, match="missing"):
        v.check({"webhook-id": "evt_1"}, body)
    # the header names are case-insensitive, several signatures may be offered (rotation)
    new = "whsec_" + "B" * 24
    rotated = h | {"webhook-signature": f"{sign(new, 'evt_1', int(h['webhook-timestamp']), body)} "
                                        f"{h['webhook-signature']}"}
    assert WebhookVerifier([new]).check({k.upper(): x for k, x in rotated.items()}, body).id == "evt_1"


def test_timestamp_tolerance_and_replay() -> None:
    body = b'{"a":1}'
    now = [1_800_000_000.0]
    v = WebhookVerifier(SECRET, tolerance=300, clock=lambda: now[0])
    old = signature_headers(SECRET, "evt_9", body, timestamp=int(now[0]) - 301)
    with pytest.raises(WebhookVerificationError, match="timestamp"):
        v.verify(old, body)
    fresh = signature_headers(SECRET, "evt_9", body, timestamp=int(now[0]))
    assert v.verify(fresh, body).id == "evt_9"
    with pytest.raises(WebhookReplayError):
        v.verify(fresh, body)
    # a failed processing releases the id so the retry is processed
    h = signature_headers(SECRET, "evt_10", body, timestamp=int(now[0]))
    with pytest.raises(RuntimeError), v.receive(h, body):
        raise RuntimeError("database down")
    with v.receive(h, body) as msg:
        assert msg.id == "evt_10"
    assert "evt_10" in v.seen  # type: ignore[operator]
    seen = SeenIds(ttl=0)
    assert seen.claim("x", 0)
    assert seen.claim("x", 0)


class Receiver:
    """A loopback HTTP receiver that verifies with WebhookVerifier and injects failures."""

    def __init__(self, faults: Callable[[str, int], str]) -> None:
        self.verifier = WebhookVerifier(SECRET)
        self.faults = faults
        self.processed: list[str] = []
        self.attempts: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()
        self.in_flight = threading.Event()
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                msg_id = self.headers["webhook-id"]
                with outer.lock:
                    outer.attempts[msg_id] += 1
                    n = outer.attempts[msg_id]
                fault = outer.faults(msg_id, n)
                if fault == "500":
                    self.send_response(500)
                    self.end_headers()
                    return
                if fault == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                try:
                    with outer.verifier.receive(dict(self.headers), body) as msg, outer.lock:
                        outer.processed.append(msg.payload["id"])
                except WebhookReplayError:
                    pass
                except WebhookVerificationError:
                    self.send_response(401)
                    self.end_headers()
                    return
                if fault == "processed-then-drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if fault == "slow":
                    time.sleep(0.8)  # longer than the dispatcher's timeout: it gives up, then retries
                if fault == "hang":
                    outer.in_flight.set()
                    outer.release.wait(20)
                try:
                    self.send_response(200)
                    self.end_headers()
                except OSError:
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def _make_events(tracker: Tracker, n: int) -> None:
    docs = [unique("WH") for _ in range(n)]
    for d in docs:
        tracker.record_invoice(seller=SELLER, buyer=BUYER, invoice_id=d, issue_date=dt.date(2026, 3, 1))
    tracker.ingest_many([response(f"{d}-1", "AB", doc=d) for d in docs])
    tracker.ingest_many([response(f"{d}-2", "AP", doc=d, day=dt.date(2026, 3, 3)) for d in docs[: n // 2]])


def _drain(trackers: list[Tracker], *, deadline: float = 40.0, **kw: object) -> None:
    stop = threading.Event()
    threads = []
    for i, t in enumerate(trackers):
        d = WebhookDispatcher(t, owner=f"d{i}", timeout=0.4, lease=1.5, backoff=0.05, max_backoff=0.3,
                              batch=5, **kw)  # type: ignore[arg-type]
        th = threading.Thread(target=d.run, kwargs={"stop": stop, "idle": 0.05}, daemon=True)
        th.start()
        threads.append(th)
    end = time.monotonic() + deadline
    try:
        while time.monotonic() < end:
            if trackers[0].outbox_counts().get("pending", 0) == 0:
                return
            time.sleep(0.05)
        raise AssertionError(f"outbox not drained: {trackers[0].outbox_counts()}")
    finally:
        stop.set()
        for th in threads:
            th.join(5)


def _fault_plan(msg_id: str, attempt: int) -> str:
    kind = int(hashlib.sha256(msg_id.encode()).hexdigest(), 16) % 6
    if attempt > 2:
        return "ok"
    return ["ok", "500", "drop", "processed-then-drop", "slow", "500"][kind] if attempt == 1 else (
        "500" if kind == 5 else "ok")


@pytest.mark.slow
def test_outbox_delivers_every_event_exactly_once_despite_failures(store_url: str,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with Receiver(_fault_plan) as rx, Tracker(store_url) as t1, Tracker(store_url) as t2:
        secret = t1.add_webhook("erp", rx.url, SECRET)
        assert secret == SECRET
        _make_events(t1, 12)
        want = {f"evt_{e.id}" for e in t1.events(limit=1000)}
        assert t1.outbox_counts() == {"pending": len(want)}
        _drain([t1, t2])  # two dispatchers compete for the same rows
        assert collections.Counter(rx.processed) == dict.fromkeys(want, 1)
        assert t1.outbox_counts() == {"delivered": len(want)}
        assert sum(rx.attempts.values()) > len(want)  # failures did happen, and were retried
    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert SECRET not in text
    assert SECRET.removeprefix("whsec_") not in text


@pytest.mark.slow
def test_a_dispatcher_killed_mid_delivery_is_taken_over(store_url: str, tmp_path: object) -> None:
    victim: list[str] = []

    def faults(msg_id: str, attempt: int) -> str:
        if not victim:
            victim.append(msg_id)
        return "hang" if msg_id == victim[0] and attempt == 1 else "ok"

    with Receiver(faults) as rx, Tracker(store_url) as t:
        t.add_webhook("erp", rx.url, SECRET)
        _make_events(t, 4)
        want = {f"evt_{e.id}" for e in t.events(limit=1000)}
        code = ("import sys; from peppol_response.tracker import Tracker; "
                "from peppol_response.tracker.webhooks import WebhookDispatcher; "
                "d = WebhookDispatcher(Tracker(sys.argv[1]), owner='doomed', timeout=10, lease=12, batch=100); "
                "d.run_once()")
        proc = subprocess.Popen([sys.executable, "-c", code, store_url], env=os.environ.copy())
        try:
            assert rx.in_flight.wait(30), "the doomed dispatcher never got its request through"
            os.kill(proc.pid, signal.SIGKILL)  # dies holding the lease, mid-request, after the receiver processed it
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
        rx.release.set()
        # the lease (12 s) has not run out: a new dispatcher must not touch the claimed rows yet
        d = WebhookDispatcher(t, owner="heir", timeout=0.5, lease=1.0, backoff=0.05)
        assert d.run_once() == 0
        # let the lease expire (moving the tracker's clock instead of sleeping 12 s)
        real = t._clock
        t._clock = lambda: real() + dt.timedelta(seconds=13)
        while t.outbox_counts().get("pending", 0):
            d.run_once()
        assert collections.Counter(rx.processed) == dict.fromkeys(want, 1)
        assert rx.attempts[victim[0]] == 2  # the killed attempt and the heir's retry, answered as a replay
        assert t.outbox_counts() == {"delivered": len(want)}


def test_webhook_registration_and_event_filter(tracker: Tracker) -> None:
    generated = tracker.add_webhook("all", "http://127.0.0.1:9/a")
    assert generated.startswith("whsec_")
    assert len(generated) > 30
    tracker.add_webhook("changes", "http://127.0.0.1:9/b", SECRET, kinds=["status.changed"])
    assert [w["name"] for w in tracker.webhooks()] == ["all", "changes"]
    assert all("secret" not in w for w in tracker.webhooks())
    doc = unique()
    tracker.ingest(response(f"{doc}-1", "AB", doc=doc))  # an orphan: only the "all" webhook wants it
    assert tracker.outbox_counts() == {"pending": 1}
    tracker.record_invoice(seller=SELLER, buyer=BUYER, invoice_id=doc, issue_date=dt.date(2026, 3, 1))
    assert tracker.outbox_counts() == {"pending": 3}
    tracker.remove_webhook("all")
    assert tracker.outbox_counts() == {"pending": 1, "dead": 2}


def test_events_and_outbox_roll_back_with_the_change(tracker: Tracker, monkeypatch: pytest.MonkeyPatch) -> None:
    tracker.add_webhook("w", "http://127.0.0.1:9/a", SECRET)
    doc = unique()
    tracker.record_invoice(seller=SELLER, buyer=BUYER, invoice_id=doc, issue_date=dt.date(2026, 3, 1))
    from peppol_response.tracker import core

    def boom(*a: object, **k: object) -> Iterator[object]:
        raise RuntimeError("crash after the status update, before the commit")

    monkeypatch.setattr(core.Tracker, "_write_events", boom)
    with pytest.raises(RuntimeError):
        tracker.ingest(response(f"{doc}-1", "AP", doc=doc))
    monkeypatch.undo()
    st = tracker.status(tracker.list_invoices(limit=1)[0].pk)
    assert st.state is None
    assert st.history == ()
    assert tracker.outbox_counts() == {}
    assert tracker.events() == []
    body = json.dumps({"ok": True}).encode()
    assert WebhookVerifier(SECRET).verify(signature_headers(SECRET, "evt_x", body), body).payload == {"ok": True}
