"""Signed webhooks: the dispatcher that drains the outbox, and the helper a receiver uses to verify them.

Signing follows the Standard Webhooks scheme, so existing receiver libraries work too:

* ``webhook-id``: the delivery's id (``evt_<event id>``), the same on every retry (the idempotency key);
* ``webhook-timestamp``: Unix seconds when this attempt was signed;
* ``webhook-signature``: ``v1,<base64 HMAC-SHA256(secret, "<id>.<timestamp>.<body>")>``; several
  space-separated signatures may appear (secret rotation);
* the secret is ``whsec_`` + base64 of at least 16 random bytes.

Delivery: every committed event is queued in ``pr_outbox`` in the same transaction as the change that
caused it, once per webhook. :class:`WebhookDispatcher` claims due rows with a lease (PostgreSQL:
``SELECT ... FOR UPDATE SKIP LOCKED``; SQLite: one ``UPDATE ... RETURNING`` under the write lock), posts
them, and marks them delivered on a 2xx answer. Anything else (an error status, a timeout, a dropped
connection, a dispatcher killed mid-request whose lease runs out) is retried with exponential backoff
and jitter, up to ``max_attempts``, then the row is ``dead``. Over HTTP this is *at least once*: an
answer lost on the way back makes the dispatcher send the same message again. The receiver turns that
into *exactly once* by remembering the ids it processed: :class:`WebhookVerifier` does this (and
refuses replays: timestamps outside the tolerance, ids already seen).

Secrets and signatures are never logged; errors record the status code or the exception class only.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import random
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final, Protocol

import requests
import sqlalchemy as sa

from ..errors import ConfigError, WebhookReplayError, WebhookVerificationError
from .core import Tracker
from .schema import events as t_events
from .schema import outbox as t_outbox
from .schema import webhooks as t_hooks

__all__ = [
    "DEFAULT_TOLERANCE",
    "SeenIds",
    "WebhookDispatcher",
    "WebhookMessage",
    "WebhookVerifier",
    "sign",
    "signature_headers",
]

log = logging.getLogger(__name__)

DEFAULT_TOLERANCE: Final = 300
"""Seconds a signed timestamp may differ from the receiver's clock (5 minutes)."""


def _secret_bytes(secret: bytes | str) -> bytes:
    if isinstance(secret, bytes):
        return secret
    try:
        return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except ValueError:
        raise ConfigError("a webhook secret is 'whsec_' followed by base64") from None


def sign(secret: bytes | str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,<base64>`` signature of ``<id>.<timestamp>.<body>``."""
    mac = hmac.new(_secret_bytes(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def signature_headers(secret: bytes | str, msg_id: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """The three headers for one signed request."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(secret, msg_id, ts, body),
        "content-type": "application/json",
    }


# -------------------------------------------------------------------------------------------------
# Receiver side
# -------------------------------------------------------------------------------------------------


class SeenStore(Protocol):
    """Where a receiver remembers message ids (in memory by default; a database for several processes)."""

    def claim(self, msg_id: str, timestamp: int) -> bool:
        """Atomically remember ``msg_id``; False if it was already there."""
        ...  # pragma: no cover

    def release(self, msg_id: str) -> None:
        """Forget ``msg_id`` (its processing failed; a retry may process it)."""
        ...  # pragma: no cover


class SeenIds:
    """A thread-safe, bounded memory of message ids; ids older than the tolerance drop out.

    Expiry is safe: a message older than the timestamp tolerance is refused anyway.
    """

    def __init__(self, *, ttl: int = 2 * DEFAULT_TOLERANCE, max_size: int = 1_000_000) -> None:
        self._ttl = ttl
        self._max = max_size
        self._ids: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def claim(self, msg_id: str, timestamp: int) -> bool:
        now = time.time()
        with self._lock:
            while self._ids:
                oldest, at = next(iter(self._ids.items()))
                if at >= now - self._ttl and len(self._ids) < self._max:
                    break
                del self._ids[oldest]
            if msg_id in self._ids:
                return False
            self._ids[msg_id] = now
            return True

    def release(self, msg_id: str) -> None:
        with self._lock:
            self._ids.pop(msg_id, None)

    def __contains__(self, msg_id: object) -> bool:
        with self._lock:
            return msg_id in self._ids


@dataclass(frozen=True, slots=True)
class WebhookMessage:
    """A verified webhook: its id (process it once), when it was signed, and the event."""

    id: str
    timestamp: int
    payload: dict[str, Any]


