"""WARC / WARC.gz reader: HTTP response records with HTML, decoded to text."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from curate.io.position import track
from curate.recipe import ReadConfig
from curate.schema import metadata_json
from curate.stats import RunStats

log = logging.getLogger(__name__)
# HTTP response headers kept in ``metadata.http_headers``: the opt-out filter reads them.
HTTP_HEADERS_KEY = "http_headers"
KEPT_HTTP_HEADERS = ("tdm-reservation", "x-robots-tag")
BINARY_CONTROL_SHARE = 0.1
CONTROL_BYTES = bytes([*range(9), *range(14, 32)])
ASCII_BYTES = bytes(range(128))
SIBLING_ENCODINGS = {"cp1250": "iso-8859-2", "iso-8859-2": "cp1250", "iso8859-2": "cp1250"}
DAMAGE_REASONS = frozenset({"truncated_record"})
BINARY_SIGNATURES = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"\x1f\x8b")


def _strip_brackets(record_id: str) -> str:
    return record_id.strip().removeprefix("<").removesuffix(">")


def _is_binary(body: bytes) -> bool:
    """Known binary signatures, or a head dense in control bytes (a stray NUL is not enough)."""
    head = body[:1024]
    if head.startswith(BINARY_SIGNATURES):
        return True
    controls = len(head) - len(head.translate(None, CONTROL_BYTES))
    return controls > len(head) * BINARY_CONTROL_SHARE


def _letters(high_bytes: bytes, encoding: str) -> int:
    return sum(map(str.isalpha, high_bytes.decode(encoding, errors="replace")))


def _decode(body: bytes, charset: str | None) -> str:
    from resiliparse.parse.encoding import bytes_to_str, detect_encoding

    encoding = charset or detect_encoding(body)
    sibling = SIBLING_ENCODINGS.get(encoding.lower().replace("_", "-"))
    if charset is None and sibling is not None:
        # Undeclared Central European pages: the detector confuses these two code pages, and the
        # wrong one turns letters (ś, ź, š) into symbols or control characters. They differ only
        # in non-ASCII bytes, so only those are compared.
        high = body.translate(None, ASCII_BYTES)
        if _letters(high, sibling) > _letters(high, encoding):
            encoding = sibling
    # lxml refuses strings with NUL characters, and they carry nothing in HTML
    return bytes_to_str(body, encoding, errors="replace").replace("\x00", "")


def _rejection(record: Any, body: bytes, config: ReadConfig) -> str | None:
    """Why a response record cannot become a document, or None if it can."""
    status = record.http_headers.status_code if record.http_headers else None
    if status is not None and status != 200:
        return "http_status_not_ok"
    if len(body) > config.max_document_bytes:
        return "too_large"
    if len(body) < record.content_length:
        return "truncated_record"
    if not body.strip():
        return "empty_body"
    content_type = (record.http_content_type or "").split(";")[0].strip().lower()
    if content_type and content_type not in config.html_content_types:
        return "non_html_content"
    if _is_binary(body):
        return "binary_body"
    return None


def _http_header(record: Any, name: str) -> str | None:
    return record.http_headers.get(name) if record.http_headers else None


def _record_row(record: Any, path: Path, number: int, config: ReadConfig) -> dict[str, Any]:
    body = record.reader.read(config.max_document_bytes + 1)
    row: dict[str, Any] = {
        "id": _strip_brackets(record.record_id or f"{path.name}/{number}"),
        "url": record.headers.get("WARC-Target-URI"),
        "date": record.headers.get("WARC-Date"),
        "source": path.name,
    }
    headers = {h: v for h in KEPT_HTTP_HEADERS if (v := _http_header(record, h))}
    if headers:
        row["metadata"] = metadata_json({HTTP_HEADERS_KEY: headers})
    reason = _rejection(record, body, config)
    if reason is not None:
        row["drop_reason"] = reason
        level = logging.WARNING if reason in DAMAGE_REASONS else logging.DEBUG
        log.log(level, "read %s: record %s (%s) dropped: %s", path, row["id"], row["url"], reason)
        return row
    row["html"] = _decode(body, record.http_charset)
    return row


def read_warc(path: Path, config: ReadConfig, stats: RunStats) -> Iterator[dict[str, Any]]:
    """Yield one row per HTTP response record; unusable records carry a ``drop_reason``."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    records = 0
    with open(path, "rb") as stream:
        track(path, stream)
        iterator = ArchiveIterator(stream, record_types=WarcRecordType.response, parse_http=True)
        try:
            for record in iterator:
                records += 1
                try:
                    yield _record_row(record, path, records, config)
                except (OSError, ValueError) as error:
                    stats.record_input_error("broken_record")
                    log.warning("read %s: record %d unreadable (%s)", path, records, error)
                    yield {
                        "id": f"{path.name}/{records}",
                        "source": path.name,
                        "drop_reason": "broken_record",
                    }
        except OSError as error:
            stats.record_input_error("corrupt_warc")
            log.warning("read %s: stopped after record %d: %s", path, records, error)
