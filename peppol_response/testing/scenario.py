"""Chain-test scenarios: a list of status steps with expectations, run through a :class:`LocalNetwork`.

::

    report = net.run_scenario(["AB", "IP", "UQ", "AP", "PD"])          # the short form
    report = net.run_scenario(load_scenario("examples/scenarios/npa-5.1.1-direct-acceptance.toml"))
    print(report.to_text()); assert report.ok

A scenario file is TOML (or JSON with the same keys)::

    name = "NPa 5.1.1: direct acceptance"
    description = "The buyer acknowledges, approves and pays."

    [invoice]                        # optional: who sends what (defaults shown)
    seller = "seller"
    buyer = "buyer"
    example = "invoice-380.xml"      # or leave out for a generated invoice of `amount` (net) in `currency`

    [[step]]
    send = "AB"
    expect = { status = "AB", mark = "accepted", evidence = true, valid = true }

    [[step]]
    send = "PD"
    amount = "500.00"                # less than due: a partial payment (PD + PPD)
    expect = { status = "PD+PPD" }

    [expect]                         # after the last step
    status = "PD+PPD"
    history = ["AB", "PD+PPD"]

Every run sends a fresh invoice (a new number), so scenarios can share one network. Each step is one of:

``send = CODE``
    the buyer answers with status CODE (AB IP UQ CA RE AP PD, or ``PD+PPD`` for a partial payment of half the
    amount). Options: ``reasons``/``actions`` (lists of codes or ``[code, text]`` pairs; UQ/CA/RE get a plain
    reason when none is given), ``note``, ``amount`` (PD), ``force`` (send even when the buyer's tracker
    refuses the order: negative tests), ``hold`` (record it and keep it in the outbox; a later ``release``
    sends it: a response delayed in transit), ``issued`` (minutes after the scenario's start; default: the
    step number).
``release = N``
    send the response step N held.
``resend_invoice = true``
    the seller sends the same invoice again (a duplicate).

``expect`` (per step and, for the end state, at the top level) may say: ``status`` (the seller's tracker
after the step: a status or ``"none"``), ``buyer_status``, ``mark`` (``accepted``/``ignored``) and ``rule``
and ``stale`` of this response in the seller's history, ``refused`` (true or the OP-BR111 rule: the buyer's
tracker refuses to send it), ``not_serviced`` (discovery says the seller does not receive Invoice
Responses: nothing is sent), ``delivered``, ``evidence`` (AS4 MessageIds of both access points, SBDH
InstanceIdentifier and sending seat present and consistent in the seller's history), ``valid`` (the
validation verdict at the receiving access point), ``transport`` (the invoice's transport state). The
top-level ``expect`` also takes ``history``: the seller's history in issue order, each ``"CODE"`` or
``"CODE:mark"``. Whatever a step does not expect (a refusal, NotServiced, a failed delivery) fails it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from ..codes import ResponseCode
from ..errors import CodeError, LocalOrderError, NetworkError, PeppolResponseError, ScenarioError
from ..process import State
from ..tracker import HistoryEntry, InvoiceStatus, Mark

__all__ = [
    "Expect",
    "InvoiceSpec",
    "Scenario",
    "ScenarioReport",
    "Step",
    "StepReport",
    "load_scenario",
    "load_scenarios",
    "run_scenario",
    "scenario_from_data",
    "scenario_from_steps",
]

_STATES: Final = frozenset(s.value for s in State) | {"none"}
_MARKS: Final = frozenset(m.value for m in Mark)


# --------------------------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class Expect:
    """What should hold after a step (None: not checked). See the module docstring for each key."""

    status: str | None = None
    buyer_status: str | None = None
    mark: str | None = None
    rule: str | None = None
    stale: bool | None = None
    refused: bool | str | None = None
    not_serviced: bool | None = None
    delivered: bool | None = None
    evidence: bool | None = None
    valid: bool | None = None
    transport: str | None = None
    history: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Step:
    """One step: a response (``code``), a ``release`` of a held one, or ``resend_invoice``."""

    code: str | None = None
    amount: str | None = None
    reasons: tuple[Any, ...] = ()
    actions: tuple[Any, ...] = ()
    note: str | None = None
    force: bool = False
    hold: bool = False
    release: int | None = None
    resend_invoice: bool = False
    issued: float | None = None
    title: str | None = None
    expect: Expect = field(default_factory=Expect)

    @property
    def label(self) -> str:
        if self.resend_invoice:
            return "resend invoice"
        if self.release is not None:
            return f"release step {self.release}"
        text = str(self.code)
        if self.amount is not None:
            text += f" {self.amount}"
        flags = [f for f, on in (("forced", self.force), ("held", self.hold)) if on]
        return text + (f" ({', '.join(flags)})" if flags else "")


@dataclass(frozen=True)
class InvoiceSpec:
    """The invoice a scenario starts with (sent from ``seller`` to ``buyer`` before the first step)."""

    seller: str = "seller"
    buyer: str = "buyer"
    example: str | None = None
    amount: str = "1000.00"
    currency: str = "EUR"
    type_code: str = "380"
    billing_with_response: bool = False
    expect: Expect = field(default_factory=Expect)


@dataclass(frozen=True)
class Scenario:
    name: str
    steps: tuple[Step, ...]
    invoice: InvoiceSpec = field(default_factory=InvoiceSpec)
    description: str | None = None
    reference: str | None = None
    expect: Expect = field(default_factory=Expect)
    source: str = "<steps>"


# ----------------------------------------------------------------------------------------------- loading


_EXPECT_KEYS: Final = frozenset(Expect.__dataclass_fields__) - {"history"}
_STEP_KEYS: Final = frozenset({"send", "amount", "reasons", "actions", "note", "force", "hold", "release",
                               "resend_invoice", "issued", "title", "expect"})
_INVOICE_KEYS: Final = frozenset({"seller", "buyer", "example", "amount", "currency", "type_code",
                                  "billing_with_response", "expect"})
_TOP_KEYS: Final = frozenset({"name", "description", "reference", "invoice", "step", "steps", "expect"})


def _typed(value: Any, kind: type | tuple[type, ...], what: str, source: str, step: int | None) -> Any:
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise ScenarioError(f"must be a number, not {value!r}", source=source, step=step, key=what)
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ScenarioError(f"must be {names}, not {value!r}", source=source, step=step, key=what)
    return value


def _unknown(data: Mapping[str, Any], allowed: frozenset[str], source: str, step: int | None, where: str) -> None:
    extra = sorted(set(data) - allowed)
    if extra:
        raise ScenarioError(f"unknown key(s) {', '.join(extra)} in {where} (allowed: {', '.join(sorted(allowed))})",
                            source=source, step=step, key=extra[0])


def _state(value: Any, key: str, source: str, step: int | None) -> str:
    text = _typed(value, str, key, source, step)
    if text not in _STATES:
        raise ScenarioError(f"{text!r} is not a status ({', '.join(sorted(_STATES))})", source=source, step=step,
                            key=key)
    return str(text)


def _expect(data: Any, source: str, step: int | None, *, top: bool = False) -> Expect:
    if data is None:
        return Expect()
    _typed(data, dict, "expect", source, step)
    _unknown(data, _EXPECT_KEYS | ({"history"} if top else frozenset()), source, step, "expect")
    kw: dict[str, Any] = {}
    for key in ("status", "buyer_status"):
        if key in data:
            kw[key] = _state(data[key], key, source, step)
    if "mark" in data:
        mark = _typed(data["mark"], str, "mark", source, step)
        if mark not in _MARKS:
            raise ScenarioError(f"{mark!r} is not a mark ({', '.join(sorted(_MARKS))})", source=source, step=step,
                                key="mark")
        kw["mark"] = mark
    for key in ("rule", "transport"):
        if key in data:
            kw[key] = _typed(data[key], str, key, source, step)
    for key in ("stale", "not_serviced", "delivered", "evidence", "valid"):
        if key in data:
            kw[key] = _typed(data[key], bool, key, source, step)
    if "refused" in data:
        kw["refused"] = _typed(data["refused"], (bool, str), "refused", source, step)
    if "history" in data:
        items = _typed(data["history"], list, "history", source, step)
        for item in items:
            code, _, mark = _typed(item, str, "history", source, step).partition(":")
            _state(code, "history", source, step)
            if mark and mark not in _MARKS:
                raise ScenarioError(f"{mark!r} in {item!r} is not a mark", source=source, step=step, key="history")
        kw["history"] = tuple(items)
    return Expect(**kw)


def _clarifications(value: Any, key: str, source: str, step: int) -> tuple[Any, ...]:
    items = _typed(value, list, key, source, step)
    out: list[Any] = []
    for item in items:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item):
            out.append((item[0] or None, item[1]))
        else:
            raise ScenarioError(f"each item is a code or a [code, text] pair, not {item!r}", source=source, step=step,
                                key=key)
    return tuple(out)


def _step(data: Any, number: int, source: str) -> Step:
    if isinstance(data, str):
        data = {"send": data}
    _typed(data, dict, "step", source, number)
    _unknown(data, _STEP_KEYS, source, number, "a step")
    kinds = [k for k in ("send", "release", "resend_invoice") if k in data]
    if len(kinds) != 1:
        raise ScenarioError("a step has exactly one of 'send', 'release' or 'resend_invoice'", source=source,
                            step=number)
    kw: dict[str, Any] = {"expect": _expect(data.get("expect"), source, number)}
    if "title" in data:
        kw["title"] = _typed(data["title"], str, "title", source, number)
    if "send" in data:
        code = _typed(data["send"], str, "send", source, number)
        amount = data.get("amount")
        if code == State.PD_PARTIAL.value:
            code = "PD"
            amount = amount if amount is not None else "half"
        try:
            ResponseCode(code)
        except CodeError:
            raise ScenarioError(f"{code!r} is not a status code (AB, IP, UQ, CA, RE, AP, PD or PD+PPD)",
                                source=source, step=number, key="send") from None
        if amount is not None:
            if code != "PD":
                raise ScenarioError("'amount' is for PD only", source=source, step=number, key="amount")
            kw["amount"] = str(_typed(amount, (str, int, float), "amount", source, number))
        kw["code"] = code
        for key in ("reasons", "actions"):
            if key in data:
                kw[key] = _clarifications(data[key], key, source, number)
        if "note" in data:
            kw["note"] = _typed(data["note"], str, "note", source, number)
        for key in ("force", "hold"):
            if key in data:
                kw[key] = _typed(data[key], bool, key, source, number)
        if "issued" in data:
            kw["issued"] = float(_typed(data["issued"], (int, float), "issued", source, number))
    else:
        extra = sorted(set(data) & {"amount", "reasons", "actions", "note", "force", "hold", "issued"})
        if extra:
            raise ScenarioError(f"{', '.join(extra)} only go with 'send'", source=source, step=number, key=extra[0])
        if "release" in data:
            target = _typed(data["release"], int, "release", source, number)
            if not 1 <= target < number:
                raise ScenarioError(f"release names an earlier step (1..{number - 1}), not {target}", source=source,
                                    step=number, key="release")
            kw["release"] = target
        else:
            if _typed(data["resend_invoice"], bool, "resend_invoice", source, number) is not True:
                raise ScenarioError("resend_invoice must be true", source=source, step=number, key="resend_invoice")
            kw["resend_invoice"] = True
    return Step(**kw)


def scenario_from_data(data: Mapping[str, Any], *, source: str = "<data>") -> Scenario:
    """A scenario from parsed TOML/JSON data (see the module docstring); :class:`ScenarioError` names the fault."""
    _typed(data, dict, "scenario", source, None)
    _unknown(data, _TOP_KEYS, source, None, "the scenario")
    if "step" in data and "steps" in data:
        raise ScenarioError("give the steps as 'step' or as 'steps', not both", source=source)
    raw_steps = data.get("step", data.get("steps"))
    if not raw_steps:
        raise ScenarioError("a scenario needs at least one step", source=source, key="step")
    _typed(raw_steps, list, "step", source, None)
    steps = tuple(_step(s, i, source) for i, s in enumerate(raw_steps, start=1))
    for i, s in enumerate(steps, start=1):
        if s.release is not None and not steps[s.release - 1].hold:
            raise ScenarioError(f"step {s.release} is not held (hold = true), so it cannot be released", source=source,
                                step=i, key="release")
    inv = data.get("invoice") or {}
    _typed(inv, dict, "invoice", source, None)
    _unknown(inv, _INVOICE_KEYS, source, None, "[invoice]")
    ikw: dict[str, Any] = {"expect": _expect(inv.get("expect"), source, 0)}
    for key in ("seller", "buyer", "example", "currency", "type_code"):
        if key in inv:
            ikw[key] = _typed(inv[key], str, key, source, None)
    if "amount" in inv:
        ikw["amount"] = str(_typed(inv["amount"], (str, int, float), "amount", source, None))
    if "billing_with_response" in inv:
        ikw["billing_with_response"] = _typed(inv["billing_with_response"], bool, "billing_with_response", source,
                                              None)
    name = data.get("name") or Path(source).stem
    return Scenario(
        name=_typed(name, str, "name", source, None), steps=steps, invoice=InvoiceSpec(**ikw),
        description=_typed(data.get("description", ""), str, "description", source, None) or None,
        reference=_typed(data.get("reference", ""), str, "reference", source, None) or None,
        expect=_expect(data.get("expect"), source, None, top=True), source=source)


def scenario_from_steps(steps: Sequence[str | Mapping[str, Any]], *, name: str | None = None,
                        **invoice: Any) -> Scenario:
    """The short form: ``["AB", "IP", "UQ", "AP", "PD"]`` (strings or step tables); ``invoice`` as [invoice]."""
    label = name or " -> ".join(s if isinstance(s, str) else str(s.get("send", "?")) for s in steps)
    return scenario_from_data({"name": label, "step": list(steps), "invoice": invoice}, source="<steps>")


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read a scenario file (``.toml``, or ``.json``)."""
    p = Path(path)
    try:
        text = p.read_bytes()
    except OSError as exc:
        raise ScenarioError(f"cannot read it: {exc.strerror or exc}", source=str(p)) from None
    try:
        data = json.loads(text) if p.suffix.lower() == ".json" else tomllib.loads(text.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"not valid {'JSON' if p.suffix.lower() == '.json' else 'TOML'}: {exc}",
                            source=str(p)) from None
    return scenario_from_data(data, source=str(p))


