"""The service: one ASGI application (AS4 inbound now; the tracker API and financier pages mount here too).

::

    app = create_app(receiver)                 # Starlette: POST /as4, GET /health
    serve(ServeConfig(...), host="0.0.0.0", port=8443, workers=2, tls=("cert.pem", "key.pem"))

``peppol-response serve`` builds a :class:`ServeConfig` from its options and runs :func:`serve`: uvicorn
with TLS 1.2+, a guard against slow and oversized request heads (:class:`GuardedHttpToolsProtocol`, or
:class:`GuardedH11Protocol` without httptools), uvloop when installed, and N worker
processes that each open the same store (SQLite for one host, PostgreSQL for several processes/hosts)
and each run a delivery worker. The default delivery handler (:class:`InboxHandler`) validates the
document when the validation package is available, keeps it in an inbox folder and ingests Invoice
Responses into the tracker.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
import ssl
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

from .as4.config import ApFiles
from .as4.core import As4Endpoint
from .as4.receiver import DEFAULT_ACCEPTS, As4Receiver, DeliveryHandler, InboundMessage, ReceiverSettings
from .as4.sender import as4_identity
from .as4.store import DEFAULT_STORE_URL, InboundStore
from .errors import ConfigError, EnvelopeError, IdentifierError, ParseError, StoreError
from .identifiers import INVOICE_RESPONSE, DocumentTypeId, ParticipantId, ProcessId

__all__ = [
    "CONFIG_ENV",
    "GuardedH11Protocol",
    "GuardedHttpToolsProtocol",
    "InboxHandler",
    "JsonLogFormatter",
    "ServeConfig",
    "app_from_env",
    "build_receiver",
    "create_app",
    "serve",
]

log = logging.getLogger("peppol_response.server")

CONFIG_ENV: Final = "PEPPOL_RESPONSE_SERVE_CONFIG"
"""Environment variable carrying the JSON :class:`ServeConfig` to uvicorn worker processes."""


# ----------------------------------------------------------------------------------------------- the app


def create_app(receiver: As4Receiver | None = None, *, as4_path: str = "/as4", routes: Sequence[Any] = (),
               start_delivery: bool = True) -> Any:
    """The Starlette application: ``POST {as4_path}`` (AS4 inbound), ``GET /health`` and any extra
    ``routes``. The receiver's delivery worker runs while the app runs (``start_delivery``)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse, Response
    from starlette.routing import Route

    async def health(request: Request) -> Response:
        if receiver is None:
            return JSONResponse({"status": "ok"})
        try:
            import anyio

            counts = await anyio.to_thread.run_sync(receiver.store.counts)
        except StoreError:
            return JSONResponse({"status": "unavailable", "store": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "store": "ok", "seat": receiver.endpoint.identity.seat_id,
                             "messages": counts})

    async def not_found(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("not found\n", status_code=404)

    async def method_not_allowed(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("method not allowed\n", status_code=405)

    async def internal(request: Request, exc: Exception) -> Response:
        log.error("unhandled error on %s %s: %s", request.method, request.url.path, type(exc).__name__,
                  exc_info=exc)
        return PlainTextResponse("internal error\n", status_code=500)

    all_routes: list[Any] = [Route("/health", health, methods=["GET"])]
    if receiver is not None:
        all_routes.append(Route(as4_path, receiver.asgi, methods=["POST"]))
    all_routes.extend(routes)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        if receiver is not None and start_delivery:
            receiver.start()
        try:
            yield
        finally:
            if receiver is not None:
                receiver.stop()

    return Starlette(routes=all_routes, lifespan=lifespan,
                     exception_handlers={404: not_found, 405: method_not_allowed, Exception: internal})


# ------------------------------------------------------------------------------------ default delivery


_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._@-]")


def _safe_name(message_id: str) -> str:
    return _UNSAFE.sub("_", message_id)[:200]


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class InboxHandler:
    """The default delivery: validate (when ``peppol_response.validation.validate`` exists), keep the SBD in
    ``inbox`` (``<message id>.xml`` + ``.json`` metadata, written atomically, rewritten identically if a
    delivery is retried), ingest Invoice Responses into the tracker at ``tracker_url``.

    A document that cannot be read or validated is still kept and marked in its metadata (nothing is
    discarded); only transient failures (disk, database) raise, so the delivery is retried.
    """

    def __init__(self, inbox: str | Path | None = None, *, tracker_url: str | None = None, validate: bool = True,
                 tracker: Any = None) -> None:
        self.inbox = Path(inbox) if inbox is not None else None
        if self.inbox is not None:
            self.inbox.mkdir(parents=True, exist_ok=True)
        self.validate = validate
        self._tracker = tracker
        self._tracker_url = tracker_url

    def _get_tracker(self) -> Any:
        if self._tracker is None and self._tracker_url:
            from .tracker import Tracker

            self._tracker = Tracker(self._tracker_url)
        return self._tracker

    def _validation(self, document: bytes) -> dict[str, Any] | None:
        if not self.validate:
            return None
        try:
            import importlib

            validate = getattr(importlib.import_module("peppol_response.validation"), "validate", None)
        except ImportError:
            validate = None
        if validate is None:
            return None
        try:
            report = validate(document)
        except (ParseError, ValueError) as exc:
            return {"valid": False, "error": str(exc)}
        findings = getattr(report, "findings", ())
        return {"valid": bool(getattr(report, "valid", False)),
                "findings": [{"rule": getattr(f, "rule", None), "severity": str(getattr(f, "severity", ""))}
                             for f in findings][:200]}

    def __call__(self, msg: InboundMessage) -> None:
        meta: dict[str, Any] = {
            "message_id": msg.message_id, "received_at": msg.received_at.isoformat(),
            "sender": msg.sender, "receiver": msg.receiver, "document_type": msg.action, "process": msg.service,
            "sbdh_instance_id": msg.sbdh_instance_id, "sending_ap": msg.from_party,
            "receipt_message_id": msg.receipt_message_id,
        }
        if not (self.validate or self.inbox is not None or self._tracker is not None or self._tracker_url):
            return  # nothing configured to receive it: the message stays in the store, marked delivered
        try:
            document: bytes | None = msg.document()
        except (EnvelopeError, ParseError) as exc:
            document, meta["error"] = None, str(exc)
        if document is not None:
            meta["validation"] = self._validation(document)
        if self.inbox is not None:
            name = _safe_name(msg.message_id)
            _write_atomic(self.inbox / f"{name}.xml", msg.payload)
            _write_atomic(self.inbox / f"{name}.json", json.dumps(meta, indent=2, sort_keys=True).encode())
        tracker = self._get_tracker()
        if tracker is not None and document is not None and msg.document_type == INVOICE_RESPONSE:
            from .tracker import TransportEvidence

            evidence = TransportEvidence(as4_message_id=msg.message_id, sbdh_instance_id=msg.sbdh_instance_id,
                                         received_at=msg.received_at, sender_ap=msg.from_party)
            try:
                tracker.ingest(msg.payload, evidence=evidence)
            except (ParseError, IdentifierError) as exc:  # unreadable as a response: kept in the inbox, logged
                log.warning("as4.deliver message_id=%s not ingested: %s", msg.message_id, exc)


# ------------------------------------------------------------------------------------------ configuration


@dataclass(frozen=True)
class ServeConfig:
    """Everything a receiver process needs, as JSON-friendly values (passed to worker processes)."""

    ap: ApFiles = field(default_factory=ApFiles)
    store_url: str = DEFAULT_STORE_URL
    participants: tuple[str, ...] = ()
    """Participants we receive for (empty: any)."""
    accepts: tuple[tuple[str, str], ...] = ()
    """(document type, process) pairs received (empty: Invoice Responses)."""
    inbox: str | None = None
    tracker_url: str | None = None
    validate: bool = True
    as4_path: str = "/as4"
    max_body: int = 128 * 1024 * 1024
    body_timeout: float = 300.0
    idle_timeout: float = 30.0
    header_timeout: float = 15.0
    retention_days: float = 30.0
    log_json: bool = False

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServeConfig:
        data = json.loads(text)
        data["ap"] = ApFiles(**data.get("ap", {}))
        data["participants"] = tuple(data.get("participants", ()))
        data["accepts"] = tuple(tuple(x) for x in data.get("accepts", ()))
        return cls(**data)

    def settings(self) -> ReceiverSettings:
        try:
            served = frozenset(ParticipantId.parse(p) for p in self.participants) or None
            accepts: dict[DocumentTypeId, frozenset[ProcessId]] = {}
            for doc, proc in self.accepts:
                d = DocumentTypeId.parse(doc)
                accepts[d] = accepts.get(d, frozenset()) | {ProcessId.parse(proc)}
        except IdentifierError as exc:
            raise ConfigError(str(exc)) from None
        return ReceiverSettings(served=served, accepts=accepts or dict(DEFAULT_ACCEPTS), max_body=self.max_body,
                                body_timeout=self.body_timeout, idle_timeout=self.idle_timeout,
                                retention=dt.timedelta(days=self.retention_days))


def build_receiver(config: ServeConfig, *, handler: DeliveryHandler | None = None,
                   fault_hook: Callable[[str, str], None] | None = None) -> As4Receiver:
    """The receiver a :class:`ServeConfig` describes (identity, trust, store, default handler)."""
    identity = config.ap.identity()
    trust = config.ap.trust_store()
    endpoint = As4Endpoint(identity=as4_identity(identity), trust=trust)
    store = InboundStore(config.store_url)
    if handler is None:
        handler = InboxHandler(config.inbox, tracker_url=config.tracker_url, validate=config.validate)
    return As4Receiver(endpoint, store, settings=config.settings(), handler=handler, fault_hook=fault_hook)


def app_from_env() -> Any:
    """uvicorn app factory for worker processes: the :class:`ServeConfig` in :data:`CONFIG_ENV`."""
    text = os.environ.get(CONFIG_ENV)
    if not text:
        raise ConfigError(f"{CONFIG_ENV} is not set")
    config = ServeConfig.from_json(text)
    configure_logging(json_lines=config.log_json)
    return create_app(build_receiver(config), as4_path=config.as4_path)


# ------------------------------------------------------------------------------------------------ logging


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, event and the event's fields (never payloads)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name,
        }
        event = getattr(record, "event", None)
        fields = getattr(record, "fields", None)
        if event:
            out["event"] = event
            if isinstance(fields, dict):
                out.update({k: v for k, v in fields.items() if v is not None})
        else:
            out["message"] = record.getMessage()
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def configure_logging(*, json_lines: bool = False, level: int = logging.INFO) -> None:
    root = logging.getLogger("peppol_response")
    if getattr(root, "_pr_configured", False):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLogFormatter() if json_lines else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    root._pr_configured = True  # type: ignore[attr-defined]


