"""Choosing a reader by file name, and streaming any input as bounded batches."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from curate.io.batching import batched_rows
from curate.io.config import ReadConfig
from curate.io.jsonl import read_jsonl
from curate.io.parquet import read_parquet
from curate.io.warc import read_warc
from curate.stats import RunStats

RowReader = Callable[[Path, ReadConfig, RunStats, str | None], Iterator[dict[str, Any]]]
FORMATS: dict[str, tuple[tuple[str, ...], RowReader]] = {
    # WARC, ARC and WET (Common Crawl names these .warc.wet.gz); compressed or not, by content
    "warc": ((".warc", ".warc.gz", ".arc", ".arc.gz", ".wet", ".wet.gz"), read_warc),
    "jsonl": (
        (".jsonl", ".jsonl.gz", ".jsonl.zst", ".ndjson", ".ndjson.gz", ".ndjson.zst", ".json.gz"),
        read_jsonl,
    ),
    "parquet": ((".parquet",), read_parquet),
}


class UnsupportedInput(ValueError):
    pass


def input_format(path: Path) -> str:
    name = path.name.lower()
    for fmt, (suffixes, _) in FORMATS.items():
        if name.endswith(suffixes):
            return fmt
    known = ", ".join(s for suffixes, _ in FORMATS.values() for s in suffixes)
    raise UnsupportedInput(f"{path}: unknown input format (expected one of {known})")


def read_batches(
    path: Path, config: ReadConfig, batch_size: int, stats: RunStats, source: str | None = None
) -> Iterator[pa.Table]:
    """Batches of ``path``'s documents; ``source`` names the input in ids and ``source``
    (default: the file name; a run passes the path relative to its inputs' common folder)."""
    fmt = input_format(path)
    reader = FORMATS[fmt][1]
    rows = reader(path, config, stats, source)
    return batched_rows(rows, batch_size, with_html=fmt == "warc")