def load_scenarios(paths: Iterable[str | os.PathLike[str]]) -> list[Scenario]:
    """Read scenario files; a directory stands for its ``*.toml`` and ``*.json`` files, sorted by name."""
    out: list[Scenario] = []
    for path in paths:
        p = Path(path)
        if p.is_dir():
            files = sorted(f for f in p.iterdir() if f.suffix.lower() in (".toml", ".json"))
            if not files:
                raise ScenarioError("the folder holds no .toml or .json scenario", source=str(p))
            out.extend(load_scenario(f) for f in files)
        else:
            out.append(load_scenario(p))
    return out


# ----------------------------------------------------------------------------------------------- reports


@dataclass
class StepReport:
    """What one step did and whether it met its expectations (``failures`` lists what did not)."""

    number: int
    label: str
    title: str | None = None
    outcome: str = "pending"
    """``delivered``, ``refused`` (by the buyer's tracker), ``not-serviced``, ``held``, ``failed``, ``skipped``."""
    sent: bool = False
    receipted: bool = False
    delivered: bool = False
    message_id: str | None = None
    receipt_message_id: str | None = None
    sbdh_instance_id: str | None = None
    sending_ap: str | None = None
    status: str | None = None
    buyer_status: str | None = None
    mark: str | None = None
    rule: str | None = None
    stale: bool | None = None
    valid: bool | None = None
    detail: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "label": self.label, "title": self.title, "outcome": self.outcome,
                "sent": self.sent, "receipted": self.receipted, "delivered": self.delivered,
                "message_id": self.message_id, "receipt_message_id": self.receipt_message_id,
                "sbdh_instance_id": self.sbdh_instance_id, "sending_ap": self.sending_ap, "status": self.status,
                "buyer_status": self.buyer_status, "mark": self.mark, "rule": self.rule, "stale": self.stale,
                "valid": self.valid, "detail": self.detail, "timings_ms": dict(self.timings),
                "ok": self.ok, "failures": list(self.failures)}


