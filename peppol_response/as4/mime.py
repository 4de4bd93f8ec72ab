"""SOAP-with-Attachments packing: a strict multipart/related emitter and a tolerant parser.

The emitter writes exactly what the profile recommends: ``multipart/related; type="application/soap+xml";
boundary=...; start="<root>"``, a root part with a Content-ID, CRLF line ends and binary attachments with
``Content-Transfer-Encoding: binary``. It can stream (:func:`iter_multipart` takes attachment content as
an iterable of chunks) so a 50 MB payload never sits in memory twice.

The parser reads what access points really send: with or without ``start`` and a root Content-ID, a
preamble (even MIME headers repeated inside the HTTP body), folded headers, binary/8bit/7bit/base64/
quoted-printable parts, Content-IDs with or without angle brackets, LF or CRLF line ends, and a plain
``application/soap+xml`` body (a signal, no attachments). It slices the body without copying binary
parts, and enforces size caps. Problems are ``EBMS:0007`` (MimeInconsistency).
"""

from __future__ import annotations

import base64
import binascii
import functools
import quopri
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Final

from ..errors import As4Error
from .message import ErrorCode, ebms_error

__all__ = [
    "MimeLimits",
    "MimePart",
    "Multipart",
    "build_multipart",
    "iter_multipart",
    "multipart_content_type",
    "new_boundary",
    "parse_content_type",
    "parse_multipart",
]

SOAP_TYPE: Final = "application/soap+xml"
CRLF: Final = b"\r\n"


@dataclass(frozen=True)
class MimeLimits:
    """Caps for the parser (all in bytes unless said otherwise)."""

    max_message: int = 128 * 1024 * 1024
    max_root: int = 4 * 1024 * 1024
    max_parts: int = 16
    max_header_block: int = 16 * 1024


@dataclass(frozen=True)
class MimePart:
    """One MIME part: its headers (names lower-cased, in order) and decoded content."""

    headers: tuple[tuple[str, str], ...]
    content: bytes | memoryview
    content_id: str | None = field(init=False, repr=False, compare=False)
    """The Content-ID without angle brackets (as ``cid:`` URIs name it), or None."""

    def __post_init__(self) -> None:
        # set once here: looked up several times per message, and functools.cached_property takes a lock
        raw = self.header("content-id")
        if raw is not None:
            raw = raw.strip()
            if raw.startswith("<") and raw.endswith(">"):
                raw = raw[1:-1].strip()
        object.__setattr__(self, "content_id", raw or None)

    def header(self, name: str) -> str | None:
        name = name.lower()
        for k, v in self.headers:
            if k == name:
                return v
        return None

    @property
    def content_type(self) -> str:
        return _media_type(self.header("content-type") or "application/octet-stream")


@dataclass(frozen=True)
class Multipart:
    """A parsed request: the SOAP root part and the attachments (by Content-ID and in order)."""

    root: MimePart
    attachments: tuple[MimePart, ...]
    boundary: str | None

    def attachment(self, content_id: str) -> MimePart | None:
        for part in self.attachments:
            if part.content_id == content_id:
                return part
        return None


def _mime_error(message: str) -> As4Error:
    return ebms_error(ErrorCode.MIME_INCONSISTENCY, message)


# ---------------------------------------------------------------------------------------------------
# header values
# ---------------------------------------------------------------------------------------------------

_TOKEN: Final = re.compile(r'\s*([^=;\s]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)\s*')


def parse_content_type(value: str) -> tuple[str, dict[str, str]]:
    """``multipart/related; boundary="x"; type=...`` -> (``multipart/related``, {``boundary``: ``x``, ...}).

    Parameter names are lower-cased; quoted values are unquoted. Folded (multi-line) values are accepted.
    """
    value = " ".join(value.split())
    main, _, rest = value.partition(";")
    params: dict[str, str] = {}
    if "\\" not in rest:  # the common case (no escapes, no ';' inside quotes), without the tokenizer
        simple = True
        for item in rest.split(";"):
            name, eq, val = item.partition("=")
            val = val.strip()
            if val.startswith('"'):
                if len(val) < 2 or not val.endswith('"') or '"' in val[1:-1]:
                    simple = False
                    break
                val = val[1:-1]
            if eq and name.strip():
                params.setdefault(name.strip().lower(), val)
        if simple:
            return main.strip().lower(), params
        params = {}
    pos = 0
    while pos < len(rest):
        m = _TOKEN.match(rest, pos)
        if m is None:
            nxt = rest.find(";", pos)
            if nxt < 0:
                break
            pos = nxt + 1
            continue
        raw = m.group(2).strip()
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        params.setdefault(m.group(1).lower(), raw)
        pos = m.end()
        if pos < len(rest) and rest[pos] == ";":
            pos += 1
    return main.strip().lower(), params


