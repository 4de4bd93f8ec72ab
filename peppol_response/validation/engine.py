"""Our rule engine: loads a rule file from ``schematron/`` and runs it over a document in one pass.

Rule file format (namespace ``urn:peppol-response:rules:1``), deliberately close to ISO Schematron so
a rule can be compared line by line with the published one::

    <rules id="PEPPOL-T111" release="2026.5" title="...">
      <ns prefix="cbc" uri="urn:...:CommonBasicComponents-2"/>
      <codelist name="cleas" ref="EAS"/>              <!-- a set from peppol_response.codelists -->
      <codelist name="clUNCL4343" values="AB AP RE"/>  <!-- or listed inline -->
      <include href="PEPPOL-COMMON-2026.5.xml"/>        <!-- its ns, code lists and patterns, here -->
      <pattern id="T111-R">
        <rule context="cbc:ProfileID">                  <!-- XPath subset, see xpath.py -->
          <assert id="PEPPOL-T111-R008" flag="fatal" test="normalize-space(.) = '...'">
            Our own message; may contain <value-of select="normalize-space(.)"/> and <name/>.
          </assert>
        </rule>
      </pattern>
    </rules>

Semantics are Schematron's as the official XSLT implements them: patterns run in order over every
element in document order; **within a pattern an element is handled by the first rule (in file order)
whose context matches it**; a rule with no asserts still claims the element; an XPath error while
matching a context makes that rule not match (Saxon's recoverable pattern error); an XPath error in an
assert makes the assert fail (the official transformation stops there, so the document cannot pass).

Speed: every element is visited once for all patterns. Rules whose context is a plain absolute path
(``/ubl:ApplicationResponse/cac:SenderParty`` or ``.../*``), i.e. the generated structure rules, are
found through a trie of paths carried down the walk; the others are indexed by element name.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, cast

from lxml import etree

from .. import codelists
from ..errors import RulesError
from ..resources import data_path
from ..xmlsafe import parse_xml, qname
from .pycompile import RuleCheck, compile_rule_check
from .xpath import (
    Compiled,
    DynamicError,
    PathPattern,
    as_bool,
    as_string,
    compile_expression,
    compile_pattern,
    element_text,
)

__all__ = [
    "RULES_NS",
    "Assertion",
    "Evaluation",
    "Failure",
    "Pattern",
    "Rule",
    "RuleSet",
    "load_ruleset",
]

RULES_NS: Final = "urn:peppol-response:rules:1"
_R = "{" + RULES_NS + "}"

FATAL: Final = "fatal"
WARNING: Final = "warning"


@dataclass(frozen=True, slots=True)
class Assertion:
    """One ``<assert>``: official (or ``PR-``) id, flag, compiled test and our message."""

    id: str
    flag: str
    test: Callable[[Any], bool]
    test_text: str
    message_parts: tuple[str | Compiled | None, ...]  # None stands for <name/>
    pattern_id: str

    def message(self, el: etree._Element) -> str:
        out = []
        for part in self.message_parts:
            if part is None:
                out.append(qname(el.tag) if isinstance(el.tag, str) else "?")
            elif isinstance(part, str):
                out.append(part)
            else:
                try:
                    out.append(as_string(part)(el))
                except DynamicError:
                    out.append("?")
        return " ".join("".join(out).split())


@dataclass(slots=True)
class Rule:
    """One ``<rule>``: its context (a union of path patterns) and its asserts, in file order."""

    context: str
    alternatives: tuple[PathPattern, ...]
    asserts: tuple[Assertion, ...]
    index: int
    matches: Callable[[etree._Element], bool] = field(init=False, repr=False)
    check: RuleCheck | None = field(default=None, repr=False)
    _by_tag: dict[str, Callable[[etree._Element], bool]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        matchers = [alt.matcher() for alt in self.alternatives]
        if len(matchers) == 1:
            self.matches = matchers[0]
            return

        def any_alternative(el: etree._Element) -> bool:
            for m in matchers:  # noqa: SIM110 - a plain loop is faster than any() on this hot path
                if m(el):
                    return True
            return False

        self.matches = any_alternative

    def matcher_for(self, tag: str) -> Callable[[etree._Element], bool]:
        """The matcher of the alternatives that can match an element called ``tag`` (cached)."""
        cache = self._by_tag
        found = cache.get(tag)
        if found is not None:
            return found
        # the engine looked the element up by its name: the alternatives ending in that name need not
        # read it again
        relevant = [alt.matcher(tag_known=alt.last.tag == tag) for alt in self.alternatives
                    if alt.last.tag in (tag, None)]
        if len(relevant) == 1:
            found = relevant[0]
        else:
            matchers = relevant

            def some(el: etree._Element) -> bool:
                for m in matchers:  # noqa: SIM110 - a plain loop is faster than any()
                    if m(el):
                        return True
                return False

            found = some
        cache[tag] = found
        return found


class _TrieNode:
    __slots__ = ("actions", "actions_fired", "children", "rules", "star", "unknown", "unknown_fired")

    def __init__(self, slots: int) -> None:
        self.children: dict[str, _TrieNode] = {}
        self.rules: list[Rule | None] = [None] * slots  # rule for an element at exactly this path
        self.star: list[Rule | None] = [None] * slots  # rule for a child not named in the trie
        # what to do for an element here / for a child not in the trie (by tag); "fired": when every
        # rule that fires is recorded (rules without asserts included)
        self.actions: tuple[_Action, ...] | None = None
        self.actions_fired: tuple[_Action, ...] | None = None
        self.unknown: dict[str, tuple[_Action, ...]] = {}
        self.unknown_fired: dict[str, tuple[_Action, ...]] = {}


_Action = tuple[int, Any, tuple[Any, ...], tuple[str, dict[str, tuple[Any, ...]]] | None]
"""``(pattern index, rule, candidates, narrowing)``: a fixed rule (from the path trie), or ``None``
and the name-indexed candidate rules, which ``(attribute, {value: rules})`` narrows when given."""


@dataclass(slots=True)
class Pattern:
    """One ``<pattern>``: an ordered list of rules and the index used to find the first match.

    ``by_tag`` maps an element name to the rules that may match it, in order; when all the rules for
    a name that test an attribute test the same one for equality (``cbc:EndpointID[@schemeID =
    '0088']``), ``by_attr`` narrows them further by that attribute's value.
    """

    id: str
    rules: list[Rule]
    trie_slot: int | None = None
    by_tag: dict[str, tuple[Rule, ...]] = field(default_factory=dict)
    wild: tuple[Rule, ...] = ()
    by_attr: dict[str, tuple[str, dict[str, tuple[Rule, ...]]]] = field(default_factory=dict)
    wild_below_root: tuple[Rule, ...] = ()  # the wildcard rules that can match below the root
    wild_xpath: str | None = None  # XPath 1.0 selecting every element a wildcard rule may match
    namespaces: dict[str, str] = field(default_factory=dict)

    def first_match(self, el: etree._Element) -> Rule | None:
        """The first rule whose context matches ``el`` (name-indexed patterns only)."""
        for rule in self.by_tag.get(el.tag, self.wild):
            try:
                if rule.matches(el):
                    return rule
            except DynamicError:
                continue  # an error in a context pattern is a non-match, as in Saxon
        return None


_NO_NAMES: Final[frozenset[Any]] = frozenset()  # the child names of an element without children
_ELEMENT: Final = etree._Element  # the class of element proxies (comments and PIs are subclasses)
EMPTY_ELEMENT_XPATH: Final = "//*[(not(*) and not(normalize-space()))]"
"""The XPath 1.0 form of the empty-element context (PEPPOL-COMMON-R001), evaluated inline."""
_XML_WS: Final = " \t\n\r"


def _has_element_child(el: etree._Element) -> bool:
    for child in el:  # noqa: SIM110 - faster than any()
        if isinstance(child.tag, str):
            return True
    return False


_XPATHS = threading.local()


def _xpath(text: str, namespaces: dict[str, str]) -> etree.XPath:
    """A compiled lxml XPath, one per thread (lxml evaluators are not shared across threads)."""
    cache: dict[str, etree.XPath] | None = getattr(_XPATHS, "cache", None)
    if cache is None:
        cache = _XPATHS.cache = {}
    xp = cache.get(text)
    if xp is None:
        xp = cache[text] = etree.XPath(text, namespaces=namespaces)
    return xp


@dataclass(frozen=True, slots=True)
class Failure:
    """A failed assert on an element; ``error`` is set when the test raised an XPath error."""

    assertion: Assertion
    element: etree._Element
    error: str | None = None


@dataclass(slots=True)
class Evaluation:
    """The result of running a rule set: failures and fired rules, pattern by pattern."""

    failures: list[list[Failure]]
    fired: list[list[str]] | None

    def all_failures(self) -> Iterator[Failure]:
        for per_pattern in self.failures:
            yield from per_pattern


class RuleSet:
    """A compiled rule file: namespaces, code lists and patterns in order."""

    def __init__(self, rid: str, title: str, release: str, namespaces: dict[str, str], patterns: list[Pattern],
                 source: str) -> None:
        self.id = rid
        self.title = title
        self.release = release
        self.namespaces = namespaces
        self.patterns = patterns
        self.source = source
        self._trie = self._build_trie()
        prefiltered = [i for i, p in enumerate(patterns) if p.wild_xpath is not None]
        # The empty-element idiom (PEPPOL-COMMON-R001) is tested inline during the walk instead.
        self._empty_idiom = tuple(i for i in prefiltered if patterns[i].wild_xpath == EMPTY_ELEMENT_XPATH)
        self._prefiltered = tuple(i for i in prefiltered if i not in self._empty_idiom)
        self._deep: dict[str, tuple[_Action, ...]] = {}
        self._deep_fired: dict[str, tuple[_Action, ...]] = {}
        self._root: dict[tuple[str, bool], tuple[_Action, ...]] = {}
        self.asserts: tuple[Assertion, ...] = tuple(
            a for p in patterns for r in p.rules for a in r.asserts
        )

    def __repr__(self) -> str:
        return f"<RuleSet {self.id} {self.release}: {len(self.asserts)} asserts in {len(self.patterns)} patterns>"

    @property
    def rule_ids(self) -> tuple[str, ...]:
        """Every assert id, in file order (an id may repeat when one rule is split over contexts)."""
        return tuple(a.id for a in self.asserts)

    def _build_trie(self) -> _TrieNode:
        trie_patterns = [p for p in self.patterns if p.trie_slot is not None]
        slots = len(trie_patterns)
        root = _TrieNode(slots)
        exact: dict[tuple[str, ...], list[list[Rule]]] = {}
        star: dict[tuple[str, ...], list[list[Rule]]] = {}

        def node_for(path: tuple[str, ...]) -> _TrieNode:
            node = root
            for tag in path:
                node = node.children.setdefault(tag, _TrieNode(slots))
            return node

        for pattern in trie_patterns:
            slot = pattern.trie_slot
            assert slot is not None
            for rule in pattern.rules:
                for alt in rule.alternatives:
                    tags = tuple(s.tag or "*" for s in alt.steps)
                    if tags[-1] == "*":
                        node_for(tags[:-1])
                        star.setdefault(tags[:-1], [[] for _ in range(slots)])[slot].append(rule)
                    else:
                        node_for(tags)
                        exact.setdefault(tags, [[] for _ in range(slots)])[slot].append(rule)

        def first(rules: Iterable[Rule]) -> Rule | None:
            return min(rules, key=lambda r: r.index, default=None)

        def fill(node: _TrieNode, path: tuple[str, ...]) -> None:
            parent_star = star.get(path[:-1]) if path else None
            own = exact.get(path)
            for slot in range(slots):
                candidates = list(own[slot]) if own else []
                if parent_star is not None:
                    candidates += parent_star[slot]
                node.rules[slot] = first(candidates) if path else None
                node.star[slot] = first(star[path][slot]) if path in star else None
            for tag, child in node.children.items():
                fill(child, (*path, tag))

        fill(root, ())
        return root

    def evaluate(self, root: etree._Element, *, record_fired: bool = False) -> Evaluation:
        """Run every pattern over the tree rooted at ``root`` (the document element).

        One pass in document order. Each element's place (its node in the path trie, or just its name
        when it is off the trie) maps to a cached list of actions: the rule the path-indexed patterns
        give it, and the candidate rules of the name-indexed ones. Failures are kept per pattern, so
        they come out in the order the official SVRL lists them (pattern by pattern, document order).
        """
        patterns = self.patterns
        failures: list[list[Failure]] = [[] for _ in patterns]
        fired: list[list[str]] | None = [[] for _ in patterns] if record_fired else None
        # Wildcard contexts answered by libxml2 in one go (usually selecting nothing).
        selected: dict[int, set[int]] = {}
        keep: list[etree._Element] = []
        for i in self._prefiltered:
            found = cast("list[etree._Element]", _xpath(patterns[i].wild_xpath or "", patterns[i].namespaces)(root))
            if found:
                keep.extend(found)
                selected[i] = {id(e) for e in found}

        top = self._trie.children.get(root.tag)
        deep = self._deep_fired if record_fired else self._deep
        # Every node in document order (elements, comments, PIs). Holding every proxy keeps lxml from
        # re-creating them when rules look at parents and children. len() counts the same kinds of
        # child nodes, so a stack of (trie node, nodes left) gives each element's parent without
        # asking lxml for it.
        nodes = list(root.iter())
        empty_idiom = self._empty_idiom
        # First pass: each element's actions, and the names of each element's children (lxml builds a
        # new string for every .tag, so rules testing for a child get them from here: check(el, names)).
        work: list[tuple[etree._Element, tuple[_Action, ...], set[Any] | frozenset[Any]]] = []
        stack: list[tuple[_TrieNode | None, int, set[Any]]] = []
        parent_node: _TrieNode | None = None
        parent_names: set[Any] = set()
        remaining = 1
        for el in nodes:
            while not remaining:
                parent_node, remaining, parent_names = stack.pop()
            remaining -= 1
            tag = el.tag
            parent_names.add(tag)
            if tag.__class__ is not str:
                continue  # a comment, processing instruction or entity reference
            size = len(el)
            if empty_idiom:
                # //*[not(*) and not(normalize-space())], the libxml2-free way
                if size:
                    # the first child is usually an element (a comment or PI first: look further)
                    empty = (el[0].__class__ is not _ELEMENT and not _has_element_child(el)
                             and not element_text(el).strip(_XML_WS))
                else:
                    text = el.text
                    empty = text is None or not text.strip(_XML_WS)
                if empty:
                    for i in empty_idiom:
                        selected.setdefault(i, set()).add(id(el))
            if el is root:
                node = top
                actions = self._root_actions(tag, top, record_fired)
            elif parent_node is not None:
                node = parent_node.children.get(tag)
                if node is not None:
                    cached = node.actions_fired if record_fired else node.actions
                    actions = cached if cached is not None else self._node_actions(node, tag, record_fired)
                else:
                    cached = (parent_node.unknown_fired if record_fired else parent_node.unknown).get(tag)
                    actions = cached if cached is not None else self._unknown_actions(parent_node, tag,
                                                                                      record_fired)
            else:
                node = None
                cached = deep.get(tag)
                actions = cached if cached is not None else self._deep_actions(tag, record_fired)
            if size:
                names: set[Any] = set()
                work.append((el, actions, names))
                stack.append((parent_node, remaining, parent_names))
                parent_node, remaining, parent_names = node, size, names
            else:
                work.append((el, actions, _NO_NAMES))
        # Second pass: the rules, element by element in document order.
        for el, actions, child_names in work:
            if selected and any(id(el) in ids for ids in selected.values()):
                actions = self._with_prefiltered(el, actions, selected)
            for i, rule, candidates, narrow in actions:
                if rule is None:
                    if narrow is not None:
                        # "\0" cannot occur in XML: an absent attribute falls to the default candidates
                        candidates = narrow[1].get(el.get(narrow[0], "\0"), candidates)
                    for candidate, matches in candidates:
                        try:
                            if matches(el):
                                rule = candidate
                                break
                        except DynamicError:
                            continue  # an error in a context pattern is a non-match, as in Saxon
                    if rule is None:
                        continue
                if fired is not None:
                    fired[i].append(rule.context)
                check = rule.check
                if check is not None:
                    failed = check(el, child_names)
                    if failed:
                        asserts = rule.asserts
                        failures[i].extend(Failure(asserts[k], el, error) for k, error in failed)
                    continue
                for a in rule.asserts:
                    try:
                        if not a.test(el):
                            failures[i].append(Failure(a, el))
                    except DynamicError as exc:
                        failures[i].append(Failure(a, el, str(exc)))
        return Evaluation(failures, fired)

    def _with_prefiltered(self, el: etree._Element, actions: tuple[_Action, ...],
                          selected: dict[int, set[int]]) -> tuple[_Action, ...]:
        """The actions of an element that a prefiltered wildcard context selected: for those patterns,
        all candidates (wildcard rules included) in rule order, narrowed by nothing."""
        chosen = {i for i, ids in selected.items() if id(el) in ids}
        out = [a for a in actions if a[0] not in chosen]
        is_root = el.getparent() is None
        for i in chosen:
            p = self.patterns[i]
            rules = p.by_tag.get(el.tag, p.wild if is_root else p.wild_below_root)
            out.append((i, None, tuple((r, r.matches) for r in rules), None))
        out.sort(key=lambda a: a[0])
        return tuple(out)

    def _name_action(self, index: int, tag: str, *, is_root: bool) -> _Action | None:
        """The candidates of name-indexed pattern ``index`` for an element called ``tag``.

        A prefiltered wildcard rule is left out here: it is tried only on the elements its XPath 1.0
        form selected (see :meth:`_with_prefiltered`).
        """
        p = self.patterns[index]
        wild = p.wild if is_root else p.wild_below_root
        prefiltered = p.wild_xpath is not None and not is_root
        strip = set(map(id, p.wild_below_root)) if prefiltered else set()

        def keep(rules: tuple[Rule, ...]) -> tuple[Rule, ...]:
            return tuple(r for r in rules if id(r) not in strip) if strip else rules

        def pairs(rules: tuple[Rule, ...]) -> tuple[tuple[Rule, Callable[[etree._Element], bool]], ...]:
            return tuple((r, r.matcher_for(tag)) for r in keep(rules))

        narrowed = p.by_attr.get(tag)
        if narrowed is not None:
            attr, buckets = narrowed
            return (index, None, pairs(p.by_tag.get(tag, ())), (attr, {v: pairs(rs) for v, rs in buckets.items()}))
        candidates = pairs(p.by_tag.get(tag, wild))
        if not candidates:
            return None
        return (index, None, candidates, None)

    def _actions(self, tag: str, trie_rules: list[Rule | None] | None, record_fired: bool, *,
                 is_root: bool = False) -> tuple[_Action, ...]:
        out: list[_Action] = []
        for i, p in enumerate(self.patterns):
            if p.trie_slot is not None:
                rule = trie_rules[p.trie_slot] if trie_rules is not None else None
                if rule is not None and (rule.asserts or record_fired):
                    out.append((i, rule, (), None))
            else:
                action = self._name_action(i, tag, is_root=is_root)
                if action is not None:
                    out.append(action)
        return tuple(out)

    def _node_actions(self, node: _TrieNode, tag: str, record_fired: bool) -> tuple[_Action, ...]:
        actions = self._actions(tag, node.rules, record_fired)
        if record_fired:
            node.actions_fired = actions
        else:
            node.actions = actions
        return actions

    def _unknown_actions(self, parent: _TrieNode, tag: str, record_fired: bool) -> tuple[_Action, ...]:
        actions = self._actions(tag, parent.star, record_fired)
        (parent.unknown_fired if record_fired else parent.unknown)[tag] = actions
        return actions

    def _deep_actions(self, tag: str, record_fired: bool) -> tuple[_Action, ...]:
        actions = self._actions(tag, None, record_fired)
        (self._deep_fired if record_fired else self._deep)[tag] = actions
        return actions

    def _root_actions(self, tag: str, node: _TrieNode | None, record_fired: bool) -> tuple[_Action, ...]:
        key = (tag, record_fired)
        actions = self._root.get(key)
        if actions is None:
            rules = node.rules if node is not None else self._trie.star
            actions = self._root[key] = self._actions(tag, rules, record_fired, is_root=True)
        return actions


# --------------------------------------------------------------------------------------------------
# Loading rule files


class _Loader:
    def __init__(self) -> None:
        self.namespaces: dict[str, str] = {}
        self.variables: dict[str, frozenset[str]] = {}
        self.patterns: list[Pattern] = []
        self.rule_count = 0
        self.seen: set[Path] = set()

    def load(self, path: Path) -> etree._Element:
        path = path.resolve()
        if path in self.seen:
            raise RulesError(f"{path} is included twice")
        self.seen.add(path)
        root = parse_xml(path.read_bytes(), what=f"rule file {path.name}")
        if root.tag != _R + "rules":
            raise RulesError(f"{path.name}: the root element must be {{{RULES_NS}}}rules")
        for child in root:
            if not isinstance(child.tag, str):
                continue
            tag = child.tag.removeprefix(_R)
            if tag == "ns":
                self.namespaces[_attr(child, "prefix", path)] = _attr(child, "uri", path)
            elif tag == "codelist":
                self.variables[_attr(child, "name", path)] = _codelist(child, path)
            elif tag == "include":
                self.load(path.parent / _attr(child, "href", path))
            elif tag == "pattern":
                self.patterns.append(self.pattern(child, path))
            elif tag in ("title", "p"):
                continue
            else:
                raise RulesError(f"{path.name} line {child.sourceline}: unknown element <{tag}>")
        return root

    def pattern(self, el: etree._Element, path: Path) -> Pattern:
        pid = el.get("id") or f"pattern-{len(self.patterns) + 1}"
        rules = []
        for rel in el:
            if not isinstance(rel.tag, str) or rel.tag == _R + "p":
                continue
            if rel.tag != _R + "rule":
                raise RulesError(f"{path.name} line {rel.sourceline}: <pattern> holds only <rule>")
            context = _attr(rel, "context", path)
            try:
                alternatives = compile_pattern(context, self.namespaces, self.variables)
                asserts = tuple(self.assertion(a, pid, path) for a in rel if isinstance(a.tag, str))
            except RulesError as exc:
                raise RulesError(f"{path.name} line {rel.sourceline}: {exc}") from None
            self.rule_count += 1
            rule = Rule(context, alternatives, asserts, self.rule_count)
            if asserts:
                rule.check = compile_rule_check([a.test_text for a in asserts], self.namespaces, self.variables)
            rules.append(rule)
        pattern = Pattern(pid, rules, namespaces=dict(self.namespaces))
        if rules and all(alt.is_simple_absolute for r in rules for alt in r.alternatives):
            pattern.trie_slot = sum(1 for p in self.patterns if p.trie_slot is not None)
        else:
            _index(pattern)
        return pattern

    def assertion(self, el: etree._Element, pattern_id: str, path: Path) -> Assertion:
        if el.tag != _R + "assert":
            raise RulesError(f"<rule> holds only <assert>, found {el.tag}")
        flag = _attr(el, "flag", path)
        if flag not in (FATAL, WARNING):
            raise RulesError(f"flag must be fatal or warning, not {flag!r}")
        test_text = _attr(el, "test", path)
        test = as_bool(compile_expression(test_text, self.namespaces, self.variables))
        parts: list[str | Compiled | None] = [el.text or ""]
        for child in el:
            if child.tag == _R + "value-of":
                parts.append(compile_expression(_attr(child, "select", path), self.namespaces, self.variables))
            elif child.tag == _R + "name":
                parts.append(None)
            elif isinstance(child.tag, str):
                raise RulesError(f"unknown element <{child.tag}> in a message")
            parts.append(child.tail or "")
        return Assertion(_attr(el, "id", path), flag, test, test_text, tuple(parts), pattern_id)


def _attr(el: etree._Element, name: str, path: Path) -> str:
    value = el.get(name)
    if value is None:
        raise RulesError(f"{path.name} line {el.sourceline}: <{qname(el.tag)}> needs @{name}")
    return value


def _codelist(el: etree._Element, path: Path) -> frozenset[str]:
    ref, values = el.get("ref"), el.get("values")
    if (ref is None) == (values is None):
        raise RulesError(f"{path.name} line {el.sourceline}: a codelist has either @ref or @values")
    if values is not None:
        return frozenset(values.split())
    found = getattr(codelists, ref or "", None)
    if not isinstance(found, frozenset):
        raise RulesError(f"{path.name}: peppol_response.codelists has no code list {ref!r}")
    return found


def _index(pattern: Pattern) -> None:
    """Index a pattern's rules by the element name their contexts end with."""
    tags: set[str] = set()
    wild: list[Rule] = []
    for rule in pattern.rules:
        for alt in rule.alternatives:
            if alt.last.tag is None:
                if not wild or wild[-1] is not rule:
                    wild.append(rule)
            else:
                tags.add(alt.last.tag)
    for tag in tags:
        candidates = tuple(r for r in pattern.rules if any(a.last.tag in (tag, None) for a in r.alternatives))
        pattern.by_tag[tag] = candidates
        _narrow_by_attribute(pattern, tag, candidates)
    pattern.wild = tuple(wild)
    pattern.wild_below_root = tuple(
        r for r in wild if any(not (a.anchor == "/" and len(a.steps) == 1) for a in r.alternatives)
    )
    wild_alts = [a for r in pattern.wild_below_root for a in r.alternatives if a.last.tag is None]
    if wild_alts and all(a.xpath1 is not None for a in wild_alts):
        pattern.wild_xpath = " | ".join(a.xpath1 for a in wild_alts if a.xpath1 is not None)


