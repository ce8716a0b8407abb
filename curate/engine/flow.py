"""Batches in flight between distributed workers, and their reassembly into a unit's files.

A distributed engine moves each input batch through the stages as one :class:`BatchRecord`:
the batch's kept documents (an Arrow table) with the stats and audit-ledger rows gathered so
far. A record never splits or merges with another, so every stage sees exactly the batches the
local engine gives it. :class:`UnitAssembler` takes a unit's records in any order, possibly
twice (a retried task), and writes them in batch order with the same write calls as
:func:`curate.engine.unit.process_unit`: the files are byte-identical whatever the engine, the
worker count or the order records arrive in.
"""

from __future__ import annotations

import logging
import pickle
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from curate.engine.unit import WRITE_STEP, WorkUnit, _clear_partial_output, done_marker
from curate.io.atomic import write_json
from curate.io.readers import read_batches
from curate.io.writer import LEDGER_SCHEMA, ParquetSink, ShardWriter, ledger_rows
from curate.pipeline import READ_STAGE, build_stages, output_schema, stage_names
from curate.recipe import Recipe
from curate.schema import WORKING_COLUMNS, split_kept
from curate.stages.base import Stage
from curate.stats import RunStats

log = logging.getLogger(__name__)


@dataclass
class BatchRecord:
    """One input batch of one unit, or (``final``) the end of a unit.

    ``index`` numbers the unit's batches from 0; the final record's index is the number of
    batches, and its stats carry what reading the whole unit counted (input errors, seconds).
    """

    unit: int
    index: int
    docs: pa.Table | None
    stats: RunStats
    ledger: list[pa.Table] = field(default_factory=list)
    docs_read: int = 0
    final: bool = False

    def to_bytes(self) -> bytes:
        return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def from_bytes(data: bytes) -> BatchRecord:
        return pickle.loads(data)


def read_unit(unit: WorkUnit, number: int, recipe: Recipe) -> Iterator[BatchRecord]:
    """Read one input as records: the read stage of ``process_unit``, batch by batch."""
    unit_stats = RunStats()
    batches = read_batches(unit.path, recipe.read, recipe.batch_size, unit_stats)
    index = 0
    while True:
        start = time.perf_counter()
        batch = next(batches, None)
        unit_stats.seconds[READ_STAGE] += time.perf_counter() - start
        if batch is None:
            break
        stats = RunStats()
        stats.record(READ_STAGE, batch, batch, 0.0)
        kept, dropped = split_kept(batch)
        record = BatchRecord(number, index, kept, stats, docs_read=batch.num_rows)
        _add_to_ledger(record, dropped, READ_STAGE, recipe)
        yield record
        index += 1
    yield BatchRecord(number, index, None, unit_stats, final=True)


def apply_stage(record: BatchRecord, stage: Stage, recipe: Recipe) -> BatchRecord:
    """Run one stage on a record's kept documents, as ``process_unit`` does on a batch."""
    if record.final or record.docs is None or record.docs.num_rows == 0:
        return record
    start = time.perf_counter()
    after = stage(record.docs)
    record.stats.record(stage.name, record.docs, after, time.perf_counter() - start)
    record.docs, dropped = split_kept(after)
    _add_to_ledger(record, dropped, stage.name, recipe)
    return record


def _add_to_ledger(record: BatchRecord, dropped: pa.Table, stage: str, recipe: Recipe) -> None:
    if dropped.num_rows and recipe.output.keep_dropped_ledger:
        record.ledger.append(ledger_rows(dropped, stage))


class UnitAssembler:
    """Writes one unit's records to its shards and ledger in batch order, then its marker."""

    def __init__(self, unit: WorkUnit, recipe: Recipe, out: Path) -> None:
        self.unit, self.out = unit, out
        _clear_partial_output(out, unit)
        schema = output_schema(build_stages(recipe))
        self._shards = ShardWriter(out, unit.name, schema, recipe.output)
        self._ledger = ParquetSink(
            out / "dropped" / f"{unit.name}.parquet", LEDGER_SCHEMA, recipe.output
        )
        self._stats = RunStats(stage_names(recipe))
        self._pending: dict[int, BatchRecord] = {}
        self._next = 0
        self._batches: int | None = None
        self.repeated = 0

    @property
    def complete(self) -> bool:
        return self._batches is not None and self._next == self._batches

    def add(self, record: BatchRecord) -> int:
        """Take a record; write every batch now in sequence. Returns the documents written."""
        if record.final and self._batches is None:
            self._batches = record.index
            self._stats.merge(record.stats)
        elif not record.final and record.index >= self._next and record.index not in self._pending:
            self._pending[record.index] = record
        else:
            # A retried task sends its unit's records again; the first copy of each counts.
            self.repeated += 1
        written = 0
        while self._next in self._pending:
            batch = self._pending.pop(self._next)
            self._write(batch)
            written += batch.docs_read
            self._next += 1
        return written

    def _write(self, record: BatchRecord) -> None:
        for rows in record.ledger:
            self._ledger.write(rows)
        docs = record.docs
        if docs is not None and docs.num_rows:
            start = time.perf_counter()
            working = [c for c in WORKING_COLUMNS if c in docs.column_names]
            self._shards.write(docs.drop_columns(working))
            self._stats.seconds[WRITE_STEP] += time.perf_counter() - start
        self._stats.merge(record.stats)

    def finish(self) -> dict[str, Any]:
        """Close the files, then write the done marker (after them, so a crash redoes the unit)."""
        if not self.complete:
            raise RuntimeError(f"unit {self.unit.name}: finished before all its batches arrived")
        start = time.perf_counter()
        self._shards.close()
        self._stats.seconds[WRITE_STEP] += time.perf_counter() - start
        self._ledger.close()
        result = {"unit": self.unit.name, "input": str(self.unit.path)}
        result["stats"] = self._stats.to_dict(True)
        write_json(done_marker(self.out, self.unit), result)
        totals = result["stats"]["totals"]
        log.info(
            "unit %s: read %d docs, kept %d, dropped %d",
            self.unit.name,
            totals["docs_read"],
            totals["docs_kept"],
            totals["docs_dropped"],
        )
        if self.repeated:
            log.info("unit %s: %d records came twice (retried task)", self.unit.name, self.repeated)
        return result
