"""Our mutation corpus exercises every rule: each assert fails somewhere and passes somewhere."""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

import pytest

from peppol_response.validation import DocumentKind, Layer, validate
from peppol_response.validation.engine import RuleSet, load_ruleset
from peppol_response.xmlsafe import parse_xml
from tests.validation.corpus import BASES, corpus, random_mutants, systematic


@lru_cache(maxsize=1)
def _docs() -> tuple[tuple[str, bytes], ...]:
    return tuple(corpus(conformance=None))


def _coverage(ruleset: RuleSet, docs: list[bytes]) -> tuple[Counter[str], Counter[str]]:
    """How often each assert failed and passed over ``docs``."""
    failed: Counter[str] = Counter()
    passed: Counter[str] = Counter()
    by_context = {(p.id, r.context): r for p in ruleset.patterns for r in p.rules}
    for xml in docs:
        root = parse_xml(xml)
        evaluation = ruleset.evaluate(root, record_fired=True)
        assert evaluation.fired is not None
        fails: Counter[tuple[str, int]] = Counter()
        for f in evaluation.all_failures():
            failed[f.assertion.id] += 1
            fails[(f.assertion.id, id(f.assertion))] += 1
        fired = Counter(
            (pattern.id, context)
            for pattern, contexts in zip(ruleset.patterns, evaluation.fired, strict=True)
            for context in contexts
        )
        for key, n in fired.items():
            for a in by_context[key].asserts:
                if n - fails[(a.id, id(a))] > 0:
                    passed[a.id] += 1
    return failed, passed


def test_corpus_is_reproducible_and_large() -> None:
    docs = _docs()
    assert len(docs) > 2000
    assert docs == tuple(corpus(conformance=None))
    assert list(random_mutants(BASES["full"], 5, seed=7)) == list(random_mutants(BASES["full"], 5, seed=7))


def _must_pass(ruleset: RuleSet) -> set[str]:
    """Asserts that can hold: all but the closed-world catch-alls (``false()``), which are "passed" by
    every document that has no element outside the data model (the bases, checked below)."""
    return {a.id for a in ruleset.asserts if a.test_text != "false()"}


def test_every_t111_rule_fails_and_passes() -> None:
    ruleset = load_ruleset("PEPPOL-T111-2026.5")
    docs = [x for _n, x in _docs()]
    failed, passed = _coverage(ruleset, docs)
    ids = {a.id for a in ruleset.asserts}
    # PEPPOL-T111-R005 is published as exists(/cbc:ResponseCode='PD'): it can never fail.
    assert ids - set(failed) == {"PEPPOL-T111-R005"}
    assert _must_pass(ruleset) - set(passed) == set()
    assert passed["PEPPOL-T111-R005"] > 0


def test_every_strict_rule_fails_and_passes() -> None:
    ruleset = load_ruleset("PR-T111-strict")
    docs = [x for _n, x in _docs()]
    failed, passed = _coverage(ruleset, docs)
    ids = {a.id for a in ruleset.asserts}
    assert ids - set(failed) == set()
    assert _must_pass(ruleset) - set(passed) == set()


def test_every_t71_rule_fails_and_passes() -> None:
    ruleset = load_ruleset("PEPPOL-T71-2026.5")
    mlr = BASES["mlr"]
    docs = [mlr.encode(), *(x for _l, x in systematic(mlr))]
    failed, passed = _coverage(ruleset, docs)
    ids = {a.id for a in ruleset.asserts}
    assert ids - set(failed) == set()
    assert _must_pass(ruleset) - set(passed) == set()


def test_both_layers_always_run() -> None:
    """A document with a schema error still gets its rule findings, and the other way round."""
    docs = _docs()
    both = [n for n, x in docs[:3000] if {f.layer for f in validate(x).findings} == {Layer.SCHEMA, Layer.RULES}]
    assert len(both) > 50


@pytest.mark.parametrize("name", sorted(BASES))
def test_bases_are_valid(name: str) -> None:
    report = validate(BASES[name].encode())
    assert report.valid
    assert report.findings == ()
    assert report.kind is (DocumentKind.MLR if name == "mlr" else DocumentKind.INVOICE_RESPONSE)


def test_verdict_is_schema_ok_and_no_fatal_rule() -> None:
    for _name, xml in _docs()[::7]:
        report = validate(xml)
        schema = [f for f in report.findings if f.layer is Layer.SCHEMA]
        fatal_rules = [f for f in report.findings if f.layer is Layer.RULES and f.fatal]
        assert report.valid is (not schema and not fatal_rules)
        assert all(f.fatal for f in schema)
        assert all(f.rule.startswith("XSD-") for f in schema)
        assert all(f.location.startswith("/") for f in report.findings)
