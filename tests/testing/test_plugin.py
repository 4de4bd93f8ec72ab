"""The pytest plugin, as a chain-test project sees it: installed, found through its entry point, fixtures work."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

from peppol_response.testing.network import LocalNetwork, Participant
from peppol_response.testing.pki import KeyCache

PROJECT_TEST = '''
from peppol_response.testing.network import LocalNetwork


def test_chain(peppol_network, seller, buyer):
    assert isinstance(peppol_network, LocalNetwork)
    invoice = seller.send_invoice(to=buyer)
    buyer.reply(invoice, "AB")
    buyer.reply(invoice, "AP")
    assert seller.status(invoice).state.value == "AP"


def test_scenario(peppol_network, seller_without_responses):
    report = peppol_network.run_scenario(["AB", "RE"])
    assert report.ok, report.to_text()
    assert peppol_network.run_scenario(["AB"], ).final_status == "AB"
    assert not seller_without_responses.spec.receives_responses


def test_same_network(peppol_network, request):
    assert request.getfixturevalue("peppol_network") is peppol_network
'''


def test_registered_as_a_pytest11_entry_point() -> None:
    found = [e for e in importlib.metadata.entry_points(group="pytest11") if e.value.startswith("peppol_response")]
    assert [e.value for e in found] == ["peppol_response.testing.pytest_plugin"]


def test_fixtures_in_our_own_suite(peppol_network: LocalNetwork, seller: Participant, buyer: Participant) -> None:
    assert seller is peppol_network.seller
    assert buyer is peppol_network.buyer
    assert peppol_network.workdir.is_dir()


def test_a_chain_test_project_uses_the_plugin(tmp_path: Path, key_cache: KeyCache) -> None:
    project = tmp_path / "chain-tests"
    project.mkdir()
    (project / "test_chain.py").write_text(PROJECT_TEST)
    env = {**os.environ, "PEPPOL_RESPONSE_KEY_CACHE": str(key_cache.directory)}
    env.pop("PYTEST_ADDOPTS", None)
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
                           "-W", "error::pytest.PytestUnraisableExceptionWarning", "--peppol-keep-network"],
                          cwd=project, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout
    assert "the local network's files are in" in done.stdout
