"""Scenarios: the shipped NPa and negative scenarios pass on the network, and the runner really checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from peppol_response.errors import ScenarioError
from peppol_response.resources import data_path
from peppol_response.testing.network import LocalNetwork
from peppol_response.testing.scenario import (
    Expect,
    load_scenario,
    load_scenarios,
    scenario_from_data,
    scenario_from_steps,
)

SCENARIOS = sorted(data_path("examples", "scenarios").glob("*.toml"))


def test_the_npa_and_negative_scenarios_are_shipped() -> None:
    names = {p.stem for p in SCENARIOS}
    assert {"npa-5.1.1-direct-acceptance", "npa-5.1.2-query-then-accept", "npa-5.2.4-po-mismatch-rejected",
            "npa-5.2.5-query-then-reject", "npa-5.2.10-duplicate-invoice", "partial-payments",
            "order-violation-ap-then-re", "stale-response", "not-serviced"} <= names


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_each_example_scenario_passes(peppol_network: LocalNetwork, path: Path) -> None:
    scenario = load_scenario(path)
    report = peppol_network.run_scenario(scenario)
    assert report.ok, report.to_text()
    assert len(report.steps) == len(scenario.steps) + 1  # the invoice, then each step
    assert report.steps[0].delivered
    data = report.to_dict()
    json.dumps(data)  # JSON-ready
    assert data["ok"] is True


def test_negative_scenarios_fail_the_way_they_should(peppol_network: LocalNetwork) -> None:
    """What the negative scenarios expect really happened (not just "no failure")."""
    order = peppol_network.run_scenario(data_path("examples", "scenarios", "order-violation-ap-then-re.toml"))
    refused, forced = order.steps[3], order.steps[4]
    assert (refused.outcome, refused.rule, refused.sent) == ("refused", "OP-BR111-R005", False)
    assert (forced.outcome, forced.mark, forced.rule, forced.status) == ("delivered", "ignored", "OP-BR111-R005", "AP")
    assert forced.receipted
    assert [(h["status"], h["mark"]) for h in order.final_history] == [
        ("AB", "accepted"), ("AP", "accepted"), ("RE", "ignored"), ("PD", "accepted")]

    stale = peppol_network.run_scenario(data_path("examples", "scenarios", "stale-response.toml"))
    assert stale.steps[1].outcome == "held"
    assert not stale.steps[1].sent
    assert (stale.steps[3].stale, stale.steps[3].mark, stale.final_status) == (True, "accepted", "AP")

    mute = peppol_network.run_scenario(data_path("examples", "scenarios", "not-serviced.toml"))
    assert (mute.steps[1].outcome, mute.steps[1].sent, mute.final_history) == ("not-serviced", False, [])


def test_short_form(peppol_network: LocalNetwork) -> None:
    report = peppol_network.run_scenario(["AB", "IP", "UQ", "AP", "PD+PPD", "PD"])
    assert report.ok, report.to_text()
    assert [s.status for s in report.steps] == ["none", "AB", "IP", "UQ", "AP", "PD+PPD", "PD"]
    assert all(s.valid for s in report.steps[1:])
    assert all(s.message_id and s.receipt_message_id and s.sbdh_instance_id for s in report.steps)
    assert report.final_status == "PD"


def test_unmet_expectations_fail_with_reasons(peppol_network: LocalNetwork) -> None:
    scenario = scenario_from_data({
        "name": "wrong on purpose",
        "step": [
            {"send": "AB", "expect": {"status": "AP", "mark": "ignored"}},
            {"send": "AP", "expect": {"refused": True}},
            {"send": "RE"},                                     # refused (R005) but not expected to be
            {"send": "PD", "expect": {"not_serviced": True}},
        ],
        "expect": {"status": "RE", "history": ["AB", "PD"]},
    })
    report = peppol_network.run_scenario(scenario)
    assert not report.ok
    s1, s2, s3, s4 = report.steps[1:]
    assert "expected status 'AP', got 'AB'" in s1.failures
    assert "expected mark 'ignored', got 'accepted'" in s1.failures
    assert s2.failures == ["expected the buyer's tracker to refuse it, but it was delivered"]
    assert s3.outcome == "refused"
    assert s3.failures[0].startswith("the buyer's tracker refused it ([OP-BR111-R005]")
    assert s4.failures == ["expected NotServiced before sending, but it was delivered"]
    assert "expected the seller's final status 'RE', got 'PD'" in report.failures
    assert any(f.startswith("expected the seller's history ['AB', 'PD']") for f in report.failures)
    text = report.to_text()
    assert "FAILED" in text
    assert "expected status 'AP', got 'AB'" in text


def test_a_held_step_never_released_fails(peppol_network: LocalNetwork) -> None:
    report = peppol_network.run_scenario([{"send": "AB", "hold": True, "expect": {"delivered": False}}])
    assert report.failures == ["step 1 was held and never released"]


def test_roles_are_chosen_by_name(peppol_network: LocalNetwork) -> None:
    """Any participant registered for invoices can be the buyer; here both sit at the same access point."""
    scenario = scenario_from_steps(["AB"], seller="seller", buyer="seller-without-responses")
    report = peppol_network.run_scenario(scenario)
    assert report.ok, report.to_text()
    assert report.buyer is not None
    assert report.buyer.startswith("seller-without-responses 0192:963852746")
    seat = peppol_network.seller.access_point.seat
    assert [s.sending_ap for s in report.steps] == [seat, seat]


# -- reading scenario files --------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "message"), [
    ({"step": []}, "at least one step"),
    ({"step": [{"send": "XX"}]}, "'XX' is not a status code"),
    ({"step": [{"send": "AB", "colour": "red"}]}, "unknown key(s) colour"),
    ({"step": [{"send": "AB", "release": 1}]}, "exactly one of"),
    ({"step": [{"send": "AB"}, {"release": 1}]}, "is not held"),
    ({"step": [{"release": 1}]}, "release names an earlier step"),
    ({"step": [{"send": "AB", "amount": "5"}]}, "'amount' is for PD only"),
    ({"step": [{"send": "AB", "expect": {"status": "XY"}}]}, "'XY' is not a status"),
    ({"step": [{"send": "AB", "expect": {"mark": "maybe"}}]}, "'maybe' is not a mark"),
    ({"step": [{"send": "AB", "expect": {"stale": "yes"}}]}, "must be bool"),
    ({"step": [{"send": "AB", "expect": {"history": ["AB"]}}]}, "unknown key(s) history"),
    ({"step": [{"send": "AB", "reasons": [["REF", "a", "b"]]}]}, "[code, text] pair"),
    ({"step": [{"resend_invoice": True, "force": True}]}, "only go with 'send'"),
    ({"step": ["AB"], "steps": ["AB"]}, "not both"),
    ({"step": ["AB"], "invoice": {"colour": 1}}, "in [invoice]"),
    ({"step": ["AB"], "expect": {"history": ["AB:maybe"]}}, "is not a mark"),
])
def test_bad_scenarios_are_refused_with_the_place(data: dict[str, object], message: str) -> None:
    with pytest.raises(ScenarioError) as err:
        scenario_from_data(data, source="bad.toml")
    assert message in str(err.value)
    assert str(err.value).startswith("bad.toml")


def test_error_names_step_and_key() -> None:
    with pytest.raises(ScenarioError) as err:
        scenario_from_data({"step": ["AB", {"send": "AP", "expect": {"stale": 1}}]}, source="s.toml")
    assert (err.value.source, err.value.step, err.value.key) == ("s.toml", 2, "stale")


def test_files_toml_json_and_folders(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps({"name": "j", "steps": ["AB", {"send": "PD+PPD"}]}))
    (tmp_path / "b.toml").write_text('[[step]]\nsend = "AP"\nexpect = { status = "AP" }\n')
    (tmp_path / "notes.txt").write_text("ignored")
    loaded = load_scenarios([tmp_path])
    assert [s.name for s in loaded] == ["j", "b"]
    assert loaded[0].steps[1].code == "PD"
    assert loaded[0].steps[1].amount == "half"
    assert loaded[1].steps[0].expect == Expect(status="AP")
    (tmp_path / "c.toml").write_text("[[step]\n")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(tmp_path / "c.toml")
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "missing.toml")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ScenarioError, match=r"no \.toml or \.json"):
        load_scenarios([empty])


def test_every_shipped_scenario_reads() -> None:
    for path in SCENARIOS:
        scenario = load_scenario(path)
        assert scenario.description
        assert scenario.steps
