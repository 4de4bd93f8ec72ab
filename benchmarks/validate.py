#!/usr/bin/env python3
"""How fast is ``peppol_response.validation.validate``?

    python benchmarks/validate.py [--corpus 3000] [--jobs 1,2] [--rounds 5] [--official-sample 300]

Prints documents per second on one core for:

* the examples: the test corpus's bases, the project's ``examples/responses`` and the official examples
  when ``../shared/conformance`` is present (all valid);
* a mutated corpus of ``--corpus`` documents (the generator of the test suite: systematic and random
  mutations, most of them invalid, so the error paths are measured too). Target: 5,000 documents/s;
* the official pipeline on a sample of the same corpus, when ``saxonche`` is installed and
  ``PEPPOL_OFFICIAL_ARTEFACTS`` points at the official XSLT and the OASIS XSD: Saxon-C HE running the
  published 2026.5 XSLT (Schematron only), and with the XSD checked by ``xmlschema`` (the full official
  verdict), with the ratios to ours;
* the scaling of the CLI's worker pool (``--jobs``) on the corpus written to files: wall clock, and
  files per CPU-second of all processes (constant when the pool scales linearly on idle cores).

The single-core figures are CPU time of this process (``time.process_time``), pinned to one CPU where the
OS allows it, each round at least ``--seconds`` of work; the best and the median round are printed. The
machine may be shared: the load average is printed before and after, with a calibration loop (pure
Python) so figures from different runs can be compared.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import statistics
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


def rates(docs: Sequence[bytes], run: Callable[[bytes], object], *, seconds: float, rounds: int) -> list[float]:
    """Documents per CPU second of each of ``rounds`` rounds."""
    return [cpu_rate(docs, run, min_seconds=seconds, rounds=1) for _ in range(rounds)]


def load() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:  # pragma: no cover
        return "load average unknown"
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} CPUs)"


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
    parser.add_argument("--rounds", type=int, default=5, help="single-core rounds (default 5)")
    parser.add_argument("--seconds", type=float, default=1.0, help="CPU seconds per round (default 1.0)")
    parser.add_argument("--pool-rounds", type=int, default=2, help="runs of each --jobs value (default 2)")
    parser.add_argument("--official-sample", type=int, default=300,
                        help="documents of the corpus run through the official pipeline (default 300)")
    args = parser.parse_args()

    import platform

    from lxml import etree

    print(f"Python {platform.python_version()}, lxml {etree.__version__} "
          f"(libxml2 {'.'.join(map(str, etree.LIBXML_VERSION))}), {platform.machine()}")
    print(f"before: {load()}; calibration {calibration():.1f} M loop iterations/s")

    examples = [text.encode() for text in BASES.values()]
    examples += [p.read_bytes() for p in sorted((ROOT / "examples" / "responses").glob("*.xml"))]
    examples += list(official_bases(CONFORMANCE if CONFORMANCE.is_dir() else None).values())
    docs = [x for _n, x in corpus(args.corpus, seed=2026, conformance=CONFORMANCE if CONFORMANCE.is_dir() else None)]
    invalid = sum(1 for d in docs if not validate(d).valid)

    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    if affinity:
        os.sched_setaffinity(0, {max(affinity)})  # one core; the worker pool below gets them all back
        print(f"single-core figures pinned to CPU {max(affinity)}")
    results = {}
    for name, batch, what in (("examples", examples, "valid"), ("corpus", docs, f"{invalid} invalid")):
        got = rates(batch, validate, seconds=args.seconds, rounds=args.rounds)
        results[name] = got
        label = "examples" if name == "examples" else "mutated corpus"
        print(f"{label} ({len(batch)} documents, {what}): best {max(got):,.0f} documents/s "
              f"({1e6 / max(got):.0f} us), median {statistics.median(got):,.0f} on one core")
    if affinity:
        os.sched_setaffinity(0, affinity)

    reason = unavailable_reason()
    rate = max(results["corpus"])
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

    cpus = os.cpu_count() or 1
    counts = [int(j) for j in args.jobs.split(",") if j] if args.jobs else list(range(1, cpus + 1))
    with tempfile.TemporaryDirectory(prefix="bench-validate-") as tmp:
        files = []
        for i, d in enumerate(docs):
            path = Path(tmp) / f"{i:05d}.xml"
            path.write_bytes(d)
            files.append(str(path))
        jobs = [(f, "json", False) for f in files]
        base = None
        print("worker pool (files read, validated and rendered as JSON, as the CLI does; best of "
              f"{args.pool_rounds} runs):")
        for n in counts:
            best_wall, best_cpu = math.inf, math.inf
            loads = []
            for _ in range(args.pool_rounds):
                loads.append(os.getloadavg()[0])
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
                best_wall, best_cpu = min(best_wall, wall), min(best_cpu, cpu)
            per_s = done / best_wall
            base = base or per_s
            print(f"  --jobs {n}: {per_s:,.0f} files/s wall clock ({per_s / base:.2f}x of --jobs {counts[0]}); "
                  f"{done / best_cpu:,.0f} files per CPU-second; load average at start "
                  f"{', '.join(f'{x:.2f}' for x in loads)}")
    print(f"after: {load()}")
    examples_rate, corpus_rate = max(results["examples"]), max(results["corpus"])
    verdict = "met" if min(examples_rate, corpus_rate) >= 5000 else "NOT met"
    print(f"target >= 5,000 documents/s on one core: examples {examples_rate:,.0f}, corpus {corpus_rate:,.0f}: "
          f"{verdict} (best rounds; medians above)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
