"""Parsing untrusted XML safely: no DTDs, no entity expansion, no network, bounded size and depth.

Every layer that reads bytes from outside (documents, SBDH, AS4 headers, SMP answers) goes through
:func:`parse_xml`. It refuses a DOCTYPE outright (a Peppol document never needs one; refusing it stops
billion-laughs, external entities and external DTDs before libxml2 sees them), caps the input size and
the element depth, and turns every failure into :class:`~peppol_response.errors.ParseError` with the
line number.
"""

from __future__ import annotations

import codecs
import re
import threading
from typing import Final

from lxml import etree

from .errors import ParseError, UnsafeXmlError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_DEPTH",
    "find_markup_declaration",
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

_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
_ENCODING_DECL = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_WIDE_BOMS: Final = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_WIDE_PATTERNS: Final = {
    b"\x00\x00\x00<": "utf-32-be",
    b"<\x00\x00\x00": "utf-32-le",
    b"\x00<\x00?": "utf-16-be",
    b"<\x00?\x00": "utf-16-le",
}
# 8-bit encodings in which every ASCII byte means its ASCII character and nothing shifts state, so the
# byte scan for markup declarations sees what libxml2 will see. (UTF-7, EBCDIC and friends could hide
# a DOCTYPE from it and are refused.)
_ASCII_COMPATIBLE = re.compile(r"^(utf_8|ascii|latin_1|iso8859_\d+|cp125\d)$")
_ACCEPTED_DECLARATIONS: set[bytes] = set()
_ELEMENT_STARTS: Final = re.compile(rb"[ \t\r\n]*<[A-Za-z_:\x80-\xff]")
# The usual prolog, in one match: an optional XML declaration with no markup inside (the encoding it
# declares is checked by _check_encoding the first time it is seen, then remembered), then only
# whitespace and comments, then the root element's start. A comment ends at its first "--", which must be
# followed by ">", exactly as XML (and libxml2) read it; the groups are atomic, so the match cannot be
# stretched over a comment's end to hide a "<!DOCTYPE" behind it. Anything else (a BOM, a processing
# instruction, a DOCTYPE, UTF-16, ...) fails to match and takes the careful path.
_USUAL_PROLOG: Final = re.compile(
    rb"(<\?xml[ \t\r\n][^<>?]*\?>)?(?>[ \t\r\n]+|<!--(?>[^-]+|-[^-])*-->)*<[A-Za-z_:\x80-\xff]"
)
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


