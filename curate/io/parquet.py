"""Parquet reader: streams row groups; the text column is configurable.

A value Arrow cannot turn into Python (a string column holding invalid UTF-8: Parquet writers
do not all check) drops its row as ``invalid_utf8``; a row group that cannot be decoded drops
its rows (counted from the footer) as ``unreadable_row_group`` and reading goes on at the next.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from curate.io.config import ReadConfig
from curate.io.fields import document_row
from curate.io.position import set_position
from curate.stats import RunStats

log = logging.getLogger(__name__)
READ_BATCH_ROWS = 1024


def _records(batch: pa.RecordBatch) -> list[dict[str, Any] | None]:
    """The rows of ``batch`` as dicts; ``None`` for a row holding a value that is not valid."""
    try:
        batch.validate(full=True)  # checks UTF-8 in C++; only a failing batch goes row by row
    except pa.ArrowInvalid:
        return [_valid_record(batch.slice(row, 1)) for row in range(batch.num_rows)]
    return batch.to_pylist()


def _valid_record(row: pa.RecordBatch) -> dict[str, Any] | None:
    try:
        row.validate(full=True)
    except pa.ArrowInvalid:
        return None
    return row.to_pylist()[0]


def _dropped(source: str, row_number: int, reason: str) -> dict[str, Any]:
    return {"id": f"{source}/{row_number}", "source": source, "drop_reason": reason}


def _row_group_rows(
    parquet: pq.ParquetFile, group: int, source: str, first_row: int, config: ReadConfig
) -> Iterator[dict[str, Any]]:
    row_number = first_row
    for batch in parquet.iter_batches(batch_size=READ_BATCH_ROWS, row_groups=[group]):
        for record in _records(batch):
            row_number += 1
            if record is None:
                log.warning("read %s: row %d dropped: invalid_utf8", source, row_number)
                yield _dropped(source, row_number, "invalid_utf8")
            else:
                yield document_row(record, f"{source}/{row_number}", source, config)


def read_parquet(
    path: Path, config: ReadConfig, stats: RunStats, source: str | None = None
) -> Iterator[dict[str, Any]]:
    source = source or path.name
    try:
        parquet = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as error:
        stats.record_input_error("corrupt_input")
        log.warning("read %s: not a readable Parquet file: %s", path, error)
        return
    if config.text_column not in parquet.schema_arrow.names:
        stats.record_input_error("missing_text_column")
        log.warning("read %s: no column %r (read.text_column)", path, config.text_column)
        return
    first_row = 0
    size, rows = path.stat().st_size, max(parquet.metadata.num_rows, 1)
    for group in range(parquet.num_row_groups):
        group_rows = parquet.metadata.row_group(group).num_rows
        done = 0
        try:
            for row in _row_group_rows(parquet, group, source, first_row, config):
                done += 1
                set_position(path, size * (first_row + done) // rows)  # by rows: for progress
                yield row
        except (OSError, pa.ArrowException) as error:
            stats.record_input_error("corrupt_row_group")
            log.warning("read %s: row group %d unreadable: %s", path, group, error)
            for row_number in range(first_row + done + 1, first_row + group_rows + 1):
                yield _dropped(source, row_number, "unreadable_row_group")
        first_row += group_rows
