#!/usr/bin/env python3
"""How fast is ``peppol_response.validation.validate``?

    python benchmarks/validate.py [--corpus 3000] [--jobs 1,2,4] [--official-sample 300]

Prints documents per second on one core (CPU time of this process, best of a few rounds) for:

* the examples: the test corpus's bases, the project's ``examples/responses`` and the official examples
  when ``../shared/conformance`` is present (all valid);
* a mutated corpus of ``--corpus`` documents (the generator of the test suite: systematic and random
  mutations, most of them invalid, so the error paths are measured too);
* the official pipeline on a sample of the same corpus, when ``saxonche`` is installed and
  ``PEPPOL_OFFICIAL_ARTEFACTS`` points at the official XSLT and the OASIS XSD: Saxon-C HE running the
  published 2026.5 XSLT (Schematron only), and with the XSD checked by ``xmlschema`` (the full official
  verdict), with the ratios to ours;
* the scaling of the CLI's worker pool (``--jobs``) on the corpus written to files (wall clock).

The machine may be shared: a calibration loop (pure Python) is printed so figures from different runs
can be compared.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from peppol_response.cli.validate import _outcomes  # noqa: E402
from peppol_response.validation import validate  # noqa: E402
from tests.conftest import CONFORMANCE  # noqa: E402
from tests.validation.corpus import BASES, corpus, official_bases  # noqa: E402
from tests.validation.official import OfficialValidator, artefacts_dir, unavailable_reason  # noqa: E402


def cpu_rate(docs: Sequence[bytes], run: Callable[[bytes], object], *, min_seconds: float = 1.0,
             rounds: int = 3) -> float:
    """Documents per CPU second, best of ``rounds`` (each at least ``min_seconds`` of work)."""
    best = 0.0
    for _ in range(rounds):
        done, start = 0, time.process_time()
        while True:
            for d in docs:
                run(d)
            done += len(docs)
            spent = time.process_time() - start
            if spent >= min_seconds:
                break
        best = max(best, done / spent)
    return best


def calibration() -> float:
    """Millions of simple Python loop iterations per CPU second (to compare runs on busy machines)."""
    start = time.process_time()
    total = 0
    for i in range(2_000_000):
        total += i & 7
    return 2.0 / (time.process_time() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=int, default=3000, help="size of the mutated corpus (default 3000)")
    parser.add_argument("--jobs", default="", help="worker counts to try, e.g. 1,2,4 (default: 1..cpu count)")
    parser.add_argument("--official-sample", type=int, default=300,
                        help="documents of the corpus run through the official pipeline (default 300)")
    args = parser.parse_args()

    cpus = os.cpu_count() or 1
    print(f"machine: {cpus} CPUs, load average {os.getloadavg()[0]:.2f}; "
          f"calibration {calibration():.1f} M loop iterations/s")

    examples = [text.encode() for text in BASES.values()]
    examples += [p.read_bytes() for p in sorted((ROOT / "examples" / "responses").glob("*.xml"))]
    examples += list(official_bases(CONFORMANCE if CONFORMANCE.is_dir() else None).values())
    ex_rate = cpu_rate(examples, validate)
    print(f"examples ({len(examples)} documents, valid): {ex_rate:,.0f} documents/s on one core")

    docs = [x for _n, x in corpus(args.corpus, seed=2026, conformance=CONFORMANCE if CONFORMANCE.is_dir() else None)]
    invalid = sum(1 for d in docs if not validate(d).valid)
    rate = cpu_rate(docs, validate, min_seconds=0.5, rounds=3)
    print(f"mutated corpus ({len(docs)} documents, {invalid} invalid): {rate:,.0f} documents/s on one core "
          f"(target 5,000)")

    reason = unavailable_reason()
    if reason is None:
        root = artefacts_dir()
        assert root is not None
        official = OfficialValidator(root)
        sample = docs[: args.official_sample]
        official.schematron(sample[0])  # compile the XSLT outside the measurement
        official.schema(sample[0])
        xslt_rate = cpu_rate(sample, official.schematron, min_seconds=0.5, rounds=1)
        full_rate = cpu_rate(sample, official.validate, min_seconds=0.5, rounds=1)
        print(f"official pipeline on {len(sample)} of them (Saxon-C HE, published 2026.5 XSLT): "
              f"{xslt_rate:,.0f} documents/s; ours is {rate / xslt_rate:.1f}x faster")
        print(f"official pipeline with the XSD (xmlschema + Saxon): {full_rate:,.0f} documents/s; "
              f"ours is {rate / full_rate:.1f}x faster")
    else:
        print(f"official pipeline not measured: {reason}")

    counts = [int(j) for j in args.jobs.split(",") if j] if args.jobs else list(range(1, cpus + 1))
    with tempfile.TemporaryDirectory(prefix="bench-validate-") as tmp:
        files = []
        for i, d in enumerate(docs):
            path = Path(tmp) / f"{i:05d}.xml"
            path.write_bytes(d)
            files.append(str(path))
        jobs = [(f, "json", False) for f in files]
        base = None
        print("worker pool (files read, validated and rendered as JSON, as the CLI does):")
        for n in counts:
            before_self = resource.getrusage(resource.RUSAGE_SELF)
            before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            done = sum(1 for _ in _outcomes(jobs, n))
            wall = time.perf_counter() - start
            after_self = resource.getrusage(resource.RUSAGE_SELF)
            after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = sum(getattr(a, f) - getattr(b, f) for a, b in ((after_self, before_self),
                                                                  (after_children, before_children))
                      for f in ("ru_utime", "ru_stime"))
            per_s = done / wall
            base = base or per_s
            print(f"  --jobs {n}: {per_s:,.0f} files/s wall clock ({per_s / base:.2f}x of --jobs {counts[0]}); "
                  f"{done / cpu:,.0f} files per CPU-second (constant = linear scaling on idle cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
