"""Parsing untrusted XML safely: no DTDs, no entity expansion, no network, bounded size and depth.

Every layer that reads bytes from outside (documents, SBDH, AS4 headers, SMP answers) goes through
:func:`parse_xml`. It refuses a DOCTYPE outright (a Peppol document never needs one; refusing it stops
billion-laughs, external entities and external DTDs before libxml2 sees them), caps the input size and
the element depth, and turns every failure into :class:`~peppol_response.errors.ParseError` with the
line number.
"""

from __future__ import annotations

import re
import threading
from typing import Final

from lxml import etree

from .errors import ParseError, UnsafeXmlError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_DEPTH",
    "local_name",
    "location",
    "parse_xml",
    "qname",
    "safe_parser",
    "source_line",
]

DEFAULT_MAX_BYTES: Final = 10 * 1024 * 1024
"""Default cap on the size of an XML input (10 MiB); callers choose their own where it matters."""
MAX_DEPTH: Final = 100
"""Deepest element nesting accepted. Peppol documents stay far below; hostile inputs do not."""

_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
_local = threading.local()


def safe_parser() -> etree.XMLParser:
    """A per-thread lxml parser with every dangerous feature off (parsers are not thread-safe)."""
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_blank_text=False,
            collect_ids=False,
        )
        _local.parser = parser
    return parser


def parse_xml(
    data: bytes | str,
    *,
    what: str = "document",
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int | None = MAX_DEPTH,
) -> etree._Element:
    """Parse ``data`` into an element, refusing anything hostile.

    ``what`` names the input in error messages ("Invoice Response", "SBDH", "SOAP envelope").
    ``max_depth=None`` skips the depth walk for callers that walk the tree themselves (libxml2 still
    refuses nesting beyond 256 levels). Raises :class:`UnsafeXmlError` for DTDs/entities, oversize or
    over-deep input, and
    :class:`ParseError` (with the line) for input that is not well-formed XML.
    """
    if isinstance(data, str):
        # lxml refuses str input that carries an encoding declaration; the text is already decoded.
        text = _XML_DECL.sub("", data, count=1)
        raw = text.encode("utf-8")
        source: bytes | str = text
    elif isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
        source = raw
    else:
        raise ParseError(f"{what} must be bytes or str, not {type(data).__name__}")
    if len(raw) > max_bytes:
        raise UnsafeXmlError(f"{what} is {len(raw)} bytes, more than the limit of {max_bytes}")
    if b"<!" in raw:  # cheap pre-check; comments and CDATA also start so
        found = _DOCTYPE.search(raw)
        if found is not None:
            raise UnsafeXmlError(f"{what} contains a DOCTYPE or entity declaration, which is not allowed",
                                 line=raw[: found.start()].count(b"\n") + 1)
    try:
        root = etree.fromstring(source, safe_parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        msg = exc.msg if getattr(exc, "msg", None) else str(exc)
        if not raw.strip():
            raise ParseError(f"{what} is empty", line=1) from None
        if "depth" in msg.lower() or "huge" in msg.lower():
            raise UnsafeXmlError(f"{what} is nested or sized beyond the parser's limits: {msg}", line=line) from None
        raise ParseError(f"{what} is not well-formed XML: {msg}", line=line) from None
    except ValueError as exc:  # e.g. unsupported encoding declarations
        raise ParseError(f"{what} cannot be decoded: {exc}") from None
    if b"\x00" in raw[:4] or raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        # UTF-16/32 input hides a DOCTYPE from the byte scan above: ask the parsed tree instead.
        docinfo = root.getroottree().docinfo
        if getattr(docinfo, "doctype", "") or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
            raise UnsafeXmlError(f"{what} contains a DOCTYPE, which is not allowed", line=1)
    if max_depth is not None:
        _check_depth(root, what, max_depth)
    return root


def _check_depth(root: etree._Element, what: str, max_depth: int) -> None:
    # Iterative walk: a recursive one would be the very stack problem we guard against.
    stack: list[tuple[etree._Element, int]] = [(root, 1)]
    while stack:
        el, depth = stack.pop()
        if depth > max_depth:
            raise UnsafeXmlError(f"{what} nests elements deeper than {max_depth} levels", line=source_line(el))
        for child in el:
            if isinstance(child.tag, str):
                stack.append((child, depth + 1))
            elif child.tag is etree.Entity:
                raise UnsafeXmlError(f"{what} uses an entity reference, which is not allowed",
                                     line=source_line(child))


def source_line(el: etree._Element) -> int | None:
    """The element's 1-based line in the parsed input, if known."""
    line = el.sourceline
    return line if isinstance(line, int) else None


def local_name(tag: str) -> str:
    """``{ns}Local`` -> ``Local``."""
    return tag.rpartition("}")[2]


_PREFIXES: Final[dict[str, str]] = {
    "urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2": "ubl",
    "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2": "cac",
    "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2": "cbc",
    "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2": "ext",
    "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2": "ubl",
    "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2": "ubl",
    "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader": "sh",
    "http://www.w3.org/2003/05/soap-envelope": "S12",
    "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/": "eb",
}


def qname(tag: str) -> str:
    """``{ns}Local`` -> ``prefix:Local`` with the usual Peppol prefixes (``Q{ns}Local`` otherwise)."""
    if not tag.startswith("{"):
        return tag
    ns, _, local = tag[1:].partition("}")
    prefix = _PREFIXES.get(ns)
    return f"{prefix}:{local}" if prefix else f"Q{{{ns}}}{local}"


def location(el: etree._Element) -> str:
    """An XPath to ``el`` in the style of the official SVRL: ``/ubl:ApplicationResponse[1]/cac:Status[2]``."""
    steps: list[str] = []
    node: etree._Element | None = el
    while node is not None:
        tag = node.tag
        parent = node.getparent()
        if parent is None:
            index = 1
        else:
            index = 1
            for sib in node.itersiblings(preceding=True):
                if sib.tag == tag:
                    index += 1
        steps.append(f"{qname(tag) if isinstance(tag, str) else 'node()'}[{index}]")
        node = parent
    return "/" + "/".join(reversed(steps))
