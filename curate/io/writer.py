"""Per-language Parquet shards, written atomically, rolled over at a size cap.

Layout: ``OUT/data/<language>/<unit>-<NNNNN>.parquet``; dropped documents go to the audit
ledger ``OUT/dropped/<unit>.parquet`` (id, url, source, language, stage, reason, detail: the
measured value and the threshold a filter drop failed, e.g. ``alpha_words_ratio=0.770 < 0.774``,
or the id of the document a duplicate was dropped in favour of).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate.io.atomic import commit, temp_path
from curate.io.config import OutputConfig
from curate.schema import DROP_DETAIL, DROP_REASON

LEDGER_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("url", pa.string()),
        ("source", pa.string()),
        ("language", pa.string()),
        ("stage", pa.string()),
        ("reason", pa.string()),
        ("detail", pa.string()),
    ]
)


def shard_path(out: Path, language: str, unit: str, index: int) -> Path:
    return out / "data" / language / f"{unit}-{index:05d}.parquet"


@dataclass
class _OpenShard:
    temp: Path
    writer: pq.ParquetWriter
    pending: list[pa.Table] = field(default_factory=list)
    pending_rows: int = 0
    pending_bytes: int = 0
    bytes_written: int = 0


ROW_GROUP_MAX_BYTES = 128 * 1024 * 1024
# Buffered rows across all languages of one unit; past it the largest buffer is flushed, so
# memory does not grow with the number of languages.
UNIT_BUFFER_MAX_BYTES = 64 * 1024 * 1024


@dataclass
class ParquetSink:
    """One Parquet file written atomically; ``close`` renames it into place.

    Rows are buffered into row groups of ``row_group_rows`` (or about 128 MB, whichever comes
    first), so memory stays bounded and readers get row groups of a useful size.
    """

    path: Path
    schema: pa.Schema
    config: OutputConfig
    _shard: _OpenShard | None = None

    def _open(self) -> _OpenShard:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = temp_path(self.path)
        compression = None if self.config.compression == "none" else self.config.compression
        level = self.config.compression_level if compression in ("zstd", "gzip") else None
        writer = pq.ParquetWriter(
            temp, self.schema, compression=compression, compression_level=level
        )
        return _OpenShard(temp, writer)

    def write(self, table: pa.Table) -> int:
        """Buffer ``table``; returns the bytes taken so far (for size caps)."""
        if self._shard is None:
            self._shard = self._open()
        shard = self._shard
        shard.pending.append(table.select(self.schema.names).cast(self.schema))
        shard.pending_rows += table.num_rows
        shard.pending_bytes += table.nbytes
        shard.bytes_written += table.nbytes
        full = shard.pending_bytes >= ROW_GROUP_MAX_BYTES
        if shard.pending_rows >= self.config.row_group_rows or full:
            self._flush(shard)
        return shard.bytes_written

    @property
    def buffered_bytes(self) -> int:
        return self._shard.pending_bytes if self._shard else 0

    def flush(self) -> None:
        if self._shard is not None:
            self._flush(self._shard)

    def _flush(self, shard: _OpenShard) -> None:
        if shard.pending:
            shard.writer.write_table(
                pa.concat_tables(shard.pending), row_group_size=self.config.row_group_rows
            )
            shard.pending, shard.pending_rows, shard.pending_bytes = [], 0, 0

    def close(self) -> None:
        if self._shard is not None:
            self._flush(self._shard)
            self._shard.writer.close()
            commit(self._shard.temp, self.path)
            self._shard = None


@dataclass
class ShardWriter:
    """Routes kept documents to per-language shards of one work unit."""

    out: Path
    unit: str
    schema: pa.Schema
    config: OutputConfig
    _sinks: dict[str, ParquetSink] = field(default_factory=dict)
    _next_index: dict[str, int] = field(default_factory=dict)
    written: list[Path] = field(default_factory=list)

    def _sink(self, language: str) -> ParquetSink:
        if language not in self._sinks:
            index = self._next_index.get(language, 0)
            self._next_index[language] = index + 1
            path = shard_path(self.out, language, self.unit, index)
            self._sinks[language] = ParquetSink(path, self.schema, self.config)
        return self._sinks[language]

    def write(self, batch: pa.Table) -> None:
        for language in sorted(set(batch.column("language").to_pylist())):
            rows = batch.filter(pc.equal(batch.column("language"), language))
            sink = self._sink(language)
            if sink.write(rows) >= self.config.shard_max_bytes:
                self._close(language)
        self._bound_buffers()

    def _bound_buffers(self) -> None:
        buffered = {language: sink.buffered_bytes for language, sink in self._sinks.items()}
        total = sum(buffered.values())
        for language in sorted(buffered, key=lambda k: (-buffered[k], k)):
            if total <= UNIT_BUFFER_MAX_BYTES:
                return
            self._sinks[language].flush()
            total -= buffered[language]

    def _close(self, language: str) -> None:
        sink = self._sinks.pop(language)
        sink.close()
        self.written.append(sink.path)

    def close(self) -> None:
        for language in sorted(self._sinks):
            self._close(language)


def ledger_rows(dropped: pa.Table, stage: str) -> pa.Table:
    """The audit-ledger view of documents one stage dropped."""
    n = dropped.num_rows
    return pa.table(
        {
            "id": dropped.column("id"),
            "url": dropped.column("url"),
            "source": dropped.column("source"),
            "language": dropped.column("language"),
            "stage": pa.array([stage] * n, pa.string()),
            "reason": dropped.column(DROP_REASON),
            "detail": (
                dropped.column(DROP_DETAIL)
                if DROP_DETAIL in dropped.column_names
                else pa.nulls(n, pa.string())
            ),
        },
        schema=LEDGER_SCHEMA,
    )
