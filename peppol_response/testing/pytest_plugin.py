"""pytest plugin: a local Peppol network as fixtures, for chain-test projects.

Installed with peppol-response (entry point ``pytest11``), so a project only writes tests::

    def test_direct_acceptance(peppol_network, seller, buyer):
        invoice = seller.send_invoice(to=buyer)
        buyer.reply(invoice, "AB")
        buyer.reply(invoice, "AP")
        assert seller.status(invoice).state.value == "AP"

    def test_npa_scenarios(peppol_network):
        report = peppol_network.run_scenario("scenarios/npa-5.1.1.toml")
        assert report.ok, report.to_text()

Fixtures:

* ``peppol_network`` (session): a started :class:`~peppol_response.testing.network.LocalNetwork`, its work
  directory under pytest's temporary directory, test keys cached in pytest's cache (``.pytest_cache``);
  stopped at the end of the session. With pytest-xdist each worker has its own network.
* ``seller``, ``buyer``, ``seller_without_responses``: its participants.
* ``peppol_network_options`` (session): keyword arguments for the network; override it in a
  ``conftest.py`` to change participants, trackers or anything else :class:`LocalNetwork` takes.

Options: ``--peppol-tracker-url URL`` (or ini ``peppol_tracker_url``): the trackers' database (a PostgreSQL
URL gives each participant a schema); ``--peppol-keep-network``: print where the network's files are (pytest
keeps the temporary directories of its last three runs).

Nothing starts unless a test asks for one of these fixtures.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # the plugin is loaded in every pytest run: import the network only when used
    from .network import LocalNetwork, Participant


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("peppol-response", "local Peppol network (peppol-response)")
    group.addoption("--peppol-tracker-url", default=None, metavar="URL",
                    help="database for the participants' trackers (default: SQLite files in the network's "
                         "work directory; a PostgreSQL URL gives each participant a schema of its own)")
    group.addoption("--peppol-keep-network", action="store_true", default=False,
                    help="print where the local network's files (PKI, stores, trackers, inboxes) are kept")
    parser.addini("peppol_tracker_url", "database for the local network's trackers (see --peppol-tracker-url)",
                  default=None)


@pytest.fixture(scope="session")
def peppol_network_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Keyword arguments for :class:`~peppol_response.testing.network.LocalNetwork`; override to customise."""
    url = request.config.getoption("--peppol-tracker-url") or request.config.getini("peppol_tracker_url")
    return {"tracker_url": url or None}


@pytest.fixture(scope="session")
def peppol_network(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                   peppol_network_options: dict[str, Any]) -> Iterator[LocalNetwork]:
    """A started local Peppol network for the whole session (see the module docstring)."""
    from .network import LocalNetwork
    from .pki import KeyCache

    options = dict(peppol_network_options)
    cache = getattr(request.config, "cache", None)  # None with -p no:cacheprovider
    if "key_cache" not in options and cache is not None:
        options["key_cache"] = KeyCache(Path(cache.mkdir("peppol-response-test-keys")))
    workdir = options.pop("workdir", None) or tmp_path_factory.mktemp("peppol-network")
    with LocalNetwork(workdir, keep=True, **options) as net:
        request.config.stash.setdefault(_WORKDIRS, []).append(net.workdir)
        yield net


_WORKDIRS = pytest.StashKey[list[Path]]()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if config.getoption("--peppol-keep-network"):
        for workdir in config.stash.get(_WORKDIRS, []):
            terminalreporter.write_line(f"peppol-response: the local network's files are in {workdir}")


@pytest.fixture
def seller(peppol_network: LocalNetwork) -> Participant:
    """The seller (C1): sends invoices, receives Invoice Responses into its tracker."""
    return peppol_network.participant("seller")


@pytest.fixture
def buyer(peppol_network: LocalNetwork) -> Participant:
    """The buyer (C4): receives invoices, answers them with Invoice Responses."""
    return peppol_network.participant("buyer")


@pytest.fixture
def seller_without_responses(peppol_network: LocalNetwork) -> Participant:
    """A seller that never registered the Invoice Response document type (answers to it are NotServiced)."""
    return peppol_network.participant("seller-without-responses")
