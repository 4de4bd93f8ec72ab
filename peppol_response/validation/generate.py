"""Generate the structure rules, the strict profile and our compact XSD from the syntax bindings.

One source of truth: :data:`peppol_response.binding.BINDING` (T111) and
:data:`peppol_response.validation.mlr.MLR_BINDING` (T71) plus the UBL facts in
:mod:`peppol_response.validation.ubl_structure`. Run ``python -m peppol_response.validation.generate``
after changing any of them (``--check`` only verifies that the files in ``schematron/`` and
``schemas/`` are current; the test suite runs that check).

Structure ("B") rule ids follow the numbering of the official generator, which we reproduce rather
than copy: the binding's elements and attributes are numbered depth first from 1 (the root), and
the asserts of element *n* are numbered ``Bnnn01``, ``Bnnn02``... in this order: fixed value (only
where the release still has such rules), code list of the value, each mandatory child, each
mandatory attribute and its code list, the schemaLocation check on the root, and last the
closed-world catch-all, which exists where the binding allows fewer children than UBL does.
``tests/validation/test_generate.py`` checks that this yields exactly the ids of the published
2026.5 artefacts (reference Appendix A.1 and A.3).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from xml.sax.saxutils import escape, quoteattr

from .. import codelists
from ..binding import BINDING, CAC, CBC, EXT, UBL_NS, Element
from .mlr import MLR_BINDING
from .ubl_structure import AGGREGATE_TYPES, LEAF_TYPES, UBL_TYPES

__all__ = [
    "CODE_LISTS",
    "T71_STRUCTURE",
    "T111_STRUCTURE",
    "StructureSpec",
    "generated_files",
    "main",
    "number_nodes",
    "schema_files",
    "strict_rules",
    "structure_rules",
]

RULES_NS: Final = "urn:peppol-response:rules:1"
XSD_NS: Final = "http://www.w3.org/2001/XMLSchema"
NAMESPACES: Final = {"ubl": UBL_NS, "cac": CAC, "cbc": CBC}


@dataclass(frozen=True, slots=True)
class CodeList:
    """How a binding's code-list name appears in our rules: variable, display name, values."""

    variable: str
    title: str
    ref: str | None = None
    values: str | None = None


CODE_LISTS: Final[dict[str, CodeList]] = {
    "EAS": CodeList("EAS", "Electronic Address Scheme (EAS)", ref="EAS"),
    "ICD": CodeList("ICD", "ISO 6523 ICD", ref="ICD"),
    "UNCL4343-T111": CodeList("UNCL4343_T111", "invoice status (UNCL4343 subset for T111)", ref="UNCL4343_T111"),
    "OPStatusReason": CodeList("OP_STATUS_REASON", "OpenPeppol status reasons", ref="OP_STATUS_REASON"),
    "OPStatusAction": CodeList("OP_STATUS_ACTION", "OpenPeppol status actions", ref="OP_STATUS_ACTION"),
    "ClarificationListID": CodeList("CLARIFICATION_LIST_ID", "clarification list identifiers",
                                    ref="CLARIFICATION_LIST_ID"),
    "UNCL1001": CodeList("UNCL1001", "document name codes (UNCL1001)", ref="UNCL1001"),
    "UNCL4343-MLR": CodeList("UNCL4343_MLR", "MLR response codes (UNCL4343 subset AB AP RE)", values="AB AP RE"),
    "MLRStatusReason": CodeList("MLR_STATUS_REASON", "MLR issue reasons (BV BW SV)", values="BV BW SV"),
}
"""Every code list a binding names, by the name the binding uses."""

for _cl in CODE_LISTS.values():  # the referenced sets must exist in peppol_response.codelists
    assert _cl.ref is None or isinstance(getattr(codelists, _cl.ref, None), frozenset), _cl


