"""The wheel: built from a copy of the tree, it carries the data folders, and installed on its own it works."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IGNORED = shutil.ignore_patterns(".venv", ".git", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache",
                                 ".hypothesis", "build", "dist", "*.egg-info", "demo-work", "bench-work")

pytestmark = pytest.mark.slow


def _run(args: list[str], *, cwd: Path, env: dict[str, str] | None = None, stdin: bytes | None = None,
         expect: int = 0) -> subprocess.CompletedProcess[bytes]:
    done = subprocess.run(args, cwd=cwd, env=env, input=stdin, capture_output=True, timeout=300, check=False)
    assert done.returncode == expect, (args, done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace"))
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    shutil.copytree(ROOT, src, ignore=IGNORED)
    out = work / "dist"
    if importlib.util.find_spec("hatchling") is not None:  # the project's backend, no network needed
        _run([sys.executable, "-m", "hatchling", "build", "--target", "wheel", "--directory", str(out)], cwd=src)
    else:  # pragma: no cover - pip fetches the backend into an isolated environment
        _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(out), str(src)], cwd=work)
    wheels = list(out.glob("peppol_response-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_carries_package_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "peppol_response/py.typed",
        "peppol_response/__main__.py",
        "peppol_response/cli/__main__.py",
        "peppol_response/_data/examples/invoices/invoice-380.xml",
        "peppol_response/_data/examples/invoices/credit-note-381.xml",
        "peppol_response/_data/examples/invoices/self-billed-389.xml",
        "peppol_response/_data/examples/invoices/invoice-billing-with-response.xml",
        "peppol_response/_data/examples/responses/AP-accepted.xml",
    ):
        assert required in names, f"{required} is missing from {wheel.name}"
    for folder in ("schemas", "schematron"):  # filled by the validation layer; the folders ship either way
        assert any(n.startswith(f"peppol_response/_data/{folder}/") for n in names), folder
    shipped = {n.rsplit("/", 1)[1] for n in names if n.startswith("peppol_response/_data/examples/responses/")}
    assert shipped == {p.name for p in (ROOT / "examples" / "responses").glob("*.xml")}
    scenarios = {n.rsplit("/", 1)[1] for n in names if n.startswith("peppol_response/_data/examples/scenarios/")}
    assert scenarios == {p.name for p in (ROOT / "examples" / "scenarios").glob("*.toml")}
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[pytest11]" in text  # the chain-test fixtures reach every project that installs us
    assert "peppol_response.testing.pytest_plugin = peppol_response.testing.pytest_plugin" in text
    assert not any(n.startswith(("tests/", "benchmarks/")) or "/tests/" in n for n in names)


def test_installed_wheel_works_on_its_own(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    _run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
         cwd=tmp_path)
    env = {**os.environ, "PYTHONPATH": str(target)}
    elsewhere = tmp_path / "cwd"  # not the source tree, so nothing is imported from it
    elsewhere.mkdir()
    where = _run([sys.executable, "-c", "import peppol_response, peppol_response.resources as r; "
                  "print(peppol_response.__file__); print(r.data_path('examples', 'invoices', 'invoice-380.xml'))"],
                 cwd=elsewhere, env=env).stdout.decode().split()
    assert all(p.startswith(str(target)) for p in where), where
    invoice = where[1]
    built = _run([sys.executable, "-m", "peppol_response", "build", "RE", "--reply-to", invoice, "--reason",
                  "REF=PO unknown", "--id", "IR-WHEEL", "--issue-date", "2026-03-05"], cwd=elsewhere, env=env)
    shown = _run([sys.executable, "-m", "peppol_response.cli", "show", "-"], cwd=elsewhere, env=env,
                 stdin=built.stdout)
    assert b"Invoice Response IR-WHEEL" in shown.stdout
    assert b"reason REF (References incorrect): PO unknown" in shown.stdout
    demo = _run([sys.executable, "-m", "peppol_response", "demo", "--workdir", str(tmp_path / "demo")],
                cwd=elsewhere, env=env)
    assert b"demo finished" in demo.stdout
    assert (tmp_path / "demo" / "responses" / "PD-paid.xml").exists()
