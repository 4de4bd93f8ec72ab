"""A tiny TLS-terminating reverse proxy for fault tests: one scripted behaviour per request.

* ``"forward"``: pass the request to the backend and its answer back (a healthy load balancer);
* ``"html502"``: answer ``502 Bad Gateway`` with an HTML page itself (the backend never sees it);
* ``"reset"``: read half of the request body, then reset the TCP connection;
* ``"slow"``: forward, let the backend answer, then hold the answer back for ``delay`` seconds (the client
  times out although the message arrived).
"""

from __future__ import annotations

import socket
import ssl
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # resets and timeouts are the point here


class FaultProxy:
    def __init__(self, backend: str, *, tls: tuple[str, str], ca: str, script: list[str], delay: float = 2.0) -> None:
        self.backend = backend.rstrip("/")
        self.script = list(script)
        self.delay = delay
        self.seen: list[str] = []
        proxy = self
        session = requests.Session()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                step = proxy.script.pop(0) if proxy.script else "forward"
                proxy.seen.append(step)
                length = int(self.headers.get("Content-Length", "0"))
                if step == "reset":
                    self.rfile.read(length // 2)
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                    self.close_connection = True
                    return
                body = self.rfile.read(length)
                if step == "html502":
                    page = b"<html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>"
                    self._answer(502, "text/html", page)
                    return
                reply = session.post(proxy.backend + self.path, data=body, verify=ca, timeout=30,
                                     headers={k: v for k, v in self.headers.items()
                                              if k.lower() in ("content-type", "mime-version")})
                if step == "slow":
                    time.sleep(proxy.delay)
                self._answer(reply.status_code, reply.headers.get("Content-Type", ""), reply.content)

            def _answer(self, status: int, ctype: str, body: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    self.close_connection = True

        self._httpd = _Server(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*tls)
        self._httpd.socket = ctx.wrap_socket(self._httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
