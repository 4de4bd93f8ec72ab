"""Our canonicalizer agrees with lxml on whole documents and fixes lxml's inclusive-subset xmlns="" bug."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from peppol_response.c14n import C14N, EXC_C14N, canonicalize, canonicalize_document

_NS = ["", "urn:a", "urn:b"]
_PREFIXES = [None, "p", "q"]


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    def element(depth: int) -> str:
        prefix = draw(st.sampled_from(_PREFIXES))
        ns = draw(st.sampled_from(_NS[1:] if prefix else _NS))
        name = f"{prefix}:e{depth}" if prefix else f"e{depth}"
        decl = f' xmlns:{prefix}="{ns}"' if prefix else f' xmlns="{ns}"'
        attrs = "".join(f' a{i}="{draw(st.sampled_from(["x", "a&amp;b", "&#9;t", "q&quot;"]))}"'
                        for i in range(draw(st.integers(0, 2))))
        if prefix != "q" and draw(st.booleans()):
            attrs += ' xmlns:q="urn:b" q:z="1"'
        text = draw(st.sampled_from(["", "t", "a &lt; b &gt; c", "\n  ", "&#13;x"]))
        kids = "".join(element(depth + 1) for _ in range(draw(st.integers(0, 2)))) if depth < 3 else ""
        comment = "<!--c-->" if draw(st.booleans()) else ""
        return f"<{name}{decl}{attrs}>{text}{comment}{kids}</{name}>"

    return element(0).encode()


@settings(max_examples=150, deadline=None)
@given(doc=documents())
def test_whole_documents_match_lxml(doc: bytes) -> None:
    root = etree.fromstring(doc)
    for method, exclusive in ((C14N, False), (EXC_C14N, True)):
        assert canonicalize_document(root, method=method) == etree.tostring(
            root.getroottree(), method="c14n", exclusive=exclusive, with_comments=False)


@settings(max_examples=150, deadline=None)
@given(doc=documents())
def test_exclusive_subsets_match_lxml(doc: bytes) -> None:
    root = etree.fromstring(doc)
    for el in root.iter():
        if isinstance(el.tag, str):
            expected = etree.tostring(el, method="c14n", exclusive=True, with_comments=False)
            assert canonicalize(el, method=EXC_C14N) == expected


def test_inclusive_subset_renders_context_namespaces_once() -> None:
    doc = (b'<r:root xmlns:r="urn:r" xmlns="urn:default"><s:Sig xmlns:s="urn:s" xmlns="urn:s">'
           b'<SignedInfo><Ref><T/></Ref></SignedInfo></s:Sig></r:root>')
    root = etree.fromstring(doc)
    si = root[0][0]
    assert canonicalize(si, method=C14N) == (
        b'<SignedInfo xmlns="urn:s" xmlns:r="urn:r" xmlns:s="urn:s"><Ref><T></T></Ref></SignedInfo>')
    assert canonicalize(si, method=EXC_C14N) == b'<SignedInfo xmlns="urn:s"><Ref><T></T></Ref></SignedInfo>'
