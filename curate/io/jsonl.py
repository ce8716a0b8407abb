"""JSONL reader (plain, .gz, .zst): one JSON object per line, its own id and fields kept."""

from __future__ import annotations

import gzip
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from curate.io.fields import document_row
from curate.recipe import ReadConfig
from curate.stats import RunStats

log = logging.getLogger(__name__)


def _open_binary(path: Path) -> IO[bytes]:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")
    if path.name.endswith(".zst"):
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True)
    return open(path, "rb")


def _parse_line(raw: bytes) -> tuple[dict[str, Any] | None, str | None]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, "invalid_utf8"
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None, "invalid_json"
    if not isinstance(value, dict):
        return None, "invalid_json"
    return value, None


def read_jsonl(path: Path, config: ReadConfig, stats: RunStats) -> Iterator[dict[str, Any]]:
    line_number = 0
    try:
        with _open_binary(path) as raw_stream:
            for line_number, raw in enumerate(io.BufferedReader(raw_stream), start=1):  # noqa: B007
                if not raw.strip():
                    continue
                fallback_id = f"{path.name}/{line_number}"
                value, error = _parse_line(raw)
                if error is not None:
                    log.warning("read %s: line %d dropped: %s", path, line_number, error)
                    yield {"id": fallback_id, "source": path.name, "drop_reason": error}
                    continue
                yield document_row(value, fallback_id, path.name, config)
    except (OSError, EOFError, ValueError) as error:
        stats.record_input_error("corrupt_input")
        log.warning("read %s: stopped after line %d: %s", path, line_number, error)
