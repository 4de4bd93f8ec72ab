"""Run an ASGI application in-process behind the synchronous sender's :class:`Transport` interface.

::

    with AsgiTransport(create_app(receiver)) as transport:
        Sender(identity, trust=trust, transport=transport).send(doc, target=Target("http://ap/as4", cert))
        transport.request("GET", "http://ap/health")

The app runs on a private event loop in a background thread (with its lifespan: startup on creation,
shutdown on :meth:`AsgiTransport.close`), so synchronous code — the sender, a test, a CLI — can call
it without sockets.
"""

from __future__ import annotations

import asyncio
import threading
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

from ..as4.sender import HttpReply, Timeouts
from ..errors import TransportError

__all__ = ["AsgiTransport"]


class AsgiTransport:
    """A :class:`peppol_response.as4.sender.Transport` that calls an ASGI app directly."""

    def __init__(self, app: Any, *, lifespan: bool = True, client: tuple[str, int] = ("127.0.0.1", 40000)) -> None:
        self.app = app
        self.client = client
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="asgi-transport", daemon=True)
        self._thread.start()
        self._lifespan: tuple[asyncio.Queue[dict[str, Any]], asyncio.Queue[dict[str, Any]]] | None = None
        if lifespan:
            self._call(self._startup(), 30)

    def _call(self, coro: Any, timeout: float) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _startup(self) -> None:
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self._lifespan_task = asyncio.ensure_future(self.app(scope, inbox.get, outbox.put))
        await inbox.put({"type": "lifespan.startup"})
        msg = await outbox.get()
        if msg["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"the app failed to start: {msg}")
        self._lifespan = (inbox, outbox)

    async def _shutdown(self) -> None:
        if self._lifespan is None:
            return
        inbox, outbox = self._lifespan
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        self._lifespan = None

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            self._call(self._shutdown(), 30)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()

    def __enter__(self) -> AsgiTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def _request(self, method: str, url: str, body: bytes, headers: Mapping[str, str]) -> HttpReply:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or "localhost"
        port = parts.port or (443 if parts.scheme == "https" else 80)
        raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        if not any(k == b"host" for k, _ in raw_headers):
            raw_headers.append((b"host", host.encode()))
        if not any(k == b"content-length" for k, _ in raw_headers):
            raw_headers.append((b"content-length", str(len(body)).encode()))
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
            "scheme": parts.scheme or "http", "path": urllib.parse.unquote(parts.path or "/"),
            "raw_path": (parts.path or "/").encode(), "query_string": parts.query.encode(), "root_path": "",
            "headers": raw_headers, "client": self.client, "server": (host, port), "state": {},
        }
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # nothing more: wait until cancelled
            return {"type": "http.disconnect"}

        status = 500
        out_headers: dict[str, str] = {}
        chunks: list[bytes] = []

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                for k, v in message.get("headers", []):
                    out_headers[k.decode("latin-1").lower()] = v.decode("latin-1")
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return HttpReply(status, out_headers.get("content-type"), b"".join(chunks), out_headers)

    def request(self, method: str, url: str, body: bytes = b"", headers: Mapping[str, str] | None = None, *,
                timeout: float = 60.0) -> HttpReply:
        """Any request (tests use it for bad input and the health endpoint)."""
        return self._call(self._request(method, url, body, dict(headers or {})), timeout)  # type: ignore[no-any-return]

    def post(self, url: str, body: bytes | Iterable[bytes], headers: Mapping[str, str], *,
             timeouts: Timeouts) -> HttpReply:
        data = body if isinstance(body, bytes) else b"".join(body)
        try:
            return self.request("POST", url, data, headers, timeout=timeouts.connect + timeouts.read)
        except TimeoutError:
            raise TransportError(f"the in-process app did not answer {url} in time", retryable=True) from None
