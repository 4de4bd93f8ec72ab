"""The order table against the reference's pseudocode, who broke it, and the generated diagrams."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peppol_response.codes import DocumentTypeCode, ResponseCode
from peppol_response.errors import LocalOrderError, Origin, RemoteOrderError
from peppol_response.process import (
    R004,
    R005,
    R012,
    Mode,
    State,
    allowed_next,
    can_send,
    check,
    graphviz,
    judge,
    mermaid,
    replay,
)

from .tracker import oracle

ROOT = Path(__file__).resolve().parents[1]


def _pair(s: State) -> tuple[str, bool]:
    return (s.code.value, s.partial)


@pytest.mark.parametrize("mode", list(Mode))
@pytest.mark.parametrize("credit_note", [False, True])
def test_every_transition_agrees_with_the_pseudocode(mode: Mode, credit_note: bool) -> None:
    lenient = mode is Mode.LENIENT
    for new in State:
        assert (check(None, new, credit_note=credit_note, mode=mode) is None) == (
            oracle.refuse([], _pair(new), credit_note=credit_note, lenient=lenient) is None)
    for cur in State:
        for new in State:
            got = check(cur, new, credit_note=credit_note, mode=mode)
            want = oracle.refuse([_pair(cur)], _pair(new), credit_note=credit_note, lenient=lenient)
            assert (None if got is None else got.rule) == want, (cur, new)


@given(st.lists(st.sampled_from(list(State)), max_size=12), st.booleans(), st.sampled_from(list(Mode)))
def test_replay_agrees_with_the_oracle_on_any_sequence(seq: list[State], credit_note: bool, mode: Mode) -> None:
    state, verdicts = replay(seq, credit_note=credit_note, mode=mode)
    final, rules = oracle.fold([_pair(s) for s in seq], credit_note=credit_note, lenient=mode is Mode.LENIENT)
    assert [None if v is None else v.rule for v in verdicts] == rules
    assert (None if state is None else _pair(state)) == final


def test_the_guides_worked_examples() -> None:
    assert can_send([], "PD") is State.PD  # paid right after being received: a single PD
    for nxt in ("CA", "RE", "AP", "PD"):  # after a query, any of CA, RE, AP, PD
        assert can_send(["AB", "UQ"], nxt) is State(nxt)
    assert can_send(["UQ", "UQ"], "UQ") is State.UQ  # UQ may repeat
    assert can_send(["AP", ("PD", True), ("PD", True)], "PD") is State.PD  # partial payments, then in full
    assert can_send(["CA"], "RE") is State.RE  # CA -> RE is forward
    for bad, rule in (("UQ", R005), ("RE", R005)):  # accepted cannot later be under query or rejected
        with pytest.raises(LocalOrderError) as err:
            can_send(["AB", "AP"], bad)
        assert err.value.rule == rule
        assert err.value.origin is Origin.LOCAL
        assert err.value.current == "AP"
        assert err.value.attempted == bad


def test_finals_repeats_and_going_back() -> None:
    assert check(State.RE, State.PD).rule == R004  # type: ignore[union-attr]
    assert check(State.PD, State.PD_PARTIAL).rule == R004  # type: ignore[union-attr]
    assert check(State.IP, State.IP).rule == R012  # type: ignore[union-attr]
    assert check(State.IP, State.IP, mode=Mode.LENIENT) is None
    assert check(State.AP, State.AP, mode=Mode.LENIENT).rule == R005  # type: ignore[union-attr]
    assert check(State.CA, State.UQ).rule == R012  # type: ignore[union-attr]
    assert "goes back" in check(State.CA, State.UQ).message  # type: ignore[union-attr]
    assert allowed_next(State.AP) == {State.PD, State.PD_PARTIAL}
    assert allowed_next(State.AP, credit_note=True) == frozenset()
    assert State.of("PD", True) is State.PD_PARTIAL
    assert State.PD_PARTIAL.code is ResponseCode.PD
    assert State.PD_PARTIAL.rank == State.PD.rank == 7
    assert State.PD.is_final
    assert not State.PD_PARTIAL.is_final


def test_credit_notes_follow_the_order_without_paid() -> None:
    with pytest.raises(LocalOrderError, match="credit note") as err:
        can_send(["AP"], "PD", type_code=DocumentTypeCode.CREDIT_NOTE)
    assert err.value.rule == R012
    assert can_send(["AB"], "AP", type_code="396") is State.AP  # factored credit note: a credit-note type too
    assert can_send(["AP"], "PD", type_code="381", mode=Mode.LENIENT) is State.PD


def test_judge_marks_the_peers_breach_as_remote() -> None:
    v = judge(["AP"], "UQ")
    assert not v.accepted
    assert v.rule == R005
    assert v.state is State.AP
    assert isinstance(v.error, RemoteOrderError)
    assert v.error.origin is Origin.REMOTE
    with pytest.raises(RemoteOrderError):
        v.raise_for_order()
    ok = judge(["AB"], ("PD", True))
    assert ok.accepted
    assert ok.state is State.PD_PARTIAL
    assert ok.error is None
    ok.raise_for_order()


def _block(text: str, name: str) -> str:
    m = re.search(rf"<!-- generated:{name} -->\n```\w*\n(.*?)```\n<!-- /generated:{name} -->", text, re.S)
    assert m, f"docs/tracker.md has no generated block {name}"
    return m.group(1)


def test_the_committed_diagrams_are_generated_from_the_table() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen", ROOT / "docs" / "gen_tracker_diagram.py")
    assert spec is not None
    assert spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    text = (ROOT / "docs" / "tracker.md").read_text()
    for name, produce in gen.BLOCKS.items():
        assert _block(text, name) == produce(), f"{name} is stale: run python docs/gen_tracker_diagram.py"
    assert "PD_PPD --> PD" in mermaid()
    assert '"AP" -> "PD";' in graphviz()
    assert "PD" not in mermaid(credit_note=True).split("AP -->")[-1]
