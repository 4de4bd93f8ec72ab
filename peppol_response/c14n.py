"""XML canonicalization (C14N 1.0 and exclusive C14N 1.0) of an element in its document context.

Written out in Python because lxml's inclusive C14N of a document *subset* (libxml2 2.14) emits a
spurious ``xmlns=""`` on descendants when an ancestor outside the subset declares another default
namespace, which breaks valid signatures (the Oxalis SMP vector shows it). This implementation follows
the W3C recommendations for the node-sets signatures use: an element with all its descendants
(optionally without one excluded element, for the enveloped-signature transform), or a whole document.
It agrees with lxml on whole documents (a property test checks that).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from lxml import etree

__all__ = ["C14N", "C14N_COMMENTS", "EXC_C14N", "EXC_C14N_COMMENTS", "canonicalize", "canonicalize_document"]

C14N: Final = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
C14N_COMMENTS: Final = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"
EXC_C14N: Final = "http://www.w3.org/2001/10/xml-exc-c14n#"
EXC_C14N_COMMENTS: Final = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"
_XML_NS: Final = "http://www.w3.org/XML/1998/namespace"


def _text(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#xD;")


def _attr(s: str) -> str:
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;").replace("\t", "&#x9;")
            .replace("\n", "&#xA;").replace("\r", "&#xD;"))


def _s(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _split(tag: str | bytes) -> tuple[str, str]:
    tag = _s(tag)
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


class _Writer:
    def __init__(self, *, exclusive: bool, prefixes: Iterable[str], comments: bool,
                 exclude: etree._Element | None) -> None:
        self.exclusive = exclusive
        self.inclusive_prefixes = {None if p == "#default" else p for p in prefixes}
        self.comments = comments
        self.exclude = exclude
        self.out: list[str] = []

    def node(self, node: etree._Element, rendered: dict[str | None, str], parent_scope: dict[str | None, str] | None,
             apex: bool) -> None:
        if node is self.exclude:
            return
        if isinstance(node, etree._Comment):
            if self.comments:
                self.out.append(f"<!--{node.text or ''}-->")
            return
        if isinstance(node, etree._ProcessingInstruction):
            data = node.text or ""
            self.out.append(f"<?{_s(node.target)}{' ' + data if data else ''}?>")
            return
        if not isinstance(node.tag, str):  # pragma: no cover - entities are refused by the safe parser
            return
        self.element(node, rendered, parent_scope, apex)

    def element(self, el: etree._Element, rendered: dict[str | None, str],
                parent_scope: dict[str | None, str] | None, apex: bool) -> None:
        scope: dict[str | None, str] = dict(el.nsmap)
        prefix = el.prefix
        _ns, local = _split(el.tag)
        qname = f"{prefix}:{local}" if prefix else local
        decls: dict[str | None, str] = {}
        if self.exclusive:
            used: set[str | None] = {prefix}
            for name in el.attrib:
                ans, alocal = _split(name)
                if ans and ans != _XML_NS:
                    used.add(_prefix_for(el, ans, alocal))
            used |= {p for p in self.inclusive_prefixes if p in scope or p is None}
            for p in used:
                value = scope.get(p, "")
                if p is None:
                    if rendered.get(None, "") != value:
                        decls[None] = value
                elif value and rendered.get(p) != value:
                    decls[p] = value
        else:
            parent = parent_scope if parent_scope is not None else {}
            for p, value in scope.items():
                if p is None:
                    continue
                if apex or parent.get(p) != value:
                    decls[p] = value
            default = scope.get(None, "")
            if (apex and default) or (not apex and parent.get(None, "") != default):
                decls[None] = default
        attrs: list[tuple[str, str, str]] = []  # (namespace, local, rendered text)
        for raw_name, raw_value in el.attrib.items():
            value = _s(raw_value)
            ans, alocal = _split(raw_name)
            if ans == _XML_NS:
                rendered_name = f"xml:{alocal}"
            elif ans:
                rendered_name = f"{_prefix_for(el, ans, alocal)}:{alocal}"
            else:
                rendered_name = alocal
            attrs.append((ans, alocal, f' {rendered_name}="{_attr(value)}"'))
        if apex and not self.exclusive:
            # C14N 1.0 carries xml:* attributes of ancestors outside the subset onto the apex.
            have = {a[1] for a in attrs if a[0] == _XML_NS}
            anc = el.getparent()
            while anc is not None:
                for anc_name, anc_value in anc.attrib.items():
                    ans, alocal = _split(anc_name)
                    if ans == _XML_NS and alocal not in have:
                        have.add(alocal)
                        attrs.append((ans, alocal, f' xml:{alocal}="{_attr(_s(anc_value))}"'))
                anc = anc.getparent()
        self.out.append(f"<{qname}")
        for p in sorted(decls, key=lambda k: "" if k is None else k):
            name = "xmlns" if p is None else f"xmlns:{p}"
            self.out.append(f' {name}="{_attr(decls[p])}"')
        for _, _, text in sorted(attrs, key=lambda a: (a[0], a[1])):
            self.out.append(text)
        self.out.append(">")
        child_rendered = {**rendered, **decls} if self.exclusive else rendered
        if el.text:
            self.out.append(_text(el.text))
        for child in el:
            self.node(child, child_rendered, scope, False)
            if child.tail:
                self.out.append(_text(child.tail))
        self.out.append(f"</{qname}>")


def _prefix_for(el: etree._Element, ns: str, local: str = "") -> str | None:
    """The prefix an attribute in ``ns`` was written with (lxml keeps only the URI, so ask libxml2 if ambiguous)."""
    candidates = [p for p, uri in el.nsmap.items() if uri == ns and p is not None]
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    start = etree.tostring(el, with_tail=False).split(b">", 1)[0].decode("utf-8")
    for p in candidates:
        if re.search(rf"\s{re.escape(p)}:{re.escape(local)}=", start):
            return p
    return candidates[0]  # pragma: no cover


def canonicalize(el: etree._Element, *, method: str = EXC_C14N, inclusive_prefixes: Iterable[str] = (),
                 exclude: etree._Element | None = None) -> bytes:
    """The canonical form of ``el`` and its descendants (minus ``exclude``), in its document context.

    ``method`` is one of :data:`C14N`, :data:`C14N_COMMENTS`, :data:`EXC_C14N`, :data:`EXC_C14N_COMMENTS`;
    ``inclusive_prefixes`` is the exclusive method's InclusiveNamespaces PrefixList (``#default`` for the
    default namespace).
    """
    if method not in (C14N, C14N_COMMENTS, EXC_C14N, EXC_C14N_COMMENTS):
        raise ValueError(f"unsupported canonicalization method {method}")
    writer = _Writer(exclusive=method in (EXC_C14N, EXC_C14N_COMMENTS), prefixes=inclusive_prefixes,
                     comments=method in (C14N_COMMENTS, EXC_C14N_COMMENTS), exclude=exclude)
    writer.element(el, {}, None, True)
    return "".join(writer.out).encode("utf-8")


def canonicalize_document(root: etree._Element, *, method: str = C14N, inclusive_prefixes: Iterable[str] = (),
                          exclude: etree._Element | None = None) -> bytes:
    """The canonical form of the whole document of ``root`` (top-level PIs and, if asked, comments included)."""
    comments = method in (C14N_COMMENTS, EXC_C14N_COMMENTS)
    parts: list[bytes] = []
    before = list(root.itersiblings(preceding=True))[::-1]
    after = list(root.itersiblings())

    def misc(node: etree._Element) -> bytes | None:
        if isinstance(node, etree._Comment):
            return f"<!--{node.text or ''}-->".encode() if comments else None
        if isinstance(node, etree._ProcessingInstruction):
            data = node.text or ""
            return f"<?{_s(node.target)}{' ' + data if data else ''}?>".encode()
        return None  # pragma: no cover

    for node in before:
        text = misc(node)
        if text is not None:
            parts.append(text + b"\n")
    parts.append(canonicalize(root, method=method, inclusive_prefixes=inclusive_prefixes, exclude=exclude))
    for node in after:
        text = misc(node)
        if text is not None:
            parts.append(b"\n" + text)
    return b"".join(parts)
