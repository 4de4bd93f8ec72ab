"""``peppol-response build``, ``show`` and ``demo``: Invoice Responses on the command line.

Exit codes (as everywhere in the CLI): 0 ok; 1 the document is not acceptable (the builder refuses it,
naming the official rule, or a file is not a valid Invoice Response); 2 usage or I/O error (including an
invoice given to ``--reply-to`` that cannot be read).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, NoReturn

import click

from ..codes import DocumentTypeCode, ResponseCode, StatusReason
from ..errors import BuildError, CodeError, ParseError
from ..model import Clarification, Condition, Contact, DocumentReference, EndpointId, InvoiceResponse, Party
from ..ubl import parse

__all__ = ["DEMO_STEPS", "DemoContext", "build", "demo", "describe", "show"]

NOT_TRANSPORT: Final = (
    "An Invoice Response is the buyer's business status of an invoice (or the seller's, for a self-billed one): "
    "it is neither an AS4 receipt (transport) nor a Message Level Response (technical validation)."
)


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------


def _refuse(exc: BuildError | CodeError) -> NoReturn:
    """Exit 1 with the builder's reason (a BuildError's message starts with the official rule id)."""
    click.echo(f"error: not an acceptable Invoice Response: {exc}", err=True)
    sys.exit(1)


def _io_error(path: Path, exc: OSError) -> NoReturn:
    """Exit 2: a file could not be read or written."""
    click.echo(f"error: {path}: {exc.strerror or exc}", err=True)
    sys.exit(2)


def _date_option(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        if len(value) != 10 or not value.isascii():
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", ctx=ctx, param=param) from None


def _time_option(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.time | None:
    if value is None:
        return None
    try:
        return dt.time.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a time (hh:mm:ss, optionally +hh:mm)", ctx=ctx,
                                 param=param) from None


def _code_and_text(spec: str) -> tuple[str | None, str | None]:
    """``CODE``, ``CODE=TEXT`` or ``=TEXT`` (text only)."""
    code, sep, text = spec.partition("=")
    code = code.strip()
    return (code or None), (text if sep else None)


def _clarification_specs(values: tuple[str, ...]) -> list[tuple[str | None, str | None]]:
    out = []
    for value in values:
        code, text = _code_and_text(value)
        if code is None and not text:
            raise click.BadParameter(f"{value!r}: give CODE, CODE=TEXT or =TEXT")
        out.append((code, text))
    return out


def _condition_specs(values: tuple[str, ...]) -> list[tuple[str, str | None]]:
    out = []
    for value in values:
        attribute, sep, text = value.partition("=")
        if not attribute.strip():
            raise click.BadParameter(f"{value!r}: give ATTRIBUTE=VALUE, e.g. BT-13=PO-4711")
        out.append((attribute.strip(), text if sep else None))
    return out


# --------------------------------------------------------------------------------------------------
# build
# --------------------------------------------------------------------------------------------------


@click.command("build")
@click.argument("status", metavar="STATUS")
@click.option("--reply-to", "reply_to_file", type=click.Path(dir_okay=False, path_type=Path),
              help="The invoice or credit note (UBL, optionally in SBDH) to answer; parties and reference come "
              "from it.")
@click.option("--sender", help="Sender's electronic address SCHEME:VALUE (with --reply-to: on another's behalf).")
@click.option("--sender-name", help="Sender's legal name.")
@click.option("--receiver", help="Receiver's electronic address SCHEME:VALUE (the invoice's issuer).")
@click.option("--receiver-name", help="Receiver's legal name.")
@click.option("--invoice-id", help="Number of the invoice answered (without --reply-to).")
@click.option("--invoice-date", callback=_date_option, help="Issue date of the invoice answered, YYYY-MM-DD.")
@click.option("--type-code", help="Type code of the document answered (UNCL1001; default 380).")
@click.option("--reason", "reasons", multiple=True, metavar="CODE[=TEXT]",
              help="A reason (OPStatusReason: REF, LEG, PRI, ...); '=TEXT' alone for text only. Repeatable.")
@click.option("--action", "actions", multiple=True, metavar="CODE[=TEXT]",
              help="An action asked of the issuer (OPStatusAction: NIN, PIN, CNF, ...). Repeatable.")
@click.option("--condition", "conditions", multiple=True, metavar="ATTR=VALUE",
              help="A detail proposed as correct, e.g. BT-13=PO-4711 (attached to the first clarification).")
@click.option("--note", help="A free-text note.")
@click.option("--effective-date", callback=_date_option, help="Date the status became effective, YYYY-MM-DD.")
@click.option("--id", "response_id", help="The response's ID (default: a fresh UUID).")
@click.option("--issue-date", callback=_date_option, help="The response's issue date (default: today, with the time).")
@click.option("--issue-time", callback=_time_option, help="The response's issue time, hh:mm:ss[+hh:mm].")
@click.option("--contact-name", help="Contact person at the sender.")
@click.option("--contact-phone", help="Contact telephone at the sender.")
@click.option("--contact-email", help="Contact e-mail at the sender.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the XML here instead of standard output.")
def build(
    status: str,
    reply_to_file: Path | None,
    sender: str | None,
    sender_name: str | None,
    receiver: str | None,
    receiver_name: str | None,
    invoice_id: str | None,
    invoice_date: dt.date | None,
    type_code: str | None,
    reasons: tuple[str, ...],
    actions: tuple[str, ...],
    conditions: tuple[str, ...],
    note: str | None,
    effective_date: dt.date | None,
    response_id: str | None,
    issue_date: dt.date | None,
    issue_time: dt.time | None,
    contact_name: str | None,
    contact_phone: str | None,
    contact_email: str | None,
    output: Path | None,
) -> None:
    """Build an Invoice Response with STATUS (AB, IP, UQ, CA, RE, AP or PD).

    Either answer an invoice file (--reply-to INVOICE.xml) or give the parties and the invoice reference
    (--sender, --sender-name, --receiver, --receiver-name, --invoice-id). Refused (exit 1, naming the
    official rule) when the official Peppol rules would reject the response, e.g. RE without a reason code.
    """
    from ..invoice import read_invoice
    from ..reply import build_response, reply_to

    reason_specs = _clarification_specs(reasons)
    action_specs = _clarification_specs(actions)
    condition_specs = _condition_specs(conditions)
    try:
        code = ResponseCode(status.strip().upper())
        contact = None
        if contact_name or contact_phone or contact_email:
            contact = Contact(contact_name, contact_phone, contact_email)
        common: dict[str, Any] = {
            "reasons": reason_specs,
            "actions": action_specs,
            "conditions": condition_specs,
            "note": note,
            "effective_date": effective_date,
            "issued_on": issue_date,
            "issue_time": issue_time,
            "response_id": response_id,
        }
        if reply_to_file is not None:
            if invoice_id or invoice_date or type_code:
                raise click.UsageError("--invoice-id, --invoice-date and --type-code come from the --reply-to file")
            try:
                summary = read_invoice(reply_to_file.read_bytes())
            except OSError as exc:
                _io_error(reply_to_file, exc)
            except ParseError as exc:
                click.echo(f"error: {reply_to_file} cannot be read as an invoice or credit note: {exc}", err=True)
                sys.exit(2)
            sender_party = _override_party("sender", sender, sender_name, contact)
            receiver_party = _override_party("receiver", receiver, receiver_name, None)
            response = reply_to(summary, code, sender=sender_party, receiver=receiver_party, contact=contact,
                                **common)
        else:
            missing = [name for name, value in (("--sender", sender), ("--sender-name", sender_name),
                                                ("--receiver", receiver), ("--receiver-name", receiver_name),
                                                ("--invoice-id", invoice_id)) if not value]
            if missing:
                raise click.UsageError(f"without --reply-to, give {', '.join(missing)}")
            response = build_response(
                code,
                sender=Party(EndpointId.parse(sender or ""), sender_name or "", None, contact),
                receiver=Party(EndpointId.parse(receiver or ""), receiver_name or ""),
                document=DocumentReference(invoice_id or "", DocumentTypeCode(type_code or "380"), invoice_date),
                **common,
            )
    except (BuildError, CodeError) as exc:
        _refuse(exc)
    xml = response.to_xml()
    if output is None:
        sys.stdout.buffer.write(xml)
        sys.stdout.flush()
        return
    try:
        output.write_bytes(xml)
    except OSError as exc:
        _io_error(output, exc)
    click.echo(f"wrote {response.code} response {response.id} to {output}", err=True)


def _override_party(role: str, endpoint: str | None, name: str | None, contact: Contact | None) -> Party | None:
    if endpoint is None and name is None:
        return None
    if endpoint is None or name is None:
        raise click.UsageError(f"give both --{role} and --{role}-name to answer on another party's behalf")
    return Party(EndpointId.parse(endpoint), name, None, contact)


# --------------------------------------------------------------------------------------------------
# show
# --------------------------------------------------------------------------------------------------


def _clarification_line(c: Clarification) -> str:
    if c.code is None:
        head = "text"
    else:
        kind = "reason" if isinstance(c.code, StatusReason) else "action"
        head = f"{kind} {c.code.value} ({c.code.label})"
    return f"{head}: {c.reason}" if c.reason is not None else head


def _condition_line(k: Condition) -> str:
    return f"{k.attribute_id} = {k.description}" if k.description is not None else k.attribute_id


def _party_line(p: Party) -> str:
    parts = [p.name, str(p.endpoint)]
    if p.identifier is not None:
        parts.append(f"id {p.identifier}")
    return ", ".join(parts)


def _problem(response: InvoiceResponse) -> BuildError | None:
    try:
        response.check()
    except BuildError as exc:
        return exc
    return None


def describe(response: InvoiceResponse) -> str:
    """A readable summary of a response (what ``peppol-response show`` prints)."""
    r = response
    when = r.issue_date.isoformat() + ("" if r.issue_time is None else f" {r.issue_time.isoformat()}")
    d = r.document
    lines = [
        f"Invoice Response {r.id}, issued {when}",
        f"  status     {r.code.value}  {r.code.label}: {r.code.meaning}" + ("  [final]" if r.is_final else ""),
        f"  answers    {d.id}" + ("" if d.issue_date is None else f" of {d.issue_date.isoformat()}")
        + f", type {d.type_code} ({d.type_code.meaning})",
        f"  from       {_party_line(r.sender)}",
    ]
    c = r.sender.contact
    if c is not None:
        lines.append("             contact: " + ", ".join(x for x in (c.name, c.telephone, c.email) if x))
    lines.append(f"  to         {_party_line(r.receiver)}")
    if r.issuer_party is not None:
        lines.append(f"  seller     {r.issuer_party.name}"
                     + ("" if r.issuer_party.identifier is None else f", id {r.issuer_party.identifier}"))
    if r.recipient_party is not None:
        lines.append(f"  buyer      {r.recipient_party.name}"
                     + ("" if r.recipient_party.identifier is None else f", id {r.recipient_party.identifier}"))
    if r.effective_date is not None:
        lines.append(f"  effective  {r.effective_date.isoformat()}")
    for i, k in enumerate(r.clarifications, start=1):
        lines.append(f"  clarif. {i}  {_clarification_line(k)}")
        if k.code is not None:
            lines.append(f"             meaning: {k.code.meaning}")
        lines.extend(f"             proposed: {_condition_line(cond)}" for cond in k.conditions)
    if r.note is not None:
        lines.append(f"  note       {r.note}")
    profile = "Billing with Response" if r.profile_id.strip() == "urn:peppol:bis:billing_with_response" else (
        "BIS Invoice Response 3")
    lines.append(f"  process    {profile} ({r.profile_id.strip()})")
    return "\n".join(lines)


def _json_view(response: InvoiceResponse, problem: BuildError | None) -> dict[str, Any]:
    data = response.to_dict()
    return {
        "document": "Invoice Response",
        "about": NOT_TRANSPORT,
        "status": {"code": response.code.value, "name": response.code.label, "meaning": response.code.meaning,
                   "final": response.is_final, "partial_payment": response.is_partial_payment},
        "document_type": {"code": str(response.document.type_code), "name": response.document.type_code.meaning},
        "clarification_meanings": [
            None if c.code is None else {"code": c.code.value, "list": c.code.list_id().value, "name": c.code.label,
                                         "meaning": c.code.meaning}
            for c in response.clarifications
        ],
        "acceptable": problem is None,
        "problem": None if problem is None else {"rule": problem.rule, "message": str(problem)},
        "response": data,
    }


@click.command("show")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def show(file: Path, fmt: str) -> None:
    """Show an Invoice Response (FILE, or - for standard input): status, invoice, parties, clarifications.

    Exit 1 when FILE is not an acceptable Invoice Response (with the line and path of the fault).
    """
    try:
        data = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
    except OSError as exc:
        _io_error(file, exc)
    try:
        response = parse(data)
    except ParseError as exc:
        where = ", ".join(x for x in (f"line {exc.line}" if exc.line else "", exc.path or "") if x)
        if fmt == "json":
            click.echo(json.dumps({"document": None, "acceptable": False,
                                   "problem": {"message": exc.reason, "line": exc.line, "path": exc.path}},
                                  indent=2))
        click.echo(f"error: {file} is not an acceptable Invoice Response: {exc.reason}"
                   + (f" ({where})" if where else ""), err=True)
        sys.exit(1)
    problem = _problem(response)
    if fmt == "json":
        click.echo(json.dumps(_json_view(response, problem), indent=2, ensure_ascii=False))
    else:
        click.echo(describe(response))
        click.echo(f"\n{NOT_TRANSPORT}")
    if problem is not None:
        click.echo(f"error: the official rules reject this response: {problem}", err=True)
        sys.exit(1)


# --------------------------------------------------------------------------------------------------
# demo
# --------------------------------------------------------------------------------------------------


@dataclass
class DemoContext:
    """What the demo's steps share: where files go, how to print, and what each step found."""

    workdir: Path
    echo: Callable[[str], None]
    failures: list[str] = field(default_factory=list)
    artefacts: dict[str, Any] = field(default_factory=dict)


