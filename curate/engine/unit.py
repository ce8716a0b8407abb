"""One unit of work: an input file through every batch stage to per-language shards.

Engines call :func:`process_unit`; it is a plain function of (unit, recipe, output), so the
result does not depend on which engine or worker runs it.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from curate.io.atomic import write_json
from curate.io.readers import read_batches
from curate.io.rejected import RejectedWriter, rejected_paths
from curate.io.writer import LEDGER_SCHEMA, ParquetSink, ShardWriter, ledger_rows
from curate.pipeline import READ_STAGE, build_stages, output_schema, stage_names
from curate.recipe import Recipe
from curate.schema import WORKING_COLUMNS, split_kept
from curate.stages.base import CountingStage
from curate.stats import RunStats

log = logging.getLogger(__name__)
ProgressCallback = Callable[[int], None]
WRITE_STEP = "write"
INPUT_SUFFIXES = re.compile(r"(\.(warc|arc|jsonl|json|ndjson|parquet))?(\.(gz|zst))?$", re.I)


@dataclass(frozen=True)
class WorkUnit:
    name: str
    path: Path


def plan_units(paths: list[Path]) -> list[WorkUnit]:
    """Name each input after its file; the same stem twice gets a numbered suffix."""
    units: list[WorkUnit] = []
    seen: dict[str, int] = {}
    for path in sorted(paths, key=lambda p: str(p)):
        stem = re.sub(r"[^A-Za-z0-9._-]", "_", INPUT_SUFFIXES.sub("", path.name)) or "input"
        count = seen.get(stem, 0)
        seen[stem] = count + 1
        units.append(WorkUnit(stem if count == 0 else f"{stem}_{count}", path))
    return units


def done_marker(out: Path, unit: WorkUnit) -> Path:
    return out / "work" / "done" / f"{unit.name}.json"


def _clear_partial_output(out: Path, unit: WorkUnit) -> None:
    for stale in (out / "data").glob(f"*/{unit.name}-*.parquet"):
        stale.unlink()
    (out / "dropped" / f"{unit.name}.parquet").unlink(missing_ok=True)
    for stale in rejected_paths(out, unit.name):
        stale.unlink()


def _timed(batches: Iterator[pa.Table], seconds: list[float]) -> Iterator[pa.Table]:
    while True:
        start = time.perf_counter()
        batch = next(batches, None)
        seconds[0] += time.perf_counter() - start
        if batch is None:
            return
        yield batch


def process_unit(
    unit: WorkUnit, recipe: Recipe, out: Path, progress: ProgressCallback | None = None
) -> dict[str, Any]:
    """Run one input through the batch stages; returns the stats written to its marker."""
    stages = build_stages(recipe)
    stats = RunStats(stage_names(recipe))
    _clear_partial_output(out, unit)
    shards = ShardWriter(out, unit.name, output_schema(stages), recipe.output)
    ledger = ParquetSink(out / "dropped" / f"{unit.name}.parquet", LEDGER_SCHEMA, recipe.output)
    rejected = RejectedWriter(out, unit.name, recipe.output)
    if not recipe.filters.write_rejected:
        rejected = None
    read_seconds = [0.0]
    batches = read_batches(unit.path, recipe.read, recipe.batch_size, stats)
    for batch in _timed(batches, read_seconds):
        stats.record(READ_STAGE, batch, batch, 0.0)
        kept, dropped = split_kept(batch)
        _write_ledger(ledger, dropped, READ_STAGE, recipe)
        for stage in stages:
            if kept.num_rows == 0:
                break
            start = time.perf_counter()
            after = stage(kept)
            stats.record(stage.name, kept, after, time.perf_counter() - start)
            if isinstance(stage, CountingStage):
                stats.count(stage.name, stage.take_counts())
            kept, dropped = split_kept(after)
            _write_ledger(ledger, dropped, stage.name, recipe)
            if rejected is not None:
                rejected.write(dropped, stage.name)
        if kept.num_rows:
            start = time.perf_counter()
            shards.write(kept.drop_columns([c for c in WORKING_COLUMNS if c in kept.column_names]))
            stats.seconds[WRITE_STEP] += time.perf_counter() - start
        if progress is not None:
            progress(batch.num_rows)
    stats.seconds[READ_STAGE] += read_seconds[0]
    start = time.perf_counter()
    shards.close()
    stats.seconds[WRITE_STEP] += time.perf_counter() - start
    ledger.close()
    if rejected is not None:
        rejected.close()
    result = {"unit": unit.name, "input": str(unit.path), "stats": stats.to_dict(True)}
    write_json(done_marker(out, unit), result)
    totals = result["stats"]["totals"]
    log.info(
        "unit %s: read %d docs, kept %d, dropped %d",
        unit.name,
        totals["docs_read"],
        totals["docs_kept"],
        totals["docs_dropped"],
    )
    return result


def _write_ledger(ledger: ParquetSink, dropped: pa.Table, stage: str, recipe: Recipe) -> None:
    if dropped.num_rows and recipe.output.keep_dropped_ledger:
        ledger.write(ledger_rows(dropped, stage))