@dataclass(frozen=True, slots=True)
class StructureSpec:
    """What to generate structure rules for: a binding and how its release words them."""

    binding: Element
    prefix: str  # rule ids: PEPPOL-T111-B00101
    document: str  # "Invoice Response"
    file_name: str
    release: str
    fixed_value_rules: bool  # 2026.5 T111 dropped B00301 (ProfileID) in favour of PEPPOL-T111-R008


T111_STRUCTURE: Final = StructureSpec(BINDING, "PEPPOL-T111", "Invoice Response", "PEPPOL-T111-structure-2026.5.xml",
                                      codelists.RELEASE, fixed_value_rules=False)
T71_STRUCTURE: Final = StructureSpec(MLR_BINDING, "PEPPOL-T71", "Message Level Response",
                                     "PEPPOL-T71-structure-2026.5.xml", codelists.RELEASE, fixed_value_rules=True)


def number_nodes(binding: Element) -> dict[str, int]:
    """Number elements and attributes depth first from 1: ``{path: n}`` (attributes as ``path/@name``)."""
    numbers: dict[str, int] = {}

    def visit(el: Element, path: str) -> None:
        numbers[path] = len(numbers) + 1
        for attr in el.attributes:
            numbers[f"{path}/@{attr.name}"] = len(numbers) + 1
        for child in el.children:
            visit(child, f"{path}/{child.tag}")

    visit(binding, f"/{binding.tag}")
    return numbers


def has_catch_all(el: Element) -> bool:
    """Whether the binding allows only part of UBL's children here (then others are rejected)."""
    if not el.is_aggregate:
        return False
    ubl_children = {name for name, _, _ in UBL_TYPES[AGGREGATE_TYPES[el.tag]]}
    allowed = set(el.order)
    unknown = allowed - ubl_children
    if unknown:
        raise ValueError(f"{el.tag}: {sorted(unknown)} are not UBL children of {AGGREGATE_TYPES[el.tag]}")
    return allowed != ubl_children


@dataclass(frozen=True, slots=True)
class _Assert:
    id: str
    test: str
    message: str  # XML content (may hold <value-of/> and <name/>)


def _asserts(
    spec: StructureSpec, el: Element, path: str, number: int, is_root: bool
) -> tuple[list[_Assert], _Assert | None]:
    seq = 0

    def next_id() -> str:
        nonlocal seq
        seq += 1
        return f"{spec.prefix}-B{number:03d}{seq:02d}"

    out: list[_Assert] = []
    if spec.fixed_value_rules and el.fixed is not None:
        if "'" in el.fixed:
            raise ValueError(f"{path}: a fixed value with a quote is not supported")
        out.append(_Assert(next_id(), f"normalize-space(text()) = '{el.fixed}'",
                           f"<name/> must be {escape(el.fixed)}, not '<value-of select=\"normalize-space(.)\"/>'."))
    if el.code_list is not None:
        lists = [CODE_LISTS[name] for name in el.code_list.split("+")]
        test = " or ".join(f"(normalize-space(text()) = ${cl.variable})" for cl in lists)
        if len(lists) == 1:
            test = f"normalize-space(text()) = ${lists[0].variable}"
        titles = " or ".join(cl.title for cl in lists)
        out.append(_Assert(next_id(), test,
                           f"'<value-of select=\"normalize-space(.)\"/>' is not a code of the {escape(titles)} list."))
    for child in el.children:
        if child.min >= 1:
            out.append(_Assert(next_id(), child.tag,
                               f"{child.tag} is mandatory in {el.tag} of an {spec.document} and missing."))
    for attr in el.attributes:
        if attr.required:
            out.append(_Assert(next_id(), f"@{attr.name}",
                               f"The {attr.name} attribute is mandatory on {el.tag} and missing."))
        if attr.code_list is not None:
            cl = CODE_LISTS[attr.code_list]
            out.append(_Assert(next_id(), f"not(@{attr.name}) or @{attr.name} = ${cl.variable}",
                               f"{attr.name} '<value-of select=\"@{attr.name}\"/>' is not a code of the "
                               f"{escape(cl.title)} list."))
    if is_root:
        out.append(_Assert(next_id(), "not(@*:schemaLocation)",
                           "The document points to a schema location (schemaLocation attribute); "
                           f"an {spec.document} must not."))
    catch_all = None
    if has_catch_all(el):
        catch_all = _Assert(next_id(), "false()",
                            f"<name/> is not part of the {spec.document} data model; "
                            f"{el.tag} may only contain {', '.join(el.order)}.")
    return out, catch_all


