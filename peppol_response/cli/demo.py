"""``peppol-response demo``: the main job, end to end, on embedded defaults.

It starts a complete local Peppol network (test PKI, SML over a local DNS responder, SMP over HTTPS, two
access points, a seller and a buyer, SQLite trackers), sends an invoice from the seller to the buyer, walks
the buyer's statuses back to the seller, and shows after each step what the seller's tracker says and how
the response travelled. A first short section builds and validates one Invoice Response per status code
(``--documents-only`` shows only that section, in full).

Exit codes: 0 every step did what it should; 1 a step did not; 2 usage, I/O, or a network that cannot start.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from ..errors import LocalOrderError, NetworkError, PeppolResponseError
from .documents import NOT_TRANSPORT, demo_workdir, write_examples

__all__ = ["demo"]


@dataclass
class _Chain:
    echo: Callable[[str], None]
    failures: list[str] = field(default_factory=list)
    delivered: int = 0
    refused: int = 0
    ignored: int = 0
    stale: int = 0
    validation: dict[str, int] = field(default_factory=lambda: {"valid": 0, "invalid": 0})
    clock: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
                               - dt.timedelta(minutes=15))

    def issued(self) -> dt.datetime:
        """The next issue time: a minute after the previous one, starting a quarter of an hour ago."""
        self.clock += dt.timedelta(minutes=1)
        return self.clock

    def expect(self, what: str, got: object, want: object) -> None:
        if got != want:
            self.failures.append(f"{what}: expected {want}, got {got}")
            self.echo(f"      !! {what}: expected {want}, got {got}")


def _section(echo: Callable[[str], None], number: int, title: str) -> None:
    echo(f"\n== {number}. {title}")


def _documents(workdir: Path, chain: _Chain) -> None:
    """One response per example, validated and written: the short form of the document-level demo."""
    how, responses, written = write_examples(workdir)
    chain.echo(f"  built with peppol_response.reply; checked with {how}")
    for w in written:
        example = w.example
        if not w.valid:
            chain.failures.append(f"{example.file_name} is not valid: {'; '.join(w.findings)}")
        chain.echo(f"  {example.response.code.value}  {example.file_name:<34} {'valid' if w.valid else 'NOT VALID'}  "
                   f"{example.description}")
    chain.echo(f"  written to {responses}; 'peppol-response show FILE' explains one, "
               "'peppol-response demo --documents-only' shows them all")


def _short(message_id: str | None) -> str:
    return message_id or "-"


def _verdict(delivery: Any) -> str:
    v = None if delivery is None else delivery.validation
    if v is None:
        return "not validated"
    if v.get("valid"):
        return "valid (T111 rules)"
    rules = sorted({f.get("rule") or "?" for f in v.get("findings", [])})
    return "NOT VALID (" + ", ".join(rules[:4]) + ")"


def _travel(chain: _Chain, sent: Any, net: Any) -> None:
    """How a delivered response travelled, as the seller's side recorded it."""
    seller_ap = net.seller.access_point
    buyer_ap = net.buyer.access_point
    echo = chain.echo
    entry = sent.seller_entry
    echo(f"      AS4 {_short(sent.message_id)}  from {buyer_ap.name} ({buyer_ap.seat})")
    echo(f"      receipt {_short(sent.receipt_message_id)}  signed by {seller_ap.name} ({seller_ap.seat})")
    echo(f"      SBDH {_short(sent.sbdh_instance_id)}; at the seller's AP: {_verdict(sent.delivery)}; "
         f"{sent.timings.get('total', 0):.0f} ms end to end")
    if sent.delivery is not None and sent.delivery.validation is not None:
        chain.validation["valid" if sent.delivery.validation.get("valid") else "invalid"] += 1
    if entry is None:
        chain.failures.append(f"{sent.state.value}: the seller's tracker has no entry for {sent.message_id}")
        return
    chain.expect("the seller's tracker evidence (AS4 MessageId)", entry.evidence.as4_message_id, sent.message_id)
    chain.expect("the seller's tracker evidence (SBDH InstanceIdentifier)", entry.evidence.sbdh_instance_id,
                 sent.sbdh_instance_id)
    chain.expect("the seller's tracker evidence (sending AP)", entry.evidence.sender_ap, buyer_ap.seat)
    if sent.recorded is not None:
        tries = net.buyer.tracker.transport_history(sent.recorded)
        chain.expect("the buyer's transport history (last attempt)", tries[-1].outcome if tries else None,
                     "receipted")


def _status_line(status: Any) -> str:
    state = status.state
    if state is None:
        return "no status yet"
    since = status.since.strftime("%H:%M:%S") if status.since else "?"
    final = " (final)" if state.is_final else ""
    return f"{state.value}{final} since {since} UTC, {len(status.history)} response(s) in its history"


