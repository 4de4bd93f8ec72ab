"""``peppol-response track``: record invoices, ingest responses, and ask where each invoice stands.

Every subcommand takes ``--db URL`` (default: ``sqlite:///peppol-response-tracker.db`` in the current
directory; also ``PEPPOL_RESPONSE_DB``) and prints a table, or JSON with ``--json``.
Exit codes: 0 ok, 1 something was refused or not found, 2 usage or I/O error.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from ..errors import NotFoundError, ParseError, PeppolResponseError
from ..process import State
from ..tracker import (
    DEFAULT_URL,
    InvoiceKey,
    InvoiceRecord,
    NewInvoice,
    Tracker,
    TransportAttempt,
    TransportEvidence,
    WorkingCalendar,
)

_DB = click.option("--db", "db", default=DEFAULT_URL, envvar="PEPPOL_RESPONSE_DB", show_default=True,
                   help="Database URL (sqlite:///file.db or postgresql+psycopg://...).")
_JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


def _date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _open(db: str) -> Tracker:
    try:
        return Tracker(db)
    except PeppolResponseError as exc:
        raise click.ClickException(str(exc)) from None


def _emit(data: Any, as_json: bool, table: list[list[str]] | None = None, headers: Sequence[str] = ()) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
        return
    rows = table or []
    if not rows:
        click.echo("(nothing)")
        return
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    click.echo("  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    click.echo("  ".join("-" * w for w in widths))
    for r in rows:
        click.echo("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def _s(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    return str(value)


_INVOICE_HEADERS = ("#", "invoice", "type", "issued", "seller", "buyer", "amount", "status", "since", "transport")


def _invoice_row(r: InvoiceRecord) -> list[str]:
    amount = "-" if r.amount is None else f"{r.amount} {r.currency or ''}".strip()
    return [str(r.pk), r.invoice_id, r.type_code, _s(r.issue_date), r.seller, r.buyer, amount,
            _s(r.status and r.status.value), _s(r.status_since), _s(r.transport_state and r.transport_state.value)]


def _key_options(f: Any) -> Any:
    for opt in reversed([
        click.option("--invoice", "pk", type=int, help="The tracker's invoice number (#)."),
        click.option("--seller", help="Seller endpoint, scheme:value."),
        click.option("--buyer", help="Buyer endpoint, scheme:value."),
        click.option("--id", "invoice_id", help="Invoice id (cbc:ID of the invoice)."),
        click.option("--type-code", default="380", show_default=True, help="Invoice type code (UNCL1001)."),
        click.option("--issue-date", callback=_date, help="Invoice issue date, when the id was used twice."),
    ]):
        f = opt(f)
    return f


def _ref(pk: int | None, seller: str | None, buyer: str | None, invoice_id: str | None, type_code: str,
         issue_date: dt.date | None) -> InvoiceKey | int:
    if pk is not None:
        return pk
    if not (seller and buyer and invoice_id):
        raise click.UsageError("name the invoice with --invoice N, or --seller, --buyer and --id")
    return InvoiceKey(seller, buyer, invoice_id, type_code, issue_date)


@click.group("track")
def track() -> None:
    """Track invoices and their Invoice Response statuses (AB ... PD) in a database."""


@track.command("record")
@_DB
@_JSON
@click.option("--xml", "xml_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Read the fields from a BIS Billing invoice or credit note (overrides nothing given below).")
@click.option("--seller", help="Seller endpoint, scheme:value (e.g. 0088:7300010000001).")
@click.option("--buyer", help="Buyer endpoint, scheme:value.")
@click.option("--id", "invoice_id", help="Invoice id.")
@click.option("--type-code", default="380", show_default=True)
@click.option("--issue-date", callback=_date)
@click.option("--amount")
@click.option("--currency")
@click.option("--due-date", callback=_date)
@click.option("--inbound", is_flag=True, help="We received this invoice (we send the responses).")
@click.option("--as4-message-id")
@click.option("--sbdh-instance-id")
@click.option("--transport-state", type=click.Choice(["queued", "sent", "receipted", "failed"]))
def record_cmd(db: str, as_json: bool, xml_file: Path | None, seller: str | None, buyer: str | None,
               invoice_id: str | None, type_code: str, issue_date: dt.date | None, amount: str | None,
               currency: str | None, due_date: dt.date | None, inbound: bool, as4_message_id: str | None,
               sbdh_instance_id: str | None, transport_state: str | None) -> None:
    """Record an invoice (sent, or with --inbound received)."""
    tracker = _open(db)
    try:
        if xml_file is not None:
            record = tracker.record_invoice_xml(
                xml_file.read_bytes(), direction="inbound" if inbound else "outbound",
                as4_message_id=as4_message_id, sbdh_instance_id=sbdh_instance_id, transport_state=transport_state)
        else:
            if not (seller and buyer and invoice_id and issue_date):
                raise click.UsageError("give --xml FILE, or --seller, --buyer, --id and --issue-date")
            record = tracker.record_invoice(NewInvoice(
                seller=seller, buyer=buyer, invoice_id=invoice_id, issue_date=issue_date, type_code=type_code,
                amount=amount, currency=currency, due_date=due_date, direction="inbound" if inbound else "outbound",
                as4_message_id=as4_message_id, sbdh_instance_id=sbdh_instance_id, transport_state=transport_state))
    except (ParseError, PeppolResponseError) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        tracker.close()
    _emit(record.to_dict(), as_json, [_invoice_row(record)], _INVOICE_HEADERS)


@track.command("ingest")
@_DB
@_JSON
@click.argument("files", nargs=-1, required=True, type=click.Path(allow_dash=True, dir_okay=False, path_type=Path))
@click.option("--as4-message-id", help="AS4 MessageId it came with (one file only).")
@click.option("--sbdh-instance-id", help="SBDH InstanceIdentifier (one file only).")
@click.option("--sender-ap", help="Seat id of the sending access point (one file only).")
def ingest_cmd(db: str, as_json: bool, files: tuple[Path, ...], as4_message_id: str | None,
               sbdh_instance_id: str | None, sender_ap: str | None) -> None:
    """Ingest received Invoice Responses (XML files, '-' for standard input)."""
    evidence = None
    if as4_message_id or sbdh_instance_id or sender_ap:
        if len(files) != 1:
            raise click.UsageError("transport evidence options apply to a single file")
        evidence = TransportEvidence(as4_message_id, sbdh_instance_id, None, sender_ap)
    tracker = _open(db)
    out: list[dict[str, Any]] = []
    rows = []
    refused = False
    try:
        for f in files:
            data = sys.stdin.buffer.read() if str(f) == "-" else f.read_bytes()
            try:
                r = tracker.ingest(data, evidence=evidence)
            except ParseError as exc:
                out.append({"file": str(f), "error": str(exc)})
                rows.append([str(f), "error", "-", "-", "-", str(exc)])
                refused = True
                continue
            out.append({"file": str(f), "outcome": r.outcome.value, "response_pk": r.response_pk,
                        "invoice_pk": r.invoice_pk, "status": r.state.value, "mark": r.mark.value, "rule": r.rule,
                        "stale": r.stale, "previous": r.previous and r.previous.value,
                        "current": r.current and r.current.value})
            change = f"{_s(r.previous and r.previous.value)} -> {_s(r.current and r.current.value)}"
            rows.append([str(f), r.outcome.value, r.state.value, r.mark.value + (" (stale)" if r.stale else ""),
                         _s(r.invoice_pk), change + (f" [{r.rule}]" if r.rule else "")])
    finally:
        tracker.close()
    _emit(out, as_json, rows, ("file", "outcome", "status", "mark", "invoice", "invoice status"))
    if refused:
        sys.exit(1)


def _lookup(db: str, ref: InvoiceKey | int) -> Any:
    tracker = _open(db)
    try:
        return tracker.status(ref)
    except NotFoundError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    except PeppolResponseError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        tracker.close()


@track.command("status")
@_DB
@_JSON
@_key_options
def status_cmd(db: str, as_json: bool, pk: int | None, seller: str | None, buyer: str | None,
               invoice_id: str | None, type_code: str, issue_date: dt.date | None) -> None:
    """Where one invoice stands: its current status, since when, and by which response."""
    st = _lookup(db, _ref(pk, seller, buyer, invoice_id, type_code, issue_date))
    cur = st.current
    data = st.invoice.to_dict() | {"current_response": None if cur is None else cur.to_dict(),
                                   "responses": len(st.history), "final": st.invoice.is_final}
    _emit(data, as_json, [_invoice_row(st.invoice)], _INVOICE_HEADERS)
    if not as_json and cur is not None:
        click.echo(f"\nset by response {cur.response_id} from {cur.sender}, issued {_s(cur.issued_at)}, "
                   f"received {_s(cur.received_at)}" + (" (final: no further response expected)"
                                                        if st.invoice.is_final else ""))


_HISTORY_HEADERS = ("#", "response", "dir", "status", "issued", "received", "mark", "rule", "stale", "AS4 message id",
                    "reasons")


_ATTEMPT_HEADERS = ("for", "AS4 message id", "try", "started", "HTTP", "outcome", "ebMS", "receipt / error")


def _attempt_row(a: TransportAttempt) -> list[str]:
    said = a.receipt_message_id or " ".join(p for p in (a.error_detail, a.error) if p) or "-"
    return ["invoice" if a.response_pk is None else f"response #{a.response_pk}", a.message_id, str(a.number),
            _s(a.started_at), _s(a.http_status), a.outcome, _s(a.error_code), said[:80]]


@track.command("history")
@_DB
@_JSON
@_key_options
def history_cmd(db: str, as_json: bool, pk: int | None, seller: str | None, buyer: str | None,
                invoice_id: str | None, type_code: str, issue_date: dt.date | None) -> None:
    """Every response of one invoice, in issue order, with marks and transport evidence; then every attempt
    to deliver the invoice (when we sent it) and the responses we sent for it."""
    st = _lookup(db, _ref(pk, seller, buyer, invoice_id, type_code, issue_date))
    rows = []
    for h in st.history:
        reasons = ",".join(c["code"] or "text" for c in h.clarifications) or "-"
        rows.append([str(h.pk), h.response_id, h.direction, h.state.value, _s(h.issued_at), _s(h.received_at),
                     h.mark.value, _s(h.rule), "yes" if h.stale else "", _s(h.evidence.as4_message_id), reasons])
    _emit(st.to_dict(), as_json, rows, _HISTORY_HEADERS)
    if not as_json and st.transport:
        click.echo("\ntransport attempts:")
        _emit(None, False, [_attempt_row(a) for a in st.transport], _ATTEMPT_HEADERS)


@track.command("list")
@_DB
@_JSON
@click.option("--status", type=click.Choice([s.value for s in State] + ["none"]), help="Current status.")
@click.option("--seller")
@click.option("--buyer")
@click.option("--from", "issued_from", callback=_date, help="Issued on or after (YYYY-MM-DD).")
@click.option("--to", "issued_to", callback=_date, help="Issued on or before.")
@click.option("--direction", type=click.Choice(["outbound", "inbound"]))
@click.option("--limit", default=100, show_default=True)
@click.option("--counts", is_flag=True, help="Print the number of invoices per status instead.")
def list_cmd(db: str, as_json: bool, status: str | None, seller: str | None, buyer: str | None,
             issued_from: dt.date | None, issued_to: dt.date | None, direction: str | None, limit: int,
             counts: bool) -> None:
    """List invoices by status, party and issue date (or count them per status)."""
    tracker = _open(db)
    try:
        if counts:
            c = tracker.counts(seller=seller, buyer=buyer, direction=direction)
            _emit(c, as_json, [[k, str(v)] for k, v in c.items()], ("status", "invoices"))
            return
        found = tracker.list_invoices(status=None if status in (None, "none") else status, no_status=status == "none",
                                      seller=seller, buyer=buyer, issued_from=issued_from, issued_to=issued_to,
                                      direction=direction, limit=limit)
    finally:
        tracker.close()
    _emit([r.to_dict() for r in found], as_json, [_invoice_row(r) for r in found], _INVOICE_HEADERS)


@track.command("overdue")
@_DB
@_JSON
@click.option("--days", default=3, show_default=True, help="Working days allowed for the first response (R006).")
@click.option("--uq-days", type=int, help="Also list invoices under query (UQ) for more than N days.")
@click.option("--holiday", "holidays", multiple=True, callback=lambda c, p, v: [_date(c, p, d) for d in v],
              help="A holiday (YYYY-MM-DD); repeat for several.")
@click.option("--weekend", default="5,6", show_default=True, help="Weekend weekdays, Monday=0.")
@click.option("--today", callback=_date, help="Judge as of this day (default: today, UTC).")
@click.option("--direction", type=click.Choice(["outbound", "inbound", "both"]), default="outbound",
              show_default=True)
def overdue_cmd(db: str, as_json: bool, days: int, uq_days: int | None, holidays: list[dt.date],
                weekend: str, today: dt.date | None, direction: str) -> None:
    """Invoices with no first response within N working days, or stuck under query."""
    try:
        wk = frozenset(int(x) for x in weekend.split(",") if x.strip())
    except ValueError:
        raise click.BadParameter("weekend is a comma-separated list of weekday numbers") from None
    tracker = _open(db)
    try:
        tracker.calendar = WorkingCalendar(wk, frozenset(holidays))
        found = tracker.overdue(today=today, days=days, uq_days=uq_days,
                                direction=None if direction == "both" else direction)
    except PeppolResponseError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        tracker.close()
    rows = [[*_invoice_row(o.invoice)[:6], o.reason, _s(o.rule), _s(o.due)] for o in found]
    _emit([o.to_dict() for o in found], as_json, rows, (*_INVOICE_HEADERS[:6], "reason", "rule", "due"))