def _rules_header(title: str, release: str, rid: str, comment: str) -> list[str]:
    return [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f"<!-- {comment} -->",
        f'<rules xmlns="{RULES_NS}" id="{rid}" release="{release}"',
        f"       title={quoteattr(title)}>",
        *(f'  <ns prefix="{p}" uri="{u}"/>' for p, u in NAMESPACES.items()),
    ]


def _codelist_decls(names: set[str]) -> list[str]:
    out = []
    for name in sorted(names):
        cl = CODE_LISTS[name]
        source = f'ref="{cl.ref}"' if cl.ref else f'values="{cl.values}"'
        out.append(f'  <codelist name="{cl.variable}" {source}/>')
    return out


def _rule(context: str, asserts: list[_Assert], indent: str = "    ") -> list[str]:
    if not asserts:
        return [f"{indent}<rule context={quoteattr(context)}/>"]
    lines = [f"{indent}<rule context={quoteattr(context)}>"]
    for a in asserts:
        lines.append(f'{indent}  <assert id="{a.id}" flag="fatal" test={quoteattr(a.test)}>{a.message}</assert>')
    lines.append(f"{indent}</rule>")
    return lines


def structure_rules(spec: StructureSpec) -> str:
    """The closed-world structure rules of a binding, in our rule format."""
    numbers = number_nodes(spec.binding)
    used_lists: set[str] = set()
    body: list[str] = []

    def visit(el: Element, path: str, is_root: bool) -> None:
        for name in (el.code_list or "").split("+"):
            if name:
                used_lists.add(name)
        for attr in el.attributes:
            if attr.code_list:
                used_lists.add(attr.code_list)
        asserts, catch_all = _asserts(spec, el, path, numbers[path], is_root)
        body.extend(_rule(path, asserts))
        for child in el.children:
            visit(child, f"{path}/{child.tag}", False)
        if catch_all is not None:
            body.extend(_rule(f"{path}/*", [catch_all]))

    visit(spec.binding, f"/{spec.binding.tag}", True)
    lines = _rules_header(
        f"{spec.document}: structure rules generated from the syntax binding", spec.release, f"{spec.prefix}-structure",
        "Generated by peppol_response.validation.generate from the syntax binding. Do not edit.",
    )
    lines += _codelist_decls(used_lists)
    lines.append(f'  <pattern id="{spec.prefix}-structure">')
    lines += body
    lines += ["  </pattern>", "</rules>", ""]
    return "\n".join(lines)


def _walk(el: Element, path: str) -> Iterator[tuple[str, Element]]:
    yield path, el
    for child in el.children:
        yield from _walk(child, f"{path}/{child.tag}")