# -------------------------------------------------------------------------------------------- the server


try:  # uvicorn is a dependency; the guard class is defined only where it can be
    import h11 as _h11
    from uvicorn.protocols.http.h11_impl import H11Protocol as _H11Protocol
except ImportError:  # pragma: no cover
    _H11Protocol = object  # type: ignore[assignment,misc]

try:  # httptools is optional (a dependency where it builds): the faster HTTP/1.1 parser, in C
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _HttpToolsProtocol

    HAVE_HTTPTOOLS = True
except ImportError:  # pragma: no cover - exercised by the test that hides httptools
    _HttpToolsProtocol = object  # type: ignore[assignment,misc]
    HAVE_HTTPTOOLS = False

MAX_REQUEST_HEAD: Final = 64 * 1024
"""Bytes a request line and headers may take (both protocols); more gets 400 and the connection closed."""


class _HeadDeadline:
    """The header deadline both guarded protocols share: a connection that has not sent a complete request
    head within ``header_timeout`` seconds of connecting (or of its previous response) is closed. uvicorn
    alone waits forever for slow headers (slowloris); bodies are timed by the app."""

    config: Any
    loop: Any
    transport: Any
    client: Any

    def _pr_arm(self) -> None:
        timeout = float(getattr(self.config, "pr_header_timeout", 15.0))
        old = getattr(self, "_pr_timer", None)
        if old is not None:
            old.cancel()
        self._pr_timer = self.loop.call_later(timeout, self._pr_expire)

    def _pr_waiting_for_head(self) -> bool:
        raise NotImplementedError

    def _pr_expire(self) -> None:
        if self._pr_waiting_for_head() and not self.transport.is_closing():
            log.warning("closing a connection from %s: no complete request head in time", self.client)
            self.transport.close()

    def _pr_disarm(self) -> None:
        timer = getattr(self, "_pr_timer", None)
        if timer is not None:
            timer.cancel()


