"""``peppol-response build``, ``show`` and ``demo --documents-only``: click's runner and a real console script."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner, Result

import peppol_response.validation
from peppol_response import ResponseCode, StatusAction, StatusReason, parse
from peppol_response.cli import cli
from peppol_response.cli import documents as documents_cli
from peppol_response.examples import example_responses
from peppol_response.reply import reply_to
from peppol_response.resources import data_path

from ..conftest import official_examples

INVOICE = str(data_path("examples", "invoices", "invoice-380.xml"))
RESPONSES = data_path("examples", "responses")
FIXED = ["--id", "IR-CLI-1", "--issue-date", "2026-03-05"]


def run(*args: str, stdin: bytes | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=stdin)


# -- build --------------------------------------------------------------------------------------------


def test_build_reply_to_equals_the_library() -> None:
    result = run("build", "RE", "--reply-to", INVOICE, "--reason", "REF=PO unknown", "--action", "NIN",
                 "--condition", "BT-13=PO-2026-0414", "--note", "see letter", "--effective-date", "2026-03-04",
                 "--issue-time", "10:15:00+01:00", "--contact-name", "Mats", *FIXED)
    assert result.exit_code == 0, result.output
    got = parse(result.stdout_bytes)
    want = reply_to(
        Path(INVOICE), "RE", reasons=[("REF", "PO unknown")], actions=["NIN"], conditions=[("BT-13", "PO-2026-0414")],
        note="see letter", effective_date=dt.date(2026, 3, 4), issue_time=dt.time.fromisoformat("10:15:00+01:00"),
        issued_on=dt.date(2026, 3, 5), response_id="IR-CLI-1",
        contact=__import__("peppol_response").Contact("Mats"),
    )
    assert got == want


def test_build_without_an_invoice() -> None:
    result = run("build", "uq", "--sender", "0088:5798000012349", "--sender-name", "Buyer organization",
                 "--receiver", "0088:7330001000000", "--receiver-name", "Seller company", "--invoice-id", "inv021",
                 "--invoice-date", "2018-09-22", "--type-code", "381", "--reason", "REF", "--action", "PIN=send PO",
                 *FIXED)
    assert result.exit_code == 0, result.output
    r = parse(result.stdout_bytes)
    assert r.code is ResponseCode.UQ
    assert r.document.type_code == "381"
    assert r.document.issue_date == dt.date(2018, 9, 22)
    assert [(c.code, c.reason) for c in r.clarifications] == [(StatusReason.REF, None), (StatusAction.PIN, "send PO")]
    # The type code defaults to 380.
    result = run("build", "AP", "--sender", "0088:5798000012349", "--sender-name", "B", "--receiver",
                 "0088:7330001000000", "--receiver-name", "S", "--invoice-id", "1")
    assert parse(result.stdout_bytes).document.type_code == "380"


def test_build_on_behalf_and_text_only_reason(tmp_path: Path) -> None:
    out = tmp_path / "r.xml"
    result = run("build", "RE", "--reply-to", INVOICE, "--sender", "0192:931782401", "--sender-name",
                 "Fakturaflyt Tjenester AS", "--reason", "=Missing contract number", "-o", str(out), *FIXED)
    assert result.exit_code == 0, result.output
    assert "wrote RE response IR-CLI-1" in result.stderr
    r = parse(out.read_bytes())
    assert r.recipient_party is not None
    assert r.recipient_party.name == "Fjellheim Logistikk AS"
    assert (r.clarifications[0].code, r.clarifications[0].reason) == (StatusReason.OTH, "Missing contract number")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["RE"], "PEPPOL-T111-R001"),
        (["PD", "--reason", "PPD"], "PEPPOL-T111-R004"),
        (["RE", "--reason", "PPD=500 NOK"], "PEPPOL-T111-R005"),
        (["RE", "--reason", "NIN"], "OPStatusReason"),
        (["RE", "--action", "REF"], "OPStatusAction"),
        (["XX"], "UNCL4343-T111"),
        (["AP", "--note", "   "], "PEPPOL-COMMON-R001"),
        (["AP", "--sender", "9999:1", "--sender-name", "x"], "EAS"),
    ],
)
def test_build_refusals_exit_1_naming_the_rule(args: list[str], message: str) -> None:
    result = run("build", args[0], "--reply-to", INVOICE, *args[1:], *FIXED)
    assert result.exit_code == 1, result.output
    assert message in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        ["AP"],
        ["AP", "--sender", "0088:1"],
        ["AP", "--reply-to", INVOICE, "--invoice-id", "X"],
        ["AP", "--reply-to", INVOICE, "--sender", "0192:931782401"],
        ["AP", "--reply-to", INVOICE, "--issue-date", "05.03.2026"],
        ["AP", "--reply-to", INVOICE, "--issue-time", "noon"],
        ["AP", "--reply-to", INVOICE, "--reason", "="],
        ["AP", "--reply-to", INVOICE, "--condition", "=x"],
        ["AP", "--reply-to", "/no/such/invoice.xml"],
        ["AP", "--reply-to", str(RESPONSES / "AP-accepted.xml")],
        ["AP", "--reply-to", INVOICE, "-o", "/no/such/folder/r.xml"],
        ["--no-such-option"],
    ],
)
def test_build_usage_and_io_errors_exit_2(args: list[str]) -> None:
    result = run("build", *args)
    assert result.exit_code == 2, result.output


# -- show ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(RESPONSES.glob("*.xml")), ids=lambda p: p.name)
def test_show_text_of_every_example(path: Path) -> None:
    r = parse(path.read_bytes())
    result = run("show", str(path))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"status     {r.code.value}  {r.code.label}: {r.code.meaning}" in out
    assert r.document.id in out
    assert str(r.sender.endpoint) in out
    assert str(r.receiver.endpoint) in out
    assert "neither an AS4 receipt" in out
    assert "Message Level Response" in out
    for c in r.clarifications:
        if c.code is not None:
            assert c.code.meaning in out


def test_show_json() -> None:
    result = run("show", str(RESPONSES / "UQ-under-query.xml"), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["status"] == {"code": "UQ", "name": "Under query", "meaning": ResponseCode.UQ.meaning, "final": False,
                              "partial_payment": False}
    assert data["acceptable"] is True
    assert data["response"]["clarifications"][0]["conditions"] == [{"attribute_id": "BT-13",
                                                                     "description": "PO-2026-0414"}]
    assert data["clarification_meanings"][1]["list"] == "OPStatusAction"
    assert "AS4 receipt" in data["about"]


def test_show_from_stdin() -> None:
    result = run("show", "-", stdin=(RESPONSES / "PD-paid.xml").read_bytes())
    assert result.exit_code == 0
    assert "[final]" in result.stdout


MLR = b"""<ApplicationResponse xmlns="urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
 <cbc:CustomizationID>urn:fdc:peppol.eu:poacc:trns:mlr:3</cbc:CustomizationID>
 <cbc:ProfileID>urn:fdc:peppol.eu:poacc:bis:mlr:3</cbc:ProfileID>
