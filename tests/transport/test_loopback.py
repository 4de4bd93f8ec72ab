"""End to end on loopback over HTTPS with the test PKI: our sender -> (SML over a local DNS responder, SMP
over HTTPS) -> our receiver under uvicorn; then the faults a real network produces, each checked for
"nothing lost, nothing delivered twice"."""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from lxml import etree

from peppol_response.as4.receiver import ReceiverSettings
from peppol_response.as4.sender import RequestsTransport, RetryPolicy, Sender, Target, Timeouts
from peppol_response.errors import NotServicedError, SendError
from peppol_response.identifiers import (
    BILLING_INVOICE,
    BILLING_PROCESS,
    BILLING_WITH_RESPONSE_PROCESS,
    INVOICE_RESPONSE,
    INVOICE_RESPONSE_PROCESS,
    ParticipantId,
)
from peppol_response.sbdh import read_sbdh
from peppol_response.server import HAVE_HTTPTOOLS, MAX_REQUEST_HEAD, create_app
from peppol_response.smp import SML_TEST, NaptrLocator, SmpDiscovery
from peppol_response.testing.loopback import LoopbackServer
from peppol_response.testing.pki import TestPki
from peppol_response.testing.smp_server import LocalDns, LocalSmp
from peppol_response.xmlsafe import parse_xml
from tests.conftest import official_invoice_response_examples
from tests.transport.helpers import OWN_RESPONSE, Recorder, example, make_receiver
from tests.transport.proxy import FaultProxy

EXAMPLES = official_invoice_response_examples()
SERVED = ("0196:6841569459", "0088:7330001000000", "0088:7300010000002")
UNSERVED = ParticipantId.of("0088:7300010000099")


@dataclass
class Network:
    pki: TestPki
    server: LoopbackServer
    handler: Recorder
    receiver: object
    discovery: SmpDiscovery
    tls: tuple[str, str]
    ca: str

    @property
    def as4_url(self) -> str:
        return self.server.url + "/as4"

    def sender(self, **kw: object) -> Sender:
        kw.setdefault("retry", RetryPolicy(attempts=4, first_delay=0.05))
        kw.setdefault("transport", RequestsTransport(verify=self.ca))
        return Sender(self.pki.ap("PXX000001"), trust=self.pki.ap_trust_store(), discovery=self.discovery,
                      country_c1="BE", **kw)  # type: ignore[arg-type]

    def target(self, url: str | None = None) -> Target:
        return Target(url or self.as4_url, self.pki.ap("PXX000002").certificate)

    def delivered(self, count: int, timeout: float = 10.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while len(self.handler.got) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.05)  # long enough for a wrong second delivery to show up
        return self.handler.ids


