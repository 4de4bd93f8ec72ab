"""The order of invoice statuses (OP-BR111) as a table of data, and who broke it when it is broken.

The BIS says an invoice's status advances AB → IP → UQ → CA → RE → AP → PD; any status may come first
and any may be skipped, UQ may repeat, PD may come in steps (PD with clarification PPD, then the full
PD), RE and the full PD are final (OP-BR111-R004), and after AP only PD may follow (OP-BR111-R005).
Everything else that goes back or repeats breaks OP-BR111-R012.

This module is **sans-I/O**: it takes statuses and returns verdicts. The rules are data
(:data:`TRANSITIONS`), in the style of h11's state tables: for each state, the states that may follow
it. Code only reads the table; the state diagram in ``docs/tracker.md`` is generated from it
(:func:`mermaid`, :func:`graphviz`).

Two readings:

* :attr:`Mode.STRICT` (default) is the BIS text: only UQ and the partial PD repeat.
* :attr:`Mode.LENIENT` also lets AB, IP and CA repeat (any non-decreasing rank) for partners whose
  systems resend a status. R004 (nothing after a final status) and R005 (only PD after AP) hold in both,
  so AP → AP stays refused: a second approval is still "something other than Paid after Approved".

Credit notes (:attr:`DocumentTypeCode.is_credit_note <peppol_response.codes.DocumentTypeCode.is_credit_note>`)
follow the same order without PD ("Paid will probably not be used in relation to credit notes",
OP-BR111-R012): strict mode refuses PD on a credit note under R012, lenient mode lets it through.

Who broke the rule matters: :func:`can_send` is asked *before we send* and raises
:class:`~peppol_response.errors.LocalOrderError` (nothing left the building); :func:`judge` is asked
about a response *the peer sent* and returns a :class:`Verdict` whose ``error`` is a
:class:`~peppol_response.errors.RemoteOrderError` (the BIS lets the invoice issuer ignore it; a tracker
keeps it and marks it).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from .codes import DocumentTypeCode, ResponseCode
from .errors import LocalOrderError, OrderError, RemoteOrderError

__all__ = [
    "FINAL_STATES",
    "LENIENT_REPEATS",
    "R004",
    "R005",
    "R012",
    "RANK",
    "TRANSITIONS",
    "Mode",
    "Refusal",
    "State",
    "StatusLike",
    "Verdict",
    "allowed_next",
    "can_send",
    "check",
    "current_state",
    "graphviz",
    "judge",
    "mermaid",
    "replay",
]

R004: Final = "OP-BR111-R004"
"""No further Invoice Response after Rejected or (fully) Paid."""
R005: Final = "OP-BR111-R005"
"""After Approved only Paid may follow."""
R012: Final = "OP-BR111-R012"
"""Statuses advance in the order AB, IP, UQ, CA, RE, AP, PD."""


class Mode(enum.StrEnum):
    """How strictly the order is read (see the module docstring)."""

    STRICT = "strict"
    LENIENT = "lenient"


class State(enum.StrEnum):
    """A business status as the order rules see it: the seven codes, with PD split in partial and full.

    ``State.PD_PARTIAL`` (value ``"PD+PPD"``) is status PD with clarification reason PPD.
    """

    AB = "AB"
    IP = "IP"
    UQ = "UQ"
    CA = "CA"
    RE = "RE"
    AP = "AP"
    PD_PARTIAL = "PD+PPD"
    PD = "PD"

    @property
    def code(self) -> ResponseCode:
        """The response code that carries this state (PD for both PD states)."""
        return _CODE_OF[self]

    @property
    def partial(self) -> bool:
        """True for a partial payment (PD + PPD)."""
        return self is State.PD_PARTIAL

    @property
    def rank(self) -> int:
        """The position in OP-BR111-R012 (AB=1 ... PD=7; both PD states rank 7)."""
        return _RANK_OF[self]

    @property
    def is_final(self) -> bool:
        """RE and the full PD: no response may follow (OP-BR111-R004)."""
        return self in FINAL_STATES

    @classmethod
    def of(cls, code: ResponseCode | str, partial: bool = False) -> State:
        """The state for a response code; ``partial`` only matters for PD (clarification PPD)."""
        rc = ResponseCode(code)
        if rc is ResponseCode.PD and partial:
            return cls.PD_PARTIAL
        return cls(rc.value)

    def __repr__(self) -> str:
        return f"State.{self.name}"


RANK: Final[Mapping[ResponseCode, int]] = {
    ResponseCode.AB: 1,
    ResponseCode.IP: 2,
    ResponseCode.UQ: 3,
    ResponseCode.CA: 4,
    ResponseCode.RE: 5,
    ResponseCode.AP: 6,
    ResponseCode.PD: 7,
}
"""The order of OP-BR111-R012."""

_CODE_OF: Final = {s: ResponseCode.PD if s is State.PD_PARTIAL else ResponseCode(s.value) for s in State}
_RANK_OF: Final = {s: RANK[c] for s, c in _CODE_OF.items()}

_S = State
_ALL: Final = frozenset(State)

TRANSITIONS: Final[Mapping[State | None, frozenset[State]]] = {
    # no response yet: any status may be the first one
    None: _ALL,
    _S.AB: frozenset({_S.IP, _S.UQ, _S.CA, _S.RE, _S.AP, _S.PD_PARTIAL, _S.PD}),
    _S.IP: frozenset({_S.UQ, _S.CA, _S.RE, _S.AP, _S.PD_PARTIAL, _S.PD}),
    _S.UQ: frozenset({_S.UQ, _S.CA, _S.RE, _S.AP, _S.PD_PARTIAL, _S.PD}),  # UQ may repeat
    _S.CA: frozenset({_S.RE, _S.AP, _S.PD_PARTIAL, _S.PD}),
    _S.RE: frozenset(),  # final
    _S.AP: frozenset({_S.PD_PARTIAL, _S.PD}),  # R005: only Paid after Approved
    _S.PD_PARTIAL: frozenset({_S.PD_PARTIAL, _S.PD}),  # partial payments, then the full one
    _S.PD: frozenset(),  # final
}
"""The strict (BIS) table: state -> the states that may follow it. ``None`` is "no status yet"."""

LENIENT_REPEATS: Final[Mapping[State, frozenset[State]]] = {
    _S.AB: frozenset({_S.AB}),
    _S.IP: frozenset({_S.IP}),
    _S.CA: frozenset({_S.CA}),
}
"""What lenient mode adds to :data:`TRANSITIONS`: repeats of AB, IP and CA (non-decreasing rank)."""

FINAL_STATES: Final = frozenset({_S.RE, _S.PD})
"""States after which nothing may follow (OP-BR111-R004)."""

_PAID: Final = frozenset({_S.PD_PARTIAL, _S.PD})

# Why a refused transition is refused: the first row whose "from" set holds the current state names the
# rule; anything else goes back or repeats (R012). Order matters: R004 before R005 before R012.
_REFUSAL_RULES: Final[tuple[tuple[frozenset[State], str, str], ...]] = (
    (FINAL_STATES, R004, "{current} is final: no further status may follow it"),
    (frozenset({_S.AP}), R005, "after AP (accepted) only PD (paid) may follow, not {attempted}"),
)


def _table(mode: Mode, credit_note: bool) -> Mapping[State | None, frozenset[State]]:
    table: dict[State | None, frozenset[State]] = dict(TRANSITIONS)
    if mode is Mode.LENIENT:
        for state, extra in LENIENT_REPEATS.items():
            table[state] = table[state] | extra
    elif credit_note:
        table = {state: nxt - _PAID for state, nxt in table.items()}
    return table


_TABLES: Final = {(m, cn): _table(m, cn) for m in Mode for cn in (False, True)}


def allowed_next(current: State | None, *, credit_note: bool = False, mode: Mode = Mode.STRICT) -> frozenset[State]:
    """The states that may follow ``current`` (``None``: no status yet)."""
    return _TABLES[(Mode(mode), credit_note)][current]


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a status may not follow the current one: the OP-BR111 rule and an explanation."""

    rule: str
    current: State | None
    attempted: State
    message: str

    def error(self, origin: type[OrderError]) -> OrderError:
        """The exception for this refusal, as raised by us (Local) or reported about the peer (Remote)."""
        return origin(self.message, rule=self.rule,
                      current=None if self.current is None else self.current.value,
                      attempted=self.attempted.value)