class GuardedH11Protocol(_HeadDeadline, _H11Protocol):
    """uvicorn's h11 protocol (pure Python) plus the header deadline; h11 itself caps the head's size
    (``h11_max_incomplete_event_size``). Used when httptools is not installed."""

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._pr_arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._pr_arm()

    def _pr_waiting_for_head(self) -> bool:
        idle = self.cycle is None or self.cycle.response_complete
        return bool(self.conn.their_state is _h11.IDLE and idle)

    def connection_lost(self, exc: Exception | None) -> None:
        self._pr_disarm()
        super().connection_lost(exc)


class _HeadTooLarge(Exception):
    """Raised from a parser callback: httptools turns it into a parser error, uvicorn answers 400."""


class GuardedHttpToolsProtocol(_HeadDeadline, _HttpToolsProtocol):
    """uvicorn's httptools protocol (llhttp, in C: less CPU per request than h11) plus the header deadline
    and a cap on the head's size, which h11 has built in and llhttp has not (:data:`MAX_REQUEST_HEAD`):
    a head still incomplete after that many bytes, or whose URL and headers add up to more, gets 400."""

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._pr_in_head = True  # the bytes now arriving are a request line and headers
        self._pr_head_bytes = 0  # bytes received while in the head (llhttp buffers a header until it ends)
        self._pr_head_size = 0  # URL and headers parsed so far
        self._pr_arm()

    def data_received(self, data: bytes) -> None:
        if self._pr_in_head:
            self._pr_head_bytes += len(data)
        super().data_received(data)
        if self._pr_in_head and self._pr_head_bytes > MAX_REQUEST_HEAD and not self.transport.is_closing():
            log.warning("closing a connection from %s: request head over %d bytes", self.client, MAX_REQUEST_HEAD)
            self.send_400_response("Invalid HTTP request received.")

    def _pr_count(self, n: int) -> None:
        self._pr_head_size += n
        if self._pr_head_size > MAX_REQUEST_HEAD:
            raise _HeadTooLarge(f"request head over {MAX_REQUEST_HEAD} bytes")

    def on_message_begin(self) -> None:
        self._pr_head_size = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._pr_count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._pr_count(len(name) + len(value) + 4)  # ": " and CRLF
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._pr_in_head, self._pr_head_bytes = False, 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._pr_in_head = True  # what follows is the next request's head

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._pr_arm()

    def _pr_waiting_for_head(self) -> bool:
        return (self.cycle is None or self.cycle.response_complete) and not self.pipeline

    def connection_lost(self, exc: Exception | None) -> None:
        self._pr_disarm()
        super().connection_lost(exc)


