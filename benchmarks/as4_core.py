#!/usr/bin/env python3
"""Throughput and memory of the sans-I/O AS4 core, against the cryptographic floor measured in the same run.

    python benchmarks/as4_core.py [--seconds 3] [--size-kb 10] [--payload-mb 50]

1. messages/s for ``prepare`` (gzip, sign, encrypt, MIME) of a ``--size-kb`` document, and for ``receive``
   (MIME, parse, policy, verify, trust, decrypt, digest, gunzip, signed receipt) of the same message, on one
   core (single thread).
2. the bare RSA-2048 operations each side cannot avoid, timed the same way: sender = sign + key wrap
   (public OAEP); receiver = verify + unwrap (private OAEP) + sign (the receipt). The ratio floor/actual
   says how close the core gets to doing nothing but cryptography (target: at least 0.60).
3. peak memory with a ``--payload-mb`` payload: streamed prepare (payload from a generator, body consumed
   chunk by chunk) and receive of the full body, via tracemalloc (Python allocations) and peak RSS.

The trust checker caches its verdict per certificate, as a production checker would (chain and CRL checks
are not per message); the benchmark's PKI is generated in memory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from peppol_response.as4.core import As4Endpoint, Delivered
from peppol_response.errors import TrustError

SERVICE = "urn:fdc:peppol.eu:poacc:bis:invoice_response:3"
ACTION = ("busdox-docid-qns::urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2::"
          "ApplicationResponse##urn:fdc:peppol.eu:poacc:trns:invoice_response:3::2.1")


@dataclass(frozen=True)
class Identity:
    key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    seat_id: str


class CachingChecker:
    """Chain to one CA, validity now; verdicts cached per certificate."""

    def __init__(self, ca: x509.Certificate) -> None:
        self.ca = ca
        self.ok: set[bytes] = set()

    def check(self, cert: x509.Certificate, *, at: dt.datetime | None = None) -> object:
        fp = cert.fingerprint(hashes.SHA256())
        if fp in self.ok:
            return None
        at = at or dt.datetime.now(dt.UTC)
        if not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
            raise TrustError("expired")
        try:
            cert.verify_directly_issued_by(self.ca)
        except Exception as exc:
            raise TrustError(str(exc)) from None
        self.ok.add(fp)
        return None


def _cert(cn: str, key: rsa.RSAPrivateKey, issuer: x509.Name, issuer_key: rsa.RSAPrivateKey) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    return (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
            .issuer_name(issuer).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
            .sign(issuer_key, hashes.SHA256()))


def make_pair() -> tuple[As4Endpoint, As4Endpoint]:
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "BENCH CA")])
    ca = _cert("BENCH CA", ca_key, ca_name, ca_key)
    ids = []
    for seat in ("PXX000001", "PXX000002"):
        k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ids.append(Identity(k, _cert(seat, k, ca_name, ca_key), (ca,), seat))
    return (As4Endpoint(identity=ids[0], trust=CachingChecker(ca)),
            As4Endpoint(identity=ids[1], trust=CachingChecker(ca)))


def document(size: int) -> bytes:
    line = b"  <cbc:Note>Invoice response line with some text to make a realistic document</cbc:Note>\n"
    head = b'<?xml version="1.0" encoding="UTF-8"?>\n<ApplicationResponse xmlns:cbc="urn:cbc">\n'
    n = max(1, (size - len(head)) // len(line))
    return head + line * n + b"</ApplicationResponse>\n"


def _rate(fn: Callable[[], object], seconds: float) -> float:
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        fn()
        n += 1
    return n / elapsed


def rates(a: Callable[[], object], b: Callable[[], object], seconds: float, rounds: int = 6) -> tuple[float, float]:
    """Best rate of ``a`` and of ``b`` over interleaved rounds (the machine is shared: best-of filters noise
    that hits one side only)."""
    a(), b()
    best_a = best_b = 0.0
    for _ in range(rounds):
        best_a = max(best_a, _rate(a, seconds / rounds))
        best_b = max(best_b, _rate(b, seconds / rounds))
    return best_a, best_b


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--size-kb", type=int, default=10)
    ap.add_argument("--payload-mb", type=int, default=50)
    args = ap.parse_args()
    sender, receiver = make_pair()
    doc = document(args.size_kb * 1024)
    rcert = receiver.identity.certificate
    kw = dict(recipient_cert=rcert, service=SERVICE, action=ACTION, original_sender="0088:5798000012349",
              final_recipient="0088:7330001000000")

    def prepare() -> object:
        return sender.prepare(doc, **kw)  # type: ignore[arg-type]

    out = sender.prepare(doc, **kw)  # type: ignore[arg-type]
    assert out.body is not None
    body = out.body

    def receive() -> object:
        r = receiver.receive(out.content_type, body)
        assert isinstance(r, Delivered)
        return r

    # the floor: bare RSA-2048 with the same keys
    skey, rkey = sender.identity.key, receiver.identity.key
    rpub = rcert.public_key()
    assert isinstance(rpub, rsa.RSAPublicKey)
    oaep = padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None)
    data = os.urandom(600)
    sig = skey.sign(data, padding.PKCS1v15(), hashes.SHA256())
    wrapped = rpub.encrypt(os.urandom(16), oaep)
    spub = sender.identity.certificate.public_key()
    assert isinstance(spub, rsa.RSAPublicKey)

    def floor_sender() -> None:
        skey.sign(data, padding.PKCS1v15(), hashes.SHA256())
        rpub.encrypt(b"k" * 16, oaep)

    def floor_receiver() -> None:
        spub.verify(sig, data, padding.PKCS1v15(), hashes.SHA256())
        rkey.decrypt(wrapped, oaep)
        rkey.sign(data, padding.PKCS1v15(), hashes.SHA256())

    print(f"AS4 core benchmark: {len(doc)} byte document, {args.seconds:.1f} s per measurement, one thread, "
          f"best of 6 interleaved rounds, load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    s_rate, s_floor = rates(prepare, floor_sender, args.seconds)
    r_rate, r_floor = rates(receive, floor_receiver, args.seconds)
    print(f"  sign+encrypt (prepare):                 {s_rate:8.1f} msg/s | RSA floor (sign + wrap) "
          f"{s_floor:8.1f} /s | ratio {s_rate / s_floor:.2f}")
    print(f"  decrypt+verify+receipt (receive):       {r_rate:8.1f} msg/s | RSA floor (verify + unwrap + sign) "
          f"{r_floor:8.1f} /s | ratio {r_rate / r_floor:.2f}")
    ok = s_rate / s_floor >= 0.6 and r_rate / r_floor >= 0.6
    print(f"  target ratio >= 0.60: {'met' if ok else 'NOT met'}")

    # memory with a big payload, streamed on the way out
    mb = args.payload_mb
    # 1 MiB of XML-like lines with random amounts: compresses about 3:1 like real documents
    rnd = os.urandom(2**17).hex()
    lines = [f"<cbc:Amount currencyID=\"EUR\">{rnd[i:i + 12]}</cbc:Amount>\n" for i in range(0, len(rnd), 12)]
    chunk = "".join(lines).encode()[: 2**20].ljust(2**20, b" ")

    def source() -> Iterator[bytes]:
        for _ in range(mb):
            yield chunk

    tracemalloc.start()
    t0 = time.perf_counter()
    big = sender.prepare(source, **kw)  # type: ignore[arg-type]
    size, digest = 0, hashlib.sha256()
    for piece in big.iter_body():
        size += len(piece)
        digest.update(piece)
    send_time = time.perf_counter() - t0
    _, send_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after_send = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  {mb} MiB payload, streamed prepare: body {size / 2**20:.1f} MiB in {send_time:.1f} s, "
          f"peak traced Python memory {send_peak / 2**20:.1f} MiB, peak RSS so far {rss_after_send:.0f} MiB")
    body_big = b"".join(big.iter_body())
    tracemalloc.start()
    tracemalloc.reset_peak()
    t0 = time.perf_counter()
    result = receiver.receive(big.content_type, body_big)
    recv_time = time.perf_counter() - t0
    _, recv_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert isinstance(result, Delivered)
    assert len(result.payload) == mb * 2**20
    print(f"  {mb} MiB payload, receive: {recv_time:.1f} s, peak traced Python memory {recv_peak / 2**20:.1f} MiB "
          f"({recv_peak / (mb * 2**20):.2f} x payload; the payload itself is returned as bytes), "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
