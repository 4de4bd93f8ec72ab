"""``validate()``: read a document, pick what it is, run the schema and rule layers, build the report."""

from __future__ import annotations

import copy
import os
import re
from typing import Final

from lxml import etree

from ..binding import CBC
from ..errors import EnvelopeError, ParseError, UnsafeXmlError
from ..xmlsafe import DEFAULT_MAX_BYTES, parse_xml, qname, source_line
from .engine import Evaluation, RuleSet, load_ruleset
from .mlr import MLR_CUSTOMIZATION_ID
from .report import DocumentKind, Finding, Layer, Report, Severity, _new_finding
from .schema import ROOT_TAG, schema_layer
from .xpath import element_text, normalize_space

__all__ = [
    "RULES_MLR",
    "RULES_STRICT",
    "RULES_T111",
    "SBDH_NS",
    "Source",
    "validate",
    "validate_element",
]

RULES_T111: Final = "PEPPOL-T111-2026.5"
"""The rule file (``schematron/<name>.xml``) for Invoice Responses."""
RULES_MLR: Final = "PEPPOL-T71-2026.5"
"""The rule file for Message Level Responses."""
RULES_STRICT: Final = "PR-T111-strict"
"""Our strict profile for Invoice Responses (ids ``PR-...``)."""
SBDH_NS: Final = "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"
_SBD: Final = f"{{{SBDH_NS}}}StandardBusinessDocument"
_SBDH: Final = f"{{{SBDH_NS}}}StandardBusinessDocumentHeader"
_CUSTOMIZATION_ID: Final = f"{{{CBC}}}CustomizationID"

Source = bytes | bytearray | memoryview | str | os.PathLike[str] | etree._Element | etree._ElementTree
"""What :func:`validate` accepts: XML bytes or text, a file path, or an already parsed lxml tree."""


def _looks_like_xml(text: str) -> bool:
    return text.lstrip("\ufeff \t\r\n").startswith("<")


def _parse(data: bytes | str, what: str, max_bytes: int) -> etree._Element:
    return parse_xml(data, what=what, max_bytes=max_bytes)


def _read(source: Source, max_bytes: int) -> etree._Element:
    if isinstance(source, etree._ElementTree):
        return source.getroot()
    if isinstance(source, etree._Element):
        return source
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _parse(bytes(source), "document", max_bytes)
    if isinstance(source, str) and _looks_like_xml(source):
        return _parse(source, "document", max_bytes)
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        # One open, fstat and read (Path.stat() then Path.read_bytes() cost twice as much per file).
        with open(path, "rb", buffering=0) as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > max_bytes:
                raise UnsafeXmlError(f"{path} is {size} bytes, more than the limit of {max_bytes}")
            data = fh.readall()
        return _parse(data, str(path), max_bytes)
    raise ParseError(f"cannot validate a {type(source).__name__}; give XML bytes, text, a path or an lxml tree")


def _unwrap(root: etree._Element) -> tuple[etree._Element, str | None]:
    """The payload of a Standard Business Document (as a document of its own), or ``root`` itself."""
    if root.tag != _SBD:
        if root.getparent() is not None:  # a subtree given directly: rules must see it as the document
            return copy.deepcopy(root), None
        return root, None
    payload = [c for c in root if isinstance(c.tag, str) and c.tag != _SBDH]
    if not payload:
        raise EnvelopeError("the Standard Business Document carries no payload", field="StandardBusinessDocument")
    if len(payload) > 1:
        raise EnvelopeError(f"the Standard Business Document carries {len(payload)} payload elements, not one",
                            field="StandardBusinessDocument")
    return copy.deepcopy(payload[0]), "sbdh"


def _kind(root: etree._Element) -> DocumentKind:
    if root.tag != ROOT_TAG:
        return DocumentKind.OTHER
    if not len(root):
        return DocumentKind.INVOICE_RESPONSE
    child: etree._Element | None = root[0]  # CustomizationID is usually the first child
    if child is not None and child.tag != _CUSTOMIZATION_ID:
        child = next(root.iterchildren(_CUSTOMIZATION_ID), None)
    if child is not None and normalize_space(element_text(child)).startswith(MLR_CUSTOMIZATION_ID):
        return DocumentKind.MLR
    return DocumentKind.INVOICE_RESPONSE


_QNAMES: dict[str, str] = {}
_LOCATIONS: dict[tuple[str, str], str] = {}
_SEVERITY: Final = {s.value: s for s in Severity}


def _qname(tag: str) -> str:
    name = _QNAMES.get(tag)
    if name is None:
        name = qname(tag)
        if len(_QNAMES) < 4096:  # bounded: hostile documents may use any number of names
            _QNAMES[tag] = name
    return name


# A step of lxml's getelementpath(): "{ns}local" or "local", with "[n]" when same-named siblings exist.
# Namespace URIs may hold "/" and "[", so a step is matched as a whole rather than split on "/".
_ELEMENT_PATH_STEP: Final = re.compile(r"(\{[^}]*\}[^/\[]+|[^/\[{]+)(?:\[([0-9]+)\])?/?")


