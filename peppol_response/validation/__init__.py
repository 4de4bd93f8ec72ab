"""Validation with the same verdict as the official Peppol T111 artefacts (XSD + schematron).

::

    from peppol_response.validation import validate
    report = validate(xml_bytes)            # or a path, or an lxml tree
    report.valid                             # the official verdict (release 2026.5)
    for f in report.findings:                # rule id, severity, layer, location, line, message
        print(f.rule, f.severity, f.location, f.message)
    print(report.to_text(), report.to_json(), report.to_svrl())

See ``docs/validation.md`` for the design (our rule engine, our schema, the strict profile).
"""

from __future__ import annotations

from .report import DocumentKind, Finding, Layer, Report, Severity
from .validator import RULES_MLR, RULES_STRICT, RULES_T111, validate, validate_element

__all__ = [
    "RULES_MLR",
    "RULES_STRICT",
    "RULES_T111",
    "DocumentKind",
    "Finding",
    "Layer",
    "Report",
    "Severity",
    "validate",
    "validate_element",
]