def _line_at(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


def find_markup_declaration(raw: bytes) -> int | None:
    """Offset of a ``<!DOCTYPE`` (or any ``<!`` other than a comment) in the prolog, else None.

    Only the prolog can declare anything: libxml2 treats a ``<!DOCTYPE`` or ``<!ENTITY`` after the root
    element's start tag as a fatal syntax error and never processes it. So the scan walks the prolog
    token by token (XML declaration and processing instructions ``<?...?>``, comments ``<!--...-->``) and
    stops at the first element. Text inside a PI or comment cannot hide a declaration from it, and it
    costs a few ``bytes.find`` calls however long the document is.
    """
    find = raw.find
    pos = 0
    while True:
        lt = find(b"<", pos)
        if lt < 0:
            return None
        follows = raw[lt + 1 : lt + 2]
        if follows == b"?":
            end = find(b"?>", lt + 2)
            if end < 0:
                return None
            pos = end + 2
        elif follows == b"!":
            if not raw.startswith(b"--", lt + 2):
                return lt
            end = find(b">", lt + 6)  # "<!---->" is the shortest comment
            while end >= 0 and raw[end - 2 : end] != b"--":
                end = find(b">", end + 1)
            if end < 0:
                return None
            pos = end + 1
        else:
            return None  # the root element starts: the prolog is over


def _decode_wide(raw: bytes, what: str) -> bytes | None:
    """UTF-16/32 input re-encoded as UTF-8 without its declaration (so libxml2 parses what we scanned).

    Returns None for input that is not UTF-16/32.
    """
    codec = None
    for bom, name in _WIDE_BOMS:
        if raw.startswith(bom):
            codec = name
            break
    if codec is None:
        codec = _WIDE_PATTERNS.get(raw[:4])
    if codec is None:
        return None
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as exc:
        raise ParseError(f"{what} cannot be decoded as {codec.upper()}: {exc.reason}", line=1) from None
    return _XML_DECL.sub("", text.lstrip("\ufeff"), count=1).encode("utf-8")


def _check_encoding(raw: bytes, what: str) -> None:
    """Refuse 8-bit input whose declared encoding could hide markup from the byte scan."""
    head = raw[3:] if raw.startswith(codecs.BOM_UTF8) else raw
    first = head.lstrip(b" \t\r\n")[:1]
    if first != b"<":
        if not head.strip():
            raise ParseError(f"{what} is empty", line=1)
        raise ParseError(f"{what} is not XML: it must start with '<' (UTF-8, UTF-16 or an ASCII-based encoding)",
                         line=1)
    if head.startswith(b"<?xml"):
        m = _ENCODING_DECL.match(head)
        if m is not None:
            declared = m.group(1).decode("ascii")
            try:
                name = codecs.lookup(declared).name.replace("-", "_")
            except LookupError:
                raise ParseError(f"{what} declares the unknown encoding {declared!r}", line=1) from None
            if not _ASCII_COMPATIBLE.match(name):
                raise UnsafeXmlError(
                    f"{what} declares the encoding {declared!r}; only UTF-8, UTF-16, UTF-32 and ASCII-based "
                    "8-bit encodings are accepted", line=1)


def _check_prolog(raw: bytes, what: str) -> bytes:
    """The careful path: decode UTF-16/32, check the declared encoding, scan the prolog for declarations.

    Returns the bytes libxml2 is to parse (UTF-16/32 re-encoded as UTF-8).
    """
    prolog_done = False
    if raw[:1] != b"<":  # a BOM, whitespace, UTF-16/32 or junk
        wide = _decode_wide(raw, what)
        if wide is not None:
            raw = wide
        _check_encoding(raw, what)
    elif raw.startswith(b"<?xml"):
        end = raw.find(b"?>", 5, 512)
        if end < 0:
            _check_encoding(raw, what)
        else:
            decl = raw[: end + 2]
            if decl not in _ACCEPTED_DECLARATIONS:
                _check_encoding(raw, what)
                if len(_ACCEPTED_DECLARATIONS) < 64:  # documents of one source repeat their declaration
                    _ACCEPTED_DECLARATIONS.add(decl)
            prolog_done = _ELEMENT_STARTS.match(raw, end + 2) is not None
    else:
        prolog_done = _ELEMENT_STARTS.match(raw) is not None
    if not prolog_done:
        found = find_markup_declaration(raw)
        if found is not None:
            raise UnsafeXmlError(
                f"{what} contains a DOCTYPE or other markup declaration ({raw[found:found + 12]!r}...), "
                "which is not allowed", line=_line_at(raw, found))
    return raw


def parse_xml(
    data: bytes | str,
    *,
    what: str = "document",
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int | None = MAX_DEPTH,
) -> etree._Element:
    """Parse ``data`` into an element, refusing anything hostile.

    ``what`` names the input in error messages ("Invoice Response", "SBDH", "SOAP envelope").
    ``max_depth=None`` skips the depth walk for callers that never recurse or that bound the depth
    themselves (libxml2 still refuses nesting beyond 256 levels). Raises :class:`UnsafeXmlError` for
    DTDs/entities, encodings that could hide them, oversize or over-deep input, and :class:`ParseError`
    (with the line) for input that is not well-formed XML.

    Defences, in order: the size cap; the encoding (UTF-16/32 are decoded here and re-encoded as UTF-8,
    8-bit input must be ASCII-based); a scan that refuses any ``<!DOCTYPE``/``<!ENTITY`` before libxml2
    sees it; a parser with entities, DTD loading and network access off; and, unless the prolog was the
    usual one (declaration, whitespace, comments), a check of the parsed document for any DTD node, in case
    something slipped past the scan.
    """
    if data.__class__ is bytes:
        raw: bytes = data
    elif isinstance(data, str):
        # lxml refuses str input that carries an encoding declaration; the text is already decoded.
        raw = _XML_DECL.sub("", data.lstrip("\ufeff"), count=1).encode("utf-8", "surrogatepass")
    elif isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
    else:
        raise ParseError(f"{what} must be bytes or str, not {type(data).__name__}")
    if len(raw) > max_bytes:
        raise UnsafeXmlError(f"{what} is {len(raw)} bytes, more than the limit of {max_bytes}")
    # The usual prolog (a declaration already accepted, whitespace and comments, then the root element)
    # is proved harmless by one regular expression; anything else takes the careful path.
    usual = _USUAL_PROLOG.match(raw)
    if usual is not None and usual.group(1) is not None and usual.group(1) not in _ACCEPTED_DECLARATIONS:
        usual = None  # a declaration not seen before: its encoding is checked on the careful path
    if usual is None:
        raw = _check_prolog(raw, what)
    try:
        root = etree.fromstring(raw, safe_parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        msg = exc.msg if getattr(exc, "msg", None) else str(exc)
        if not raw.strip():
            raise ParseError(f"{what} is empty", line=1) from None
        low = msg.lower()
        if "depth" in low or "huge" in low or "amplification" in low:
            raise UnsafeXmlError(f"{what} is nested or sized beyond the parser's limits: {msg}", line=line) from None
        raise ParseError(f"{what} is not well-formed XML: {msg}", line=line) from None
    except ValueError as exc:  # e.g. unsupported encoding declarations
        raise ParseError(f"{what} cannot be decoded: {exc}") from None
    # Defence in depth after the careful path: the scan should have refused any DTD. After the usual prolog
    # the expression has proved there is none: libxml2 reads a DOCTYPE only before the root element, and
    # there only whitespace and comments came (tests/test_hostile_xml.py checks this over every
    # combination of tricky prolog pieces).
    if usual is None and root.getroottree().docinfo.internalDTD is not None:
        raise UnsafeXmlError(f"{what} contains a DOCTYPE, which is not allowed", line=1)
    if max_depth is not None and raw.count(b"<") > max_depth:  # nesting N deep takes more than N "<"
        _check_depth(root, what, max_depth)
    return root


_DEPTH_PROBES: dict[int, etree.XPath] = {}


def _check_depth(root: etree._Element, what: str, max_depth: int) -> None:
    """Refuse nesting deeper than ``max_depth``, naming the line of the first element too deep.

    libxml2 answers with an XPath of ``max_depth + 1`` child steps, several times faster than a walk in
    Python (and never recursive). Entity references need no check here: without a DTD, which parse_xml
    has refused before, libxml2 rejects any entity other than the five predefined ones.
    """
    probe = _DEPTH_PROBES.get(max_depth)
    if probe is None:
        probe = etree.XPath("(/*" + "/*" * max_depth + ")[1]")
        if len(_DEPTH_PROBES) < 16:
            _DEPTH_PROBES[max_depth] = probe
    found = probe(root)
    if found:
        assert isinstance(found, list)
        first = found[0]
        assert isinstance(first, etree._Element)
        raise UnsafeXmlError(f"{what} nests elements deeper than {max_depth} levels", line=source_line(first))


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