</ApplicationResponse>"""


def test_show_refuses_what_is_not_an_invoice_response(tmp_path: Path) -> None:
    path = tmp_path / "mlr.xml"
    path.write_bytes(MLR)
    result = run("show", str(path))
    assert result.exit_code == 1
    assert "Message Level Response" in result.stderr
    assert "line 3, /ubl:ApplicationResponse[1]/cbc:CustomizationID[1]" in result.stderr
    result = run("show", str(path), "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["problem"]["line"] == 3


@pytest.mark.conformance
@pytest.mark.parametrize("path", [p for p in official_examples() if p.name.startswith("MessageLevel")],
                         ids=lambda p: p.name)
def test_show_official_mlr_conformance(path: Path) -> None:
    result = run("show", str(path))
    assert result.exit_code == 1
    assert "Message Level Response" in result.stderr


def test_show_response_breaking_a_rule_is_shown_and_refused(tmp_path: Path) -> None:
    xml = (RESPONSES / "RE-rejected.xml").read_bytes()
    start, end = xml.index(b"<cac:Status>"), xml.rindex(b"</cac:Status>") + len(b"</cac:Status>")
    path = tmp_path / "bad.xml"
    path.write_bytes(xml[:start] + xml[end:])
    result = run("show", str(path))
    assert result.exit_code == 1
    assert "status     RE" in result.stdout
    assert "PEPPOL-T111-R001" in result.stderr
    data = json.loads(run("show", str(path), "--format", "json").stdout)
    assert data["acceptable"] is False
    assert data["problem"]["rule"] == "PEPPOL-T111-R001"


def test_show_io_error_exits_2(tmp_path: Path) -> None:
    assert run("show", str(tmp_path / "missing.xml")).exit_code == 2
    assert run("show", str(tmp_path)).exit_code == 2
    assert run("show", "x.xml", "--format", "yaml").exit_code == 2


# -- demo ---------------------------------------------------------------------------------------------


def test_demo_builds_validates_shows_and_writes(tmp_path: Path) -> None:
    result = run("demo", "--documents-only", "--workdir", str(tmp_path / "work"))
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in (tmp_path / "work" / "responses").glob("*.xml"))
    assert written == sorted(e.file_name for e in example_responses())
    assert (tmp_path / "work" / "invoices" / "invoice-380.xml").exists()
    for name in written:
        assert parse((tmp_path / "work" / "responses" / name).read_bytes()).check()
    assert "validation: " in result.stdout
    assert result.stdout.count("; valid;") == len(written)
    assert "demo finished" in result.stdout


def test_demo_default_workdir_is_a_fresh_temporary_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = run("demo", "--documents-only")
    assert result.exit_code == 0
    made = [p for p in tmp_path.iterdir() if p.name.startswith("peppol-response-demo-")]
    assert len(made) == 1
    assert str(made[0]) in result.stdout


def test_demo_uses_the_official_validator_when_it_exists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bytes] = []

    def validate(xml: bytes) -> Any:
        seen.append(xml)
        return SimpleNamespace(valid=b"<cbc:ResponseCode>RE<" not in xml,
                               findings=[SimpleNamespace(severity="fatal", rule="TEST-1", message="made up")])

    monkeypatch.setattr(peppol_response.validation, "validate", validate, raising=False)
    result = run("demo", "--documents-only", "--workdir", str(tmp_path))
    assert len(seen) == len(example_responses())
    assert "peppol_response.validation.validate" in result.stdout
    assert "fatal TEST-1: made up" in result.stdout
    assert result.exit_code == 1  # the made-up validator rejects the RE examples
    assert "FAILED: RE-rejected.xml is not valid" in result.stderr


def test_demo_steps_are_a_list_later_layers_extend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Path] = []
    monkeypatch.setattr(documents_cli, "DEMO_STEPS",
                        [*documents_cli.DEMO_STEPS, ("extra", lambda ctx: calls.append(ctx.workdir))])
    result = run("demo", "--documents-only", "--workdir", str(tmp_path))
    assert result.exit_code == 0
    assert "== step 2: extra" in result.stdout
    assert calls == [tmp_path]


def test_demo_io_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert run("demo", "--workdir", str(blocker / "sub")).exit_code == 2


# -- the real console script --------------------------------------------------------------------------


def _script() -> str:
    found = shutil.which("peppol-response", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("the peppol-response console script is not installed next to this Python")
    return found


def test_console_script_build_piped_into_show(tmp_path: Path) -> None:
    script = _script()
    built = subprocess.run([script, "build", "AB", "--reply-to", INVOICE, *FIXED], capture_output=True, timeout=60,
                           check=False)
    assert built.returncode == 0, built.stderr
    shown = subprocess.run([script, "show", "-"], input=built.stdout, capture_output=True, timeout=60, check=False)
    assert shown.returncode == 0, shown.stderr
    assert b"status     AB  Message acknowledgement" in shown.stdout
    refused = subprocess.run([script, "build", "RE", "--reply-to", INVOICE], capture_output=True, timeout=60,
                             check=False)
    assert refused.returncode == 1
    assert b"PEPPOL-T111-R001" in refused.stderr


def test_python_dash_m() -> None:
    for module in ("peppol_response", "peppol_response.cli"):
        done = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True, timeout=60,
                              check=False)
        assert done.returncode == 0, done.stderr
        assert b"peppol-response" in done.stdout
