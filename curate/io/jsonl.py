"""JSONL reader (plain, .gz, .zst): one JSON object per line, its own id and fields kept.

A line that cannot become a document (not UTF-8, not a JSON object, a number beyond Python's
digit limit, nesting deeper than the parser's stack, a lone UTF-16 surrogate that Arrow cannot
store) is dropped with a reason and reading goes on at the next line; only a damaged stream
(truncated or corrupt compression) ends the file, as an input error.
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

from curate.io.fields import document_row
from curate.io.zstd import ZstdReader
from curate.recipe import ReadConfig
from curate.stats import RunStats

log = logging.getLogger(__name__)
UTF8_BOM = b"\xef\xbb\xbf"
# A JSON escape of a UTF-16 surrogate: the only way a lone surrogate gets into a decoded line.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _open_binary(path: Path) -> IO[bytes]:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")
    if path.name.endswith(".zst"):
        return ZstdReader(path)
    return open(path, "rb")


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


def read_jsonl(path: Path, config: ReadConfig, stats: RunStats) -> Iterator[dict[str, Any]]:
    line_number = 0
    try:
        with _open_binary(path) as raw_stream:
            for line_number, raw in enumerate(io.BufferedReader(raw_stream), start=1):  # noqa: B007
                if line_number == 1:
                    raw = raw.removeprefix(UTF8_BOM)
                if not raw.strip():
                    continue
                yield _line_row(raw, f"{path.name}/{line_number}", path.name, config)
    except (OSError, EOFError, ValueError, zlib.error) as error:
        stats.record_input_error("corrupt_input")
        log.warning("read %s: stopped after line %d: %s", path, line_number, error)
