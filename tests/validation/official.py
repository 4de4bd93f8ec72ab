"""The official validation pipeline, run in Python, as the reference for differential tests and benchmarks.

It needs two things that are never part of this project:

* ``saxonche`` (Saxon-C HE: ``pip install saxonche``, or ``pip install -e .[official]``);
* a folder named by ``PEPPOL_OFFICIAL_ARTEFACTS`` holding the published artefacts::

      $PEPPOL_OFFICIAL_ARTEFACTS/xslt/PEPPOLBIS-T111.xslt          (OpenPeppol 2026.5, as compiled by phive-rules)
      $PEPPOL_OFFICIAL_ARTEFACTS/xslt/PEPPOLBIS-T71.xslt           (optional: MLR)
      $PEPPOL_OFFICIAL_ARTEFACTS/xsd/maindoc/UBL-ApplicationResponse-2.1.xsd   (OASIS UBL 2.1 OS, with xsd/common)

``docs/validation.md`` says where to get them. The XSD layer uses ``xmlschema`` (XSD 1.0, whitespace
handled as the Java validators do); the Schematron layer runs the official XSLT with Saxon and reads
the SVRL it produces.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from lxml import etree

from peppol_response.xmlsafe import qname

ENV = "PEPPOL_OFFICIAL_ARTEFACTS"
SVRL = "{http://purl.oclc.org/dsdl/svrl}"


def artefacts_dir() -> Path | None:
    value = os.environ.get(ENV)
    return Path(value) if value else None


def unavailable_reason() -> str | None:
    """Why the official pipeline cannot run here (None when it can)."""
    root = artefacts_dir()
    if root is None:
        return f"set {ENV} to a folder with the official T111 XSLT and the OASIS UBL 2.1 XSD (see docs/validation.md)"
    for rel in ("xslt/PEPPOLBIS-T111.xslt", "xsd/maindoc/UBL-ApplicationResponse-2.1.xsd"):
        if not (root / rel).is_file():
            return f"{ENV}={root} lacks {rel}"
    try:
        import saxonche  # noqa: F401
        import xmlschema  # noqa: F401
    except ImportError as exc:
        return f"the official pipeline needs saxonche and xmlschema ({exc}); pip install saxonche"
    return None


_LOCATION_STEP = re.compile(r"/(?:\*:([^\[/]+)\[namespace-uri\(\)='([^']*)'\]|([^\[/*]+))\[(\d+)\]")


def convert_location(official: str) -> str:
    """``/*:X[namespace-uri()='ns'][1]/...`` (the official SVRL) -> ``/prefix:X[1]/...`` (ours)."""
    out = []
    for m in _LOCATION_STEP.finditer(official):
        local, ns, plain, index = m.groups()
        name = qname(f"{{{ns}}}{local}") if local else plain
        out.append(f"/{name}[{index}]")
    return "".join(out)


@dataclass(frozen=True)
class OfficialResult:
    """What the official pipeline says about one document."""

    xsd_valid: bool
    xsd_error: str | None
    failed: tuple[tuple[str, str, str], ...] = ()  # (id, flag, our-style location)
    error: str | None = None  # the transformation stopped with an XPath error
    fired: int = 0

    @property
    def valid(self) -> bool:
        return self.xsd_valid and self.error is None and not any(flag == "fatal" for _i, flag, _l in self.failed)

    @property
    def fatal_ids(self) -> frozenset[str]:
        return frozenset(i for i, flag, _l in self.failed if flag == "fatal")

    @property
    def warning_ids(self) -> frozenset[str]:
        return frozenset(i for i, flag, _l in self.failed if flag != "fatal")


@dataclass
class OfficialValidator:
    """The official XSD (via xmlschema) and the official Schematron XSLT (via Saxon-C HE)."""

    root: Path
    _executables: dict[str, object] = field(default_factory=dict)

    @cached_property
    def _processor(self) -> object:
        from saxonche import PySaxonProcessor

        return PySaxonProcessor(license=False)

    @cached_property
    def _xsd(self) -> object:
        import xmlschema

        return xmlschema.XMLSchema10(str(self.root / "xsd/maindoc/UBL-ApplicationResponse-2.1.xsd"))

    def _xslt(self, name: str) -> object:
        exe = self._executables.get(name)
        if exe is None:
            compiler = self._processor.new_xslt30_processor()  # type: ignore[attr-defined]
            exe = compiler.compile_stylesheet(stylesheet_file=str(self.root / "xslt" / f"{name}.xslt"))
            self._executables[name] = exe
        return exe

    def has(self, name: str) -> bool:
        return (self.root / "xslt" / f"{name}.xslt").is_file()

    def schema(self, xml: bytes) -> tuple[bool, str | None]:
        # Give xmlschema the bytes, not an lxml tree: on lxml trees it counts comments as children of
        # simple-content elements (XSD ignores comments; Xerces and libxml2 accept them).
        for error in self._xsd.iter_errors(io.BytesIO(xml)):  # type: ignore[attr-defined]
            return False, str(error.reason or error).splitlines()[0]
        return True, None

    def schematron(self, xml: bytes, name: str = "PEPPOLBIS-T111") -> tuple[tuple[tuple[str, str, str], ...],
                                                                             str | None, int]:
        node = self._processor.parse_xml(xml_text=xml.decode("utf-8"))  # type: ignore[attr-defined]
        try:
            svrl = self._xslt(name).transform_to_string(xdm_node=node)  # type: ignore[attr-defined]
        except Exception as exc:  # Saxon stops on an XPath error (XPTY0004, FORG0001 ...)
            return (), str(exc).strip().splitlines()[0], 0
        root = etree.fromstring(svrl.encode("utf-8"))
        failed = tuple(
            (fa.get("id", ""), fa.get("flag", ""), convert_location(fa.get("location", "")))
            for fa in root.iter(SVRL + "failed-assert")
        )
        fired = sum(1 for _ in root.iter(SVRL + "fired-rule"))
        return failed, None, fired

    def validate(self, xml: bytes, name: str = "PEPPOLBIS-T111") -> OfficialResult:
        xsd_valid, xsd_error = self.schema(xml)
        failed, error, fired = self.schematron(xml, name)
        return OfficialResult(xsd_valid, xsd_error, failed, error, fired)
