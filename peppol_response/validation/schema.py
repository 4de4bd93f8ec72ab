"""The schema layer: our compact UBL 2.1 ApplicationResponse XSD, checked with lxml, plus a calendar check.

Why lxml (libxml2) and not ``xmlschema``: libxml2 validates one of our documents in about ten
microseconds, ``xmlschema`` in about three milliseconds. libxml2 has one known defect that matters here:
it does not collapse whitespace before checking an ``xs:date`` or ``xs:time`` held in a complex type with
simple content (UBL's ``cbc:IssueDate``), so ``<cbc:IssueDate> 2025-03-11 </cbc:IssueDate>``, which UBL
accepts, would fail. Our schema therefore types dates and times as ``xs:token`` (whitespace collapsed)
restricted by a pattern: for times the lexical form of ``xs:time``, for dates the lexical form of
``xs:date`` *with the calendar* (the day exists in that month of that year, 29 February only in leap years,
no year 0000: XSD 1.0, as the Java validators used with the official artefacts apply it), see
``generate.py``. So libxml2 checks the whole value space in the same pass.

Errors are reported with ids ``XSD-<constraint>`` named after the XML Schema validation rule broken
(``XSD-cvc-complex-type.2.4``: element not allowed here or missing; ``XSD-cvc-datatype-valid.1.2.1``: bad
value; ``XSD-cvc-complex-type.3.2.2``: attribute not allowed; ``XSD-cvc-elt.1``: not an ApplicationResponse).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Final, cast

from lxml import etree

from ..binding import UBL_NS
from ..resources import data_path
from ..xmlsafe import source_line
from .report import Finding, Layer, Severity, _new_finding
from .ubl_structure import LEAF_TYPES

__all__ = ["ROOT_TAG", "SchemaLayer", "schema_layer"]

ROOT_TAG: Final = f"{{{UBL_NS}}}ApplicationResponse"

_NS_PREFIX: Final = {
    "urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2": "ubl",
    "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2": "cac",
    "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2": "cbc",
    "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2": "ext",
    "http://www.w3.org/2001/XMLSchema-instance": "xsi",
    "http://www.w3.org/2001/XMLSchema": "xs",
}
_CLARK: Final = re.compile(r"\{([^}]*)\}([\w.\-]+)")


def _prefixed(text: str) -> str:
    """Replace ``{namespace}local`` names by ``prefix:local`` (``Q{ns}local`` for unknown namespaces)."""

    def sub(m: re.Match[str]) -> str:
        prefix = _NS_PREFIX.get(m.group(1))
        return f"{prefix}:{m.group(2)}" if prefix else f"Q{{{m.group(1)}}}{m.group(2)}"

    return _CLARK.sub(sub, text)


def _rule_id(type_name: str) -> str:
    """libxml2's error type -> ``XSD-`` + the XML Schema constraint it reports."""
    name = type_name.removeprefix("SCHEMAV_")
    special = {
        "ELEMENT_CONTENT": "cvc-complex-type.2.4",
        "CVC_COMPLEX_TYPE_3_2_1": "cvc-complex-type.3.2.2",
        "CVC_PATTERN_VALID": "cvc-datatype-valid.1.2.1",
        "NOROOT": "cvc-elt.1",
        "CVC_ELT_1": "cvc-elt.1",
    }
    if name in special:
        return "XSD-" + special[name]
    parts = name.split("_")
    words = [p.lower() for p in parts if not p.isdigit()]
    numbers = [p for p in parts if p.isdigit()]
    return "XSD-" + "-".join(words) + ("." + ".".join(numbers) if numbers else "")


_SUBJECT: Final = re.compile(r"^Element '([^']*)'(?:, attribute '([^']*)')?: ")
_PATTERN_FACET: Final = re.compile(r"\[facet 'pattern'\] The value '(.*)' is not accepted by the pattern '.*'\.$",
                                   re.DOTALL)


def _message(raw: str, date_kind: str | None) -> str:
    """Our wording for a libxml2 schema error."""
    text = _prefixed(raw.strip())
    m = _SUBJECT.match(text)
    subject, attribute = (m.group(1), m.group(2)) if m else ("", None)
    rest = text[m.end():] if m else text
    if date_kind is not None and (pm := _PATTERN_FACET.match(rest)):
        return f"{subject}: '{pm.group(1)}' is not a valid xs:{date_kind}."
    if rest.startswith("This element is not expected."):
        expected = re.search(r"Expected is (?:one of )?\( (.*) \)", rest)
        tail = f"; UBL expects here: {expected.group(1)}" if expected else ""
        return f"{subject} is not allowed at this place (UBL 2.1 element order or cardinality){tail}."
    if rest.startswith("Missing child element(s)."):
        expected = re.search(r"Expected is (?:one of )?\( (.*) \)", rest)
        what = expected.group(1) if expected else "a mandatory child"
        return f"{subject} lacks a child UBL 2.1 requires: {what}."
    if attribute and "is not allowed" in rest:
        return f"Attribute {attribute} is not allowed on {subject} (UBL 2.1)."
    if attribute:
        return f"Attribute {attribute} of {subject}: {rest}"
    if rest.startswith("Character content other than whitespace is not allowed"):
        return f"{subject} may only contain elements, not text."
    if rest.startswith("Element content is not allowed"):
        return f"{subject} holds a value and may not contain elements."
    return f"{subject}: {rest}" if subject else rest


