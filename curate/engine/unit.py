"""One unit of work: an input file through every batch stage to per-language shards.

Every engine runs a unit with the same pieces: :func:`read_unit` turns the input into one
:class:`BatchRecord` per input batch (its kept documents, with the stats and dropped rows so
far), :func:`apply_stage` runs a stage on a record, and a :class:`UnitAssembler` writes the
records in batch order, then the unit's done marker. :func:`process_unit` chains them in one
process (the local engine); the Ray engine runs them in Ray Data operators and assembles in
its driver. A record never splits or merges, and the assembler takes records in any order and
ignores repeats (a retried task), so the files are byte-identical whatever the engine, the
worker count or the order records arrive in.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import shutil
import string
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from curate.core.stage import Stage
from curate.io.atomic import write_json
from curate.io.position import forget, position
from curate.io.readers import read_batches
from curate.io.rejected import RejectedWriter, rejected_paths
from curate.io.signals import SignalsWriter, signals_paths, unit_record_path
from curate.io.writer import LEDGER_SCHEMA, ParquetSink, ShardWriter, ledger_rows
from curate.pipeline import (
    READ_STAGE,
    build_stages,
    early_stage_names,
    output_schema,
    signals_schema,
    stage_names,
)
from curate.recipe import Recipe
from curate.schema import SIGNALS_ROW, WORKING_COLUMNS, split_kept
from curate.stats import RunStats

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Advance:
    """Progress since the last report: documents read, and bytes of the input file behind them."""

    docs: int
    input_bytes: int


ProgressCallback = Callable[[Advance], None]
WRITE_STEP = "write"
SAFE_CHARACTERS = frozenset(string.ascii_letters + string.digits + "._-")
FOLDER_SEPARATOR = "+"
ESCAPE = "~"


@dataclass(frozen=True)
class WorkUnit:
    """One input file. ``source`` is its path relative to the common folder of the run's
    inputs (the file name alone when they share a folder): documents name it in ``source``
    and in ids made up from it. ``name`` is ``source`` made safe as a file name."""

    name: str
    path: Path
    source: str


def unit_name(source: str) -> str:
    """A file name for ``source`` (a relative POSIX path), reversibly: folders joined by ``+``,
    every byte outside ``[A-Za-z0-9._-]`` (``+`` and ``~`` too) as ``~XX``, and a leading dot
    escaped, so distinct inputs get distinct names and none is a hidden file."""
    parts = ["".join(_escaped(c) for c in part) for part in source.split("/")]
    name = FOLDER_SEPARATOR.join(parts)
    return f"{ESCAPE}2e{name[1:]}" if name.startswith(".") else name


def _escaped(character: str) -> str:
    if character in SAFE_CHARACTERS:
        return character
    return "".join(f"{ESCAPE}{byte:02x}" for byte in character.encode("utf-8", "surrogateescape"))


def common_root(paths: list[Path]) -> Path:
    """The deepest folder holding every one of ``paths`` (absolute paths)."""
    return Path(os.path.commonpath([str(p.parent) for p in paths]))


def plan_units(paths: list[Path], root: Path | None = None) -> list[WorkUnit]:
    """A unit per input, sources relative to ``root`` (default: the inputs' common folder)."""
    resolved = sorted({p.resolve() for p in paths}, key=str)
    base = root or common_root(resolved)
    units = []
    for path in resolved:
        source = path.relative_to(base).as_posix()
        units.append(WorkUnit(unit_name(source), path, source))
    return units


def done_marker(out: Path, unit: WorkUnit) -> Path:
    return out / "work" / "done" / f"{unit.name}.json"


def shard_pattern(unit: str) -> re.Pattern[str]:
    """The names of ``unit``'s shards, exactly: another unit's name may start with this one's."""
    return re.compile(re.escape(unit) + r"-\d{5,}\.parquet")


def staging_dir(out: Path, unit: WorkUnit) -> Path:
    """Where a unit's files are written until all are complete (the output's own layout)."""
    return out / "work" / "staging" / unit.name


def _clear_partial_output(out: Path, unit: WorkUnit) -> None:
    shutil.rmtree(staging_dir(out, unit), ignore_errors=True)
    pattern = shard_pattern(unit.name)
    for stale in (out / "data").glob("*/*.parquet"):
        if pattern.fullmatch(stale.name):
            stale.unlink()
    (out / "dropped" / f"{unit.name}.parquet").unlink(missing_ok=True)
    for stale in rejected_paths(out, unit.name) + signals_paths(out, unit.name):
        stale.unlink()
    unit_record_path(out, unit.name).unlink(missing_ok=True)


@dataclass
class BatchRecord:
    """One input batch of unit number ``unit``, or (``final``) the end of that unit.

    ``index`` numbers the unit's batches from 0; the final record's index is the number of
    batches, and its stats carry what reading the whole input counted (input errors, seconds).
    ``ledger`` and ``rejected`` hold the dropped rows, in the order the files get them;
    ``signals`` the rows dropped after language ID when the recipe keeps signals.
    """

    unit: int
    index: int
    docs: pa.Table | None
    stats: RunStats
    ledger: list[pa.Table] = field(default_factory=list)
    rejected: list[tuple[pa.Table, str]] = field(default_factory=list)
    signals: list[pa.Table] = field(default_factory=list)
    docs_read: int = 0
    input_bytes: int = 0  # how far into the input file reading was after this batch
    final: bool = False

    def to_bytes(self) -> bytes:
        return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def from_bytes(data: bytes) -> BatchRecord:
        return pickle.loads(data)


@dataclass(frozen=True)
class SetAside:
    """Where a batch's dropped rows go besides the stats: the drop ledger, the rejected files."""

    ledger: bool
    rejected: bool

    @staticmethod
    def of(recipe: Recipe) -> SetAside:
        return SetAside(recipe.output.keep_dropped_ledger, recipe.filters.write_rejected)


def read_unit(unit: WorkUnit, number: int, recipe: Recipe) -> Iterator[BatchRecord]:
    """The input as records, one per batch the reader makes, then the final record."""
    unit_stats = RunStats()
    batches = read_batches(unit.path, recipe.read, recipe.batch_size, unit_stats, unit.source)
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
        record = BatchRecord(
            number, index, kept, stats, docs_read=batch.num_rows, input_bytes=position(unit.path)
        )
        if dropped.num_rows and recipe.output.keep_dropped_ledger:
            record.ledger.append(ledger_rows(dropped, READ_STAGE))
        yield record
        index += 1
    forget(unit.path)
    size = unit.path.stat().st_size
    yield BatchRecord(number, index, None, unit_stats, input_bytes=size, final=True)


def apply_stage(record: BatchRecord, stage: Stage, aside: SetAside) -> BatchRecord:
    """One stage on a record's kept documents: stats recorded, its drops set aside."""
    if record.final or record.docs is None or record.docs.num_rows == 0:
        return record
    start = time.perf_counter()
    after = stage(record.docs)
    record.stats.record(stage.name, record.docs, after, time.perf_counter() - start)
    record.stats.count(stage.name, stage.take_counts())
    record.docs, dropped = split_kept(after)
    if dropped.num_rows and aside.ledger:
        record.ledger.append(ledger_rows(dropped, stage.name))
    if dropped.num_rows and aside.rejected:
        record.rejected.append((dropped, stage.name))
    if dropped.num_rows and SIGNALS_ROW in dropped.column_names:
        record.signals.append(dropped)
    return record


class UnitAssembler:
    """Writes one unit's records to its shards, ledger and rejected files in batch order.


    The files go to the unit's staging folder and move into the output together when the
    unit is complete, before its done marker: a unit whose process dies leaves no file of its
    own in the output, and the next attempt starts from an empty staging folder. ``schema``
    is the output schema of the stages that made the records (``output_schema``).
    """

    def __init__(self, unit: WorkUnit, recipe: Recipe, out: Path, schema: pa.Schema) -> None:
        self.unit, self.out = unit, out
        _clear_partial_output(out, unit)
        self.staging = staging_dir(out, unit)
        self._shards = ShardWriter(self.staging, unit.name, schema, recipe.output)
        ledger_path = self.staging / "dropped" / f"{unit.name}.parquet"
        self._ledger = ParquetSink(ledger_path, LEDGER_SCHEMA, recipe.output)
        self._rejected = RejectedWriter(self.staging, unit.name, recipe.output)
        schema = signals_schema(recipe)
        self._signals = schema and SignalsWriter(self.staging, unit.name, schema, recipe.output)
        self._early = frozenset(early_stage_names(recipe))
        self._stats = RunStats(stage_names(recipe))
        self._pending: dict[int, BatchRecord] = {}
        self._next = 0
        self._batches: int | None = None
        self._input_bytes = 0  # reported so far
        self._size = 0
        self.repeated = 0

    @property
    def complete(self) -> bool:
        return self._batches is not None and self._next == self._batches

    def add(self, record: BatchRecord) -> Advance:
        """Take a record; write every batch now in sequence. Returns the progress made: the
        documents written and the input read up to them (the whole file once complete)."""
        if record.final and self._batches is None:
            self._batches = record.index
            self._size = record.input_bytes
            self._stats.merge(record.stats)
        elif not record.final and record.index >= self._next and record.index not in self._pending:
            self._pending[record.index] = record
        else:
            # A retried task sends its unit's records again; the first copy of each counts.
            self.repeated += 1
        written, reached = 0, self._input_bytes
        while self._next in self._pending:
            batch = self._pending.pop(self._next)
            self._write(batch)
            written += batch.docs_read
            reached = max(reached, batch.input_bytes)
            self._next += 1
        if self.complete:
            reached = self._size
        advance = Advance(written, reached - self._input_bytes)
        self._input_bytes = reached
        return advance

    def _write(self, record: BatchRecord) -> None:
        for rows in record.ledger:
            self._ledger.write(rows)
        for dropped, stage in record.rejected:
            self._rejected.write(dropped, stage)
        docs = record.docs
        if self._signals:
            kept = [docs] if docs is not None and SIGNALS_ROW in docs.column_names else []
            early = sum(t.num_rows for t in record.ledger if t["stage"][0].as_py() in self._early)
            self._signals.write(record.index, record.signals + kept, early)
        if docs is not None and docs.num_rows:
            start = time.perf_counter()
            working = [c for c in WORKING_COLUMNS if c in docs.column_names]
            self._shards.write(docs.drop_columns(working))
            self._stats.seconds[WRITE_STEP] += time.perf_counter() - start
        self._stats.merge(record.stats)

    def _publish(self) -> dict[str, int]:
        """Move the staged files into the output; returns their output paths and sizes."""
        files = {}
        for staged in sorted(self.staging.rglob("*.parquet")):
            relative = staged.relative_to(self.staging)
            target = self.out / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            files[relative.as_posix()] = staged.stat().st_size
            os.replace(staged, target)
        shutil.rmtree(self.staging, ignore_errors=True)
        return files

    def finish(self) -> dict[str, Any]:
        """Close the files, then write the done marker (after them: a crash redoes the unit)."""
        if not self.complete:
            raise RuntimeError(f"unit {self.unit.name}: finished before all its batches arrived")
        start = time.perf_counter()
        self._shards.close()
        self._stats.seconds[WRITE_STEP] += time.perf_counter() - start
        self._ledger.close()
        self._rejected.close()
        if self._signals:
            self._signals.close()
        files = self._publish()
        result = {"unit": self.unit.name, "input": str(self.unit.path), "source": self.unit.source}
        result["stats"] = self._stats.to_dict(True)
        write_json(done_marker(self.out, self.unit), result)
        result["files"], result["input_bytes"] = files, self._size
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


def process_unit(
    unit: WorkUnit, recipe: Recipe, out: Path, progress: ProgressCallback | None = None
) -> dict[str, Any]:
    """Run one input through the batch stages; returns the stats written to its marker.

    Each stage's :meth:`~curate.core.stage.Stage.setup` loads its models before the first
    batch; they stay cached in the process for its next units.
    """
    stages = build_stages(recipe)
    for stage in stages:
        stage.setup()
    try:
        return run_unit(unit, 0, recipe, out, stages, progress)
    finally:
        for stage in stages:
            stage.teardown()


def run_unit(
    unit: WorkUnit,
    number: int,
    recipe: Recipe,
    out: Path,
    stages: list[Stage],
    progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """One input through ``stages`` (set up already) to its files and done marker."""
    aside = SetAside.of(recipe)
    assembler = UnitAssembler(unit, recipe, out, output_schema(stages))
    for record in read_unit(unit, number, recipe):
        for stage in stages:
            record = apply_stage(record, stage, aside)
        advance = assembler.add(record)
        if progress is not None and (advance.docs or advance.input_bytes):
            progress(advance)
    return assembler.finish()
