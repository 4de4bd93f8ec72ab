#!/usr/bin/env python3
"""AS4 end to end on this machine: messages per second from our sender to our receiver over HTTPS.

    python benchmarks/as4_loopback.py                       # 400 messages, 4 senders, 10 kB documents
    python benchmarks/as4_loopback.py --messages 1000 --senders 8 --workers 2 --store postgresql+psycopg://...

The receiver runs as ``peppol-response serve`` (its own process(es), TLS with a test PKI, SQLite store by
default); the senders are threads of this process, each with its own pooled HTTPS connection. Every message
is a fresh SBDH + UserMessage (signed, compressed, encrypted) answered by a signed receipt that the sender
verifies; the figure counts verified receipts only.

The reference is the cryptographic floor measured in the same run: the bare RSA-2048 operations one message
needs on both sides (sender: sign, wrap the content key, verify the receipt; receiver: unwrap the key,
verify the signature, sign the receipt), timed in a loop on one core. ``floor`` is the rate those
operations alone would allow on all cores; the ratio says how much of the machine the rest (XML, c14n,
MIME, HTTP, TLS, the database, Python) takes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding  # noqa: E402

TEMPLATE = b"""<?xml version="1.0" encoding="UTF-8"?>
<ApplicationResponse xmlns="urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
 <cbc:CustomizationID>urn:fdc:peppol.eu:poacc:trns:invoice_response:3</cbc:CustomizationID>
 <cbc:ProfileID>urn:fdc:peppol.eu:poacc:bis:invoice_response:3</cbc:ProfileID>
 <cbc:ID>resp-1</cbc:ID><cbc:IssueDate>2026-03-02</cbc:IssueDate>
 <cbc:Note>%s</cbc:Note>
 <cac:SenderParty><cbc:EndpointID schemeID="0088">7300010000001</cbc:EndpointID>
  <cac:PartyLegalEntity><cbc:RegistrationName>Buyer</cbc:RegistrationName></cac:PartyLegalEntity></cac:SenderParty>
 <cac:ReceiverParty><cbc:EndpointID schemeID="0088">7300010000002</cbc:EndpointID>
  <cac:PartyLegalEntity><cbc:RegistrationName>Seller</cbc:RegistrationName></cac:PartyLegalEntity></cac:ReceiverParty>
 <cac:DocumentResponse><cac:Response><cbc:ResponseCode>RE</cbc:ResponseCode></cac:Response>
  <cac:DocumentReference><cbc:ID>INV-1</cbc:ID><cbc:IssueDate>2026-03-01</cbc:IssueDate>
   <cbc:DocumentTypeCode>380</cbc:DocumentTypeCode></cac:DocumentReference></cac:DocumentResponse>