def strict_rules(binding: Element = BINDING) -> str:
    """The strict profile: the binding's maximums where UBL allows more, and the intended R005."""
    numbers = number_nodes(binding)
    lines = _rules_header(
        "Invoice Response: strict profile (binding maximums and the intended PEPPOL-T111-R005)", codelists.RELEASE,
        "PR-T111-strict",
        "Generated by peppol_response.validation.generate from the syntax binding. Do not edit. "
        "Not part of the official validation: these ids (PR-...) are ours.",
    )
    lines.append('  <pattern id="PR-T111-cardinality">')
    for path, el in _walk(binding, f"/{binding.tag}"):
        asserts = []
        for child in el.children:
            if child.max is not None and (child.ubl_max is None or child.ubl_max > child.max):
                n = numbers[f"{path}/{child.tag}"]
                asserts.append(_Assert(
                    f"PR-T111-S{n:03d}01", f"count({child.tag}) <= {child.max}",
                    f"{el.tag} holds <value-of select=\"count({child.tag})\"/> {child.tag}; the Invoice Response "
                    f"binding allows at most {child.max} (UBL allows more, so the official rules do not check it).",
                ))
        if asserts:
            lines += _rule(path, asserts)
    lines.append("  </pattern>")
    lines.append('  <pattern id="PR-T111-R005">')
    lines += _rule(
        "/ubl:ApplicationResponse/cac:DocumentResponse/cac:Response/cac:Status[cbc:StatusReasonCode = 'PPD']",
        [_Assert("PR-T111-R005", "../cbc:ResponseCode[normalize-space(.) = 'PD']",
                 "Clarification PPD (partially paid) is only meaningful with status PD; here the status is "
                 "'<value-of select=\"normalize-space(../cbc:ResponseCode)\"/>'. (The official "
                 "PEPPOL-T111-R005 intends this but never fires.)")],
    )
    lines += ["  </pattern>", "</rules>", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# The compact XSD

_HEADER: Final = (
    "Our own compact schema for UBL 2.1 ApplicationResponse as used by Peppol BIS Invoice Response (T111) and\n"
    "     Message Level Response (T71), generated by peppol_response.validation.generate. It keeps UBL's element\n"
    "     order, cardinalities and data types for every element those bindings use, and knows every other\n"
    "     UBL child by name and position only (its content is skipped: the closed-world rules reject it).\n"
    "     See docs/validation.md for where it differs from the OASIS schema and why the verdict cannot."
)

# xs:date as XSD 1.0 reads it (no year 0000), with the calendar: 31, 30 or 28 days by month, and 29 February
# in leap years only. A year is leap when its last two digits are divisible by 4 and not 00, or when they
# are 00 and the digits before them (the centuries) are divisible by 4; divisibility by 4 depends on the
# last two digits only, and on the sign not at all. tests/validation/test_schema.py compares the pattern
# with the calendar arithmetic of validation.xpath.is_date over every month and day of many years.
_TWO_DIGITS_DIV4: Final = "(0[48]|[2468][048]|[13579][26])"  # 04 .. 96, not 00
_TWO_DIGITS_DIV4_OR_00: Final = "([02468][048]|[13579][26])"
_YEAR: Final = "-?([1-9][0-9]{3,}|0([1-9][0-9]{2}|0[1-9][0-9]|00[1-9]))"  # 4+ digits, leading 0 only in 4, not 0000
_LEAP_YEAR: Final = (
    f"-?(0[0-9]{_TWO_DIGITS_DIV4}|0[48]00|[1-9][0-9]+{_TWO_DIGITS_DIV4}"
    f"|([1-9][0-9]*{_TWO_DIGITS_DIV4_OR_00}|[2468][048]|[13579][26])00)"
)
_ZONE: Final = r"(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))?"
_DATE_PATTERN: Final = (
    f"({_YEAR}-(0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])"
    f"|{_YEAR}-(0[469]|11)-(0[1-9]|[12][0-9]|30)"
    f"|{_YEAR}-02-(0[1-9]|1[0-9]|2[0-8])"
    f"|{_LEAP_YEAR}-02-29){_ZONE}"
)
_TIME_PATTERN: Final = (
    r"(([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?|24:00:00(\.0+)?)"
    r"(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))?"
)

_ATTRIBUTES: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "Identifier": (("schemeID", "xs:normalizedString"), ("schemeName", "xs:string"),
                   ("schemeAgencyID", "xs:normalizedString"), ("schemeAgencyName", "xs:string"),
                   ("schemeVersionID", "xs:normalizedString"), ("schemeDataURI", "xs:anyURI"),
                   ("schemeURI", "xs:anyURI")),
    "Code": (("listID", "xs:normalizedString"), ("listAgencyID", "xs:normalizedString"),
             ("listAgencyName", "xs:string"), ("listName", "xs:string"), ("listVersionID", "xs:normalizedString"),
             ("name", "xs:string"), ("languageID", "xs:language"), ("listURI", "xs:anyURI"),
             ("listSchemeURI", "xs:anyURI")),
    "Text": (("languageID", "xs:language"), ("languageLocaleID", "xs:normalizedString")),
    "Name": (("languageID", "xs:language"), ("languageLocaleID", "xs:normalizedString")),
    "Date": (),
    "Time": (),
}
"""Attributes of UBL's unqualified data types (all optional), with their XSD types."""