@dataclass
class ScenarioReport:
    """The report of one scenario run: the invoice, every step, the final checks, the verdict."""

    name: str
    source: str
    description: str | None = None
    invoice_id: str | None = None
    seller: str | None = None
    buyer: str | None = None
    steps: list[StepReport] = field(default_factory=list)
    final_status: str | None = None
    final_history: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures and all(s.ok for s in self.steps)

    @property
    def failed_steps(self) -> list[StepReport]:
        return [s for s in self.steps if not s.ok]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "description": self.description,
                "invoice_id": self.invoice_id, "seller": self.seller, "buyer": self.buyer, "ok": self.ok,
                "steps": [s.to_dict() for s in self.steps], "final_status": self.final_status,
                "final_history": self.final_history, "failures": list(self.failures),
                "seconds": round(self.seconds, 3)}

    def to_text(self) -> str:
        """A readable report: one line per step, then what failed."""
        lines = [f"scenario: {self.name}" + (f"  ({self.source})" if self.source not in ("<steps>", "<data>") else "")]
        if self.invoice_id:
            lines.append(f"  invoice {self.invoice_id}: {self.seller} -> {self.buyer}")
        lines.append(f"  {'#':>2}  {'step':<22} {'outcome':<13} {'seller status':<14} {'mark':<22} "
                     f"{'buyer':<7} {'ms':>6}  result")
        for s in self.steps:
            mark = "" if s.mark is None else s.mark + (f" {s.rule}" if s.rule else "") + (" stale" if s.stale else "")
            if s.outcome == "refused" and s.rule:
                mark = f"refused {s.rule}"
            total = s.timings.get("total")
            lines.append(f"  {s.number:>2}  {s.label[:22]:<22} {s.outcome:<13} {s.status or '':<14} {mark[:22]:<22} "
                         f"{s.buyer_status or '':<7} {'' if total is None else f'{total:.0f}':>6}  "
                         f"{'ok' if s.ok else 'FAILED'}")
            for f in s.failures:
                lines.append(f"        - {f}")
        for f in self.failures:
            lines.append(f"  end: {f}")
        verdict = "PASSED" if self.ok else "FAILED"
        failed = len(self.failed_steps) + (1 if self.failures else 0)
        lines.append(f"  {verdict}: {len(self.steps)} step(s), {failed} failed, {self.seconds:.2f} s")
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ running


