"""Validation reports: findings, the verdict, and renderings as text, JSON and SVRL."""

from __future__ import annotations

import enum
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from xml.sax.saxutils import escape, quoteattr

__all__ = [
    "DocumentKind",
    "Finding",
    "Layer",
    "Report",
    "Severity",
    "summary_lines",
]

SVRL_NS: Final = "http://purl.oclc.org/dsdl/svrl"


class Severity(enum.StrEnum):
    """How bad a finding is: ``fatal`` makes the document invalid, ``warning`` does not."""

    FATAL = "fatal"
    WARNING = "warning"


class Layer(enum.StrEnum):
    """Which layer of the validation found it: the XML schema or the rules (Schematron)."""

    SCHEMA = "schema"
    RULES = "rules"


class DocumentKind(enum.StrEnum):
    """What the validated document is, by its root element and CustomizationID."""

    INVOICE_RESPONSE = "invoice-response"
    MLR = "mlr"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem in a document.

    ``rule`` is the official id (``PEPPOL-T111-R001``, ``PEPPOL-COMMON-R040``), an ``XSD-...`` id for
    schema errors or a ``PR-...`` id of our strict profile. ``location`` is an XPath in the style of
    the official SVRL (``/ubl:ApplicationResponse[1]/cac:DocumentResponse[1]``); for a document in
    an SBDH envelope it is relative to the payload. ``line`` is the line in the input as given.
    """

    rule: str
    severity: Severity
    layer: Layer
    location: str
    line: int | None
    message: str
    test: str = field(default="", compare=False)  # the rule's test, for SVRL (not in JSON)
    pattern: str = field(default="", compare=False)  # the rule's pattern, for SVRL (not in JSON)

    def __post_init__(self) -> None:
        # Strings become the enums; members (what the validator passes) are taken as they are, since an
        # enum call costs about a microsecond and invalid documents make several findings.
        if self.severity.__class__ is not Severity:
            object.__setattr__(self, "severity", Severity(self.severity))
        if self.layer.__class__ is not Layer:
            object.__setattr__(self, "layer", Layer(self.layer))

    @property
    def fatal(self) -> bool:
        return self.severity is Severity.FATAL

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape: rule, severity, layer, location, line, message."""
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "layer": self.layer.value,
            "location": self.location,
            "line": self.line,
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        return cls(data["rule"], Severity(data["severity"]), Layer(data["layer"]), data["location"],
                   data.get("line"), data["message"])


# A plain class with the slots of Finding: _new_finding fills one and makes it a Finding by assigning
# __class__ (Python allows it between classes of identical layout), which skips the dataclass __init__
# and __post_init__ for the findings the validator builds from values of the right types.
_FindingParts: Any = type("_FindingParts", (), {"__slots__": Finding.__dict__["__slots__"], "__module__": __name__})
_probe = _FindingParts()
_probe.__class__ = Finding  # TypeError at import if the layouts ever differ
del _probe