def _reply(chain: _Chain, net: Any, invoice: Any, code: str, what: str, *, want: str, mark: str = "accepted",
           force: bool = False, **options: Any) -> Any:
    echo = chain.echo
    echo(f"  {code:<3} {what}" + ("   [sent anyway: forced]" if force else ""))
    sent = net.buyer.reply(invoice, code, force=force, issued_at=chain.issued(), **options)
    if not sent.delivered:
        chain.failures.append(f"{code}: not delivered: {sent.error}")
        echo(f"      !! not delivered: {sent.error}")
        return sent
    chain.delivered += 1
    _travel(chain, sent, net)
    entry = sent.seller_entry
    got_mark = entry.mark.value if entry is not None else None
    rule = f" under {entry.rule}" if entry is not None and entry.rule else ""
    if got_mark == "ignored":
        chain.ignored += 1
    if entry is not None and entry.stale:
        chain.stale += 1
    echo(f"      seller's tracker: {_status_line(sent.seller_status)}; this response {got_mark}{rule}")
    chain.expect(f"{code}: the seller's status", sent.seller_status.state.value if sent.seller_status else None, want)
    chain.expect(f"{code}: the mark of the response", got_mark, mark)
    return sent


def _history(chain: _Chain, net: Any, invoice: Any) -> None:
    status = net.seller.status(invoice)
    for i, h in enumerate(status.history, start=1):
        ev = h.evidence
        rule = f" {h.rule}" if h.rule else ""
        chain.echo(f"  {i}. {h.state.value:<7} {h.mark.value + rule:<24} issued {h.issued_at:%Y-%m-%d %H:%M:%S} UTC, "
                   f"received {h.received_at:%H:%M:%S}" + ("  [stale]" if h.stale else ""))
        chain.echo(f"     AS4 {ev.as4_message_id} (sent by {ev.sender_ap}), SBDH {ev.sbdh_instance_id}")


def _chain(workdir: Path, tracker_url: str | None, chain: _Chain, started: float) -> None:
    from ..testing.network import LocalNetwork
    from .network import print_network

    echo = chain.echo
    _section(echo, 2, "A local Peppol network on this machine (real HTTPS, real signatures, real databases)")
    with LocalNetwork(workdir / "network", tracker_url=tracker_url, keep=True) as net:
        echo(f"  started in {net.started_in:.1f} s")
        print_network(net, echo)

        _section(echo, 3, "The seller sends an invoice to the buyer")
        invoice = net.seller.send_invoice(to=net.buyer, lines=[("Office chairs", 10, "249.00"),
                                                               ("Standing desks", 2, "659.00")],
                                          currency="EUR", note="Order PO-2026-0441")
        inv_status = net.seller.status(invoice)
        echo(f"  invoice {invoice.key.invoice_id} (type {invoice.key.type_code}, issued {invoice.key.issue_date}), "
             f"{invoice.summary.payable_amount} {invoice.summary.currency} due, "
             f"{net.seller.endpoint} -> {net.buyer.endpoint}")
        echo(f"  discovery: NAPTR for the buyer in {net.zone} -> SMP -> {net.buyer.access_point.url}")
        echo(f"  AS4 {_short(invoice.message_id)}  from {net.seller.access_point.name}")
        echo(f"  receipt {_short(invoice.receipt_message_id)}  signed by {net.buyer.access_point.name}")
        echo(f"  SBDH {_short(invoice.sbdh_instance_id)}; {invoice.timings.get('total', 0):.0f} ms end to end")
        if not invoice.delivered:
            chain.failures.append(f"the invoice was not delivered: {invoice.error}")
            echo(f"  !! not delivered: {invoice.error}")
            return
        transport = inv_status.invoice.transport_state
        tries = [f"{a.number}: {a.outcome} (HTTP {a.http_status or '-'})" for a in inv_status.transport]
        echo(f"  seller's tracker: transport {transport.value if transport else '?'} (an AS4 receipt: the buyer's "
             f"access point has it), business status: {_status_line(inv_status)}")
        echo(f"  seller's transport history: attempt {'; '.join(tries) or 'none'}")
        echo(f"  buyer's tracker: received, {_status_line(net.buyer.status(invoice))}")
        chain.expect("the seller's transport state", transport.value if transport else None, "receipted")
        chain.expect("the seller's last attempt", inv_status.transport[-1].outcome if tries else None, "receipted")

        _section(echo, 4, "The buyer answers; each status travels back through both access points")
        _reply(chain, net, invoice, "AB", "acknowledged: it arrived and was handed to processing", want="AB")
        _reply(chain, net, invoice, "IP", "in process", want="IP")
        _reply(chain, net, invoice, "UQ", "under query: the order number does not match", want="UQ",
               reasons=[("REF", "PO-2026-0441 does not match our order")],
               actions=[("PIN", "Send the delivery note")])
        _reply(chain, net, invoice, "AP", "accepted (the seller answered out of band)", want="AP")

        _section(echo, 5, "Out of order: refused before sending, ignored when sent anyway")
        try:
            net.buyer.reply(invoice, "RE", reasons=[("QUA", "Two chairs damaged")], issued_at=chain.issued())
        except LocalOrderError as exc:
            chain.refused += 1
            echo(f"  RE  refused by the buyer's own tracker, nothing sent: {exc}")
            chain.expect("the refusal's rule", exc.rule, "OP-BR111-R005")
        else:
            chain.failures.append("RE after AP was not refused by the buyer's tracker")
        _reply(chain, net, invoice, "RE", "rejected after approval, by a buyer system that ignores the rules",
               want="AP", mark="ignored", force=True, reasons=[("QUA", "Two chairs damaged")])
        echo("      (the BIS lets the seller ignore it: kept in the history, never counted)")

        _section(echo, 6, "Payment in steps")
        half = (invoice.summary.payable_amount / 2).quantize(invoice.summary.payable_amount)
        _reply(chain, net, invoice, "PD", f"partially paid: {half} {invoice.summary.currency} (PD with PPD)",
               want="PD+PPD", amount=str(half))
        _reply(chain, net, invoice, "PD", "paid in full", want="PD")

        _section(echo, 7, "Before sending: can the seller receive Invoice Responses at all?")
        other = net.participant("seller-without-responses")
        second = other.send_invoice(to=net.buyer)
        echo(f"  {other.name} ({other.endpoint}) sent invoice {second.key.invoice_id}: delivered "
             f"{'yes' if second.delivered else 'NO'}")
        answer = net.buyer.reply(second, "AB", issued_at=chain.issued())
        if answer.not_serviced:
            echo(f"  AB  not sent: NotServiced. {other.endpoint} has no SMP entry for the Invoice Response document "
                 "type,")
            echo("      found out before anything was stored or sent; the buyer's tracker still has no status for it "
                 f"({_status_line(net.buyer.status(second))})")
        else:
            chain.failures.append("the answer to a seller without Invoice Response registration was not NotServiced")

        _section(echo, 8, f"The seller's history of {invoice.key.invoice_id} (issue order, with transport evidence)")
        _history(chain, net, invoice)
        final = net.seller.status(invoice)

        _section(echo, 9, "Summary")
        echo(f"  invoice {invoice.key.invoice_id}: sent over AS4, receipted by {net.buyer.access_point.name} "
             f"({net.buyer.access_point.seat}), recorded by both trackers")
        echo(f"  {chain.delivered} Invoice Responses delivered over AS4, each with a verified receipt, "
             f"{chain.validation['valid']} valid at the seller's access point,")
        echo("    each in the seller's history with its AS4 MessageId, SBDH InstanceIdentifier and sending seat")
        echo(f"  {chain.refused} refused by the buyer's tracker before sending, {chain.ignored} sent anyway and "
             "ignored by the seller's tracker,")
        echo("    1 not sent because the seller is not registered for Invoice Responses (NotServiced)")
        echo(f"  the seller's tracker says: {_status_line(final)}")
        chain.expect("the final status", final.state.value if final.state else None, "PD")
        echo(f"  network up in {net.started_in:.1f} s; whole demo {time.perf_counter() - started:.1f} s")
        echo(f"  databases, stores and inboxes in {net.workdir}")