def _validator() -> tuple[str, Callable[[bytes], tuple[bool, list[str]]]]:
    """The validation the demo can run: the official-artefact validator when it is installed, else a re-parse."""
    official: Callable[..., Any] | None
    try:
        from .. import validation

        official = validation.validate
    except ImportError:
        official = None
    if official is not None:

        def run_official(xml: bytes) -> tuple[bool, list[str]]:
            report = official(xml)
            findings = [f"{getattr(f, 'severity', '?')} {getattr(f, 'rule', '?')}: {getattr(f, 'message', f)}"
                        for f in getattr(report, "findings", ())]
            return bool(report.valid), findings

        return "peppol_response.validation.validate (official T111 rules)", run_official

    def run_fallback(xml: bytes) -> tuple[bool, list[str]]:
        try:
            parse(xml).check()
        except (ParseError, BuildError) as exc:
            return False, [str(exc)]
        return True, []

    return ("re-parse and InvoiceResponse.check() (the official-artefact validator, "
            "peppol_response.validation, is not available in this build)"), run_fallback


@dataclass(frozen=True)
class WrittenExample:
    """One example response as the demos write it: the example, its file and the validation verdict."""

    example: Any
    path: Path
    valid: bool
    findings: list[str]


def write_examples(workdir: Path) -> tuple[str, Path, list[WrittenExample]]:
    """Write the example invoices and one validated response per example under ``workdir``.

    Returns how the responses were checked, the responses folder and each response's verdict.
    """
    from ..examples import EXAMPLE_INVOICES, example_invoice, example_responses

    invoices, responses = workdir / "invoices", workdir / "responses"
    invoices.mkdir(parents=True, exist_ok=True)
    responses.mkdir(parents=True, exist_ok=True)
    for file_name in EXAMPLE_INVOICES.values():
        (invoices / file_name).write_bytes(example_invoice(file_name))
    how, validate = _validator()
    written = []
    for example in example_responses():
        xml = example.response.to_xml()
        path = responses / example.file_name
        path.write_bytes(xml)
        valid, findings = validate(xml)
        written.append(WrittenExample(example, path, valid, findings))
    return how, responses, written