def check(
    current: State | None, new: State, *, credit_note: bool = False, mode: Mode = Mode.STRICT
) -> Refusal | None:
    """None when ``new`` may follow ``current``, else the :class:`Refusal` naming the rule it breaks."""
    if new in _TABLES[(mode if isinstance(mode, Mode) else Mode(mode), credit_note)][current]:
        return None
    if current is not None and current in FINAL_STATES:
        rule, text = _REFUSAL_RULES[0][1:]
        return Refusal(rule, current, new, text.format(current=current.value, attempted=new.value))
    if credit_note and new in _PAID:  # only the strict table drops PD for credit notes
        return Refusal(R012, current, new, f"{new.value} (paid) does not apply to a credit note")
    assert current is not None  # the table lets anything else start
    for states, rule, text in _REFUSAL_RULES[1:]:
        if current in states:
            return Refusal(rule, current, new, text.format(current=current.value, attempted=new.value))
    verb = "repeats" if new.rank == current.rank else "goes back from"
    return Refusal(R012, current, new,
                   f"{new.value} {verb} {current.value}; statuses advance AB, IP, UQ, CA, RE, AP, PD")


StatusLike = State | ResponseCode | str | tuple[ResponseCode | str, bool]
"""A status as callers hold it: a :class:`State`, a code (``"AP"``; ``"PD+PPD"`` for a partial payment)
or a ``(code, partial)`` pair. Objects with ``code`` and ``is_partial_payment`` (an
:class:`~peppol_response.model.InvoiceResponse`) are accepted too."""