def _date_tags(kind: str) -> tuple[str, ...]:
    ns = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"}
    return tuple(f"{{{ns['cbc']}}}{name[4:]}" for name, (_t, k) in LEAF_TYPES.items() if k == kind)


_DATE_TAGS: Final = _date_tags("Date")
_TIME_TAGS: Final = _date_tags("Time")


def _log(schema: etree.XMLSchema) -> Iterable[etree._LogEntry]:
    return cast("Iterable[etree._LogEntry]", schema.error_log)


def location(el: etree._Element) -> str:
    from .validator import location as _location

    return _location(el)


class SchemaLayer:
    """Our XSD, loaded once per thread (lxml schema objects keep their error log per instance)."""

    def __init__(self) -> None:
        self._local = threading.local()

    @property
    def schema(self) -> etree.XMLSchema:
        schema: etree.XMLSchema | None = getattr(self._local, "schema", None)
        if schema is None:
            path = data_path("schemas", "ApplicationResponse.xsd")
            schema = etree.XMLSchema(etree.parse(str(path)))
            self._local.schema = schema
        return schema

    def check(self, root: etree._Element) -> list[Finding]:
        """Schema findings for the document element ``root`` (empty when it is valid)."""
        if root.tag != ROOT_TAG:
            what = root.tag if isinstance(root.tag, str) else "?"
            return [_new_finding("XSD-cvc-elt.1", Severity.FATAL, Layer.SCHEMA, location(root), source_line(root),
                            f"The document element is {_prefixed(what)}; a UBL 2.1 ubl:ApplicationResponse "
                            "was expected.")]
        schema = self.schema
        if schema.validate(root):
            return []
        return self._errors(root, schema)

    def _errors(self, root: etree._Element, schema: etree.XMLSchema) -> list[Finding]:
        elements = list(root.iter(etree.Element))
        errors = self._placed(root, elements, list(_log(schema)))
        if errors is None:
            errors = self._placed_by_revalidating(root, elements, schema)
        out: list[Finding] = []
        seen: set[tuple[int, str]] = set()
        for el, err in errors:
            finding = self._finding(el, err)
            key = (id(el), finding.rule + finding.message)
            if key not in seen:
                seen.add(key)
                out.append(finding)
        return out

    @staticmethod
    def _placed(root: etree._Element, elements: list[etree._Element],
                log: list[etree._LogEntry]) -> list[tuple[etree._Element, etree._LogEntry]] | None:
        """Each error of the validation just run with the element it is about, found by its line and, when
        several elements start on that line, by libxml2's path of the node (the same function writes
        ``getpath()``); None when an error cannot be placed that way."""
        by_line: dict[int | None, list[etree._Element]] = {}
        for e in elements:
            by_line.setdefault(source_line(e), []).append(e)
        tree = root.getroottree()
        by_path: dict[str, etree._Element] | None = None
        placed = []
        for err in log:
            candidates = by_line.get(err.line, ())
            if len(candidates) == 1 and tree.getpath(candidates[0]) == err.path:
                placed.append((candidates[0], err))
                continue
            if by_path is None:  # several elements on that line (a one-line document): look up every path
                by_path = {tree.getpath(e): e for e in elements}
            el = by_path.get(err.path)
            if el is None:
                return None
            placed.append((el, err))
        return placed

    @staticmethod
    def _placed_by_revalidating(root: etree._Element, elements: list[etree._Element],
                                schema: etree.XMLSchema) -> list[tuple[etree._Element, etree._LogEntry]]:
        if len(elements) >= 65535:  # libxml2 keeps line numbers in 16 bits: fall back to real lines
            schema.validate(root)
            by_line = {source_line(e): e for e in elements}
            return [(by_line.get(err.line, root), err) for err in _log(schema)]
        # Re-validate with each element's line set to its position, so every error names its element
        # exactly even when the document is on one line; then put the real lines back.
        lines = [e.sourceline for e in elements]
        try:
            for i, e in enumerate(elements, 1):
                e.sourceline = i  # type: ignore[assignment]  # lxml-stubs: the setter takes an int
            schema.validate(root)
            errors = [(elements[err.line - 1] if 0 < err.line <= len(elements) else root, err)
                      for err in _log(schema)]
        finally:
            for e, line in zip(elements, lines, strict=True):
                if line is not None:
                    e.sourceline = line
        return errors

    @staticmethod
    def _finding(el: etree._Element, err: etree._LogEntry) -> Finding:
        kind = "date" if el.tag in _DATE_TAGS else "time" if el.tag in _TIME_TAGS else None
        return _new_finding(_rule_id(err.type_name), Severity.FATAL, Layer.SCHEMA, location(el), source_line(el),
                       _message(err.message, kind))


_LAYER = SchemaLayer()


def schema_layer() -> SchemaLayer:
    """The process-wide schema layer."""
    return _LAYER