def _step_responses(ctx: DemoContext) -> None:
    """For every status code: reply to the example invoices, validate, show, write the files."""
    from ..examples import EXAMPLE_INVOICES

    how, responses, written = write_examples(ctx.workdir)
    ctx.echo(f"validation: {how}\n")
    done = []
    for w in written:
        example = w.example
        ctx.echo(f"--- {example.file_name}: {example.description}")
        ctx.echo(f"    in reply to invoices/{EXAMPLE_INVOICES[example.invoice]}; "
                 f"{'valid' if w.valid else 'NOT VALID'}; written to {w.path}")
        for finding in w.findings:
            ctx.echo(f"    {finding}")
        ctx.echo(describe(example.response) + "\n")
        if not w.valid:
            ctx.failures.append(f"{example.file_name} is not valid")
        done.append(example.response.code.value)
    missing = sorted(set(ResponseCode) - set(done))
    if missing:
        ctx.failures.append(f"no example for status {', '.join(missing)}")
    ctx.artefacts["responses"] = responses


DEMO_STEPS: list[tuple[str, Callable[[DemoContext], None]]] = [
    ("Invoice Responses for every status code", _step_responses),
]
"""The demo's steps in order; later layers (AS4, SMP, tracker) add theirs here."""


def demo_workdir(workdir: Path | None) -> Path:
    """The demo's folder: ``workdir`` (created if missing) or a new temporary one; exit 2 if it cannot be made."""
    if workdir is None:
        workdir = Path(tempfile.mkdtemp(prefix="peppol-response-demo-"))
    try:
        workdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _io_error(workdir, exc)
    return workdir


@click.command("demo")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path),
              help="Where to write the files (default: a new temporary folder).")
def demo(workdir: Path | None) -> None:
    """The main job on embedded defaults: build, validate and show an Invoice Response per status code."""
    workdir = demo_workdir(workdir)
    click.echo(f"peppol-response demo, working in {workdir}\n{NOT_TRANSPORT}\n")
    ctx = DemoContext(workdir=workdir, echo=click.echo)
    for number, (title, step) in enumerate(DEMO_STEPS, start=1):
        click.echo(f"== step {number}: {title}")
        step(ctx)
    if ctx.failures:
        for failure in ctx.failures:
            click.echo(f"FAILED: {failure}", err=True)
        sys.exit(1)
    click.echo(f"demo finished: every step passed; files in {workdir}")
