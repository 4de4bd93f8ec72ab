#!/usr/bin/env python3
"""Set up and run peppol-response from a fresh clone with nothing but Python 3.11+.

    python3 run.py demo      # the main job on embedded defaults (SQLite, local test PKI, loopback)
    python3 run.py test      # the whole test suite: ruff, mypy --strict, pytest on all cores

Each command creates ``.venv`` next to this file on first use and installs the project with its
test dependencies into it; it reinstalls only when ``pyproject.toml`` changes. Extra arguments go
to the command (``python3 run.py test -k sbdh``, ``python3 run.py demo --workdir /tmp/x``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".peppol-response-installed"
LINTED = ("peppol_response", "tests", "benchmarks", "run.py")


def _say(msg: str) -> None:
    print(f"[run.py] {msg}", file=sys.stderr, flush=True)


def ensure_venv() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"peppol-response needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if PY.exists() and STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    if not PY.exists():
        _say(f"creating virtual environment in {VENV}")
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    _say("installing peppol-response and its test dependencies (first run only)")
    subprocess.run([str(PY), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([str(PY), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[test]"], check=True)
    STAMP.write_text(wanted)


def run(args: list[str]) -> int:
    return subprocess.run(args, cwd=ROOT).returncode


def cmd_test(extra: list[str]) -> int:
    if not extra:
        for step in (
            [str(PY), "-m", "ruff", "check", *(p for p in LINTED if (ROOT / p).exists())],
            [str(PY), "-m", "mypy"],
        ):
            _say(" ".join(Path(step[0]).name if i == 0 else s for i, s in enumerate(step)))
            rc = run(step)
            if rc:
                return rc
    workers = ["-n", "auto"] if "-n" not in extra else []
    return run([str(PY), "-m", "pytest", *workers, *extra])


def cmd_demo(extra: list[str]) -> int:
    return run([str(BIN / "peppol-response"), "demo", *extra])


COMMANDS = {"test": cmd_test, "demo": cmd_demo}


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__)
        return 2
    ensure_venv()
    return COMMANDS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
