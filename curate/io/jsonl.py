"""JSONL reader (plain, .gz, .zst): one JSON object per line, its own id and fields kept.

A line that cannot become a document (not UTF-8, not a JSON object, a number beyond Python's
digit limit, nesting deeper than the parser's stack, a lone UTF-16 surrogate that Arrow cannot
store, or too long to hold a document of ``read.max_document_bytes``: skipped unread, so
memory stays bounded) is dropped with a reason and reading goes on at the next line; only a
damaged stream (truncated or corrupt compression) ends the file, as an input error.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from curate.io.config import ReadConfig
from curate.io.fields import document_row
from curate.io.position import track
from curate.io.zstd import ZstdReader
from curate.stats import RunStats

log = logging.getLogger(__name__)
UTF8_BOM = b"\xef\xbb\xbf"
JSON_ESCAPE_FACTOR = 8
OTHER_FIELDS_BYTES = 64 * 1024
SKIP_CHUNK_BYTES = 1 << 20
# A JSON escape of a UTF-16 surrogate: the only way a lone surrogate gets into a decoded line.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _open_binary(path: Path) -> IO[bytes]:
    """The input's bytes, decompressed; its position (for progress) is the file's own."""
    if path.name.endswith(".gz"):
        compressed = gzip.open(path, "rb")  # noqa: SIM115 (the caller closes it)
        track(path, compressed.fileobj)  # type: ignore[arg-type]
        return compressed
    if path.name.endswith(".zst"):
        reader = ZstdReader(path)
        track(path, reader.compressed_file)
        return reader  # type: ignore[return-value]
    stream = open(path, "rb")  # noqa: SIM115 (the caller closes it)
    track(path, stream)
    return stream


def _has_lone_surrogate(value: Any) -> bool:
    """Whether any string (key or value) in ``value`` holds an unpaired surrogate."""
    pending = [value]
    while pending:  # a loop, not recursion: the value may be nested as deep as the parser went
        item = pending.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def _parse_line(raw: bytes) -> tuple[dict[str, Any] | None, str | None]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, "invalid_utf8"
    try:
        value = json.loads(text)
    except RecursionError:
        return None, "too_deeply_nested"
    except ValueError:  # JSONDecodeError, and integers over sys.get_int_max_str_digits()
        return None, "invalid_json"
    if not isinstance(value, dict):
        return None, "invalid_json"
    if _SURROGATE_ESCAPE.search(raw) and _has_lone_surrogate(value):
        return None, "invalid_unicode"
    return value, None


def _line_row(raw: bytes, fallback_id: str, source: str, config: ReadConfig) -> dict[str, Any]:
    value, error = _parse_line(raw)
    if error is None:
        try:
            return document_row(value, fallback_id, source, config)
        except RecursionError:  # metadata serialised from a stack deeper than the parse's
            error = "too_deeply_nested"
    log.warning("read %s: line dropped: %s", fallback_id, error)
    return {"id": fallback_id, "source": source, "drop_reason": error}


def line_limit(config: ReadConfig) -> int:
    """Bytes a line may have: a kept text escaped at worst (``\\u0001`` is 6 bytes for 1) plus
    room for other fields. A longer line is dropped unread, so memory stays bounded."""
    return JSON_ESCAPE_FACTOR * config.max_document_bytes + OTHER_FIELDS_BYTES


def _skip_line(stream: IO[bytes]) -> None:
    while chunk := stream.readline(SKIP_CHUNK_BYTES):
        if chunk.endswith(b"\n"):
            return


def read_jsonl(
    path: Path, config: ReadConfig, stats: RunStats, source: str | None = None
) -> Iterator[dict[str, Any]]:
    source = source or path.name
    line_number = 0
    limit = line_limit(config)
    try:
        with _open_binary(path) as raw_stream:
            lines = io.BufferedReader(raw_stream)
            while raw := lines.readline(limit + 1):
                line_number += 1
                fallback_id = f"{source}/{line_number}"
                if len(raw) > limit and not raw.endswith(b"\n"):
                    _skip_line(lines)
                    log.warning(
                        "read %s: line over %d bytes dropped: too_large", fallback_id, limit
                    )
                    yield {"id": fallback_id, "source": source, "drop_reason": "too_large"}
                    continue
                if line_number == 1:
                    raw = raw.removeprefix(UTF8_BOM)
                if raw.strip():
                    yield _line_row(raw, fallback_id, source, config)
    except (OSError, EOFError, ValueError, zlib.error) as error:
        stats.record_input_error("corrupt_input")
        log.warning("read %s: stopped after line %d: %s", path, line_number, error)
