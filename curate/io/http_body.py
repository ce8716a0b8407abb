"""An archived HTTP response as a page: header parsing, de-chunking, content decoding, charset.

Bodies are decoded as a browser would, never raising on what a server declares:

- ``Transfer-Encoding: chunked`` is undone, then ``Content-Encoding`` (gzip, deflate, br), in
  bounded memory. Common Crawl stores decoded bodies and renames these headers
  (``X-Crawler-Content-Encoding``), so only the plain names count. A body that does not look
  encoded as declared (ClueWeb keeps ``Content-Encoding: gzip`` over decoded HTML) stays as is.
- The declared charset (HTTP header, else ``<meta charset>``) is decoded with per-byte
  replacement, so one stray byte costs one character, not the page. Labels browsers know but
  Python does not (``utf8mb4``, ``windows-31j``, ``iso-8859-8-i``) are mapped; an unknown or
  meaningless label (``none``, ``x-user-defined``) counts as undeclared. Undeclared pages are
  UTF-8 if they decode as such, else the detector's guess.
"""

from __future__ import annotations

import codecs
import re
import zlib
from dataclasses import dataclass

import brotli

CRLF_BLANK = b"\r\n\r\n"
LF_BLANK = b"\n\n"
META_SCAN_BYTES = 4096
_META_CHARSET = re.compile(rb"<meta[^>]{0,200}?charset\s*=\s*[\"']?\s*([\w.:-]{1,40})", re.I)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([^\s;\"',]*)", re.I)
_CHUNK_SIZE = re.compile(rb"[0-9a-fA-F]{1,16}")
# WHATWG encoding labels that Python's codec registry lacks or reads differently; None: the label
# names no usable encoding, so the page counts as undeclared.
CHARSET_ALIASES: dict[str, str | None] = {
    "utf8mb4": "utf-8",
    "utf8mb3": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
    "x-unicode20utf8": "utf-8",
    "windows-31j": "cp932",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "csshiftjis": "cp932",
    "iso-8859-8-i": "iso-8859-8",
    "csiso88598i": "iso-8859-8",
    "logical": "iso-8859-8",
    "windows-874": "cp874",
    "tis-620": "cp874",
    "iso-8859-11": "cp874",
    "x-mac-roman": "mac-roman",
    "x-mac-cyrillic": "mac-cyrillic",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "gb_2312-80": "gb18030",
    "big5": "big5hkscs",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    # browsers read Latin-1 and ASCII labels as windows-1252 (curly quotes, euro sign)
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso-8859-9": "cp1254",
    "latin5": "cp1254",
    "x-user-defined": None,
    "none": None,
    "unknown": None,
    "auto": None,
    "default": None,
}
# Python codecs that are not page encodings: they raise, interpret escapes, or are Windows-only.
NOT_PAGE_CODECS = frozenset(
    {"undefined", "unicode-escape", "raw-unicode-escape", "idna", "punycode", "utf-7", "mbcs"}
)
WIDE_CODECS = ("utf-16", "utf-32")
UTF8_BOM = b"\xef\xbb\xbf"
BOMS = ((UTF8_BOM, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
SIBLING_ENCODINGS = {"cp1250": "iso-8859-2", "iso-8859-2": "cp1250", "iso8859-2": "cp1250"}
ASCII_BYTES = bytes(range(128))


class BadHttp(ValueError):
    """The block holds no parseable HTTP response head."""


@dataclass(frozen=True)
class HttpMessage:
    status: int | None
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes


def parse_response(block: bytes) -> HttpMessage:
    """Split an HTTP response block into status, headers and (raw) body."""
    if not block.startswith(b"HTTP/"):
        raise BadHttp("no HTTP status line")
    # the blank line ending the head: CRLF, or LF (ClueWeb), searched only before the CRLF one
    crlf = block.find(CRLF_BLANK)
    lf = block.find(LF_BLANK, 0, crlf if crlf >= 0 else len(block))
    if lf < 0 and crlf < 0:
        raise BadHttp("HTTP head without an end")
    end, head_end = (lf, lf + 2) if lf >= 0 else (crlf, crlf + 4)
    lines = block[:end].decode("latin-1").split("\n")
    parts = lines[0].split(None, 2)
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            key, value = name.strip().lower(), value.strip()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return HttpMessage(status, headers, block[head_end:])


def dechunk(body: bytes) -> bytes:
    """Undo chunked transfer coding; a body that is not chunked after all is returned as is,
    one whose chunking breaks off keeps what came before the break."""
    parts: list[bytes] = []
    pos = 0
    while True:
        line_end = body.find(b"\n", pos)
        size_field = body[pos:line_end].split(b";", 1)[0].strip() if line_end >= 0 else b""
        if not _CHUNK_SIZE.fullmatch(size_field):
            return b"".join(parts) if parts else body
        size = int(size_field, 16)
        if size == 0:
            return b"".join(parts)
        start = line_end + 1
        parts.append(body[start : start + size])
        pos = start + size
        pos += 2 if body.startswith(b"\r\n", pos) else 1 if body.startswith(b"\n", pos) else 0


def _is_zlib_stream(body: bytes) -> bool:
    """A zlib header: deflate method, and the two bytes a multiple of 31 (RFC 1950)."""
    return len(body) > 1 and body[0] & 0x0F == 8 and int.from_bytes(body[:2], "big") % 31 == 0


def _inflate(body: bytes, wbits: int, limit: int) -> bytes:
    return zlib.decompressobj(wbits).decompress(body, limit)


def _decode_one(body: bytes, coding: str, limit: int) -> bytes:
    """One content coding undone, output bounded by ``limit`` bytes; the body unchanged when
    it is not encoded as declared. A truncated stream keeps what decodes."""
    try:
        if coding in ("gzip", "x-gzip"):
            return _inflate(body, 31, limit) if body.startswith(b"\x1f\x8b") else body
        if coding == "deflate":
            # the standard wants a zlib stream; many servers send raw deflate
            return _inflate(body, 15 if _is_zlib_stream(body) else -15, limit)
        if coding == "br":
            return _unbrotli(body, limit)
    except (zlib.error, brotli.error):
        return body
    return body


def _unbrotli(body: bytes, limit: int) -> bytes:
    return brotli.Decompressor().process(body, output_buffer_limit=limit)


def decode_body(body: bytes, headers: dict[str, str], limit: int) -> bytes:
    """The payload as the server meant it: de-chunked, content codings undone (last first)."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = dechunk(body)
    codings = [c.strip().lower() for c in headers.get("content-encoding", "").split(",")]
    for coding in reversed([c for c in codings if c and c != "identity"]):
        body = _decode_one(body, coding, limit)
    return body


def codec_for(label: str | None) -> str | None:
    """The Python codec for a charset label, or None when it names no usable encoding."""
    if label is None:
        return None
    name = label.strip().strip("\"'").strip().lower()
    if name in CHARSET_ALIASES:
        return CHARSET_ALIASES[name]
    try:
        info = codecs.lookup(name)
    except LookupError:
        return None
    if info.name in NOT_PAGE_CODECS or not info._is_text_encoding:
        return None
    return CHARSET_ALIASES.get(info.name, info.name)


def header_charset(content_type: str | None) -> str | None:
    match = _HEADER_CHARSET.search(content_type or "")
    return match.group(1) if match else None


def meta_charset(body: bytes) -> str | None:
    """The charset a ``<meta>`` tag near the top of the page declares."""
    match = _META_CHARSET.search(body, 0, META_SCAN_BYTES)
    return match.group(1).decode("ascii") if match else None


def _letters(high_bytes: bytes, encoding: str) -> int:
    return sum(map(str.isalpha, high_bytes.decode(encoding, errors="replace")))


def _detected(body: bytes) -> str:
    """Undeclared: UTF-8 when it decodes as such (the detector's guesses on short UTF-8 pages
    include cp1250), else the detector's guess."""
    from resiliparse.parse.encoding import detect_encoding

    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    encoding = codec_for(detect_encoding(body)) or "cp1252"
    sibling = SIBLING_ENCODINGS.get(encoding)
    if sibling is not None:
        # The detector confuses these two Central European code pages, and the wrong one turns
        # letters (ś, ź, š) into symbols. They differ only in non-ASCII bytes: compare those.
        high = body.translate(None, ASCII_BYTES)
        if _letters(high, sibling) > _letters(high, encoding):
            encoding = sibling
    return encoding


def _declared(body: bytes, content_type: str | None) -> str | None:
    encoding = codec_for(header_charset(content_type)) or codec_for(meta_charset(body))
    if encoding is None:
        return None
    if encoding.startswith(WIDE_CODECS) and b"\x00" not in body[:512]:
        return None  # a page in UTF-16 has NULs in its markup; this one is mislabelled
    if encoding != "utf-8" and not body.isascii():
        try:  # a legacy label on a page that is valid UTF-8: the label is stale
            body.decode("utf-8")
            return "utf-8"
        except UnicodeDecodeError:
            pass
    return encoding


def page_encoding(body: bytes, content_type: str | None) -> str:
    """The encoding to read a page in: its BOM, its declared charset, else a detected one."""
    for bom, encoding in BOMS:
        if body.startswith(bom):
            return encoding
    return _declared(body, content_type) or _detected(body)


def decode_page(body: bytes, content_type: str | None) -> str:
    """The page as text; undecodable bytes become U+FFFD one by one. NULs are removed: lxml
    refuses them and they carry nothing in HTML."""
    encoding = page_encoding(body, content_type)
    if encoding == "utf-8" and body.startswith(UTF8_BOM):
        body = body[len(UTF8_BOM) :]
    text = body.decode(encoding, errors="replace")
    # a NUL byte is searched in the bytes (memchr), the text is only searched when one is there
    return text.replace("\x00", "") if b"\x00" in body else text