def _status_of(status: InvoiceStatus | None) -> str:
    return "none" if status is None or status.state is None else status.state.value


def _history_item(h: HistoryEntry) -> dict[str, Any]:
    return {"status": h.state.value, "mark": h.mark.value, "rule": h.rule, "stale": h.stale,
            "as4_message_id": h.evidence.as4_message_id, "sbdh_instance_id": h.evidence.sbdh_instance_id,
            "sender_ap": h.evidence.sender_ap, "issued_at": h.issued_at.isoformat()}


def _check(report: StepReport, expect: Expect, *, expected_outcome: str) -> None:
    """Compare a step's report with what it expects; the implicit expectation is ``expected_outcome``."""
    fail = report.failures.append
    refused_expected = expect.refused not in (None, False)
    if refused_expected:
        if report.outcome != "refused":
            fail(f"expected the buyer's tracker to refuse it, but it was {report.outcome}")
        elif isinstance(expect.refused, str) and report.rule != expect.refused:
            fail(f"expected refusal under {expect.refused}, got {report.rule}")
    elif report.outcome == "refused":
        fail(f"the buyer's tracker refused it ({report.detail}) and the scenario did not expect that")
    if expect.not_serviced:
        if report.outcome != "not-serviced":
            fail(f"expected NotServiced before sending, but it was {report.outcome}")
    elif report.outcome == "not-serviced":
        fail(f"discovery said not serviced ({report.detail}) and the scenario did not expect that")
    if not refused_expected and not expect.not_serviced:
        want_delivered = expect.delivered if expect.delivered is not None else expected_outcome == "delivered"
        if want_delivered and not report.delivered:
            if report.outcome not in ("refused", "not-serviced"):
                fail(f"not delivered: {report.outcome}" + (f" ({report.detail})" if report.detail else ""))
        elif not want_delivered and report.delivered:
            fail("delivered, but the scenario expected it not to be")
        elif report.outcome in ("failed", "skipped"):
            fail(f"{report.outcome}" + (f": {report.detail}" if report.detail else ""))
    for key, got in (("status", report.status), ("buyer_status", report.buyer_status), ("mark", report.mark),
                     ("rule", report.rule if report.outcome != "refused" else None), ("stale", report.stale),
                     ("valid", report.valid)):
        want = getattr(expect, key)
        if want is not None and want != got:
            fail(f"expected {key} {want!r}, got {got!r}")


