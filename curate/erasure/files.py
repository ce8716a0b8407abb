"""Rewriting one file without some of its rows, atomically and so that a repeat is harmless.

Every function here takes the row numbers *as planned* (in the file before the erasure) and
first checks which version of the file it finds: the old one is rewritten (to a temporary
file, then renamed), the new one is left alone. A rewrite always removes at least one row,
so the row count tells the two versions apart; a token file's size does the same for the
``.bin`` of a Megatron pair whose ``.idx`` has not been replaced yet.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate.io.atomic import commit, temp_path, write_bytes
from curate.io.indexed import bin_path, encode_index, idx_path, read_index
from curate.io.writer import ParquetSink
from curate.recipe import OutputConfig

COPY_TOKENS = 1 << 24


class ChangedSincePlanError(RuntimeError):
    """A file that is neither the version planned from nor the rewritten one."""


def kept_mask(rows_before: int, drop: list[int]) -> np.ndarray:
    keep = np.ones(rows_before, dtype=bool)
    keep[np.asarray(drop, dtype=np.int64)] = False
    return keep


def rewrite_parquet(
    path: Path,
    rows_before: int,
    drop: list[int],
    output: OutputConfig,
    null_column: str | None = None,
    null_rows: list[int] | None = None,
) -> bool:
    """Drop rows ``drop`` and null ``null_column`` at ``null_rows``; False if done already."""
    parquet = pq.ParquetFile(path)
    rows = parquet.metadata.num_rows
    if drop and rows == rows_before - len(drop):
        return False
    if rows != rows_before:
        raise ChangedSincePlanError(f"{path}: {rows} rows, planned from {rows_before}")
    keep = kept_mask(rows, drop)
    nulls = np.zeros(rows, dtype=bool)
    nulls[np.asarray(null_rows or [], dtype=np.int64)] = True
    schema = parquet.schema_arrow
    sink = ParquetSink(path, schema, output)
    start = 0
    for group in range(parquet.num_row_groups):
        table = parquet.read_row_group(group)
        end = start + table.num_rows
        if null_column is not None and nulls[start:end].any():
            table = _null_values(table, null_column, nulls[start:end])
        table = table.filter(pa.array(keep[start:end]))
        start = end
        if table.num_rows:
            sink.write(table)
    if not keep.any():
        sink.write(schema.empty_table())
    sink.close()
    return True


def _null_values(table: pa.Table, column: str, mask: np.ndarray) -> pa.Table:
    index = table.schema.get_field_index(column)
    values = table.column(column)
    nulled = pc.if_else(pa.array(mask), pa.nulls(len(mask), values.type), values)
    return table.set_column(index, table.schema.field(index), nulled)


def rewrite_token_data(prefix: Path, rows_before: int, drop: list[int]) -> bool:
    """``PREFIX.bin`` without the tokens of documents ``drop``; False if done already.

    Reads the old ``.idx`` (replaced only after this), so it must run before
    :func:`rewrite_token_index`.
    """
    dtype, lengths, _ = read_index(prefix)
    if len(lengths) == rows_before - len(drop):
        return False  # the index is new: so is the data
    if len(lengths) != rows_before:
        raise ChangedSincePlanError(
            f"{idx_path(prefix)}: {len(lengths)} documents, planned from {rows_before}"
        )
    keep = kept_mask(rows_before, drop)
    kept_bytes = int(lengths[keep].sum(dtype=np.int64)) * dtype.itemsize
    old_bytes = int(lengths.sum(dtype=np.int64)) * dtype.itemsize
    data = bin_path(prefix)
    if data.stat().st_size == kept_bytes != old_bytes:
        return False
    temp = temp_path(data)
    with open(temp, "wb") as stream:
        if old_bytes:
            tokens = np.memmap(data, dtype=dtype, mode="r")
            for start, end in _kept_runs(lengths, keep):
                for first in range(start, end, COPY_TOKENS):
                    stream.write(tokens[first : min(end, first + COPY_TOKENS)].tobytes())
            del tokens
    commit(temp, data)
    return True


def _kept_runs(lengths: np.ndarray, keep: np.ndarray) -> list[tuple[int, int]]:
    """Token ranges [start, end) of consecutive kept documents."""
    ends = np.cumsum(lengths, dtype=np.int64)
    starts = ends - lengths
    edges = np.flatnonzero(np.diff(np.concatenate([[0], keep.astype(np.int8), [0]])))
    return [
        (int(starts[a]), int(ends[b - 1]))
        for a, b in zip(edges[::2], edges[1::2], strict=True)
        if ends[b - 1] > starts[a]
    ]


def rewrite_token_index(prefix: Path, rows_before: int, drop: list[int]) -> bool:
    """``PREFIX.idx`` without documents ``drop``; False if done already."""
    dtype, lengths, _ = read_index(prefix)
    if len(lengths) == rows_before - len(drop):
        return False
    keep = kept_mask(rows_before, drop)
    write_bytes(idx_path(prefix), encode_index(lengths[keep], dtype.newbyteorder("=")))
    return True