def _narrow_by_attribute(pattern: Pattern, tag: str, candidates: tuple[Rule, ...]) -> None:
    """Bucket ``candidates`` by the value of the one attribute their predicates compare, if any.

    A rule belongs to the bucket of value *v* unless every alternative of it that can match ``tag``
    requires the attribute to equal something else; the default bucket (attribute absent or another
    value) keeps only the rules that do not require a value. Order is preserved in every bucket.
    """
    required: list[set[str] | None] = []  # per rule: values it requires, or None (no requirement)
    attr_name: str | None = None
    for rule in candidates:
        values: set[str] | None = set()
        for alt in rule.alternatives:
            if alt.last.tag not in (tag, None):
                continue
            eq = alt.last.attr_eq
            if eq is None or alt.last.tag is None:
                values = None
                break
            if attr_name not in (None, eq[0]):
                return  # two different attributes: not worth it
            attr_name = eq[0]
            assert values is not None
            values.add(eq[1])
        required.append(values)
    if attr_name is None:
        return
    all_values = set().union(*(v for v in required if v is not None))
    pairs = list(zip(candidates, required, strict=True))
    buckets = {value: tuple(r for r, req in pairs if req is None or value in req) for value in all_values}
    default = tuple(r for r, req in zip(candidates, required, strict=True) if req is None)
    pattern.by_attr[tag] = (attr_name, buckets)
    # elements whose attribute has no listed value (or none at all) only meet the unconditional rules
    pattern.by_tag[tag] = default if default else ()


def load_rules_file(path: Path, *, rid: str | None = None) -> RuleSet:
    """Compile the rule file at ``path`` (with its includes)."""
    loader = _Loader()
    root = loader.load(path)
    return RuleSet(
        rid or root.get("id") or path.stem,
        root.get("title", ""),
        root.get("release", ""),
        loader.namespaces,
        loader.patterns,
        path.name,
    )


@functools.cache
def load_ruleset(name: str) -> RuleSet:
    """The compiled rule set ``schematron/<name>.xml`` shipped with the package (cached per process)."""
    return load_rules_file(data_path("schematron", f"{name}.xml"))
