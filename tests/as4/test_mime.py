"""MIME: the strict emitter's output round-trips through the tolerant parser, and real-world variants parse."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peppol_response.as4.mime import (
    MimeLimits,
    build_multipart,
    iter_multipart,
    parse_content_type,
    parse_multipart,
)
from peppol_response.errors import As4Error

ROOT = b'<?xml version="1.0"?><S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope"/>'


@settings(max_examples=80, deadline=None)
@given(atts=st.lists(st.binary(max_size=3000), min_size=0, max_size=4))
def test_emitter_output_parses_back_exactly(atts: list[bytes]) -> None:
    ctype, body = build_multipart(ROOT, [(f"a{i}@x", "application/octet-stream", d) for i, d in enumerate(atts)],
                                  root_id="root@x")
    mp = parse_multipart(ctype, body)
    assert bytes(mp.root.content) == ROOT
    assert mp.root.content_id == "root@x"
    assert [bytes(a.content) for a in mp.attachments] == atts
    assert [a.content_id for a in mp.attachments] == [f"a{i}@x" for i in range(len(atts))]


@settings(max_examples=40, deadline=None)
@given(data=st.binary(min_size=1, max_size=2000), lf=st.booleans(), brackets=st.booleans(),
       preamble=st.booleans(), start=st.booleans(), b64=st.booleans())
def test_parser_accepts_real_world_variants(data: bytes, lf: bool, brackets: bool, preamble: bool, start: bool,
                                            b64: bool) -> None:
    nl = b"\n" if lf else b"\r\n"
    cid = b"<att@x>" if brackets else b"att@x"
    content = base64.encodebytes(data) if b64 else data
    cte = b"base64" if b64 else b"binary"
    head = (b"Content-Type: multipart/related; boundary=\"BND\"; type=\"application/soap+xml\"" + nl + nl
            if preamble else b"")
    body = (head + b"--BND" + nl + b"Content-Type: application/soap+xml;charset=UTF-8" + nl
            + b"MIME-Version: 1.0" + nl + (b"Content-ID: <root@x>" + nl if start else b"") + nl + ROOT + nl
            + b"--BND" + nl + b"Content-Type: application/gzip" + nl + b"Content-Transfer-Encoding: " + cte + nl
            + b"Content-Description: Attachment" + nl + b"Content-ID: " + cid + nl + nl + content + nl
            + b"--BND--" + nl)
    ctype = 'multipart/related;\r\n\ttype="application/soap+xml"; boundary=BND' + ('; start="<root@x>"' if start
                                                                                   else "")
    mp = parse_multipart(ctype, body)
    assert bytes(mp.root.content) == ROOT
    (att,) = mp.attachments
    assert att.content_id == "att@x"
    assert bytes(att.content) == data


def test_headers_only_inside_the_body() -> None:
    ctype, body = build_multipart(ROOT, [("a@x", "application/octet-stream", b"data")], root_id="r@x")
    inner = f"MIME-Version: 1.0\r\nContent-Type: {ctype}\r\n\r\n".encode() + body
    mp = parse_multipart(None, inner)
    assert bytes(mp.attachments[0].content) == b"data"


def test_plain_soap_body_is_a_single_root_part() -> None:
    mp = parse_multipart("application/soap+xml; charset=UTF-8", ROOT)
    assert bytes(mp.root.content) == ROOT
    assert not mp.attachments


def test_streaming_emitter_matches_the_bytes_one() -> None:
    ctype, body = build_multipart(ROOT, [("a@x", "application/gzip", b"0123456789")], root_id="r@x",
                                  boundary="B")
    streamed = b"".join(iter_multipart(ROOT, [("a@x", "application/gzip", iter([b"0123", b"456789"]))],
                                       boundary="B", root_id="r@x"))
    assert streamed == body
    assert ctype == 'multipart/related; type="application/soap+xml"; boundary="B"; start="<r@x>"'


def test_content_type_parameters() -> None:
    main, params = parse_content_type('Multipart/Related; boundary="a;b\\"c"; type=application/soap+xml')
    assert main == "multipart/related"
    assert params == {"boundary": 'a;b"c', "type": "application/soap+xml"}


@pytest.mark.parametrize(("ctype", "body", "needle"), [
    ("multipart/related; boundary=X", b"--Y\r\n\r\nx\r\n--Y--", "does not occur"),
    ("multipart/related", b"--X\r\n\r\nx\r\n--X--", "boundary"),
    ("multipart/related; boundary=X", b"--X\r\nContent-Type: text/html\r\n\r\n<html/>\r\n--X--\r\n", "root"),
    ("multipart/related; boundary=X; start=\"<nope>\"",
     b"--X\r\nContent-Type: application/soap+xml\r\n\r\n<a/>\r\n--X--\r\n", "start"),
    ("multipart/related; boundary=X",
     b"--X\r\nContent-Type: application/soap+xml\r\n\r\n<a/>\r\n--X\r\nContent-Transfer-Encoding: base64\r\n"
     b"Content-ID: <a>\r\n\r\n!!!\r\n--X--\r\n", "base64"),
    ("multipart/related; boundary=X",
     b"--X\r\nContent-Type: application/soap+xml\r\n\r\n<a/>\r\n--X\r\nContent-Type: a/b\r\n\r\nx\r\n--X--\r\n",
     "no Content-ID"),
    ("multipart/related; boundary=X", b"--X\r\nbad header line\r\n\r\n<a/>\r\n--X--\r\n", "malformed"),
])
def test_broken_mime_is_mime_inconsistency(ctype: str, body: bytes, needle: str) -> None:
    with pytest.raises(As4Error) as err:
        parse_multipart(ctype, body)
    assert err.value.code == "EBMS:0007"
    assert needle in err.value.description


def test_part_limit() -> None:
    ctype, body = build_multipart(ROOT, [(f"a{i}@x", "a/b", b"x") for i in range(5)], root_id="r@x")
    with pytest.raises(As4Error, match="more than 3 MIME parts"):
        parse_multipart(ctype, body, MimeLimits(max_parts=3))