class _Run:
    """The state of one scenario run."""

    def __init__(self, net: Any, scenario: Scenario, start: dt.datetime) -> None:
        self.net = net
        self.scenario = scenario
        self.start = start
        self.seller = net.participant(scenario.invoice.seller)
        self.buyer = net.participant(scenario.invoice.buyer)
        self.sent_invoice: Any = None
        self.held: dict[int, Any] = {}

    def statuses(self, report: StepReport) -> None:
        key = self.sent_invoice.key
        try:
            report.status = _status_of(self.seller.status(key))
        except LookupError:
            report.status = "none"
        try:
            report.buyer_status = _status_of(self.buyer.status(key))
        except LookupError:
            report.buyer_status = "none"

    # -- the invoice -----------------------------------------------------------------------------------

    def send_invoice(self, number: int, label: str, *, xml: bytes | None, expect: Expect) -> StepReport:
        inv = self.scenario.invoice
        report = StepReport(number, label)
        t0 = time.perf_counter()
        try:
            if xml is None:
                issued = self.start.date()
                if inv.example is not None:
                    xml = self.seller.make_invoice(self.buyer, example=inv.example, issue_date=issued,
                                                   invoice_id=_invoice_id())
                else:
                    xml = self.seller.make_invoice(
                        self.buyer, invoice_id=_invoice_id(), issue_date=issued, currency=inv.currency,
                        lines=[("Chain test services", 1, inv.amount)], type_code=inv.type_code,
                        billing_with_response=inv.billing_with_response)
            sent = self.seller.send_invoice(xml=xml)
        except PeppolResponseError as exc:
            report.outcome, report.detail = "failed", str(exc)
            report.failures.append(f"the invoice could not be sent: {exc}")
            return report
        if self.sent_invoice is None:
            self.sent_invoice = sent
        _transport(report, sent, self.seller.access_point.seat)
        report.outcome = ("not-serviced" if sent.not_serviced else "delivered" if sent.delivered else "failed")
        report.timings = {**sent.timings, "total": round((time.perf_counter() - t0) * 1000, 1)}
        self.statuses(report)
        _check(report, expect, expected_outcome="delivered")
        transport = sent.record.transport_state.value if sent.record.transport_state else None
        if expect.transport is not None and transport != expect.transport:
            report.failures.append(f"expected the seller's transport state {expect.transport!r}, got {transport!r}")
        if expect.evidence and report.delivered:
            self._invoice_evidence(report, sent)
        return report

    def _invoice_evidence(self, report: StepReport, sent: Any) -> None:
        fail = report.failures.append
        rec = sent.record
        if rec.as4_message_id != sent.message_id or rec.sbdh_instance_id != sent.sbdh_instance_id:
            fail("the seller's tracker does not hold the invoice's AS4 MessageId and SBDH InstanceIdentifier")
        got = self.buyer.tracker.invoice(sent.key)
        # a resent invoice is the same invoice: the buyer's tracker keeps the message it first came in
        known = {sent.message_id, self.sent_invoice.message_id if self.sent_invoice is not None else None}
        if got.as4_message_id not in known:
            fail(f"the buyer's tracker names AS4 message {got.as4_message_id}, not {sent.message_id}")
        stored = self.buyer.access_point.store.get(sent.message_id)
        if stored is None or stored.receipt_message_id != sent.receipt_message_id:
            fail("the buyer's access point has no stored message with the receipt the seller got")

    # -- responses --------------------------------------------------------------------------------------

    def reply(self, number: int, step: Step) -> StepReport:
        report = StepReport(number, step.label, step.title)
        t0 = time.perf_counter()
        minutes = step.issued if step.issued is not None else float(number)
        issued_at = self.start + dt.timedelta(minutes=minutes)
        amount = step.amount
        if amount == "half":
            amount = f"{(self.sent_invoice.summary.payable_amount / 2).quantize(_CENT)}"
        try:
            sent = self.buyer.reply(self.sent_invoice, step.code, force=step.force, hold=step.hold, amount=amount,
                                    reasons=step.reasons, actions=step.actions, note=step.note, issued_at=issued_at)
        except LocalOrderError as exc:
            report.outcome, report.rule, report.detail = "refused", exc.rule, str(exc)
        except PeppolResponseError as exc:
            report.outcome, report.detail = "failed", f"{type(exc).__name__}: {exc}"
        else:
            if step.hold:
                self.held[number] = sent
            self._fill(report, sent)
        report.timings["total"] = round((time.perf_counter() - t0) * 1000, 1)
        self.statuses(report)
        _check(report, step.expect, expected_outcome="held" if step.hold else "delivered")
        if step.expect.evidence and report.delivered:
            self._evidence(report, sent)
        return report

    def release(self, number: int, step: Step) -> StepReport:
        report = StepReport(number, step.label, step.title)
        held = self.held.pop(step.release or 0, None)
        t0 = time.perf_counter()
        if held is None:
            report.outcome, report.detail = "failed", f"step {step.release} left nothing in the outbox"
        else:
            try:
                sent = self.buyer.release(held)
            except PeppolResponseError as exc:
                report.outcome, report.detail = "failed", f"{type(exc).__name__}: {exc}"
            else:
                self._fill(report, sent)
                if step.expect.evidence and report.delivered:
                    self._evidence(report, sent)
        report.timings["total"] = round((time.perf_counter() - t0) * 1000, 1)
        self.statuses(report)
        _check(report, step.expect, expected_outcome="delivered")
        return report

    def _fill(self, report: StepReport, sent: Any) -> None:
        report.timings.update(sent.timings)
        _transport(report, sent, self.buyer.access_point.seat)
        if sent.not_serviced:
            report.outcome = "not-serviced"
        elif sent.held:
            report.outcome = "held"
        else:
            report.outcome = "delivered" if sent.delivered else "failed"
        if sent.delivery is not None and sent.delivery.validation is not None:
            report.valid = bool(sent.delivery.validation.get("valid"))
        entry = sent.seller_entry
        if entry is not None:
            report.mark, report.rule, report.stale = entry.mark.value, entry.rule, entry.stale

    def _evidence(self, report: StepReport, sent: Any) -> None:
        """AS4 MessageIds of both access points, SBDH id and sending seat, as the seller's side holds them."""
        fail = report.failures.append
        entry: HistoryEntry | None = sent.seller_entry
        if entry is None:
            fail("the seller's history has no entry carrying this response's AS4 MessageId")
            return
        ev = entry.evidence
        if not (sent.message_id and sent.receipt_message_id and sent.sbdh_instance_id):
            fail("the sender did not get a MessageId, a receipt and an SBDH InstanceIdentifier")
        if ev.sbdh_instance_id != sent.sbdh_instance_id:
            fail(f"the seller's history names SBDH {ev.sbdh_instance_id}, the buyer sent {sent.sbdh_instance_id}")
        if ev.sender_ap != self.buyer.access_point.seat:
            fail(f"the seller's history names sending AP {ev.sender_ap}, not {self.buyer.access_point.seat}")
        stored = self.seller.access_point.store.get(sent.message_id)
        if stored is None or stored.receipt_message_id != sent.receipt_message_id:
            fail("the seller's access point did not store the message with the receipt the buyer's AP got")
        if ev.received_at is None:
            fail("the seller's history has no time of receipt")