def _new_finding(rule: str, severity: Severity, layer: Layer, location: str, line: int | None, message: str,
                 test: str = "", pattern: str = "") -> Finding:
    """A Finding from values of the right types (the validator's own), without the conversions."""
    obj = _FindingParts()
    obj.rule = rule
    obj.severity = severity
    obj.layer = layer
    obj.location = location
    obj.line = line
    obj.message = message
    obj.test = test
    obj.pattern = pattern
    obj.__class__ = Finding
    return obj  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class Report:
    """The outcome of validating one document.

    ``valid`` is the official verdict: the schema layer found nothing and no fatal rule failed
    (with ``strict=True`` our ``PR-`` rules count as well). ``kind`` says what the document is;
    ``envelope`` is ``"sbdh"`` when the payload was taken out of a Standard Business Document;
    ``rules`` names the rule set applied (``PEPPOL-T111 2026.5``).
    """

    findings: tuple[Finding, ...]
    kind: DocumentKind = DocumentKind.INVOICE_RESPONSE
    rules: str = ""
    envelope: str | None = None
    strict: bool = False
    fired: tuple[tuple[str, tuple[str, ...]], ...] = field(default=(), compare=False, repr=False)
    title: str = field(default="", compare=False, repr=False)

    @property
    def valid(self) -> bool:
        return not any(f.fatal for f in self.findings)

    @property
    def errors(self) -> tuple[Finding, ...]:
        """The findings that make the document invalid."""
        return tuple(f for f in self.findings if f.fatal)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if not f.fatal)

    @property
    def fatal_rules(self) -> frozenset[str]:
        """The ids of the rules that failed fatally (schema ids included)."""
        return frozenset(f.rule for f in self.findings if f.fatal)

    def __bool__(self) -> bool:  # pragma: no cover - guard against `if report:` meaning "valid"
        raise TypeError("a Report has no truth value; use report.valid")

    def to_dict(self, path: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if path is not None:
            out["path"] = path
        out["valid"] = self.valid
        out["findings"] = [f.to_dict() for f in self.findings]
        return out

    def to_json(self, path: str | None = None) -> str:
        """One line of JSON: ``{"path", "valid", "findings": [...]}`` (``path`` only when given)."""
        return json.dumps(self.to_dict(path), ensure_ascii=False, separators=(",", ":"))

    def to_text(self, path: str | None = None) -> str:
        """A readable block: a verdict line and one line per finding."""
        name = path or "document"
        kind = {DocumentKind.INVOICE_RESPONSE: "Invoice Response", DocumentKind.MLR: "Message Level Response",
                DocumentKind.OTHER: "not an ApplicationResponse"}[self.kind]
        extra = [kind]
        if self.envelope:
            extra.append(f"payload of an {self.envelope.upper()} envelope")
        if self.strict:
            extra.append("strict")
        n_fatal = len(self.errors)
        n_warn = len(self.findings) - n_fatal
        verdict = "valid" if self.valid else "INVALID"
        lines = [f"{name}: {verdict} ({'; '.join(extra)}; {n_fatal} fatal, {n_warn} warning"
                 f"{'' if n_warn == 1 else 's'})"]
        for f in self.findings:
            where = f"line {f.line}" if f.line is not None else "line ?"
            lines.append(f"  {f.severity.value:<7} {f.rule:<22} {where:<9} {f.location}")
            lines.append(f"          {f.message}")
        return "\n".join(lines)

    def to_svrl(self) -> str:
        """Standard SVRL: ``svrl:schematron-output`` with ``active-pattern``, ``fired-rule`` and
        ``failed-assert`` (``@id``, ``@flag``, ``@location``, ``@test``, ``svrl:text``).

        Schema-layer findings come first, in an active pattern of their own (``id="xsd"``), so an
        SVRL consumer that only counts fatal failed asserts reaches the same verdict.
        """
        out = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<svrl:schematron-output xmlns:svrl="{SVRL_NS}" schemaVersion="iso" title={quoteattr(self.title)}>',
        ]
        for prefix, uri in _PREFIXES:
            out.append(f'  <svrl:ns-prefix-in-attribute-values prefix="{prefix}" uri="{uri}"/>')
        schema = [f for f in self.findings if f.layer is Layer.SCHEMA]
        out.append('  <svrl:active-pattern id="xsd" name="XML Schema (UBL 2.1 ApplicationResponse)"/>')
        out.extend(_failed_assert(f) for f in schema)
        by_pattern: dict[str, list[Finding]] = {}
        for f in self.findings:
            if f.layer is Layer.RULES:
                by_pattern.setdefault(f.pattern, []).append(f)
        for pattern_id, contexts in self.fired:
            out.append(f"  <svrl:active-pattern id={quoteattr(pattern_id)}/>")
            for context in contexts:
                out.append(f"  <svrl:fired-rule context={quoteattr(context)}/>")
            out.extend(_failed_assert(f) for f in by_pattern.pop(pattern_id, []))
        for rest in by_pattern.values():  # findings whose pattern was not recorded
            out.extend(_failed_assert(f) for f in rest)
        out.append("</svrl:schematron-output>")
        return "\n".join(out) + "\n"


_PREFIXES: Final = (
    ("ubl", "urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2"),
    ("cac", "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"),
    ("cbc", "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"),
    ("ext", "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2"),
)


def _failed_assert(f: Finding) -> str:
    test = f.test or ("(XML Schema validation)" if f.layer is Layer.SCHEMA else "")
    return (
        f"  <svrl:failed-assert id={quoteattr(f.rule)} flag=\"{f.severity.value}\" location={quoteattr(f.location)}"
        f" test={quoteattr(test)}>\n    <svrl:text>{escape(f.message)}</svrl:text>\n  </svrl:failed-assert>"
    )


def summary_lines(rule_counts: Counter[tuple[str, str]], *, files: int, valid: int, invalid: int,
                  errors: int) -> list[str]:
    """The end-of-run summary of the CLI's text output: files and counts per rule."""
    lines = [f"{files} file{'s' if files != 1 else ''}: {valid} valid, {invalid} invalid, "
             f"{errors} not readable or not XML"]
    if rule_counts:
        lines.append("findings per rule:")
        for (rule, severity), count in sorted(rule_counts.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  {rule:<24} {severity:<7} {count}")
    return lines