@pytest.fixture(scope="module")
def network(test_pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    pki = test_pki
    tls = (str(pki.path("tls-localhost.cert.pem")), str(pki.path("tls-localhost.key.pem")))
    ca = str(pki.tls_ca_file)
    handler = Recorder()
    store = f"sqlite:///{tmp_path_factory.mktemp('loopback') / 'inbound.db'}"
    settings = ReceiverSettings(body_timeout=3.0, idle_timeout=1.0, poll_interval=0.2)
    receiver = make_receiver(pki, store=store, handler=handler, settings=settings)
    with LoopbackServer(create_app(receiver), tls=tls, header_timeout=1.0) as server, \
            LocalSmp(pki.smp, tls=tls) as smp, LocalDns() as dns:
        cert = pki.ap("PXX000002").certificate
        for value in SERVED:
            pid = ParticipantId.of(value)
            for process in (INVOICE_RESPONSE_PROCESS, BILLING_WITH_RESPONSE_PROCESS):
                smp.register(pid, INVOICE_RESPONSE, process, server.url + "/as4", cert)
            dns.add_smp(pid, SML_TEST, smp.url)
        smp.register(UNSERVED, BILLING_INVOICE, BILLING_PROCESS, server.url + "/as4", cert)
        dns.add_smp(UNSERVED, SML_TEST, smp.url)
        discovery = SmpDiscovery(locator=NaptrLocator(SML_TEST, nameservers=["127.0.0.1"], port=dns.port, timeout=2),
                                 smp_trust=pki.smp_trust_store(), ap_trust=pki.ap_trust_store(), verify_tls=ca)
        yield Network(pki, server, handler, receiver, discovery, tls, ca)


@pytest.fixture
def net(network: Network) -> Network:
    network.handler.got.clear()
    return network


def _c14n(el: etree._Element) -> bytes:
    return etree.tostring(el, method="c14n", exclusive=True)


@pytest.mark.conformance
@pytest.mark.parametrize("path", EXAMPLES or [None], ids=[p.name for p in EXAMPLES] or ["own"])
def test_conformance_each_official_example_over_https(net: Network, path: Path | None) -> None:
    doc = path.read_bytes() if path is not None else OWN_RESPONSE
    with net.sender() as sender:
        result = sender.send(doc)  # discovery: NAPTR on the local DNS, signed SMP answer over HTTPS
    assert result.url == net.as4_url
    assert len(result.attempts) == 1
    assert result.receipt.signer == \
        net.pki.ap("PXX000002").certificate
    assert net.delivered(1) == [result.message_id]
    got = net.handler.got[0]
    assert _c14n(read_sbdh(got.payload).payload) == _c14n(parse_xml(doc))
    assert got.sbdh_instance_id == result.sbdh_instance_id
    assert got.receiver == result.receiver.value


def test_not_serviced_is_found_in_the_smp_before_sending(net: Network) -> None:
    before = net.receiver.store.counts()  # type: ignore[attr-defined]
    doc = OWN_RESPONSE.replace(b'"0088">7300010000002<', b'"0088">7300010000099<')
    with net.sender() as sender, pytest.raises(NotServicedError):
        sender.send(doc)
    assert net.receiver.store.counts() == before  # type: ignore[attr-defined]


@pytest.mark.parametrize(("script", "statuses"), [
    (["html502", "html502"], [502, 502, 200]),   # a load balancer's 502 page, twice
    (["reset"], [None, 200]),                    # connection reset mid-request
])
def test_proxy_faults_are_retried_with_the_same_bytes(net: Network, script: list[str], statuses: list[int | None]
                                                      ) -> None:
    with FaultProxy(net.server.url, tls=net.tls, ca=net.ca, script=script) as proxy, net.sender() as sender:
        result = sender.send(example(), target=net.target(proxy.url + "/as4"))
    assert [a.http_status for a in result.attempts] == statuses
    assert proxy.seen == [*script, "forward"]
    assert net.delivered(1) == [result.message_id]


def test_slow_receiver_past_the_timeout_gets_the_original_receipt(net: Network) -> None:
    """The message arrives and is stored, but the answer comes after the sender gave up: the retry is a
    duplicate, answered with the original receipt and not delivered again."""
    with FaultProxy(net.server.url, tls=net.tls, ca=net.ca, script=["slow"], delay=2.0) as proxy, \
            net.sender(timeouts=Timeouts(connect=2, read=0.7)) as sender:
        result = sender.send(example(), target=net.target(proxy.url + "/as4"))
    first, second = result.attempts
    assert first.http_status is None
    assert "time" in (first.error or "")
    assert second.http_status == 200
    row = net.receiver.store.get(result.message_id)  # type: ignore[attr-defined]
    assert row.duplicates == 1
    assert row.receipt == result.receipt.raw
    assert net.delivered(1) == [result.message_id]


def test_the_same_message_sent_twice_is_delivered_once(net: Network) -> None:
    with net.sender() as sender:
        sbd, header = sender.envelope(example())
        out = sender.prepare(sbd, header, net.target())
        a, b = sender.deliver(out, net.as4_url), sender.deliver(out, net.as4_url)
    assert a.receipt.raw == b.receipt.raw
    assert net.delivered(1) == [out.message_id]


def test_a_tls_certificate_we_cannot_verify_is_final(net: Network) -> None:
    with net.sender(transport=RequestsTransport(verify=True)) as sender, pytest.raises(SendError) as info:
        sender.send(example(), target=net.target())
    assert not info.value.retryable
    assert len(info.value.attempts) == 1
    assert "CERTIFICATE_VERIFY_FAILED" in str(info.value)


def _tls_socket(net: Network, **ctx_kw: object) -> ssl.SSLSocket:
    ctx = ssl.create_default_context(cafile=net.ca)
    for k, v in ctx_kw.items():
        setattr(ctx, k, v)
    raw = socket.create_connection((net.server.host, net.server.port), timeout=5)
    return ctx.wrap_socket(raw, server_hostname="localhost")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_tls_is_1_2_or_newer(net: Network) -> None:
    with _tls_socket(net) as s:
        assert s.version() in ("TLSv1.2", "TLSv1.3")
    with pytest.raises((ssl.SSLError, OSError)):
        _tls_socket(net, minimum_version=ssl.TLSVersion.TLSv1, maximum_version=ssl.TLSVersion.TLSv1_1).close()


def test_slow_headers_and_slow_bodies_do_not_stop_the_service(net: Network) -> None:
    slow_head = _tls_socket(net)
    slow_head.sendall(b"POST /as4 HTTP/1.1\r\nHost: localhost\r\nContent-Type: multi")  # ... and nothing more
    slow_body = _tls_socket(net)
    slow_body.sendall(b"POST /as4 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n"
                      b"Content-Type: multipart/related; boundary=b\r\n\r\n--b\r\n")
    health = requests.get(net.server.url + "/health", verify=net.ca, timeout=5)  # others are still served
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    t0 = time.monotonic()
    assert slow_head.recv(1024) == b""  # closed by the header deadline, without an answer
    assert time.monotonic() - t0 < 5
    answer = slow_body.recv(4096)
    assert answer.startswith(b"HTTP/1.1 408")
    assert b"Traceback" not in answer
    slow_head.close()
    slow_body.close()


@pytest.mark.parametrize("http", ["GuardedHttpToolsProtocol", "GuardedH11Protocol"])
def test_either_http_protocol_serves_and_guards_the_edge(test_pki: TestPki, tmp_path: Path, http: str) -> None:
    if http == "GuardedHttpToolsProtocol" and not HAVE_HTTPTOOLS:
        pytest.skip("httptools is not installed")
    handler = Recorder()
    receiver = make_receiver(test_pki, store=f"sqlite:///{tmp_path / 'in.db'}", handler=handler,
                             settings=ReceiverSettings(poll_interval=0.2))
    with LoopbackServer(create_app(receiver), header_timeout=1.0, http=f"peppol_response.server:{http}") as server:
        cert = test_pki.ap("PXX000002").certificate
        with Sender(test_pki.ap("PXX000001"), trust=test_pki.ap_trust_store(), country_c1="BE",
                    transport=RequestsTransport(verify=False)) as sender:
            sent = [sender.send(example(), target=Target(server.url + "/as4", cert)).message_id for _ in range(2)]

        def connect() -> socket.socket:
            return socket.create_connection((server.host, server.port), timeout=5)

        # a request head that never ends is closed by the deadline, without an answer
        slow = connect()
        slow.sendall(b"POST /as4 HTTP/1.1\r\nHost: localhost\r\nContent-Type: multi")
        t0 = time.monotonic()
        assert slow.recv(1024) == b""
        assert time.monotonic() - t0 < 5
        slow.close()
        # a head still incomplete past the cap, in one header or in many, gets 400 and the connection closed
        # (and with httptools, which is stricter than h11, also a complete head over the cap)
        heads = [b"X-Pad: " + b"a" * (MAX_REQUEST_HEAD + 10),
                 b"".join(b"X-Pad-%d: %s\r\n" % (i, b"b" * 100) for i in range(MAX_REQUEST_HEAD // 100))]
        if http == "GuardedHttpToolsProtocol":
            heads += [h + b"\r\n\r\n" for h in (heads[0], heads[1])]
        for head in heads:
            big = connect()
            with contextlib.suppress(OSError):  # closed while we were still sending: the answer is waiting
                big.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\n" + head)
            answer = big.recv(4096)
            assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
            assert b"Traceback" not in answer
            big.close()
        # and the service goes on: a head just under the cap, then the health check
        ok = requests.get(server.url + "/health", headers={"X-Pad": "c" * (MAX_REQUEST_HEAD - 1024)}, timeout=5)
        assert ok.status_code == 200
        deadline = time.monotonic() + 10
        while len(handler.ids) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sorted(handler.ids) == sorted(sent)
