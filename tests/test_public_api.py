"""The curated top-level API: every exported name resolves, and importing the package stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

import peppol_response


def test_every_exported_name_resolves() -> None:
    for name in peppol_response.__all__:
        assert getattr(peppol_response, name) is not None, name


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_thing"):
        peppol_response.no_such_thing  # type: ignore[attr-defined]  # noqa: B018


def test_import_does_not_load_the_heavy_layers() -> None:
    code = (
        "import sys, peppol_response; "
        "print(sorted(m for m in ('sqlalchemy', 'starlette', 'uvicorn', 'peppol_response.validation', "
        "'peppol_response.tracker') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_readme_quick_start_runs(tmp_path: object) -> None:
    from pathlib import Path

    from peppol_response import ResponseCode, parse, reply_to, validate

    invoice = (Path(__file__).parents[1] / "examples" / "invoices" / "invoice-380.xml").read_bytes()
    response = reply_to(invoice, "RE", reasons=[("REF", "PO 4711 unknown")], actions=["NIN"])
    report = validate(response.to_xml())
    assert report.valid, report.to_text()
    again = parse(response.to_xml())
    assert again == response
    assert again.code is ResponseCode.RE