_CENT: Final = Decimal("0.01")


def _invoice_id() -> str:
    import uuid

    return f"SCN-{uuid.uuid4().hex[:10].upper()}"


def run_scenario(net: Any, scenario: Scenario | str | os.PathLike[str] | Sequence[Any], *,
                 start: dt.datetime | None = None) -> ScenarioReport:
    """Run ``scenario`` on a started :class:`~peppol_response.testing.network.LocalNetwork`.

    ``scenario`` is a :class:`Scenario`, a path to a scenario file or a list of steps (the short form).
    ``start`` is the scenario's clock origin (default: an hour ago, to the minute): step N's response is
    issued N minutes after it unless the step says ``issued``.
    """
    if isinstance(scenario, (str, os.PathLike)):
        scenario = load_scenario(scenario)
    elif not isinstance(scenario, Scenario):
        scenario = scenario_from_steps(list(scenario))
    t0 = time.perf_counter()
    origin = start or (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).replace(second=0, microsecond=0)
    report = ScenarioReport(scenario.name, scenario.source, scenario.description)
    try:
        run = _Run(net, scenario, origin)
    except PeppolResponseError as exc:
        report.failures.append(str(exc))
        return report
    report.seller, report.buyer = f"{run.seller.name} {run.seller.endpoint}", f"{run.buyer.name} {run.buyer.endpoint}"
    first = run.send_invoice(0, f"invoice {scenario.invoice.type_code}", xml=None, expect=scenario.invoice.expect)
    report.steps.append(first)
    if run.sent_invoice is None or not run.sent_invoice.delivered:
        for i, step in enumerate(scenario.steps, start=1):
            report.steps.append(StepReport(i, step.label, step.title, outcome="skipped",
                                           failures=["skipped: the invoice did not reach the buyer"]))
        report.seconds = time.perf_counter() - t0
        return report
    report.invoice_id = run.sent_invoice.key.invoice_id
    for i, step in enumerate(scenario.steps, start=1):
        try:
            if step.resend_invoice:
                report.steps.append(run.send_invoice(i, step.label, xml=run.sent_invoice.xml, expect=step.expect))
            elif step.release is not None:
                report.steps.append(run.release(i, step))
            else:
                report.steps.append(run.reply(i, step))
        except NetworkError as exc:
            report.steps.append(StepReport(i, step.label, step.title, outcome="failed", detail=str(exc),
                                           failures=[str(exc)]))
    for number in sorted(run.held):
        report.failures.append(f"step {number} was held and never released")
    _final(report, run, scenario.expect)
    report.seconds = time.perf_counter() - t0
    return report


