"""The generated-code backend gives exactly the closure backend's answers (values and XPath errors)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import pytest
from lxml import etree

from peppol_response.errors import RulesEvaluationError
from peppol_response.validation.engine import RuleSet, load_ruleset
from peppol_response.validation.pycompile import compile_rule_check
from peppol_response.validation.xpath import _Parser, as_bool, compile_expression
from tests.validation.corpus import corpus

RULE_SETS = ["PEPPOL-T111-2026.5", "PEPPOL-T71-2026.5", "PR-T111-strict"]


@lru_cache(maxsize=1)
def _elements() -> list[etree._Element]:
    docs = corpus(1500, seed=11, conformance=None)[::12]
    return [el for _n, xml in docs for el in etree.fromstring(xml).iter(etree.Element)]


def outcome(fn: Callable[[Any], Any], el: etree._Element) -> object:
    try:
        return bool(fn(el))
    except RulesEvaluationError as exc:
        return ("error", str(exc).split(":")[0])


def _expressions(rs: RuleSet) -> list[str]:
    texts = {a.test_text for a in rs.asserts}
    for p in rs.patterns:
        for r in p.rules:
            texts.update(_predicates(r.context))
    return sorted(texts)


def _predicates(context: str) -> list[str]:
    """The predicate texts of a rule context (between matching brackets)."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(context):
        if ch == "[":
            if depth == 0:
                start = i + 1
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth == 0:
                out.append(context[start:i])
    return out


@pytest.mark.parametrize("name", RULE_SETS)
def test_generated_and_closure_backends_agree(name: str) -> None:
    rs = load_ruleset(name)
    elements = _elements()
    checked = 0
    for text in _expressions(rs):
        closure = as_bool(compile_expression(text, rs.namespaces, _variables(rs), generate=False))
        generated = compile_expression(text, rs.namespaces, _variables(rs)).ebv
        assert generated is not None
        for el in elements:
            assert outcome(generated, el) == outcome(closure, el), (text, etree.tostring(el)[:200])
            checked += 1
    assert checked > 5_000


@pytest.mark.parametrize("name", RULE_SETS)
def test_rule_checks_equal_their_asserts_one_by_one(name: str) -> None:
    rs = load_ruleset(name)
    elements = _elements()[::2]
    for p in rs.patterns:
        for rule in p.rules:
            if not rule.asserts:
                continue
            check = compile_rule_check([a.test_text for a in rule.asserts], rs.namespaces, _variables(rs))
            closures = [as_bool(compile_expression(a.test_text, rs.namespaces, _variables(rs), generate=False))
                        for a in rule.asserts]
            for el in elements:
                expected = []
                for k, closure in enumerate(closures):
                    result = outcome(closure, el)
                    if result is not True:
                        expected.append((k, result))
                got = [(k, ("error", e.split(":")[0]) if e else False) for k, e in check(el)]
                assert got == expected, (rule.context, etree.tostring(el)[:200])


def _variables(rs: RuleSet) -> dict[str, frozenset[str]]:
    """The code lists of a rule set, recovered from its compiled asserts' environments."""
    return _VARIABLES[rs.id]


def _collect_variables() -> dict[str, dict[str, frozenset[str]]]:
    from peppol_response.resources import data_path
    from peppol_response.validation.engine import _Loader

    out = {}
    for name in RULE_SETS:
        loader = _Loader()
        loader.load(data_path("schematron", f"{name}.xml"))
        out[load_ruleset(name).id] = loader.variables
    return out


_VARIABLES = _collect_variables()


def test_the_parser_round_trips_every_shipped_expression() -> None:
    for name in RULE_SETS:
        for text in _expressions(load_ruleset(name)):
            parser = _Parser(text)
            parser.expr()
            assert parser.at("end"), text
