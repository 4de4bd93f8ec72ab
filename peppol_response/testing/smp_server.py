"""A local SMP (HTTPS or HTTP on loopback) that publishes signed ServiceMetadata, and a local NAPTR DNS responder.

::

    smp = LocalSmp(pki.smp, tls=(cert_file, key_file)).start()       # https://127.0.0.1:<port>
    smp.register(participant, INVOICE_RESPONSE, INVOICE_RESPONSE_PROCESS, "https://ap/as4", ap_cert)
    dns = LocalDns().start()                                          # UDP on 127.0.0.1:<port>
    dns.add_smp(participant, SML_TEST, smp.url)
    locator = NaptrLocator(SML_TEST, nameservers=["127.0.0.1"], port=dns.port)
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import socket
import ssl
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree

from ..as4.pki import Identity
from ..identifiers import DocumentTypeId, ParticipantId, ProcessId
from ..smp import IDS_NS, SMP_NS, TRANSPORT_AS4, WSA_NS, sml_name
from ..xmldsig import sign_enveloped

__all__ = ["LocalDns", "LocalSmp"]


class LocalSmp:
    """Serves ``GET /{participant}/services/{doctype}`` with signed ServiceMetadata for registered entries."""

    def __init__(self, identity: Identity, *, tls: tuple[str, str] | None = None, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.identity = identity
        self._entries: dict[tuple[ParticipantId, DocumentTypeId], list[tuple[ProcessId, str, str, x509.Certificate,
                                                                            dt.datetime | None,
                                                                            dt.datetime | None]]] = {}
        self._redirects: dict[tuple[ParticipantId, DocumentTypeId], str] = {}
        self.tamper = False
        """When True, answers are changed after signing (their signature no longer verifies)."""
        self.requests: list[str] = []
        smp = self

        class Handler(BaseHTTPRequestHandler):
            # headers and body go out in separate writes: without TCP_NODELAY the body waits for the
            # client's delayed ACK (~40 ms a request on Linux loopback)
            disable_nagle_algorithm = True
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                smp.requests.append(self.path)
                status, body = smp._answer(self.path)
                self.send_response(status)
                self.send_header("Content-Type", "application/xml" if status == 200 else "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._httpd = _ClosingHTTPServer((host, port), Handler)
        self.scheme = "http"
        if tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(tls[0], tls[1])
            self._httpd.socket = ctx.wrap_socket(self._httpd.socket, server_side=True)
            self.scheme = "https"
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"{self.scheme}://{host!s}:{port}"

    def start(self) -> LocalSmp:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="local-smp", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.close_connections()  # clients keep connections alive: end them, or their threads stay
        self._httpd.server_close()  # joins the connection threads

    def __enter__(self) -> LocalSmp:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def register(self, participant: ParticipantId, document_type: DocumentTypeId, process: ProcessId, url: str,
                 certificate: x509.Certificate, *, transport: str = TRANSPORT_AS4,
                 activation: dt.datetime | None = None, expiration: dt.datetime | None = None) -> None:
        self._entries.setdefault((participant, document_type), []).append(
            (process, transport, url, certificate, activation, expiration))

    def redirect(self, participant: ParticipantId, document_type: DocumentTypeId, target_base: str) -> None:
        """Answer with a signed Redirect to another SMP's base URL."""
        self._redirects[(participant, document_type)] = target_base

    def _answer(self, path: str) -> tuple[int, bytes]:
        parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")]
        if len(parts) != 3 or parts[1] != "services":
            return 404, b"not found"
        try:
            pid = ParticipantId.parse(parts[0])
            doc = DocumentTypeId.parse(parts[2])
        except ValueError:
            return 400, b"bad identifier"
        redirect = self._redirects.get((pid, doc))
        entries = self._entries.get((pid, doc))
        if redirect is None and entries is None:
            return 404, b"not registered"
        root = self._metadata(pid, doc, entries or [], redirect)
        sign_enveloped(root, self.identity.key, self.identity.certificate)
        body = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
        if self.tamper:
            body = body.replace(b"</wsa:Address>", b"/evil</wsa:Address>", 1)
        return 200, body

    def _metadata(self, pid: ParticipantId, doc: DocumentTypeId, entries: list[Any], redirect: str | None
                  ) -> etree._Element:
        s, i, w = "{" + SMP_NS + "}", "{" + IDS_NS + "}", "{" + WSA_NS + "}"
        root = etree.Element(s + "SignedServiceMetadata", nsmap={"smp": SMP_NS, "ids": IDS_NS, "wsa": WSA_NS})
        meta = etree.SubElement(root, s + "ServiceMetadata")
        if redirect is not None:
            red = etree.SubElement(meta, s + "Redirect",
                                   href=f"{redirect.rstrip('/')}/{pid.uri_encoded}/services/{doc.uri_encoded}")
            etree.SubElement(red, s + "CertificateUID").text = self.identity.certificate.subject.rfc4514_string()
            return root
        info = etree.SubElement(meta, s + "ServiceInformation")
        etree.SubElement(info, i + "ParticipantIdentifier", scheme=pid.scheme).text = pid.value
        etree.SubElement(info, i + "DocumentIdentifier", scheme=doc.scheme).text = doc.value
        plist = etree.SubElement(info, s + "ProcessList")
        for process, transport, url, cert, activation, expiration in entries:
            proc = etree.SubElement(plist, s + "Process")
            etree.SubElement(proc, i + "ProcessIdentifier", scheme=process.scheme).text = process.value
            eps = etree.SubElement(proc, s + "ServiceEndpointList")
            ep = etree.SubElement(eps, s + "Endpoint", transportProfile=transport)
            ref = etree.SubElement(ep, w + "EndpointReference")
            etree.SubElement(ref, w + "Address").text = url
            etree.SubElement(ep, s + "RequireBusinessLevelSignature").text = "false"
            if activation is not None:
                etree.SubElement(ep, s + "ServiceActivationDate").text = activation.isoformat()
            if expiration is not None:
                etree.SubElement(ep, s + "ServiceExpirationDate").text = expiration.isoformat()
            etree.SubElement(ep, s + "Certificate").text = base64.b64encode(
                cert.public_bytes(serialization.Encoding.DER)).decode("ascii")
            etree.SubElement(ep, s + "ServiceDescription").text = "peppol-response local SMP"
            etree.SubElement(ep, s + "TechnicalContactUrl").text = "mailto:ap@example.test"
        return root