def _final(report: ScenarioReport, run: _Run, expect: Expect) -> None:
    try:
        status = run.seller.status(run.sent_invoice.key)
    except LookupError:
        status = None
    report.final_status = _status_of(status)
    report.final_history = [_history_item(h) for h in (status.history if status else ())]
    if expect.status is not None and expect.status != report.final_status:
        report.failures.append(f"expected the seller's final status {expect.status!r}, got {report.final_status!r}")
    if expect.buyer_status is not None:
        try:
            buyer = _status_of(run.buyer.status(run.sent_invoice.key))
        except LookupError:
            buyer = "none"
        if buyer != expect.buyer_status:
            report.failures.append(f"expected the buyer's final status {expect.buyer_status!r}, got {buyer!r}")
    if expect.history is not None:
        got = [f"{h['status']}:{h['mark']}" for h in report.final_history]
        want = list(expect.history)
        short = [g if ":" in w else g.split(":")[0] for g, w in zip(got, want, strict=False)]
        if len(got) != len(want) or short != want:
            report.failures.append(f"expected the seller's history {want}, got {got}")


def _transport(report: StepReport, sent: Any, seat: str) -> None:
    """What the sending access point (``seat``) reported for one exchange, as the step report keeps it."""
    report.message_id, report.receipt_message_id = sent.message_id, sent.receipt_message_id
    report.sbdh_instance_id = sent.sbdh_instance_id
    report.sent = sent.message_id is not None
    report.receipted = sent.receipt_message_id is not None
    report.delivered = sent.delivered
    report.sending_ap = seat if report.sent else None
    report.detail = sent.error