def http_protocol() -> str:
    """The guarded protocol uvicorn should use: httptools when installed, else h11."""
    return f"{__name__}:{'GuardedHttpToolsProtocol' if HAVE_HTTPTOOLS else 'GuardedH11Protocol'}"


def server_ssl_context(config: Any, default: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
    """uvicorn ``ssl_context_factory``: its context with TLS 1.2 as the minimum version."""
    ctx = default()
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def uvicorn_config(app: Any, *, host: str = "127.0.0.1", port: int = 8443, tls: tuple[str, str] | None = None,
                   workers: int = 1, header_timeout: float = 15.0, factory: bool = False,
                   log_level: str = "warning", http: str | None = None) -> Any:
    """A uvicorn Config for ``app`` (an app, or an import string with ``factory``) with our protocol and TLS.

    ``http`` names the protocol class (default :func:`http_protocol`: the guarded httptools protocol when
    httptools is installed, else the guarded h11 one)."""
    import uvicorn

    cfg = uvicorn.Config(
        app, host=host, port=port, workers=workers, factory=factory,
        # loop "auto": uvloop when installed (a dependency where it builds), else asyncio's own loop
        http=http or http_protocol(), loop="auto", lifespan="on", log_level=log_level,
        access_log=False, server_header=False, date_header=True, timeout_keep_alive=15,
        timeout_graceful_shutdown=30, h11_max_incomplete_event_size=MAX_REQUEST_HEAD,
        ssl_certfile=tls[0] if tls else None, ssl_keyfile=tls[1] if tls else None,
        ssl_context_factory=server_ssl_context if tls else None,
    )
    cfg.pr_header_timeout = header_timeout  # type: ignore[attr-defined]  # read by GuardedH11Protocol (pickled to worker processes)
    return cfg


def serve(config: ServeConfig, *, host: str = "127.0.0.1", port: int = 8443, workers: int = 1,
          tls: tuple[str, str] | None = None) -> None:
    """Run the service until interrupted: uvicorn, ``workers`` processes, HTTPS when ``tls`` is given."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    os.environ[CONFIG_ENV] = config.to_json()
    configure_logging(json_lines=config.log_json)
    build_receiver(config).store.close()  # fail early on bad identity/trust/store, and migrate once
    cfg = uvicorn_config("peppol_response.server:app_from_env", host=host, port=port, tls=tls, workers=workers,
                         header_timeout=config.header_timeout, factory=True, log_level="info")
    server = uvicorn.Server(cfg)
    if workers > 1:
        sock = cfg.bind_socket()
        Multiprocess(cfg, sockets=[sock]).run()
    else:
        server.run()
