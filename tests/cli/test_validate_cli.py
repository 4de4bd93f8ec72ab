"""``peppol-response validate``: formats, exit codes, directories, errors per file, workers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from peppol_response.cli import cli
from tests.validation.corpus import FULL, MINIMAL, MLR, wrap_sbdh

SVRL = "{http://purl.oclc.org/dsdl/svrl}"
INVALID = FULL.replace("<cbc:ResponseCode>UQ</cbc:ResponseCode>", "<cbc:ResponseCode>XX</cbc:ResponseCode>")
PPD_UNDER_RE = MINIMAL.replace("<cbc:ResponseCode>PD</cbc:ResponseCode>", "<cbc:ResponseCode>RE</cbc:ResponseCode>")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a-valid.xml").write_text(FULL)
    (tmp_path / "b-invalid.xml").write_text(INVALID)
    (tmp_path / "sub" / "c-mlr.xml").write_text(MLR)
    (tmp_path / "sub" / "d-sbdh.xml").write_bytes(wrap_sbdh(MINIMAL.encode()))
    (tmp_path / "sub" / "ignored.txt").write_text("not xml")
    return tmp_path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["validate", *args])
    return result.exit_code, result.stdout, result.stderr


def test_all_valid_exits_0(tmp_path: Path) -> None:
    (tmp_path / "r.xml").write_text(FULL)
    code, out, _ = run(str(tmp_path / "r.xml"))
    assert code == 0
    assert "r.xml: valid (Invoice Response; 0 fatal, 0 warnings)" in out
    assert "1 file: 1 valid, 0 invalid, 0 not readable or not XML" in out


def test_any_invalid_exits_1_and_text_groups_by_file_with_a_summary(folder: Path) -> None:
    code, out, _ = run(str(folder))
    assert code == 1
    lines = out.splitlines()
    assert lines[0].endswith("a-valid.xml: valid (Invoice Response; 0 fatal, 0 warnings)")
    assert "b-invalid.xml: INVALID (Invoice Response; 1 fatal, 0 warnings)" in lines[1]
    assert "PEPPOL-T111-B03001" in lines[2]
    assert any("c-mlr.xml: valid (Message Level Response" in line for line in lines)
    assert any("d-sbdh.xml: valid (Invoice Response; payload of an SBDH envelope" in line for line in lines)
    assert "4 files: 3 valid, 1 invalid, 0 not readable or not XML" in out
    assert "findings per rule:" in out
    assert "PEPPOL-T111-B03001" in out.split("findings per rule:")[1]


def test_json_is_one_object_per_file_per_line(folder: Path) -> None:
    (folder / "e-broken.xml").write_text("<a><b></a>")
    code, out, _ = run("--format", "json", str(folder), str(folder / "missing.xml"))
    assert code == 2  # an I/O error wins over "invalid"; the other files are still validated
    objects = [json.loads(line) for line in out.splitlines()]
    assert [Path(o["path"]).name for o in objects] == ["a-valid.xml", "b-invalid.xml", "e-broken.xml", "c-mlr.xml",
                                                       "d-sbdh.xml", "missing.xml"]
    assert [o["valid"] for o in objects] == [True, False, False, True, True, False]
    assert set(objects[1]["findings"][0]) == {"rule", "severity", "layer", "location", "line", "message"}
    assert "not well-formed" in objects[2]["error"]
    assert "No such file" in objects[5]["error"]


def test_svrl_for_one_file_and_for_many(folder: Path) -> None:
    code, out, _ = run("--format", "svrl", str(folder / "b-invalid.xml"))
    assert code == 1
    svrl = etree.fromstring(out.encode())
    assert svrl.tag == SVRL + "schematron-output"
    assert [f.get("id") for f in svrl.iter(SVRL + "failed-assert")] == ["PEPPOL-T111-B03001"]
    assert svrl.find(SVRL + "fired-rule") is not None
    code, out, _ = run("--format", "svrl", str(folder))
    reports = etree.fromstring(out.encode())
    assert len(reports) == 4
    assert all(r[0].tag == SVRL + "schematron-output" for r in reports)


def test_strict(tmp_path: Path) -> None:
    (tmp_path / "r.xml").write_text(PPD_UNDER_RE)
    assert run(str(tmp_path / "r.xml"))[0] == 0
    code, out, _ = run("--strict", str(tmp_path / "r.xml"))
    assert code == 1
    assert "PR-T111-R005" in out


def test_jobs_give_the_same_output_in_the_same_order(folder: Path) -> None:
    for i in range(20):
        (folder / f"m{i:02d}.xml").write_text(INVALID if i % 3 else FULL)
    single = run("--format", "json", str(folder))
    parallel = run("--format", "json", "--jobs", "2", str(folder))
    assert single == parallel
    assert single[0] == 1


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run()[0] == 2
    assert run("--format", "yaml", str(tmp_path))[0] == 2
    assert run("--jobs", "0", str(tmp_path))[0] == 2
    code, _out, err = run(str(tmp_path))  # a directory without XML files
    assert code == 2
    assert "no *.xml files" in err


def test_command_is_registered() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert "validate" in result.stdout