def _state(value: object) -> State:
    if isinstance(value, State):
        return value
    if isinstance(value, tuple):
        code, partial = value
        return State.of(code, bool(partial))
    if isinstance(value, str):
        return State(value) if value == State.PD_PARTIAL.value else State.of(value)
    code = getattr(value, "code", None)
    if code is not None:
        return State.of(code, bool(getattr(value, "is_partial_payment", False)))
    raise TypeError(f"not a status: {value!r}")


def replay(
    history: Iterable[object], *, credit_note: bool = False, mode: Mode = Mode.STRICT
) -> tuple[State | None, tuple[Refusal | None, ...]]:
    """Fold statuses given in issue order: the resulting state and, per status, its refusal or None.

    A refused status does not move the state (the BIS lets the issuer ignore it).
    """
    state: State | None = None
    verdicts: list[Refusal | None] = []
    for item in history:
        new = _state(item)
        refusal = check(state, new, credit_note=credit_note, mode=mode)
        verdicts.append(refusal)
        if refusal is None:
            state = new
    return state, tuple(verdicts)


def current_state(history: Iterable[object], *, credit_note: bool = False, mode: Mode = Mode.STRICT) -> State | None:
    """The state after the statuses of ``history`` (in issue order), skipping those the rules refuse."""
    return replay(history, credit_note=credit_note, mode=mode)[0]


def _is_credit_note(credit_note: bool | None, type_code: DocumentTypeCode | str | None) -> bool:
    if credit_note is not None:
        return credit_note
    return type_code is not None and DocumentTypeCode(type_code).is_credit_note


