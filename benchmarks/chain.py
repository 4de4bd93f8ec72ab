#!/usr/bin/env python3
"""The chain-test network on this machine: how fast it starts and how long one status takes end to end.

    python benchmarks/chain.py                  # 30 round trips
    python benchmarks/chain.py --rounds 100

Figures:

* **start**: :class:`LocalNetwork` up (PKI, DNS, SMP, two access points, three trackers), with cached test
  keys and with fresh ones;
* **round trip**: ``buyer.reply(invoice, code)`` until the seller's tracker has it: order check in the buyer's
  tracker, build, validation, SML/SMP discovery, AS4 (sign, compress, encrypt, HTTPS, verified receipt),
  storage and delivery at the seller's access point, validation there, ingestion into the seller's tracker;
* the **reference**: the bare AS4 exchange of the same kind of document between the same two access points
  (``Sender.send`` to a known endpoint: envelope, sign, encrypt, POST, verified receipt), no discovery, no
  trackers, timed to the receipt (the delivery at the seller's side is awaited outside the timing, so it
  does not compete with the next send). The ratio says what the order check, building, discovery, the
  buyer's tracker and the wait for the seller's tracker add.

Run it on an idle machine for stable figures; the harness's targets are "a network in seconds, a status in
well under a second".
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from peppol_response.as4.sender import Target  # noqa: E402
from peppol_response.reply import reply_to  # noqa: E402
from peppol_response.testing.network import LocalNetwork  # noqa: E402


def _ms(values: list[float]) -> str:
    return f"median {statistics.median(values):6.1f} ms  p90 {sorted(values)[int(len(values) * 0.9)]:6.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30, help="round trips to time (default 30)")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")

    starts = {}
    for label, cache in (("fresh keys", False), ("cached keys", None)):
        t0 = time.perf_counter()
        with LocalNetwork(key_cache=cache) as net:
            starts[label] = net.started_in or 0.0
        starts[label + " (with stop)"] = time.perf_counter() - t0
    for label, seconds in starts.items():
        print(f"network start, {label:<26} {seconds:6.2f} s")

    with LocalNetwork() as net:
        seller, buyer = net.seller, net.buyer
        full: list[float] = []
        parts: dict[str, list[float]] = {"build": [], "discover": [], "record": [], "send": [], "deliver": []}
        invoice = seller.send_invoice(to=buyer)
        for i in range(args.rounds):
            if i % 5 == 0:
                invoice = seller.send_invoice(to=buyer)
            code = ("AB", "IP", "UQ", "AP", "PD")[i % 5]
            t0 = time.perf_counter()
            sent = buyer.reply(invoice, code)
            full.append((time.perf_counter() - t0) * 1000)
            if not sent.delivered:
                print(f"round {i}: not delivered: {sent.error}")
                return 1
            for k in parts:
                parts[k].append(sent.timings.get(k, 0.0))
        # the reference: the same AS4 exchange without discovery, validation, delivery or trackers
        target = Target(seller.access_point.url, seller.access_point.identity.certificate)
        xml = reply_to(buyer.received_invoice(invoice), "AB").to_xml()
        bare: list[float] = []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            result = buyer.access_point.sender.send(xml, target=target, country_c1="NO")
            bare.append((time.perf_counter() - t0) * 1000)
            net.wait_delivered(result.message_id, target.url)  # so deliveries do not overlap the next send
    print(f"status round trip (buyer -> seller's tracker), {args.rounds} rounds: {_ms(full)}")
    for k, values in parts.items():
        print(f"  of which {k:<8} {_ms(values)}")
    print(f"reference: bare AS4 send to the verified receipt: {_ms(bare)}")
    print(f"ratio round trip / bare AS4 (medians): {statistics.median(full) / statistics.median(bare):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