@click.command("demo")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path),
              help="Where to write the files (default: a new temporary folder, kept).")
@click.option("--documents-only", is_flag=True,
              help="Only build, validate and show an Invoice Response per status code (no network).")
@click.option("--tracker", "tracker_url", default=None, metavar="URL",
              help="The trackers' database, e.g. postgresql+psycopg://user@host/db (a schema per participant). "
                   "Default: SQLite files in the work directory.")
@click.pass_context
def demo(ctx: click.Context, workdir: Path | None, documents_only: bool, tracker_url: str | None) -> None:
    """The main job on embedded defaults: a complete local Peppol network, an invoice, its statuses back.

    Starts a test PKI, SML (local DNS) and SMP, two access points, a seller and a buyer with SQLite trackers,
    all on loopback; sends an invoice and walks AB, IP, UQ, AP, a partial and a full PD back to the seller,
    showing what the seller's tracker says after each step and how each message travelled.
    """
    from .documents import demo as documents_demo

    if documents_only:
        ctx.invoke(documents_demo, workdir=workdir)
        return
    started = time.perf_counter()
    workdir = demo_workdir(workdir)
    echo = click.echo
    echo(f"peppol-response demo: the whole chain on this machine ({dt.date.today()}); files in {workdir}")
    echo(NOT_TRANSPORT)
    chain = _Chain(echo)
    _section(echo, 1, "Documents: one Invoice Response per status code, built and validated")
    _documents(workdir, chain)
    try:
        _chain(workdir, tracker_url, chain, started)
    except NetworkError as exc:
        echo(f"error: {exc}", err=True)
        sys.exit(2)
    except PeppolResponseError as exc:
        chain.failures.append(f"{type(exc).__name__}: {exc}")
    if chain.failures:
        for failure in chain.failures:
            echo(f"FAILED: {failure}", err=True)
        sys.exit(1)
    echo(f"\ndemo finished: every step passed; files in {workdir}")
