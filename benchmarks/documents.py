"""Speed of the document layer: parsing and building+serializing Invoice Responses, on one core.

    python benchmarks/documents.py [--rounds 15] [--seconds 0.3] [--official DIR]

Measures, over our example responses (examples/responses) and the official T111 examples when present
(../shared/conformance/examples, or --official, or $PEPPOL_RESPONSE_SHARED/conformance/examples):

* parse: ``peppol_response.parse`` (safe parse + binding walk + model) against a bare
  ``lxml.etree.fromstring`` of the same bytes. Target: at most 3x the bare lxml time.
* build+serialize: the whole path from plain values to bytes - every model constructor with its checks,
  ``check()`` for the official rules, and ``serialize``. Target: at least 20,000 documents/s.
* reply: ``reply_to`` from an already read invoice, then ``to_xml`` (for information; no target).

The process is pinned to one CPU where the OS allows it. Times are CPU time of this process
(``time.process_time``), so waiting for a busy CPU does not count; the two sides of a ratio are measured
in turn, one pass over the documents each (ours, lxml, ours, lxml, ...) for ``--seconds`` per round, and
the median ratio of the rounds is reported, so machine load affects both alike. The load
average is printed before and after: figures from a loaded machine are noisier.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import peppol_response  # noqa: E402
from peppol_response import (  # noqa: E402
    Clarification,
    Condition,
    Contact,
    DocumentReference,
    EndpointId,
    InvoiceResponse,
    Party,
    PartyId,
    ReferencedParty,
    parse,
    serialize,
)
from peppol_response.examples import example_invoice  # noqa: E402
from peppol_response.invoice import read_invoice  # noqa: E402
from peppol_response.reply import reply_to  # noqa: E402


def corpus(official: Path | None) -> dict[str, list[bytes]]:
    ours = [p.read_bytes() for p in sorted((ROOT / "examples" / "responses").glob("*.xml"))]
    found: dict[str, list[bytes]] = {"ours": ours}
    if official is None:
        shared = Path(os.environ.get("PEPPOL_RESPONSE_SHARED", ROOT.parent / "shared"))
        official = shared / "conformance" / "examples"
    if official.is_dir():
        files = [p for p in sorted(official.glob("*.xml")) if p.name.startswith(("T111-", "InvoiceResponse_"))]
        if files:
            found["official"] = [p.read_bytes() for p in files]
    return found


def cpu_seconds(fn: Callable[[], object], min_seconds: float) -> float:
    """CPU seconds per call of ``fn``, running it for at least ``min_seconds``."""
    calls = 0
    start = time.process_time()
    elapsed = 0.0
    while elapsed < min_seconds:
        for _ in range(10):
            fn()
        calls += 10
        elapsed = time.process_time() - start
    return elapsed / calls


def paired_cpu_seconds(a: Callable[[], object], b: Callable[[], object], min_seconds: float) -> tuple[float, float]:
    """CPU seconds per call of ``a`` and of ``b``, the two called in turn (a, b, a, b, ...) until both together
    have run ``min_seconds``: a change of machine load during the round affects both sides alike."""
    spent_a = spent_b = 0.0
    calls = 0
    clock = time.process_time
    while spent_a + spent_b < min_seconds:
        t0 = clock()
        a()
        t1 = clock()
        b()
        t2 = clock()
        spent_a += t1 - t0
        spent_b += t2 - t1
        calls += 1
    return spent_a / calls, spent_b / calls


def rebuild(r: InvoiceResponse) -> InvoiceResponse:
    """Construct ``r`` again from plain values through every public constructor and its checks."""

    def pid(p: PartyId | None) -> PartyId | None:
        return None if p is None else PartyId(p.value, p.scheme)

    def party(p: Party) -> Party:
        c = p.contact
        return Party(EndpointId(p.endpoint.scheme, p.endpoint.value), p.name, pid(p.identifier),
                     None if c is None else Contact(c.name, c.telephone, c.email))

    def ref(p: ReferencedParty | None) -> ReferencedParty | None:
        return None if p is None else ReferencedParty(p.name, pid(p.identifier))

    d = r.document
    return InvoiceResponse(
        r.id, r.issue_date, party(r.sender), party(r.receiver), r.code,
        DocumentReference(d.id, str(d.type_code), d.issue_date),
        tuple(Clarification(c.code, c.reason, tuple(Condition(k.attribute_id, k.description) for k in c.conditions))
              for c in r.clarifications),
        r.effective_date, r.issue_time, r.note, ref(r.issuer_party), ref(r.recipient_party), r.customization_id,
        r.profile_id,
    ).check()


def pin_to_one_cpu() -> str:
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity on this OS)"
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[-1]})
    return f"pinned to CPU {cpus[-1]} of {os.cpu_count()}"


def load() -> str:
    try:
        one, five, fifteen = os.getloadavg()
        return f"load average {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} CPUs)"
    except OSError:  # pragma: no cover
        return "load average unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="alternating measurement rounds (default 15)")
    parser.add_argument("--seconds", type=float, default=0.3, help="CPU seconds per side and round (default 0.3)")
    parser.add_argument("--official", type=Path, help="folder of official T111 example files")
    args = parser.parse_args()

    print(f"peppol-response {peppol_response.__version__}, Python {platform.python_version()}, "
          f"lxml {etree.__version__} (libxml2 {'.'.join(map(str, etree.LIBXML_VERSION))}), {platform.machine()}")
    print(pin_to_one_cpu())
    print(f"before: {load()}")
    sets = corpus(args.official)
    everything = [d for docs in sets.values() for d in docs]
    print("corpus: " + ", ".join(f"{len(docs)} {name}" for name, docs in sets.items())
          + f" ({sum(map(len, everything)) // len(everything)} bytes on average)\n")

    # Warm up and check that everything parses.
    models = [parse(d) for d in everything]

    print("parse (one document at a time; ratio = our time / bare lxml.etree.fromstring time)")
    ratios_all: list[float] = []
    for name, docs in [*sets.items(), ("all", everything)]:
        def ours(docs: list[bytes] = docs) -> None:
            for d in docs:
                parse(d)

        def bare(docs: list[bytes] = docs) -> None:
            for d in docs:
                etree.fromstring(d)

        ratios, ours_t, bare_t = [], [], []
        for _ in range(args.rounds):
            a, b = paired_cpu_seconds(ours, bare, args.seconds)
            ours_t.append(a / len(docs))
            bare_t.append(b / len(docs))
            ratios.append(a / b)
        ratio = statistics.median(ratios)
        if name == "all":
            ratios_all = ratios
        print(f"  {name:9s} ours {1 / min(ours_t):9,.0f} docs/s ({min(ours_t) * 1e6:6.1f} us)   "
              f"lxml {1 / min(bare_t):9,.0f} docs/s ({min(bare_t) * 1e6:6.1f} us)   "
              f"ratio median {ratio:.2f} (range {min(ratios):.2f}-{max(ratios):.2f})")

    print("\nbuild+serialize (every constructor with its checks, check(), serialize)")
    build_t = []
    for _ in range(args.rounds):
        def build_all() -> None:
            for m in models:
                serialize(rebuild(m))

        build_t.append(cpu_seconds(build_all, args.seconds) / len(models))
    per_doc = statistics.median(build_t)
    print(f"  all       {1 / per_doc:9,.0f} docs/s median ({per_doc * 1e6:.1f} us), "
          f"best {1 / min(build_t):,.0f} docs/s")

    summary = read_invoice(example_invoice("invoice"))

    def reply() -> None:
        reply_to(summary, "RE", reasons=[("REF", "PO unknown", [("BT-13", "PO-1")])], actions=["NIN"],
                 response_id="IR-1", issued_on=summary.issue_date).to_xml()

    reply_t = statistics.median(cpu_seconds(reply, args.seconds) for _ in range(max(3, args.rounds // 3)))
    print(f"  reply_to  {1 / reply_t:9,.0f} docs/s median ({reply_t * 1e6:.1f} us; from a read invoice, with to_xml)")

    print(f"\nafter: {load()}")
    parse_ratio = statistics.median(ratios_all)
    build_rate = 1 / per_doc
    print(f"\ntargets: parse <= 3.00x bare lxml: {parse_ratio:.2f}x "
          f"{'met' if parse_ratio <= 3.0 else 'NOT met'}; "
          f"build+serialize >= 20,000 docs/s: {build_rate:,.0f} {'met' if build_rate >= 20_000 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