@functools.lru_cache(maxsize=64)
def _media_type(value: str) -> str:
    """The media type of a part's Content-Type (part headers repeat from message to message)."""
    return parse_content_type(value)[0]


def new_boundary() -> str:
    """A fresh boundary (128 random bits: it cannot plausibly occur in ciphertext or XML)."""
    return f"----=_Part_{uuid.uuid4().hex}"


def multipart_content_type(boundary: str, start: str) -> str:
    """The HTTP Content-Type of a message packed by :func:`iter_multipart`."""
    return f'multipart/related; type="{SOAP_TYPE}"; boundary="{boundary}"; start="<{start}>"'


# ---------------------------------------------------------------------------------------------------
# emitting
# ---------------------------------------------------------------------------------------------------


def _part_head(boundary: str, content_type: str, content_id: str) -> bytes:
    return (
        f"--{boundary}\r\nContent-Type: {content_type}\r\nContent-Transfer-Encoding: binary\r\n"
        f"Content-ID: <{content_id}>\r\n\r\n"
    ).encode("ascii")


def iter_multipart(
    root_xml: bytes,
    attachments: Iterable[tuple[str, str, Iterable[bytes]]],
    *,
    boundary: str,
    root_id: str,
) -> Iterator[bytes]:
    """Yield a multipart/related body: the SOAP root part, then each ``(content_id, content_type, chunks)``."""
    yield _part_head(boundary, f"{SOAP_TYPE}; charset=UTF-8", root_id)
    yield root_xml
    for cid, ctype, chunks in attachments:
        yield b"\r\n" + _part_head(boundary, ctype, cid)
        yield from chunks
    yield f"\r\n--{boundary}--\r\n".encode("ascii")


def build_multipart(
    root_xml: bytes,
    attachments: Iterable[tuple[str, str, bytes]],
    *,
    root_id: str,
    boundary: str | None = None,
) -> tuple[str, bytes]:
    """Pack into ``(content_type, body)``; the boundary is checked against (and kept out of) the content."""
    atts = list(attachments)
    while True:
        b = boundary or new_boundary()
        marker = f"--{b}".encode("ascii")
        if marker not in root_xml and not any(marker in data for _, _, data in atts):
            break
        if boundary is not None:
            raise ValueError("the given boundary occurs in the content")
    body = b"".join(iter_multipart(root_xml, ((c, t, (d,)) for c, t, d in atts), boundary=b, root_id=root_id))
    return multipart_content_type(b, root_id), body


# ---------------------------------------------------------------------------------------------------
# parsing
# ---------------------------------------------------------------------------------------------------

_HEADER_NAME: Final = re.compile(r"[!-9;-~]+")


def _parse_headers(block: bytes) -> tuple[tuple[str, str], ...]:
    lines = block.decode("latin-1").replace("\r\n", "\n").split("\n")
    out: list[list[str]] = []
    for line in lines:
        if not line.strip():
            continue
        if line[:1] in (" ", "\t") and out:
            out[-1][1] += " " + line.strip()
            continue
        name, colon, value = line.partition(":")
        name = name.rstrip(" \t")
        if not colon or not _HEADER_NAME.fullmatch(name):
            raise _mime_error(f"malformed MIME header line {line[:60]!r}")
        out.append([name.lower(), value.strip()])
    return tuple((k, v) for k, v in out)


def _split_head(body: bytes, start: int, limit: int) -> tuple[int, bytes]:
    """Find the blank line ending a header block at ``start``; returns (content start, header bytes)."""
    if body.startswith(b"\r\n", start):
        return start + 2, b""
    if body.startswith(b"\n", start):
        return start + 1, b""
    end = start + limit + 4
    # The earlier of CRLF CRLF and LF LF ends the block. An LF LF can only come before a CRLF CRLF, so once
    # the latter is found the former is looked for only up to it (not through the limit: with CRLF headers
    # there is none, and the scan would run over the part's content).
    pos = body.find(b"\r\n\r\n", start, end)
    lf = body.find(b"\n\n", start, pos if pos >= 0 else end)
    if lf >= 0:
        return lf + 2, body[start:lf]
    if pos < 0:
        raise _mime_error("a MIME part's headers do not end (no empty line) or exceed the header size limit")
    return pos + 4, body[start:pos]


def _decode(part_headers: tuple[tuple[str, str], ...], content: memoryview) -> bytes | memoryview:
    cte = "binary"
    for k, v in part_headers:
        if k == "content-transfer-encoding":
            cte = v.strip().lower()
    if cte in ("binary", "8bit", "7bit", ""):
        return content
    if cte == "base64":
        try:
            return base64.b64decode(b"".join(bytes(content).split()), validate=True)
        except (binascii.Error, ValueError):
            raise _mime_error("a base64 MIME part is not valid base64") from None
    if cte == "quoted-printable":
        return quopri.decodestring(bytes(content))
    raise _mime_error(f"unsupported Content-Transfer-Encoding {cte!r}")


