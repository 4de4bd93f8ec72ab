"""Shared pieces of the transport tests: a receiver around the test PKI, scripted transports, documents."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from peppol_response.as4.core import As4Endpoint
from peppol_response.as4.receiver import As4Receiver, InboundMessage, ReceiverSettings
from peppol_response.as4.sender import HttpReply, Sender, Target, Timeouts, as4_identity
from peppol_response.as4.store import InboundStore
from peppol_response.errors import TransportError
from peppol_response.testing.pki import TestPki
from tests.conftest import official_invoice_response_examples

SENDER_SEAT, RECEIVER_SEAT = "PXX000001", "PXX000002"
URL = "http://receiver.test/as4"


def example(name: str = "T111-uc003-Invoice is accepted.xml") -> bytes:
    """An official example when ../shared is here, else a minimal Invoice Response of our own."""
    for p in official_invoice_response_examples():
        if p.name == name:
            return p.read_bytes()
    return OWN_RESPONSE


OWN_RESPONSE = b"""<?xml version="1.0" encoding="UTF-8"?>
<ApplicationResponse xmlns="urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
 <cbc:CustomizationID>urn:fdc:peppol.eu:poacc:trns:invoice_response:3</cbc:CustomizationID>
 <cbc:ProfileID>urn:fdc:peppol.eu:poacc:bis:invoice_response:3</cbc:ProfileID>
 <cbc:ID>resp-1</cbc:ID><cbc:IssueDate>2026-03-02</cbc:IssueDate>
 <cac:SenderParty><cbc:EndpointID schemeID="0088">7300010000001</cbc:EndpointID>
  <cac:PartyLegalEntity><cbc:RegistrationName>Buyer</cbc:RegistrationName></cac:PartyLegalEntity></cac:SenderParty>
 <cac:ReceiverParty><cbc:EndpointID schemeID="0088">7300010000002</cbc:EndpointID>
  <cac:PartyLegalEntity><cbc:RegistrationName>Seller</cbc:RegistrationName></cac:PartyLegalEntity></cac:ReceiverParty>
 <cac:DocumentResponse><cac:Response><cbc:ResponseCode>AB</cbc:ResponseCode></cac:Response>
  <cac:DocumentReference><cbc:ID>INV-1</cbc:ID><cbc:IssueDate>2026-03-01</cbc:IssueDate>
   <cbc:DocumentTypeCode>380</cbc:DocumentTypeCode></cac:DocumentReference></cac:DocumentResponse>
</ApplicationResponse>
"""


@dataclass
class Recorder:
    """A delivery handler that remembers what it got (thread-safe) and can be told to fail."""

    got: list[InboundMessage] = field(default_factory=list)
    fail_times: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, msg: InboundMessage) -> None:
        with self.lock:
            if self.fail_times > 0:
                self.fail_times -= 1
                raise OSError("disk full (test)")
            self.got.append(msg)

    @property
    def ids(self) -> list[str]:
        return [m.message_id for m in self.got]


def make_receiver(pki: TestPki, *, store: str | InboundStore = "sqlite://", handler: Any = None,
                  settings: ReceiverSettings | None = None, seat: str = RECEIVER_SEAT, **kw: Any) -> As4Receiver:
    endpoint = As4Endpoint(identity=as4_identity(pki.ap(seat)), trust=pki.ap_trust_store())
    st = store if isinstance(store, InboundStore) else InboundStore(store)
    return As4Receiver(endpoint, st, settings=settings, handler=handler, **kw)


def make_sender(pki: TestPki, transport: Any, **kw: Any) -> Sender:
    kw.setdefault("sleep", lambda s: None)
    return Sender(pki.ap(SENDER_SEAT), trust=pki.ap_trust_store(), transport=transport, country_c1="BE", **kw)


def target(pki: TestPki, url: str = URL, seat: str = RECEIVER_SEAT) -> Target:
    return Target(url, pki.ap(seat).certificate)


class DirectTransport:
    """Hands the body straight to ``receiver.handle`` (no HTTP)."""

    def __init__(self, receiver: As4Receiver) -> None:
        self.receiver = receiver

    def post(self, url: str, body: bytes | Iterable[bytes], headers: Mapping[str, str], *,
             timeouts: Timeouts) -> HttpReply:
        data = body if isinstance(body, bytes) else b"".join(body)
        a = self.receiver.handle(headers.get("Content-Type"), data)
        return HttpReply(a.status, a.content_type, a.body, {"content-type": a.content_type})


Step = Callable[[str, bytes, Mapping[str, str]], HttpReply] | HttpReply | TransportError | str


class ScriptedTransport:
    """Plays a script, one step per POST: an :class:`HttpReply` to return, a :class:`TransportError` to raise,
    ``"real"`` to pass the request to ``inner``, ``"real-then-timeout"`` to pass it on and then pretend the
    answer never came. Records every body it was given."""

    def __init__(self, inner: Any, script: list[Step]) -> None:
        self.inner = inner
        self.script = list(script)
        self.bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []

    def post(self, url: str, body: bytes | Iterable[bytes], headers: Mapping[str, str], *,
             timeouts: Timeouts) -> HttpReply:
        data = body if isinstance(body, bytes) else b"".join(body)
        self.bodies.append(data)
        self.headers.append(dict(headers))
        step = self.script.pop(0) if self.script else "real"
        if isinstance(step, TransportError):
            raise step
        if isinstance(step, HttpReply):
            return step
        if step == "real":
            return self.inner.post(url, data, headers, timeouts=timeouts)
        if step == "real-then-timeout":
            self.inner.post(url, data, headers, timeouts=timeouts)
            raise TransportError("read timed out (test)", retryable=True)
        assert callable(step)
        return step(url, data, headers)


def html(status: int, text: str = "Bad Gateway") -> HttpReply:
    body = f"<html><head><title>{status} {text}</title></head><body><h1>{text}</h1></body></html>".encode()
    return HttpReply(status, "text/html", body, {"content-type": "text/html"})


def read(path: Path) -> bytes:
    return path.read_bytes()
