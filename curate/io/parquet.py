"""Parquet reader: streams row groups; the text column is configurable."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from curate.io.fields import document_row
from curate.recipe import ReadConfig
from curate.stats import RunStats

log = logging.getLogger(__name__)
READ_BATCH_ROWS = 1024


def read_parquet(path: Path, config: ReadConfig, stats: RunStats) -> Iterator[dict[str, Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

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
    row_number = 0
    try:
        for batch in parquet.iter_batches(batch_size=READ_BATCH_ROWS):
            for record in batch.to_pylist():
                row_number += 1
                yield document_row(record, f"{path.name}/{row_number}", path.name, config)
    except (OSError, pa.ArrowException) as error:
        stats.record_input_error("corrupt_input")
        log.warning("read %s: stopped after row %d: %s", path, row_number, error)