class _ClosingHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server whose stop also ends kept-alive connections and waits for their threads."""

    daemon_threads = False
    block_on_close = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._open_lock:
            conns = list(self._open)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class LocalDns:
    """A tiny authoritative DNS responder on UDP loopback answering NAPTR queries (dnspython messages)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((host, port))
        self._sock.settimeout(0.2)
        self._records: dict[str, list[tuple[int, int, str, str, str]]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.queries: list[str] = []

    @property
    def port(self) -> int:
        port: int = self._sock.getsockname()[1]
        return port

    def add_naptr(self, name: str, regexp: str, *, service: str = "Meta:SMP", flags: str = "U", order: int = 100,
                  preference: int = 10) -> None:
        self._records.setdefault(name.lower().rstrip("."), []).append((order, preference, flags, service, regexp))

    def add_smp(self, participant: ParticipantId, zone: str, smp_url: str) -> str:
        """Publish ``participant``'s SMP the way the SML does; returns the DNS name."""
        name = sml_name(participant, zone)
        self.add_naptr(name, f"!.*!{smp_url}!")
        return name

    def start(self) -> LocalDns:
        self._thread = threading.Thread(target=self._serve, name="local-dns", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        self._sock.close()

    def __enter__(self) -> LocalDns:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self) -> None:
        import dns.flags
        import dns.message
        import dns.rcode
        import dns.rdataclass
        import dns.rdatatype
        import dns.rrset

        while not self._stop.is_set():
            try:
                data, addr = self._sock.recvfrom(4096)
            except (TimeoutError, OSError):
                continue
            try:
                query = dns.message.from_wire(data)
            except Exception:  # noqa: S112 - a malformed packet is ignored, as a DNS server does
                continue
            response = dns.message.make_response(query)
            response.flags |= dns.flags.AA
            question = query.question[0] if query.question else None
            if question is None:
                continue
            name = question.name.to_text().lower().rstrip(".")
            self.queries.append(name)
            records = self._records.get(name)
            if records is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
            elif question.rdtype == dns.rdatatype.NAPTR:
                texts = [f'{o} {p} "{f}" "{s}" "{r}" .' for o, p, f, s, r in records]
                response.answer.append(dns.rrset.from_text(question.name, 60, dns.rdataclass.IN,
                                                           dns.rdatatype.NAPTR, *texts))
            self._sock.sendto(response.to_wire(), addr)