</ApplicationResponse>
"""


def document(size: int) -> bytes:
    """An Invoice Response of about ``size`` bytes (a varied note, so gzip does not shrink it to nothing)."""
    import random

    rnd = random.Random(7)
    words = [b"invoice", b"amount", b"delivery", b"order", b"line", b"quantity", b"price", b"credit", b"note"]
    pad = b""
    while len(TEMPLATE) + len(pad) < size:
        pad += rnd.choice(words) + b" %d " % rnd.randrange(100000)
    return TEMPLATE % pad


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` and all its live descendants (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for t in Path(f"/proc/{p}/task").iterdir():
                kids = (t / "children").read_text().split()
                todo.extend(int(k) for k in kids)
        except (OSError, ValueError, IndexError):
            continue
    return total


def crypto_floor(pki: object, repeat: int) -> float:
    """Seconds of the bare RSA-2048 operations of one message, both sides, on one core."""
    sender, receiver = pki.ap("PXX000001"), pki.ap("PXX000002")  # type: ignore[attr-defined]
    data, key = os.urandom(800), os.urandom(16)
    pss, oaep = padding.PKCS1v15(), padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None)
    sig = sender.key.sign(data, pss, hashes.SHA256())
    rsig = receiver.key.sign(data, pss, hashes.SHA256())
    wrapped = receiver.certificate.public_key().encrypt(key, oaep)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(repeat):
            sender.key.sign(data, pss, hashes.SHA256())                            # sender: sign the message
            receiver.certificate.public_key().encrypt(key, oaep)                  # sender: wrap the AES key
            receiver.key.decrypt(wrapped, oaep)                                   # receiver: unwrap it
            sender.certificate.public_key().verify(sig, data, pss, hashes.SHA256())  # receiver: verify
            receiver.key.sign(data, pss, hashes.SHA256())                          # receiver: sign the receipt
            receiver.certificate.public_key().verify(rsig, data, pss, hashes.SHA256())  # sender: verify it
        best = min(best, (time.perf_counter() - t0) / repeat)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=400)
    ap.add_argument("--senders", type=int, default=4)
    ap.add_argument("--size", type=int, default=10 * 1024, help="document size in bytes")
    ap.add_argument("--workers", type=int, default=1, help="receiver worker processes")
    ap.add_argument("--store", default=None, help="receiver store URL (default: a temporary SQLite file)")
    ap.add_argument("--warmup", type=int, default=20)
    args = ap.parse_args()

    import requests

    from peppol_response.as4.sender import RequestsTransport, Sender, Target
    from peppol_response.testing.pki import KeyCache, create_test_pki

    work = Path(tempfile.mkdtemp(prefix="as4-bench-"))
    pki = create_test_pki(work / "pki", key_cache=KeyCache(Path(tempfile.gettempdir()) / "peppol-bench-keys"),
                          label="bench")
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = args.store or f"sqlite:///{work / 'inbound.db'}"
    serve = subprocess.Popen(
        [sys.executable, "-c", "from peppol_response.cli import main; main()", "serve", "--port", str(port),
         "--pki", str(pki.directory), "--seat", "PXX000002", "--store", store, "--workers", str(args.workers),
         "--no-validate"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url, ca = f"https://127.0.0.1:{port}", str(pki.tls_ca_file)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(url + "/health", verify=ca, timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if serve.poll() is not None or time.monotonic() > deadline:
                print("the receiver did not start", file=sys.stderr)
                return 2
            time.sleep(0.1)

        doc = document(args.size)
        target = Target(url + "/as4", pki.ap("PXX000002").certificate)
        trust = pki.ap_trust_store()
        latencies: list[float] = []
        lock = threading.Lock()
        counter = iter(range(args.messages))

        def run(count_only: bool) -> None:
            with Sender(pki.ap("PXX000001"), trust=trust, transport=RequestsTransport(verify=ca),
                        country_c1="BE") as sender:
                while True:
                    with lock:
                        n = next(counter, None)
                    if n is None:
                        return
                    t0 = time.perf_counter()
                    sender.send(doc, target=target)
                    if not count_only:
                        with lock:
                            latencies.append(time.perf_counter() - t0)

        counter = iter(range(args.warmup))
        run(True)
        counter = iter(range(args.messages))
        threads = [threading.Thread(target=run, args=(False,)) for _ in range(args.senders)]
        cpu_sender0, cpu_receiver0 = time.process_time(), process_cpu(serve.pid)
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        cpu_sender, cpu_receiver = time.process_time() - cpu_sender0, process_cpu(serve.pid) - cpu_receiver0
    finally:
        serve.terminate()
        try:
            serve.wait(5)
        except subprocess.TimeoutExpired:
            serve.kill()

    rate = len(latencies) / elapsed
    floor_s = crypto_floor(pki, 100)
    cores = os.cpu_count() or 1
    floor_rate = cores / floor_s
    lat = sorted(latencies)
    print(f"AS4 loopback: {len(latencies)} messages of {len(doc)} bytes, {args.senders} senders, "
          f"{args.workers} receiver process(es), store {store.split(':')[0]}")
    print(f"  end to end   {rate:8.1f} messages/s   latency p50 {statistics.median(lat) * 1000:.0f} ms, "
          f"p95 {lat[int(len(lat) * 0.95) - 1] * 1000:.0f} ms")
    print(f"  crypto floor {floor_rate:8.1f} messages/s   ({floor_s * 1000:.2f} ms of RSA-2048 per message on one "
          f"core, {cores} cores)")
    print(f"  ratio        {rate / floor_rate:8.3f}         (end to end / floor)")
    n = max(1, len(latencies))
    print(f"  CPU/message  sender {cpu_sender / n * 1000:.2f} ms, receiver {cpu_receiver / n * 1000:.2f} ms, together "
          f"{(cpu_sender + cpu_receiver) / n * 1000:.2f} ms (RSA alone: {floor_s * 1000:.2f} ms; ratio "
          f"{floor_s / ((cpu_sender + cpu_receiver) / n):.3f}, not skewed by other work)")
    print(f"  load average {os.getloadavg()[0]:.2f} (other work on this machine skews these figures)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
