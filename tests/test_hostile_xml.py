"""Hostile and broken input: refused with ParseError/UnsafeXmlError, nothing expanded, nothing fetched.

A local HTTP server records every request; each test that could trigger a fetch asserts it got none.
Every hostile document is tried through each public reader (Invoice Response, invoice, raw safe parse).
"""

from __future__ import annotations

import http.server
import itertools
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from peppol_response import ParseError, UnsafeXmlError, parse
from peppol_response.examples import example_invoice
from peppol_response.invoice import read_invoice
from peppol_response.xmlsafe import _USUAL_PROLOG, find_markup_declaration, parse_xml

from .conftest import official_examples


class _Recorder(http.server.BaseHTTPRequestHandler):
    requests: list[str]

    def do_GET(self) -> None:
        self.server.requests.append(self.path)  # type: ignore[attr-defined]
        body = b'<!ENTITY leak "fetched">'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    httpd.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def url(server: Any) -> Iterator[str]:
    server.requests.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    assert server.requests == [], f"the parser fetched {server.requests}"


def _response_body() -> str:
    return Path(__file__).parent.joinpath("..", "examples", "responses", "AP-accepted.xml").resolve().read_text(
        encoding="utf-8").split("?>", 1)[1]


READERS: dict[str, Callable[[bytes], Any]] = {
    "invoice-response": parse,
    "invoice": read_invoice,
    "parse_xml": lambda data: parse_xml(data),
}


def hostile(url: str, secret_file: Path) -> dict[str, bytes]:
    body = _response_body()
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    return {
        "external entity (file)": (f'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret_file}">]>'
                                   f"\n<r>&x;</r>").encode(),
        "external entity (http)": (f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "{url}/entity">]>'
                                   "<r>&x;</r>").encode(),
        "billion laughs": (f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "lol">{laughs}]><r>&l9;</r>').encode(),
        "quadratic blowup": ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "' + "x" * 50_000 + '">]><r>'
                             + "&a;" * 5_000 + "</r>").encode(),
        "external DTD": f'<?xml version="1.0"?><!DOCTYPE r SYSTEM "{url}/external.dtd"><r/>'.encode(),
        "parameter entities": (f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "{url}/param.dtd"> %p;]>'
                               "<r>&leak;</r>").encode(),
        "DOCTYPE after a comment": f'<!-- x --><!DOCTYPE r SYSTEM "{url}/after-comment.dtd"><r/>'.encode(),
        "DOCTYPE between comments": (f'<?xml version="1.0"?>\n<!-- a --><!DOCTYPE r SYSTEM "{url}/between.dtd">'
                                     "<!-- b -->\n<r/>").encode(),
        "DOCTYPE behind a comment with --": (f'<?xml version="1.0"?><!-- a -- b --><!DOCTYPE r SYSTEM "{url}/dd.dtd">'
                                             "<!-- c --><r/>").encode(),
        "DOCTYPE hidden behind a processing instruction": (
            f'<?xml version="1.0"?>\n<?pi <!-- ?>\n<!DOCTYPE r SYSTEM "{url}/pi.dtd">\n<!-- -->\n<r/>').encode(),
        "UTF-16 DOCTYPE": (f'<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY x SYSTEM "{url}/u16">]>'
                           "<r>&x;</r>").encode("utf-16"),
        "UTF-16BE DOCTYPE without BOM": (f'<?xml version="1.0" encoding="UTF-16BE"?><!DOCTYPE r SYSTEM "{url}/be">'
                                         "<r/>").encode("utf-16-be"),
        "UTF-32 DOCTYPE": f'<?xml version="1.0" encoding="UTF-32"?><!DOCTYPE r SYSTEM "{url}/u32"><r/>'.encode(
            "utf-32"),
        "UTF-7 hiding a DOCTYPE": (f'<?xml version="1.0" encoding="UTF-7"?>+ADw-!DOCTYPE r SYSTEM "{url}/u7"+AD4-'
                                   "+ADw-r/+AD4-").encode(),
        "EBCDIC": f'<?xml version="1.0" encoding="cp037"?><!DOCTYPE r SYSTEM "{url}/ebcdic"><r/>'.encode("cp037"),
        "XInclude": (body.replace("<cbc:Note>", "").replace(
            "</cac:SenderParty>",
            f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{url}/xinclude"/></cac:SenderParty>',
        )).encode(),
        "schemaLocation": body.replace(
            "<ApplicationResponse ",
            f'<ApplicationResponse xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            f'xsi:schemaLocation="urn:x {url}/schema.xsd" ',
            1,
        ).encode(),
    }