_CONTENT: Final = {
    "Identifier": "xs:normalizedString",
    "Code": "xs:normalizedString",
    "Text": "xs:string",
    "Name": "xs:string",
    "Date": "cbc:_DateValue",
    "Time": "cbc:_TimeValue",
}


def _exact_names(bindings: tuple[Element, ...]) -> set[str]:
    names: set[str] = set()
    for binding in bindings:
        for _path, el in _walk(binding, ""):
            names.add(el.tag)
    return names


def _occurs(mn: int, mx: int | None) -> str:
    out = "" if mn == 1 else f' minOccurs="{mn}"'
    if mx is None:
        out += ' maxOccurs="unbounded"'
    elif mx != 1:
        out += f' maxOccurs="{mx}"'
    return out


def _schema_open(target: str, prefix: str, imports: list[tuple[str, str]]) -> list[str]:
    decls = " ".join(f'xmlns:{p}="{u}"' for p, u in (("cac", CAC), ("cbc", CBC), ("ext", EXT)))
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f"<!-- {_HEADER} -->",
        f'<xs:schema xmlns:xs="{XSD_NS}" xmlns="{target}" {decls}',
        f'           targetNamespace="{target}" elementFormDefault="qualified" attributeFormDefault="unqualified"',
        '           version="2.1-peppol-response">',
    ]
    for ns, loc in imports:
        lines.append(f'  <xs:import namespace="{ns}" schemaLocation="{loc}"/>')
    return lines


def _sequence(type_name: str, indent: str = "      ") -> list[str]:
    return [f'{indent}<xs:element ref="{name}"{_occurs(mn, mx)}/>' for name, mn, mx in UBL_TYPES[type_name]]