def _boundary_from_preamble(body: bytes) -> str | None:
    """Some senders repeat the HTTP MIME headers inside the body: find a boundary there."""
    head = body[:8192]
    m = re.search(rb"(?is)content-type:\s*multipart/related(.*?)(?:\r?\n\r?\n)", head)
    if m is None:
        return None
    _, params = parse_content_type("multipart/related" + m.group(1).decode("latin-1"))
    return params.get("boundary")


def parse_multipart(content_type: str | None, body: bytes, limits: MimeLimits | None = None) -> Multipart:
    """Split an AS4 HTTP body into the SOAP root part and attachments.

    ``content_type`` is the HTTP Content-Type (None or empty when the peer sent none). A non-multipart
    body is taken as a bare SOAP envelope (how signals arrive). Raises EBMS:0007 for broken MIME.
    """
    limits = limits or MimeLimits()
    if len(body) > limits.max_message:
        raise _mime_error(f"the message is {len(body)} bytes, more than the limit of {limits.max_message}")
    mtype, params = parse_content_type(content_type or "")
    boundary = params.get("boundary") if mtype.startswith("multipart/") else None
    if boundary is None:
        boundary = _boundary_from_preamble(body) if (not mtype or mtype.startswith("multipart/")) else None
        if boundary is None:
            if mtype.startswith("multipart/"):
                raise _mime_error("multipart Content-Type without a boundary parameter")
            if len(body) > limits.max_root:
                raise _mime_error(f"the SOAP message exceeds the limit of {limits.max_root} bytes")
            return Multipart(MimePart((("content-type", content_type or SOAP_TYPE),), body), (), None)
    if not 0 < len(boundary) <= 200:
        raise _mime_error("the MIME boundary is empty or too long")
    data = memoryview(body)
    delim = b"--" + boundary.encode("latin-1")
    # the first delimiter: at the very start or after a line end (a preamble may precede it)
    if body.startswith(delim):
        pos = 0
    else:
        pos = body.find(b"\n" + delim)
        if pos < 0:
            raise _mime_error(f"the boundary {boundary!r} does not occur in the body")
        pos += 1
    line_end = b"\n"
    after = pos + len(delim)
    eol = body.find(b"\n", after)
    if eol < 0:
        raise _mime_error("the body ends after the first boundary")
    if eol > after and body[eol - 1 : eol] == b"\r":
        line_end = b"\r\n"
    sep = line_end + delim
    parts: list[MimePart] = []
    closed = False
    while True:
        # pos is at a delimiter line
        after = pos + len(delim)
        if body[after : after + 2] == b"--":
            closed = True
            break
        eol = body.find(b"\n", after)
        if eol < 0:
            raise _mime_error("a MIME boundary line does not end")
        if body[after:eol].strip():
            raise _mime_error("unexpected characters after a MIME boundary")
        start = eol + 1
        content_start, head = _split_head(body, start, limits.max_header_block)
        headers = _parse_headers(head)
        end = body.find(sep, content_start)
        if end < 0:
            # tolerate a last part whose closing delimiter follows a different line end style
            alt = body.find(b"\n" + delim, content_start)
            if alt < 0:
                raise _mime_error("the multipart body ends without a closing boundary (truncated message?)")
            end, nxt = alt, alt + 1
        else:
            nxt = end + len(line_end)
        if len(parts) >= limits.max_parts:
            raise _mime_error(f"more than {limits.max_parts} MIME parts")
        parts.append(MimePart(headers, _decode(headers, data[content_start:end])))
        pos = nxt
    if not closed or not parts:
        raise _mime_error("the multipart body holds no parts")
    start_id = params.get("start")
    root_index = 0
    if start_id:
        wanted = start_id.strip().strip("<>").strip()
        found = [i for i, p in enumerate(parts) if p.content_id == wanted]
        if not found:
            raise _mime_error(f"no MIME part has the start Content-ID <{wanted}>")
        root_index = found[0]
    root = parts[root_index]
    rtype = root.content_type
    if rtype not in (SOAP_TYPE, "text/xml", "application/xml"):
        raise _mime_error(f"the root MIME part is {rtype}, not {SOAP_TYPE}")
    if len(root.content) > limits.max_root:
        raise _mime_error(f"the SOAP part exceeds the limit of {limits.max_root} bytes")
    attachments = tuple(p for i, p in enumerate(parts) if i != root_index)
    seen: set[str] = set()
    for att in attachments:
        cid = att.content_id
        if cid is None:
            raise _mime_error("an attachment has no Content-ID")
        if cid in seen:
            raise _mime_error(f"two MIME parts share the Content-ID <{cid}>")
        seen.add(cid)
    return Multipart(root, attachments, boundary)
