"""A local revocation server for a test PKI: CRLs over HTTP and an OCSP responder, on loopback.

::

    with RevocationServer() as server:                     # picks a free port on 127.0.0.1
        pki = create_test_pki(tmp, crl_base_url=server.crl_base_url, ocsp_url=server.ocsp_url)
        server.pki = pki                                    # serve its CRLs, answer OCSP for its CAs
        store = TrustStore(..., revocation=RevocationPolicy.default())

``GET /crl/<ca>.crl`` serves the PKI's CRL files; ``POST /ocsp`` answers RFC 6960 requests, signed by
the issuing CA, "revoked" for serials on that CA's CRL. ``delay`` (seconds before answering) and
``fail`` (HTTP 503) simulate a slow or broken host, ``forge_ca`` a forged OCSP answer; ``hits``
counts requests per path.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

if TYPE_CHECKING:  # pragma: no cover
    from .pki import TestPki, _Ca

__all__ = ["RevocationServer"]


class RevocationServer:
    """See the module docstring. Use as a context manager, or call :meth:`start` and :meth:`stop`."""

    def __init__(self, pki: TestPki | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.pki = pki
        self.delay = 0.0
        self.fail = False
        self.forge_ca: _Ca | None = None
        """When set, OCSP answers are signed by this CA instead of the issuer (a forged answer, for tests)."""
        self.hits: Counter[str] = Counter()
        server = self

        class Handler(BaseHTTPRequestHandler):
            # headers and body go out in separate writes: without TCP_NODELAY the body waits for the
            # client's delayed ACK (~40 ms a request on Linux loopback)
            disable_nagle_algorithm = True
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _send(self, status: int, body: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _pre(self) -> bool:
                server.hits[self.path] += 1
                if server.delay:
                    time.sleep(server.delay)
                if server.fail:
                    self._send(503, b"unavailable", "text/plain")
                    return False
                return True

            def do_GET(self) -> None:
                if not self._pre():
                    return
                body = server._crl(self.path)
                if body is None:
                    self._send(404, b"not found", "text/plain")
                else:
                    self._send(200, body, "application/pkix-crl")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0") or 0)
                data = self.rfile.read(min(length, 65536))
                if not self._pre():
                    return
                if self.path.rstrip("/") != "/ocsp":
                    self._send(404, b"not found", "text/plain")
                    return
                self._send(200, server._ocsp(data), "application/ocsp-response")

        self._httpd = _QuietServer((host, port), Handler)
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def crl_base_url(self) -> str:
        return f"{self.url}/crl"

    @property
    def ocsp_url(self) -> str:
        return f"{self.url}/ocsp"

    def start(self) -> RevocationServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="revocation-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> RevocationServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- answers ---------------------------------------------------------------------------------------

    def _crl(self, path: str) -> bytes | None:
        if self.pki is None or not path.startswith("/crl/") or not path.endswith(".crl"):
            return None
        slug = path[len("/crl/"):-len(".crl")]
        if slug not in ("root-ca", "ap-ca", "smp-ca"):
            return None
        return self.pki.path(f"{slug}.crl").read_bytes()

    def _ocsp(self, data: bytes) -> bytes:
        def error(status: ocsp.OCSPResponseStatus) -> bytes:
            return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(serialization.Encoding.DER)

        try:
            request = ocsp.load_der_ocsp_request(data)
        except ValueError:
            return error(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
        pki = self.pki
        if pki is None:
            return error(ocsp.OCSPResponseStatus.INTERNAL_ERROR)
        ca = _find_ca(pki, request)
        if ca is None:
            return error(ocsp.OCSPResponseStatus.UNAUTHORIZED)
        crl = x509.load_der_x509_crl(pki.path(f"{ca.slug}.crl").read_bytes())
        entry = crl.get_revoked_certificate_by_serial_number(request.serial_number)
        now = dt.datetime.now(dt.UTC)
        # The responder only needs the serial: a stand-in certificate carries it into the builder.
        stand_in = _stand_in(ca, request.serial_number)
        builder = ocsp.OCSPResponseBuilder().add_response(
            cert=stand_in, issuer=ca.certificate, algorithm=hashes.SHA1(),  # noqa: S303 - CertID hash of the request
            cert_status=ocsp.OCSPCertStatus.REVOKED if entry is not None else ocsp.OCSPCertStatus.GOOD,
            this_update=now - dt.timedelta(minutes=1), next_update=now + dt.timedelta(hours=1),
            revocation_time=entry.revocation_date_utc if entry is not None else None,
            revocation_reason=x509.ReasonFlags.key_compromise if entry is not None else None,
        )
        signer = self.forge_ca or ca
        builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, signer.certificate)
        try:
            nonce = request.extensions.get_extension_for_class(x509.OCSPNonce).value
            builder = builder.add_extension(nonce, critical=False)
        except x509.ExtensionNotFound:
            pass
        return builder.sign(signer.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (the bounded-time tests do) is expected; anything else is reported.
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


def _find_ca(pki: TestPki, request: ocsp.OCSPRequest) -> _Ca | None:
    from ..as4.pki import _key_hash

    for ca in (pki.ap_ca, pki.smp_ca, pki.root):
        name_hash = hashes.Hash(request.hash_algorithm)
        name_hash.update(ca.certificate.subject.public_bytes())
        key_hash = hashes.Hash(request.hash_algorithm)
        key_hash.update(_key_hash(ca.certificate))
        if name_hash.finalize() == request.issuer_name_hash and key_hash.finalize() == request.issuer_key_hash:
            return ca
    return None


def _stand_in(ca: _Ca, serial: int) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    return (x509.CertificateBuilder().subject_name(ca.certificate.subject).issuer_name(ca.certificate.subject)
            .public_key(ca.key.public_key()).serial_number(serial)
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
            .sign(ca.key, hashes.SHA256()))