def schema_files(bindings: tuple[Element, ...] = (BINDING, MLR_BINDING)) -> dict[str, str]:
    """Our XSD, as ``{file name: text}``: the root document and the cac, cbc and ext modules."""
    exact = _exact_names(bindings)
    exact_types = {AGGREGATE_TYPES[n] for n in exact if n in AGGREGATE_TYPES}
    referenced: set[str] = set()
    for t in exact_types:
        referenced.update(name for name, _, _ in UBL_TYPES[t])
    missing = {n for n in exact if n.startswith("cbc:") and n not in LEAF_TYPES}
    if missing:
        raise ValueError(f"ubl_structure.LEAF_TYPES lacks {sorted(missing)}")

    root_type = AGGREGATE_TYPES["ubl:ApplicationResponse"]
    root = _schema_open(UBL_NS, "ubl", [(CAC, "CommonAggregateComponents.xsd"), (CBC, "CommonBasicComponents.xsd"),
                                        (EXT, "CommonExtensionComponents.xsd")])
    root += [
        f'  <xs:element name="ApplicationResponse" type="{root_type}"/>',
        f'  <xs:complexType name="{root_type}">',
        "    <xs:sequence>",
        *_sequence(root_type),
        "    </xs:sequence>",
        "  </xs:complexType>",
        "</xs:schema>",
        "",
    ]

    cac = _schema_open(CAC, "cac", [(CBC, "CommonBasicComponents.xsd")])
    for name in sorted(n for n in referenced if n.startswith("cac:")):
        local = name[4:]
        if name in exact:
            cac.append(f'  <xs:element name="{local}" type="{AGGREGATE_TYPES[name]}"/>')
        else:
            cac.append(f'  <xs:element name="{local}" type="cbc:_Lax"/>')
    for type_name in sorted(t for t in exact_types if t != root_type):
        cac += [f'  <xs:complexType name="{type_name}">', "    <xs:sequence>", *_sequence(type_name),
                "    </xs:sequence>", "  </xs:complexType>"]
    cac += ["</xs:schema>", ""]

    cbc = _schema_open(CBC, "cbc", [])
    cbc += [
        '  <xs:complexType name="_Lax" mixed="true">',
        "    <xs:sequence>",
        '      <xs:any namespace="##any" processContents="skip" minOccurs="0" maxOccurs="unbounded"/>',
        "    </xs:sequence>",
        '    <xs:anyAttribute namespace="##any" processContents="skip"/>',
        "  </xs:complexType>",
        '  <xs:simpleType name="_DateValue">',
        "    <!-- xs:date (XSD 1.0, calendar included) on xs:token (whitespace collapsed): see generate.py -->",
        f'    <xs:restriction base="xs:token"><xs:pattern value="{_DATE_PATTERN}"/></xs:restriction>',
        "  </xs:simpleType>",
        '  <xs:simpleType name="_TimeValue">',
        f'    <xs:restriction base="xs:token"><xs:pattern value="{_TIME_PATTERN}"/></xs:restriction>',
        "  </xs:simpleType>",
    ]
    for kind, attrs in _ATTRIBUTES.items():
        cbc += [f'  <xs:complexType name="_{kind}">', "    <xs:simpleContent>",
                f'      <xs:extension base="{_CONTENT[kind]}">']
        cbc += [f'        <xs:attribute name="{a}" type="{t}"/>' for a, t in attrs]
        cbc += ["      </xs:extension>", "    </xs:simpleContent>", "  </xs:complexType>"]
    for name in sorted(n for n in referenced if n.startswith("cbc:")):
        local = name[4:]
        if name in exact:
            type_name, kind = LEAF_TYPES[name]
            cbc.append(f'  <xs:element name="{local}" type="{type_name}"/>')
            cbc += [f'  <xs:complexType name="{type_name}">',
                    f'    <xs:simpleContent><xs:extension base="_{kind}"/></xs:simpleContent>',
                    "  </xs:complexType>"]
        else:
            cbc.append(f'  <xs:element name="{local}" type="_Lax"/>')
    cbc += ["</xs:schema>", ""]

    ext = _schema_open(EXT, "ext", [(CBC, "CommonBasicComponents.xsd")])
    ext += ['  <xs:element name="UBLExtensions" type="cbc:_Lax"/>', "</xs:schema>", ""]
    return {
        "ApplicationResponse.xsd": "\n".join(root),
        "CommonAggregateComponents.xsd": "\n".join(cac),
        "CommonBasicComponents.xsd": "\n".join(cbc),
        "CommonExtensionComponents.xsd": "\n".join(ext),
    }


def generated_files() -> dict[str, str]:
    """Every generated file, as ``{path relative to the repository root: text}``."""
    files = {
        f"schematron/{T111_STRUCTURE.file_name}": structure_rules(T111_STRUCTURE),
        f"schematron/{T71_STRUCTURE.file_name}": structure_rules(T71_STRUCTURE),
        "schematron/PR-T111-strict.xml": strict_rules(BINDING),
    }
    files.update({f"schemas/{name}": text for name, text in schema_files().items()})
    return files


def main(argv: list[str] | None = None) -> int:
    """Write the generated files into the source tree (``--check``: only report stale ones)."""
    parser = argparse.ArgumentParser(prog="python -m peppol_response.validation.generate", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 when a generated file is missing or stale")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[2],
                        help="repository root (default: the source tree this module is in)")
    args = parser.parse_args(argv)
    stale = []
    for rel, text in generated_files().items():
        target = args.root / rel
        if target.exists() and target.read_text(encoding="utf-8") == text:
            continue
        stale.append(rel)
        if not args.check:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    verb = "stale" if args.check else "written"
    for rel in stale:
        print(f"{verb}: {rel}", file=sys.stderr)
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