def location(el: etree._Element) -> str:
    """The SVRL-style XPath of an element (``/ubl:ApplicationResponse[1]/cac:Status[2]``).

    Same result as :func:`peppol_response.xmlsafe.location`; libxml2 finds the path and counts the
    same-named siblings (lxml's ``getelementpath``, which leaves out ``[1]`` for an only child of its
    name), here it is only rewritten with prefixes and an index on every step.
    """
    tag = el.tag
    if not isinstance(tag, str):  # pragma: no cover - rules only report elements
        return _slow_location(el)
    tree = el.getroottree()
    root = tree.getroot()
    if el is root:
        return f"/{_qname(tag)}[1]"
    key = (root.tag, tree.getelementpath(el))
    found = _LOCATIONS.get(key)
    if found is not None:  # documents fail at the same places again and again
        return found
    out = [f"/{_qname(key[0])}[1]"]
    path = key[1]
    end = 0
    for m in _ELEMENT_PATH_STEP.finditer(path):
        if m.start() != end:  # pragma: no cover - a name lxml would not write
            return _slow_location(el)
        end = m.end()
        out.append(f"/{_qname(m.group(1))}[{m.group(2) or 1}]")
    if end != len(path):  # pragma: no cover
        return _slow_location(el)
    found = "".join(out)
    if len(_LOCATIONS) < 4096:  # bounded: hostile documents may have any number of paths
        _LOCATIONS[key] = found
    return found


def _slow_location(el: etree._Element) -> str:
    steps: list[str] = []
    node: etree._Element | None = el
    while node is not None:
        tag = node.tag
        if isinstance(tag, str):
            index = 1 + sum(1 for _ in node.itersiblings(tag, preceding=True))
            steps.append(f"{_qname(tag)}[{index}]")
        else:  # pragma: no cover - rules only report elements
            steps.append("node()[1]")
        node = node.getparent()
    return "/" + "/".join(reversed(steps))


def _rule_findings(evaluation: Evaluation, ruleset: RuleSet) -> list[Finding]:
    out = []
    for pattern, failures in zip(ruleset.patterns, evaluation.failures, strict=True):
        for failure in failures:
            a = failure.assertion
            el = failure.element
            if failure.error is None:
                severity, message = _SEVERITY[a.flag], a.message(el)
            else:
                # The official transformation stops with this XPath error, so it cannot accept the
                # document: we report the assert as failed, fatally, whatever its flag.
                severity = Severity.FATAL
                message = (f"This rule cannot be evaluated here ({failure.error}); the official artefacts stop "
                           f"with an error on this document. {a.message(el)}")
            out.append(_new_finding(a.id, severity, Layer.RULES, location(el), source_line(el), message, a.test_text,
                               pattern.id))
    return out


def validate_element(
    root: etree._Element, *, strict: bool = False, envelope: str | None = None, fired_rules: bool = False
) -> Report:
    """Validate a parsed document whose element ``root`` has no parent (see :func:`validate`)."""
    kind = _kind(root)
    ruleset = load_ruleset(RULES_MLR if kind is DocumentKind.MLR else RULES_T111)
    findings = schema_layer().check(root)
    evaluation = ruleset.evaluate(root, record_fired=fired_rules)
    findings += _rule_findings(evaluation, ruleset)
    fired = _fired(ruleset, evaluation)
    name = f"{ruleset.id} {ruleset.release}"
    if strict and kind is not DocumentKind.MLR:
        strict_rules = load_ruleset(RULES_STRICT)
        strict_eval = strict_rules.evaluate(root, record_fired=fired_rules)
        findings += _rule_findings(strict_eval, strict_rules)
        fired += _fired(strict_rules, strict_eval)
        name += f" + {strict_rules.id}"
    return Report(tuple(findings), kind, name, envelope, strict, fired, ruleset.title)


_NOT_RECORDED: dict[int, tuple[tuple[str, tuple[str, ...]], ...]] = {}


def _fired(ruleset: RuleSet, evaluation: Evaluation) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if evaluation.fired is None:  # not recorded: the same empty answer for every document
        empty = _NOT_RECORDED.get(id(ruleset))
        if empty is None:
            empty = _NOT_RECORDED[id(ruleset)] = tuple((p.id, ()) for p in ruleset.patterns)
        return empty
    return tuple((p.id, tuple(c)) for p, c in zip(ruleset.patterns, evaluation.fired, strict=True))


def validate(
    xml_or_path: Source,
    *,
    strict: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
    fired_rules: bool = False,
) -> Report:
    """Validate an Invoice Response with the verdict of the official Peppol artefacts (release 2026.5).

    ``xml_or_path`` is XML (bytes, or text starting with ``<``), a file path, or a parsed lxml tree.
    Both layers always run: our UBL 2.1 schema (findings ``XSD-...``) and the PEPPOL-T111 rules with the
    PEPPOL-COMMON rules (official ids). A Standard Business Document is unwrapped and its payload
    validated (locations are then relative to the payload); a Message Level Response is recognised by
    its CustomizationID and validated with the T71 rules. ``strict=True`` adds our ``PR-`` rules (the
    binding's maximums and the intended PEPPOL-T111-R005). ``fired_rules=True`` records every rule that
    fired, for a complete SVRL rendering.

    Raises :class:`~peppol_response.errors.ParseError` (or its subclass ``UnsafeXmlError``) for input that
    is not well-formed or is hostile XML, :class:`~peppol_response.errors.EnvelopeError` for an SBDH
    without exactly one payload, and ``OSError`` for a path that cannot be read.
    """
    root = _read(xml_or_path, max_bytes)
    doc, envelope = _unwrap(root)
    return validate_element(doc, strict=strict, envelope=envelope, fired_rules=fired_rules)