def can_send(
    history: Iterable[object],
    code: ResponseCode | str | State,
    *,
    partial: bool = False,
    credit_note: bool | None = None,
    type_code: DocumentTypeCode | str | None = None,
    mode: Mode = Mode.STRICT,
) -> State:
    """Check that *we* may send ``code`` after ``history``; return the state it leads to.

    ``history`` holds the statuses sent so far for the invoice, in issue order. ``credit_note`` (or
    ``type_code``, the referenced document's type) selects the credit-note order (no PD).
    Raises :class:`~peppol_response.errors.LocalOrderError` naming the OP-BR111 rule otherwise.
    """
    cn = _is_credit_note(credit_note, type_code)
    new = code if isinstance(code, State) else State.of(code, partial)
    current = current_state(history, credit_note=cn, mode=mode)
    refusal = check(current, new, credit_note=cn, mode=mode)
    if refusal is not None:
        raise LocalOrderError(refusal.message, rule=refusal.rule,
                              current=None if current is None else current.value, attempted=new.value)
    return new


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do with a status the peer sent: accept it (the new state) or ignore it (the refusal)."""

    state: State | None
    """The invoice's state after this status (unchanged when ignored)."""
    refusal: Refusal | None = None

    @property
    def accepted(self) -> bool:
        return self.refusal is None

    @property
    def rule(self) -> str | None:
        return None if self.refusal is None else self.refusal.rule

    @property
    def error(self) -> RemoteOrderError | None:
        """The :class:`RemoteOrderError` describing the peer's breach, or None when accepted."""
        if self.refusal is None:
            return None
        err = self.refusal.error(RemoteOrderError)
        assert isinstance(err, RemoteOrderError)
        return err

    def raise_for_order(self) -> None:
        """Raise :attr:`error` when the status was refused."""
        err = self.error
        if err is not None:
            raise err


def judge(
    history: Iterable[object],
    received: object,
    *,
    credit_note: bool | None = None,
    type_code: DocumentTypeCode | str | None = None,
    mode: Mode = Mode.STRICT,
) -> Verdict:
    """Judge a status the *peer* sent after ``history`` (issue order): accepted, or ignored with the rule.

    ``received`` is anything :data:`StatusLike` (an :class:`~peppol_response.model.InvoiceResponse` too,
    whose referenced type code then selects the credit-note order unless given).
    """
    if type_code is None and credit_note is None:
        document = getattr(received, "document", None)
        type_code = getattr(document, "type_code", None)
    cn = _is_credit_note(credit_note, type_code)
    current = current_state(history, credit_note=cn, mode=mode)
    new = _state(received)
    refusal = check(current, new, credit_note=cn, mode=mode)
    return Verdict(current if refusal else new, refusal)


# --------------------------------------------------------------------------------------------------
# Diagrams, generated from the table (docs/tracker.md embeds them; a test checks they are current)
# --------------------------------------------------------------------------------------------------

_MERMAID_ID: Final = {s: ("PD_PPD" if s is State.PD_PARTIAL else s.value) for s in State}


def mermaid(*, credit_note: bool = False, mode: Mode = Mode.STRICT) -> str:
    """A Mermaid ``stateDiagram-v2`` of the table: start, every allowed transition, the final states."""
    table = _TABLES[(Mode(mode), credit_note)]
    lines = ["stateDiagram-v2", "    direction LR"]
    for s in State:
        if s in table[None] or any(s in nxt for nxt in table.values()):
            label = "PD + PPD (partially paid)" if s is State.PD_PARTIAL else f"{s.value}: {s.code.label}"
            lines.append(f'    state "{label}" as {_MERMAID_ID[s]}')
    for s in State:
        if s in table[None]:
            lines.append(f"    [*] --> {_MERMAID_ID[s]}")
    for src in State:
        for dst in State:
            if dst in table[src]:
                lines.append(f"    {_MERMAID_ID[src]} --> {_MERMAID_ID[dst]}")
    for s in State:
        if s.is_final and s in table[None]:
            lines.append(f"    {_MERMAID_ID[s]} --> [*]")
    return "\n".join(lines) + "\n"


def graphviz(*, credit_note: bool = False, mode: Mode = Mode.STRICT) -> str:
    """The same diagram as Graphviz ``dot`` text (final states drawn with a double border)."""
    table = _TABLES[(Mode(mode), credit_note)]
    name = f"invoice_status_{mode.value}{'_credit_note' if credit_note else ''}"
    lines = [f"digraph {name} {{", "    rankdir=LR;", '    start [shape=point, label=""];']
    for s in State:
        if s in table[None] or any(s in nxt for nxt in table.values()):
            shape = "doublecircle" if s.is_final else "circle"
            lines.append(f'    "{s.value}" [shape={shape}];')
    for s in State:
        if s in table[None]:
            lines.append(f'    start -> "{s.value}";')
    for src in State:
        for dst in State:
            if dst in table[src]:
                lines.append(f'    "{src.value}" -> "{dst.value}";')
    lines.append("}")
    return "\n".join(lines) + "\n"
