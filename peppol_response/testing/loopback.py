"""Run the service for real on loopback: uvicorn (with our TLS and header guard) in a background thread.

::

    with LoopbackServer(create_app(receiver), tls=(cert, key)) as server:
        sender.send(doc, target=Target(server.url + "/as4", receiver_cert))

The socket is bound before the thread starts (port 0 picks a free port), so :attr:`LoopbackServer.url` is
known at once; :meth:`LoopbackServer.start` returns when the app's startup (the delivery worker) is done.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

__all__ = ["LoopbackServer"]


class LoopbackServer:
    """uvicorn serving ``app`` on ``host:port`` in a thread (HTTPS when ``tls`` = (cert file, key file)).

    ``http`` picks the protocol class (default: the service's, see ``peppol_response.server.uvicorn_config``)."""

    def __init__(self, app: Any, *, tls: tuple[str, str] | None = None, host: str = "127.0.0.1", port: int = 0,
                 header_timeout: float = 15.0, http: str | None = None) -> None:
        from ..server import uvicorn_config

        self.app = app
        self.tls = tls
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.host, self.port = self._sock.getsockname()[:2]
        self.config = uvicorn_config(app, host=self.host, port=self.port, tls=tls, header_timeout=header_timeout,
                                     http=http)
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> LoopbackServer:
        import uvicorn

        self._server = uvicorn.Server(self.config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]},
                                        name=f"uvicorn-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the loopback server on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def stop(self, grace: float = 1.0, timeout: float = 15.0) -> None:
        """Stop serving; after ``grace`` seconds stop waiting for idle keep-alive TLS connections whose
        peers never answer the TLS close (an HTTP client pool does not)."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(grace)
            if self._thread.is_alive() and self._server is not None:
                self._server.force_exit = True
            self._thread.join(timeout)
        self._sock.close()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
