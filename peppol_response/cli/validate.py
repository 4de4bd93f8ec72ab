"""``peppol-response validate``: validate Invoice Responses like the official Peppol artefacts do.

::

    peppol-response validate [--format text|json|svrl] [--strict] [--jobs N] PATH...

PATHs are files or directories (searched recursively for ``*.xml``). Exit status: 0 when every
input is valid, 1 when any is invalid, 2 on usage or I/O errors (a file that cannot be read or is
not XML is reported on its own and the others are still validated).
"""

from __future__ import annotations

import json
import multiprocessing
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import click

from ..errors import PeppolResponseError
from ..validation import validate
from ..validation.report import summary_lines

__all__ = ["validate_command"]

VALID, INVALID, ERROR = "valid", "invalid", "error"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a worker hands back for one file: its status, its rendered output and its rule counts."""

    path: str
    status: str
    output: str
    counts: tuple[tuple[str, str], ...] = ()


def _check(job: tuple[str, str, bool]) -> Outcome:
    """Validate one file and render it (runs in a worker process when --jobs > 1)."""
    path, fmt, strict = job
    try:
        report = validate(Path(path), strict=strict, fired_rules=fmt == "svrl")
    except (OSError, PeppolResponseError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        message = f"cannot validate: {reason}"
        if fmt == "json":
            output = json.dumps({"path": path, "valid": False, "error": message, "findings": []},
                                 ensure_ascii=False, separators=(",", ":"))
        elif fmt == "text":
            output = f"{path}: ERROR {message}"
        else:
            output = ""
        return Outcome(path, ERROR, output if fmt != "svrl" else message)
    status = VALID if report.valid else INVALID
    counts = tuple((f.rule, f.severity.value) for f in report.findings)
    if fmt == "json":
        return Outcome(path, status, report.to_json(path), counts)
    if fmt == "svrl":
        return Outcome(path, status, report.to_svrl(), counts)
    return Outcome(path, status, report.to_text(path), counts)


def _collect(paths: tuple[Path, ...]) -> Iterator[tuple[str, str | None]]:
    """``(file, None)`` for each input file, ``(path, reason)`` for a path that gives no file."""
    for p in paths:
        if p.is_dir():
            found = sorted(f for f in p.rglob("*.xml") if f.is_file())
            if not found:
                yield str(p), "no *.xml files in this directory"
            for f in found:
                yield str(f), None
        else:
            yield str(p), None  # missing or unreadable files are reported by the worker


class _Progress:
    """A one-line progress bar on stderr, only when stderr is a terminal."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.stream = stream
        self.enabled = stream.isatty() and total > 1
        self.start = time.monotonic()
        self.done = 0
        self.last = 0.0

    def step(self) -> None:
        self.done += 1
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < 0.1 and self.done != self.total:
            return
        self.last = now
        width = 30
        filled = int(width * self.done / self.total)
        rate = self.done / max(now - self.start, 1e-9)
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} files {rate:,.0f}/s")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 70 + "\r")
            self.stream.flush()


def _outcomes(jobs: list[tuple[str, str, bool]], workers: int) -> Iterator[Outcome]:
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield _check(job)
        return
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    chunk = max(1, min(64, len(jobs) // (workers * 8)))
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method)) as pool:
        yield from pool.map(_check, jobs, chunksize=chunk)


@click.command("validate")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "svrl"]), default="text", show_default=True,
              help="text: readable, grouped by file, with a summary; json: one object per file per line; "
                   "svrl: Schematron Validation Report Language.")
@click.option("--strict", is_flag=True,
              help="Also enforce the binding's maximums and the intended PEPPOL-T111-R005 (our PR- rules).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
              help="Number of worker processes.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate_command(fmt: str, strict: bool, jobs: int, paths: tuple[Path, ...]) -> None:
    """Validate Invoice Responses (and MLRs) with the verdict of the official Peppol artefacts 2026.5.

    PATH may be a file or a directory (searched recursively for *.xml). SBDH-wrapped documents are
    unwrapped. Exit status 0: all valid; 1: some invalid; 2: usage or I/O errors.
    """
    out = sys.stdout
    err = sys.stderr
    inputs = list(_collect(paths))
    jobs_list = [(p, fmt, strict) for p, reason in inputs if reason is None]
    problems = [(p, reason) for p, reason in inputs if reason is not None]
    for p, reason in problems:
        err.write(f"{p}: {reason}\n")
    progress = _Progress(len(jobs_list), err)
    counts: Counter[tuple[str, str]] = Counter()
    tally: Counter[str] = Counter()
    svrl_many = fmt == "svrl" and len(jobs_list) > 1
    if svrl_many:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<svrl-reports xmlns="urn:peppol-response:svrl-reports:1">\n')
    try:
        for outcome in _outcomes(jobs_list, jobs):
            progress.step()
            tally[outcome.status] += 1
            counts.update(outcome.counts)
            if outcome.status == ERROR and fmt == "svrl":
                err.write(f"{outcome.path}: {outcome.output}\n")
                continue
            if fmt == "svrl":
                body = outcome.output
                if body.startswith("<?xml"):
                    body = body.split("?>", 1)[1].strip()
                if svrl_many:
                    valid = "true" if outcome.status == VALID else "false"
                    out.write(f'<report path={_attr(outcome.path)} valid="{valid}">\n{body}\n</report>\n')
                else:
                    out.write(outcome.output)
            else:
                out.write(outcome.output + "\n")
                if fmt == "text" and "\n" in outcome.output:
                    out.write("\n")  # a blank line after a file with findings
    finally:
        progress.close()
    if svrl_many:
        out.write("</svrl-reports>\n")
    if fmt == "text":
        out.write("\n")
        for line in summary_lines(counts, files=len(jobs_list), valid=tally[VALID], invalid=tally[INVALID],
                                  errors=tally[ERROR] + len(problems)):
            out.write(line + "\n")
    out.flush()
    if tally[ERROR] or problems:
        sys.exit(2)
    sys.exit(1 if tally[INVALID] else 0)


def _attr(value: str) -> str:
    from xml.sax.saxutils import quoteattr

    return quoteattr(value)