class WebhookVerifier:
    """Verify signed webhook requests: signature, timestamp within ``tolerance``, id not seen before.

    ::

        verifier = WebhookVerifier(secret)
        try:
            with verifier.receive(headers, body) as message:   # raises before yielding if untrusted
                handle(message.payload)                         # an exception here lets a retry process it
        except WebhookReplayError:
            pass          # already processed: answer 2xx so the sender stops retrying
        except WebhookVerificationError:
            ...           # answer 400/401; do not process

    Several secrets may be given during a rotation; any of them verifies.
    """

    def __init__(
        self,
        secret: bytes | str | list[bytes | str],
        *,
        tolerance: int = DEFAULT_TOLERANCE,
        seen: SeenStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        secrets = secret if isinstance(secret, list) else [secret]
        self._secrets = [_secret_bytes(s) for s in secrets]
        self._tolerance = tolerance
        self.seen: SeenStore = seen if seen is not None else SeenIds(ttl=2 * tolerance)
        self._clock = clock

    def check(self, headers: Mapping[str, str], body: bytes) -> WebhookMessage:
        """Check signature and timestamp (no replay memory); return the message."""
        lower = {k.lower(): v for k, v in headers.items()}
        msg_id = lower.get("webhook-id")
        ts_text = lower.get("webhook-timestamp")
        sig_text = lower.get("webhook-signature")
        if not msg_id or not ts_text or not sig_text:
            raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature header")
        try:
            ts = int(ts_text)
        except ValueError:
            raise WebhookVerificationError("webhook-timestamp is not an integer") from None
        if abs(self._clock() - ts) > self._tolerance:
            raise WebhookVerificationError(f"webhook-timestamp is more than {self._tolerance} s from now")
        offered = [part.partition(",")[2] for part in sig_text.split() if part.startswith("v1,")]
        expected = [sign(s, msg_id, ts, body).partition(",")[2] for s in self._secrets]
        if not any(hmac.compare_digest(o, e) for o in offered for e in expected):
            raise WebhookVerificationError("no valid v1 signature")
        try:
            payload = json.loads(body)
        except ValueError:
            raise WebhookVerificationError("the body is not JSON") from None
        if not isinstance(payload, dict):
            raise WebhookVerificationError("the body is not a JSON object")
        return WebhookMessage(msg_id, ts, payload)

    def verify(self, headers: Mapping[str, str], body: bytes) -> WebhookMessage:
        """Check and remember the id at once (raises :class:`WebhookReplayError` for an id seen before)."""
        msg = self.check(headers, body)
        if not self.seen.claim(msg.id, msg.timestamp):
            raise WebhookReplayError(f"message {msg.id} was already received")
        return msg

    @contextmanager
    def receive(self, headers: Mapping[str, str], body: bytes) -> Iterator[WebhookMessage]:
        """Verify and claim the id; if the block raises, release it so a retry can process the message."""
        msg = self.verify(headers, body)
        try:
            yield msg
        except BaseException:
            self.seen.release(msg.id)
            raise


# -------------------------------------------------------------------------------------------------
# Sender side: the outbox dispatcher
# -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: int
    event_id: int
    attempts: int
    url: str
    secret: str
    body: bytes


class WebhookDispatcher:
    """Deliver the outbox of a :class:`~peppol_response.tracker.Tracker` to its webhooks.

    Run one or several (threads or processes, on any host sharing the database): a row is claimed by
    one dispatcher at a time for ``lease`` seconds. ``timeout`` bounds each request; failures retry
    after ``backoff * 2**(attempts-1)`` seconds (capped at ``max_backoff``, with up to 25 % jitter).
    """

    def __init__(
        self,
        tracker: Tracker,
        *,
        owner: str | None = None,
        batch: int = 20,
        lease: float = 60.0,
        timeout: float = 10.0,
        backoff: float = 1.0,
        max_backoff: float = 3600.0,
        max_attempts: int = 15,
        session: requests.Session | None = None,
    ) -> None:
        if lease <= timeout:
            raise ConfigError("the lease must be longer than the request timeout, or two dispatchers may overlap")
        self.tracker = tracker
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
        self.batch = batch
        self.lease = lease
        self.timeout = timeout
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_attempts = max_attempts
        self.session = session or requests.Session()

    def _claim(self) -> list[_Claimed]:
        now = self.tracker.now()
        until = now + dt.timedelta(seconds=self.lease)
        due = sa.and_(t_outbox.c.state == "pending", t_outbox.c.next_attempt_at <= now,
                      sa.or_(t_outbox.c.lease_until.is_(None), t_outbox.c.lease_until < now))
        engine = self.tracker.engine
        lock = self.tracker._local
        if lock is not None:
            lock.acquire()
        try:
            with engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    ids = conn.execute(sa.select(t_outbox.c.id).where(due).order_by(t_outbox.c.id)
                                       .limit(self.batch).with_for_update(skip_locked=True)).scalars().all()
                    if not ids:
                        return []
                    rows = conn.execute(t_outbox.update().where(t_outbox.c.id.in_(ids))
                                        .values(lease_owner=self.owner, lease_until=until,
                                                attempts=t_outbox.c.attempts + 1)
                                        .returning(t_outbox.c.id, t_outbox.c.event_id, t_outbox.c.webhook_id,
                                                   t_outbox.c.attempts)).all()
                else:
                    pick = sa.select(t_outbox.c.id).where(due).order_by(t_outbox.c.id).limit(self.batch)
                    rows = conn.execute(t_outbox.update().where(t_outbox.c.id.in_(pick.scalar_subquery()))
                                        .values(lease_owner=self.owner, lease_until=until,
                                                attempts=t_outbox.c.attempts + 1)
                                        .returning(t_outbox.c.id, t_outbox.c.event_id, t_outbox.c.webhook_id,
                                                   t_outbox.c.attempts)).all()
                if not rows:
                    return []
                hooks = {h.id: h for h in conn.execute(sa.select(t_hooks.c.id, t_hooks.c.url, t_hooks.c.secret)
                                                       .where(t_hooks.c.id.in_({r.webhook_id for r in rows})))}
                evs = {e.id: e for e in conn.execute(sa.select(t_events.c.id, t_events.c.payload, t_events.c.kind,
                                                               t_events.c.created_at)
                                                     .where(t_events.c.id.in_({r.event_id for r in rows})))}
        finally:
            if lock is not None:
                lock.release()
        out = []
        for r in sorted(rows, key=lambda x: x.id):
            e = evs[r.event_id]
            body = _body(e.id, e.kind, e.created_at, e.payload)
            hook = hooks[r.webhook_id]
            out.append(_Claimed(r.id, r.event_id, r.attempts, hook.url, hook.secret, body))
        return out

    def _finish(self, item: _Claimed, *, ok: bool, status: int | None, error: str | None) -> None:
        now = self.tracker.now()
        mine = sa.and_(t_outbox.c.id == item.id, t_outbox.c.lease_owner == self.owner, t_outbox.c.state == "pending")
        if ok:
            values: dict[str, Any] = {"state": "delivered", "delivered_at": now, "lease_owner": None,
                                      "lease_until": None, "last_status": status, "last_error": None}
        else:
            delay = min(self.backoff * 2 ** (item.attempts - 1), self.max_backoff)
            delay *= 1 + random.random() / 4  # noqa: S311 - jitter, not security
            dead = item.attempts >= self.max_attempts
            values = {"state": "dead" if dead else "pending", "lease_owner": None, "lease_until": None,
                      "next_attempt_at": now + dt.timedelta(seconds=delay), "last_status": status,
                      "last_error": error}
        lock = self.tracker._local
        if lock is not None:
            lock.acquire()
        try:
            with self.tracker.engine.begin() as conn:
                conn.execute(t_outbox.update().where(mine).values(**values))
        finally:
            if lock is not None:
                lock.release()

    def _post(self, item: _Claimed) -> tuple[bool, int | None, str | None]:
        headers = signature_headers(item.secret, f"evt_{item.event_id}", item.body)
        try:
            resp = self.session.post(item.url, data=item.body, headers=headers, timeout=self.timeout,
                                     allow_redirects=False)
        except requests.RequestException as exc:
            return False, None, type(exc).__name__
        ok = 200 <= resp.status_code < 300
        resp.close()
        return ok, resp.status_code, None if ok else f"HTTP {resp.status_code}"

    def run_once(self) -> int:
        """Claim and attempt the due deliveries once; return how many were attempted."""
        claimed = self._claim()
        for item in claimed:
            ok, status, error = self._post(item)
            if not ok:
                log.info("webhook delivery evt_%s attempt %s failed: %s", item.event_id, item.attempts, error)
            self._finish(item, ok=ok, status=status, error=error)
        return len(claimed)

    def run(self, *, stop: threading.Event | None = None, idle: float = 0.5, until_idle: bool = False) -> None:
        """Deliver until ``stop`` is set (or, with ``until_idle``, until nothing is due)."""
        stop = stop or threading.Event()
        while not stop.is_set():
            if self.run_once() == 0:
                if until_idle:
                    return
                stop.wait(idle)


def _body(event_id: int, kind: str, created_at: dt.datetime, payload: str) -> bytes:
    data = json.loads(payload)
    data["id"] = f"evt_{event_id}"
    data["type"] = kind
    data["created_at"] = created_at.isoformat() + "Z"
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
