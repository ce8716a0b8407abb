"""WARC, ARC and WET reader: one row per document record, damaged records counted, not fatal.

Documents are HTTP ``response`` records (WARC, and every HTTP record of an ARC file), whose
HTML is decoded to text in ``html`` for the extract stage, and ``conversion`` records (WET
files, whatever their name), whose text is already extracted: it goes to ``text`` and the row
has no ``html``, which tells the extract stage to keep it. Framing is
:mod:`curate.io.archive_records`; the HTTP side is :mod:`curate.io.http_body`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from curate.io.archive_records import ArchiveRecord, Framer, UnreadableArchive
from curate.io.archive_stream import ArchiveStream
from curate.io.config import ReadConfig
from curate.io.http_body import BadHttp, decode_body, decode_page, parse_response
from curate.io.position import track
from curate.schema import metadata_json
from curate.stats import RunStats

log = logging.getLogger(__name__)
# HTTP response headers kept in ``metadata.http_headers``: the opt-out filter reads them.
HTTP_HEADERS_KEY = "http_headers"
KEPT_HTTP_HEADERS = ("tdm-reservation", "x-robots-tag")
BINARY_CONTROL_SHARE = 0.1
CONTROL_BYTES = bytes([*range(9), *range(14, 32)])
BINARY_SIGNATURES = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"\x1f\x8b")
DOCUMENT_TYPES = frozenset({"response", "conversion"})
OTHER_TYPES = frozenset({"warcinfo", "request", "metadata", "revisit", "resource", "continuation"})
# Room for the HTTP head on top of a document of ``read.max_document_bytes``.
HTTP_HEAD_BYTES = 1 << 20


def _strip_brackets(record_id: str) -> str:
    return record_id.strip().removeprefix("<").removesuffix(">")


def _is_binary(body: bytes) -> bool:
    """Known binary signatures, or a head dense in control bytes (a stray NUL is not enough)."""
    head = body[:1024]
    if head.startswith(BINARY_SIGNATURES):
        return True
    controls = len(head) - len(head.translate(None, CONTROL_BYTES))
    return controls > len(head) * BINARY_CONTROL_SHARE


def _page_rejection(
    status: int | None, body: bytes, content_type: str, config: ReadConfig
) -> str | None:
    """Why an HTTP response cannot become a document, or None if it can."""
    if status is not None and status != 200:
        return "http_status_not_ok"
    if len(body) > config.max_document_bytes:
        return "too_large"
    if not body.strip():
        return "empty_body"
    if content_type and content_type not in config.html_content_types:
        return "non_html_content"
    if _is_binary(body):
        return "binary_body"
    return None


def _response_fields(record: ArchiveRecord, config: ReadConfig) -> dict[str, Any]:
    """``html`` (and kept HTTP headers) of a response record, or its ``drop_reason``."""
    try:
        http = parse_response(record.block)
    except BadHttp:
        # a response of another protocol (Heritrix writes dns: lookups as responses) or a
        # damaged HTTP head
        is_http = "application/http" in record.headers.get("content-type", "").lower()
        return {"drop_reason": "bad_http_headers" if is_http else "non_http_record"}
    fields: dict[str, Any] = {}
    headers = {h: v for h in KEPT_HTTP_HEADERS if (v := http.headers.get(h))}
    if headers:
        fields["metadata"] = metadata_json({HTTP_HEADERS_KEY: headers})
    if record.length - (len(record.block) - len(http.body)) > config.max_document_bytes:
        return {**fields, "drop_reason": "too_large"}
    body = decode_body(http.body, http.headers, config.max_document_bytes + 1)
    content_type = http.headers.get("content-type", "")
    mime = content_type.split(";")[0].strip().lower()
    reason = _page_rejection(http.status, body, mime, config)
    if reason is not None:
        return {**fields, "drop_reason": reason}
    return {**fields, "html": decode_page(body, content_type)}


def _conversion_fields(record: ArchiveRecord, config: ReadConfig) -> dict[str, Any]:
    """A WET record: the text is the block."""
    if record.length > config.max_document_bytes:
        return {"drop_reason": "too_large"}
    text = record.block.decode("utf-8", errors="replace").replace("\x00", "")
    return {"text": text} if text.strip() else {"drop_reason": "empty_body"}


def _record_row(record: ArchiveRecord, source: str, config: ReadConfig) -> dict[str, Any]:
    headers = record.headers
    url = headers.get("warc-target-uri")
    row: dict[str, Any] = {
        "id": _strip_brackets(headers.get("warc-record-id") or f"{source}/{record.offset}"),
        "url": _strip_brackets(url) if url else None,
        "date": headers.get("warc-date"),
        "source": source,
    }
    if record.damage is not None or record.type not in DOCUMENT_TYPES:
        reason = record.damage or "unknown_record_type"
        detail = record.detail or f"WARC-Type {record.type!r}"
        log.warning(
            "read %s: record at byte %d (%s) dropped: %s, %s",
            source, record.offset, row["url"], reason, detail,
        )  # fmt: skip
        return {**row, "drop_reason": reason}
    fields = (
        _conversion_fields(record, config)
        if record.type == "conversion"
        else _response_fields(record, config)
    )
    if "drop_reason" in fields:
        reason = fields["drop_reason"]
        log.debug("read %s: record %s (%s) dropped: %s", source, row["id"], row["url"], reason)
    return {**row, **fields}


def _is_document(record: ArchiveRecord) -> bool:
    """Response and conversion records are documents; so is a record of another type than
    the standard's (a damaged ``WARC-Type``, or none) or of none (garbage, an unreadable
    header): it may have been one."""
    return record.type not in OTHER_TYPES


def read_warc(
    path: Path, config: ReadConfig, stats: RunStats, source: str | None = None
) -> Iterator[dict[str, Any]]:
    """Yield one row per document record; unusable records carry a ``drop_reason``."""
    source = source or path.name
    keep = config.max_document_bytes + HTTP_HEAD_BYTES
    with open(path, "rb") as raw:
        track(path, raw)
        stream = ArchiveStream(raw)
        try:
            for record in Framer(stream, keep).records():
                if _is_document(record):
                    yield _record_row(record, source, config)
                elif record.damage is not None:
                    log.warning(
                        "read %s: %s record at byte %d skipped: %s, %s",
                        path, record.type, record.offset, record.damage, record.detail,
                    )  # fmt: skip
        except (UnreadableArchive, OSError) as error:
            stats.record_input_error("corrupt_warc")
            log.warning("read %s: unreadable: %s", path, error)
    if stream.damaged_members:
        log.warning("read %s: %d damaged gzip members skipped", path, stream.damaged_members)
