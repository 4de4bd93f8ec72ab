"""``peppol-response network up`` and ``network run``: the local Peppol network for chain tests.

Exit codes: ``up``: 0 after Ctrl-C (or SIGTERM), 2 when the network cannot start. ``run``: 0 every
expectation of every scenario met; 1 some failed; 2 usage (a scenario file that cannot be read or run as
written) or a network that cannot start.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click

from ..errors import ConfigError, NetworkError, PeppolResponseError, ScenarioError

__all__ = ["network", "print_network"]


def _start(workdir: Path | None, tracker_url: str | None, *, seller_responses: bool = True,
           keep: bool = False) -> Any:
    from ..testing.network import LocalNetwork

    try:
        return LocalNetwork(workdir, tracker_url=tracker_url, seller_receives_responses=seller_responses,
                            keep=keep or workdir is not None).start()
    except (NetworkError, ConfigError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


def print_network(net: Any, echo: Any = click.echo) -> None:
    """The endpoints and participants of a started network, for people."""
    d = net.describe()
    echo(f"  test PKI     {d['pki']['directory']}  (HTTPS clients trust {d['pki']['tls_ca']})")
    echo(f"  SML zone     {d['sml']['zone']}  (NAPTR records on DNS {d['sml']['dns']}, UDP)")
    echo(f"  SMP          {d['smp']['url']}  (signed ServiceMetadata)")
    echo("  access points")
    for ap in d["access_points"]:
        echo(f"    {ap['name']:<10} {ap['corner']}  seat {ap['seat']}  {ap['as4_url']}")
    echo("  participants")
    width = max(len(p["name"]) for p in d["participants"])
    for p in d["participants"]:
        receives = ("receives Invoice Responses" if p["receives_invoice_responses"] else
                    "does NOT receive Invoice Responses")
        if p["role"] == "buyer":
            receives = "receives invoices and credit notes"
        echo(f"    {p['name']:<{width}}  {p['id'].split('::')[-1]:<15} {p['legal_name']:<24} at {p['access_point']:<10}"
             f" {receives}")
        echo(f"    {'':<{width}}  tracker {p['tracker']}")


@click.group("network")
def network() -> None:
    """A complete local Peppol network on loopback: test PKI, SML/DNS, SMP, two access points, participants."""


@network.command("up")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the PKI, stores, trackers and inboxes go (kept). Default: a temporary folder, removed "
                   "when the network stops.")
@click.option("--tracker", "tracker_url", default=None, metavar="URL",
              help="Trackers' database: a PostgreSQL URL (a schema per participant) or a URL with {participant}. "
                   "Default: SQLite files in the work directory.")
@click.option("--no-seller-responses", is_flag=True,
              help="Do not register the Invoice Response type for the seller (answers to it are NotServiced).")
@click.option("--json", "as_json", is_flag=True, help="Print the endpoints and participants as JSON.")
def up(workdir: Path | None, tracker_url: str | None, no_seller_responses: bool, as_json: bool) -> None:
    """Start the network, print its endpoints and participants, and run until Ctrl-C.

    The same description is written to network.json in the work directory, for chain-test tools.
    """
    net = _start(workdir, tracker_url, seller_responses=not no_seller_responses)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        description = net.describe()
        (net.workdir / "network.json").write_text(json.dumps(description, indent=2) + "\n", "utf-8")
        if as_json:
            click.echo(json.dumps(description, indent=2))
        else:
            click.echo(f"peppol-response local network up in {net.started_in:.1f} s; work directory {net.workdir}")
            print_network(net)
            ap = net.participant("buyer").access_point
            click.echo(f"  described in {net.workdir / 'network.json'}")
            click.echo("  send as the buyer's access point, for example:")
            click.echo(f"    peppol-response send response.xml --pki {net.pki.directory} --seat {ap.seat} "
                       f"--smp-url {net.smp.url}")
        click.echo("ready; press Ctrl-C to stop", err=True)
        while not stop.wait(0.5):
            pass
    finally:
        net.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo("network stopped", err=True)


@network.command("run")
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the network's files go (kept). Default: a temporary folder, removed afterwards.")
@click.option("--tracker", "tracker_url", default=None, metavar="URL",
              help="Trackers' database (see 'network up --tracker'). Default: SQLite files.")
@click.option("--json", "as_json", is_flag=True, help="Print the reports as JSON.")
def run(scenarios: tuple[Path, ...], workdir: Path | None, tracker_url: str | None, as_json: bool) -> None:
    """Run scenario files (TOML or JSON; a folder stands for the scenario files in it) on a fresh network.

    Exit status: 0 every expectation met, 1 some failed, 2 a scenario that cannot be read or a network that
    cannot start.
    """
    from ..testing.scenario import load_scenarios

    try:
        loaded = load_scenarios(scenarios)
    except ScenarioError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    net = _start(workdir, tracker_url)
    reports = []
    try:
        if not as_json:
            click.echo(f"local network up in {net.started_in:.1f} s ({net.workdir}); "
                       f"running {len(loaded)} scenario(s)\n")
        for scenario in loaded:
            try:
                report = net.run_scenario(scenario)
            except PeppolResponseError as exc:
                click.echo(f"error: {scenario.source}: {exc}", err=True)
                sys.exit(2)
            reports.append(report)
            if not as_json:
                click.echo(report.to_text() + "\n")
    finally:
        net.close()
    failed = [r for r in reports if not r.ok]
    if as_json:
        click.echo(json.dumps({"ok": not failed, "scenarios": [r.to_dict() for r in reports]}, indent=2))
    else:
        click.echo(f"{len(reports) - len(failed)} of {len(reports)} scenario(s) passed"
                   + (": " + ", ".join(r.name for r in failed) + " failed" if failed else ""))
    sys.exit(1 if failed else 0)