HOSTILE_NAMES = [
    "external entity (file)", "external entity (http)", "billion laughs", "quadratic blowup", "external DTD",
    "parameter entities", "DOCTYPE after a comment", "DOCTYPE between comments", "DOCTYPE behind a comment with --",
    "DOCTYPE hidden behind a processing instruction",
    "UTF-16 DOCTYPE", "UTF-16BE DOCTYPE without BOM", "UTF-32 DOCTYPE", "UTF-7 hiding a DOCTYPE",
]


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_declarations_are_refused_before_parsing(name: str, reader: str, url: str, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    data = hostile(url, secret)[name]
    with pytest.raises(UnsafeXmlError) as info:
        READERS[reader](data)
    assert "top secret" not in str(info.value)
    assert "DOCTYPE" in str(info.value) or "encoding" in str(info.value)


@pytest.mark.parametrize("reader", sorted(READERS))
def test_ebcdic_is_not_read(reader: str, url: str, tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="must start with '<'"):
        READERS[reader](hostile(url, tmp_path / "x")["EBCDIC"])


def test_xinclude_is_never_processed(url: str, tmp_path: Path) -> None:
    data = hostile(url, tmp_path / "x")["XInclude"]
    with pytest.raises(ParseError, match=r"Q\{http://www\.w3\.org/2001/XInclude\}include") as info:
        parse(data)
    assert "not part of the Invoice Response data model" in str(info.value)
    root = parse_xml(data)  # the plain safe parser keeps the element and does nothing with it
    assert root.find(".//{http://www.w3.org/2001/XInclude}include") is not None


def test_schema_location_is_not_followed(url: str, tmp_path: Path) -> None:
    # Validation reports it (PEPPOL-T111-B00108); reading the document never fetches it.
    assert parse(hostile(url, tmp_path / "x")["schemaLocation"]).code.value == "AP"


def test_oversize_input_is_refused_before_parsing() -> None:
    data = b"<r>" + b" " * (3 * 1024 * 1024) + b"</r>"
    with pytest.raises(UnsafeXmlError, match="more than the limit"):
        parse(data)
    with pytest.raises(UnsafeXmlError, match="more than the limit"):
        read_invoice(data, max_bytes=1024)


def test_huge_text_node_is_refused_by_the_parser_limits() -> None:
    data = b"<r>" + b"x" * 10_000_001 + b"</r>"
    with pytest.raises(UnsafeXmlError, match="limits"):
        parse_xml(data, max_bytes=len(data))
    with pytest.raises(UnsafeXmlError, match="limit"):
        parse(data)


def test_deep_nesting() -> None:
    deep = b"<a>" * 10_000 + b"</a>" * 10_000
    for reader in READERS.values():
        with pytest.raises(UnsafeXmlError):
            reader(deep)
    # Below libxml2's limit but beyond ours.
    with pytest.raises(UnsafeXmlError, match="deeper than 100"):
        parse_xml(b"<a>" * 150 + b"</a>" * 150)
    # The Invoice Response parser needs no depth walk: anything deeper than the binding is outside it.
    body = _response_body().replace("<cbc:Note>", "")
    nested = body.replace("</cac:SenderParty>", "<cbc:X>" + "<y>" * 200 + "</y>" * 200 + "</cbc:X></cac:SenderParty>")
    with pytest.raises(ParseError, match="not part of the Invoice Response data model"):
        parse(nested.encode())


@pytest.mark.parametrize(
    ("data", "message", "line"),
    [
        (b"", "empty", 1),
        (b"   \n ", "empty", 1),
        (b"not xml at all", "must start with '<'", 1),
        (b"<?xml version='1.0'?>\n<a>\n<b></a>", "not well-formed", 3),
        (b"<a>&undefined;</a>", "not well-formed", 1),
        (b"<a>\x00</a>", "not well-formed", 1),
        (b"<a>\xff\xfe</a>", "not well-formed", 1),
        (b"<?xml version='1.0' encoding='no-such-codec'?><a/>", "unknown encoding", 1),
        (b"<a/><b/>", "not well-formed", 1),
    ],
)
def test_malformed_input(data: bytes, message: str, line: int) -> None:
    for reader in READERS.values():
        with pytest.raises(ParseError, match=message) as info:
            reader(data)
        assert info.value.line == line
        assert not isinstance(info.value, UnsafeXmlError) or message == "unknown encoding"


def test_not_bytes() -> None:
    with pytest.raises(ParseError, match="bytes or str"):
        parse(12345)  # type: ignore[arg-type]


def test_wrong_documents() -> None:
    body = _response_body()
    with pytest.raises(ParseError, match="the root element is Q\\{urn:x\\}r"):
        parse(b"<r xmlns='urn:x'/>")
    with pytest.raises(ParseError, match="wrong namespace"):
        parse(body.replace("ApplicationResponse-2\"", "ApplicationResponse-3\"").encode())
    start = body.index("<cac:DocumentResponse>")
    end = body.index("</cac:DocumentResponse>") + len("</cac:DocumentResponse>")
    with pytest.raises(ParseError, match="lacks the mandatory element cac:DocumentResponse"):
        parse((body[:start] + body[end:]).encode())
    with pytest.raises(ParseError, match=r"ApplicationResponse .*not an invoice"):
        read_invoice(body.encode())
    assert read_invoice(example_invoice("invoice")).id == "NKU-2026-0117"


@pytest.mark.conformance
@pytest.mark.parametrize("path", [p for p in official_examples() if "MessageLevel" in p.name or "mlr" in p.name],
                         ids=lambda p: p.name)
def test_official_mlr_conformance_is_named_as_an_mlr(path: Path) -> None:
    with pytest.raises(ParseError, match="Message Level Response"):
        parse(path.read_bytes())


def test_sbdh_wrapped_response_parses() -> None:
    body = _response_body()
    wrapped = ('<StandardBusinessDocument xmlns="http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader">'
               "<StandardBusinessDocumentHeader><HeaderVersion>1.0</HeaderVersion></StandardBusinessDocumentHeader>"
               f"{body}</StandardBusinessDocument>")
    assert parse(wrapped.encode()) == parse(body.encode())


@pytest.mark.parametrize(
    ("data", "offset"),
    [
        (b"<a/>", None),
        (b"<!DOCTYPE a><a/>", 0),
        (b"<?xml version='1.0'?><!-- <!DOCTYPE x> --><a>hi!</a>", None),
        (b"<a><![CDATA[<!DOCTYPE x>]]></a>", None),
        (b"<!-- a -- > b --><!ENTITY x 'y'>", 17),
        (b"<?pi <!-- ?>\n<!DOCTYPE a>", 13),
        (b"<!---->\n<!DOCTYPE a>", 8),
        (b"<!--->x<!E", None),  # an unterminated comment: libxml2 reports it
        (b"<a>text <!DOCTYPE in content is an error libxml2 never acts on</a>", None),
    ],
)
def test_prolog_scan(data: bytes, offset: int | None) -> None:
    assert find_markup_declaration(data) == offset


def test_harmless_markup_is_accepted() -> None:
    root = parse_xml(b'<?xml version="1.0" encoding="ISO-8859-1"?><!-- c --><?pi x?><a><![CDATA[<b>]]>\xe9</a>')
    assert root.text == "<b>\u00e9"
    assert parse_xml('<?xml version="1.0" encoding="UTF-16"?><a>\u00e9</a>'.encode("utf-16")).text == "\u00e9"
    assert parse_xml("\ufeff<?xml version='1.0' encoding='UTF-8'?><a>é</a>").text == "é"
    assert parse_xml(b"\xef\xbb\xbf<a/>").tag == "a"


_PROLOG_PIECES = [
    b'<?xml version="1.0"?>', b"<?xml version='1.0' encoding='UTF-8'?>", b"\n", b" \t", b"<!-- c -->", b"<!---->",
    b"<!-- a - b -->", b"<!-- a -- b -->", b"<!-- <!DOCTYPE x> -->", b"<!-- -->-->", b"<!--->", b"-->", b"<!--",
    b"<?pi x?>", b"<?pi <!-- ?>", b"<!DOCTYPE r>", b'<!DOCTYPE r [<!ENTITY e "x">]>', b"<!ENTITY e 'x'>", b"<r/>",
    b"<r>&e;</r>", b"\xef\xbb\xbf",
]


def test_the_usual_prolog_shortcut_only_accepts_what_the_scan_and_libxml2_find_harmless() -> None:
    # The one-expression check that lets the usual prolog skip the careful path must never accept a
    # prolog that the token scan would refuse, nor one from which libxml2 would build a DTD.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    accepted = 0
    for n in range(1, 5):
        for pieces in itertools.product(_PROLOG_PIECES, repeat=n):
            data = b"".join(pieces) + b"<root>x</root>"
            if _USUAL_PROLOG.match(data) is None:
                continue
            accepted += 1
            assert find_markup_declaration(data) is None, data
            try:
                root = etree.fromstring(data, parser)
            except etree.XMLSyntaxError:
                continue
            assert root.getroottree().docinfo.internalDTD is None, data
    assert accepted > 1000
