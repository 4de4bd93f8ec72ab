"""Schematron semantics of our engine: first match per pattern, errors in contexts and asserts, and the
fast paths (path trie, attribute buckets, XPath 1.0 pre-selection) giving the same answers as plain matching."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from peppol_response.errors import RulesError
from peppol_response.validation.engine import RuleSet, load_rules_file, load_ruleset

CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"


def rules(tmp_path: Path, body: str) -> RuleSet:
    path = tmp_path / "r.xml"
    path.write_text(f"""<rules xmlns="urn:peppol-response:rules:1" id="T" release="x">
      <ns prefix="cac" uri="{CAC}"/><ns prefix="cbc" uri="{CBC}"/>
      <codelist name="L" values="A B"/>
      {body}</rules>""")
    return load_rules_file(path)


def run(rs: RuleSet, xml: str) -> list[tuple[str, str, str | None]]:
    root = etree.fromstring(f'<cac:R xmlns:cac="{CAC}" xmlns:cbc="{CBC}">{xml}</cac:R>')
    return [(f.assertion.id, etree.QName(f.element).localname, f.error) for f in rs.evaluate(root).all_failures()]


def test_first_matching_rule_wins_within_a_pattern(tmp_path: Path) -> None:
    rs = rules(tmp_path, """
      <pattern><rule context="cbc:X[@a = '1']"><assert id="first" flag="fatal" test="false()">f</assert></rule>
               <rule context="cbc:X"><assert id="second" flag="fatal" test="false()">s</assert></rule></pattern>
      <pattern><rule context="cbc:X">
        <assert id="other-pattern" flag="warning" test="false()">o</assert></rule></pattern>""")
    assert run(rs, '<cbc:X a="1"/><cbc:X a="2"/>') == [
        ("first", "X", None), ("second", "X", None), ("other-pattern", "X", None), ("other-pattern", "X", None)]


def test_a_rule_without_asserts_still_claims_the_element(tmp_path: Path) -> None:
    rs = rules(tmp_path, """<pattern><rule context="/cac:R/cbc:X"/>
      <rule context="/cac:R/*"><assert id="catch-all" flag="fatal" test="false()">c</assert></rule></pattern>""")
    assert run(rs, "<cbc:X/><cbc:Y/>") == [("catch-all", "Y", None)]


def test_an_error_in_a_context_is_no_match_and_the_next_rule_is_tried(tmp_path: Path) -> None:
    rs = rules(tmp_path, """<pattern>
      <rule context="cac:S[normalize-space(cbc:C) = 'x']">
        <assert id="never" flag="fatal" test="false()">n</assert></rule>
      <rule context="cac:S"><assert id="next" flag="fatal" test="false()">n</assert></rule></pattern>""")
    assert run(rs, "<cac:S><cbc:C>x</cbc:C><cbc:C>x</cbc:C></cac:S>") == [("next", "S", None)]
    assert run(rs, "<cac:S><cbc:C>x</cbc:C></cac:S>") == [("never", "S", None)]


def test_an_error_in_an_assert_is_a_failure_carrying_the_error(tmp_path: Path) -> None:
    rs = rules(tmp_path, """<pattern><rule context="cac:S">
      <assert id="R" flag="warning" test="normalize-space(cbc:C) = 'x'">m</assert></rule></pattern>""")
    [(rid, name, error)] = run(rs, "<cac:S><cbc:C>x</cbc:C><cbc:C>x</cbc:C></cac:S>")
    assert (rid, name) == ("R", "S")
    assert error is not None
    assert "XPTY0004" in error


def test_messages_interpolate_values_and_names(tmp_path: Path) -> None:
    rs = rules(tmp_path, """<pattern><rule context="cbc:X">
      <assert id="R" flag="fatal" test="false()">  <name/> holds
         '<value-of select="normalize-space(.)"/>'  </assert></rule></pattern>""")
    root = etree.fromstring(f'<cbc:X xmlns:cbc="{CBC}"> a  b </cbc:X>')
    [failure] = list(rs.evaluate(root).all_failures())
    assert failure.assertion.message(failure.element) == "cbc:X holds 'a b'"


@pytest.mark.parametrize("body", [
    "<pattern><rule context='cbc:X'><assert id='a' flag='error' test='true()'>x</assert></rule></pattern>",
    "<pattern><rule context='cbc:X'><assert id='a' flag='fatal' test='foo()'>x</assert></rule></pattern>",
    "<pattern><rule context='cbc:X[1]'><assert id='a' flag='fatal' test='true()'>x</assert></rule></pattern>",
    "<pattern><rule context='text()'/></pattern>",
    "<codelist name='M' ref='NOPE'/>",
    "<bogus/>",
])
def test_bad_rule_files_are_refused_at_load_time(tmp_path: Path, body: str) -> None:
    with pytest.raises(RulesError):
        rules(tmp_path, body)


# -- the fast paths must agree with plain first-match over all rules --------------------------------------------

NAMES = ["cbc:ID", "cbc:EndpointID", "cac:PartyIdentification", "cac:Status", "cbc:X", "cac:Y"]


def naive(rs: RuleSet, root: etree._Element) -> list[tuple[int, str]]:
    out = []
    elements = list(root.iter(etree.Element))
    for p in rs.patterns:
        for i, el in enumerate(elements):
            for rule in p.rules:
                if any(alt.matches(el) for alt in rule.alternatives):
                    out.extend((i, a.id) for a in rule.asserts)
                    break
    return sorted(out)


def fast(rs: RuleSet, root: etree._Element) -> list[tuple[int, str]]:
    elements = list(root.iter(etree.Element))
    index = {id(e): i for i, e in enumerate(elements)}
    evaluation = rs.evaluate(root)
    # every assert is false(): the failures tell exactly which rule claimed which element
    return sorted((index[id(f.element)], f.assertion.id) for f in evaluation.all_failures())


@st.composite
def trees(draw: st.DrawFn) -> str:
    rng = random.Random(draw(st.integers(0, 10**9)))

    def element(depth: int) -> str:
        name = rng.choice(NAMES)
        attr = f' schemeID="{rng.choice(["0088", "0192", "9999"])}"' if rng.random() < 0.5 else ""
        kids = "".join(element(depth + 1) for _ in range(rng.randint(0, 3 if depth < 3 else 0)))
        return f"<{name}{attr}>{kids or rng.choice(['', 'v', ' '])}</{name}>"

    return "".join(element(0) for _ in range(rng.randint(1, 4)))


@settings(max_examples=60, deadline=None)
@given(trees())
def test_fast_paths_equal_plain_first_match(tmp_path_factory: pytest.TempPathFactory, xml: str) -> None:
    tmp = tmp_path_factory.mktemp("rules")
    rs = rules(tmp, """
      <pattern><rule context="//*[not(*) and not(normalize-space())]">
        <assert id="empty" flag="fatal" test="false()">e</assert></rule></pattern>
      <pattern>
        <rule context="/*"><assert id="root" flag="fatal" test="false()">r</assert></rule>
        <rule context="cbc:EndpointID[@schemeID = '0088'] | cac:PartyIdentification/cbc:ID[@schemeID = '0088']">
          <assert id="s88" flag="fatal" test="false()">x</assert></rule>
        <rule context="cbc:EndpointID[@schemeID = '0192'] | cac:PartyIdentification/cbc:ID[@schemeID = '0192']">
          <assert id="s92" flag="fatal" test="false()">x</assert></rule>
        <rule context="cbc:ID"><assert id="anyid" flag="fatal" test="false()">x</assert></rule>
        <rule context="cac:Status[cbc:X = 'v']"><assert id="status" flag="fatal" test="false()">x</assert></rule>
      </pattern>
      <pattern>
        <rule context="/cac:R"><assert id="t-root" flag="fatal" test="false()">x</assert></rule>
        <rule context="/cac:R/cac:Y"/>
        <rule context="/cac:R/cac:Y/cbc:ID"><assert id="t-id" flag="fatal" test="false()">x</assert></rule>
        <rule context="/cac:R/cac:Y/*"><assert id="t-y-star" flag="fatal" test="false()">x</assert></rule>
        <rule context="/cac:R/*"><assert id="t-star" flag="fatal" test="false()">x</assert></rule>
      </pattern>""")
    assert rs.patterns[2].trie_slot is not None
    assert rs.patterns[0].wild_xpath is not None
    root = etree.fromstring(f'<cac:R xmlns:cac="{CAC}" xmlns:cbc="{CBC}">{xml}</cac:R>')
    assert fast(rs, root) == naive(rs, root)


def test_shipped_rule_sets_use_the_fast_paths() -> None:
    rs = load_ruleset("PEPPOL-T111-2026.5")
    kinds = {p.id: (p.trie_slot is not None, p.wild_xpath is not None) for p in rs.patterns}
    assert kinds["PEPPOL-T111-structure"] == (True, False)
    assert kinds["PEPPOL-COMMON-empty"] == (False, True)
    assert rs.patterns[1].by_attr  # scheme rules bucketed by @schemeID


def test_rule_checks_get_the_names_of_the_element_children() -> None:
    # The engine collects each element's child names on its walk (len() and the node order) and hands
    # them to the generated checks; they must be exactly what the check would collect itself, with
    # comments and processing instructions among the children, at any depth.
    from tests.validation.corpus import corpus

    rs = load_ruleset("PEPPOL-T111-2026.5")
    seen = []
    originals = {}
    for p in rs.patterns:
        for r in p.rules:
            if r.check is not None:
                originals[id(r)] = r.check

                def spy(el: etree._Element, names: object = None, _check: object = r.check) -> object:
                    seen.append((el, names))
                    return _check(el, names)  # type: ignore[operator]

                r.check = spy
    try:
        for _name, data in corpus(200, seed=5):
            root = etree.fromstring(data)
            for el in list(root.iter(etree.Element))[::3]:
                if el is not root:
                    el.addprevious(etree.Comment("c"))
                el.append(etree.ProcessingInstruction("pi", "x"))
            rs.evaluate(root)
    finally:
        for p in rs.patterns:
            for r in p.rules:
                if id(r) in originals:
                    r.check = originals[id(r)]
    assert len(seen) > 1000
    for el, names in seen:
        assert names == {k.tag for k in el}
