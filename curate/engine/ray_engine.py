"""The Ray engine: the same recipe on Ray Data, on this machine or on a cluster.

One Ray Data dataset per run (design notes in docs/ray.md):

- a row per unit, read by a generator ``map_batches`` that yields one row per input batch: a
  :class:`~curate.engine.unit.BatchRecord` (the batch's Arrow documents with their stats and
  ledger rows), so a batch never splits or merges on its way through the stages;
- a task ``map_batches`` per stateless stage up to the first stage that declares a model
  (:meth:`~curate.core.stage.Stage.models`: pre-routing, language ID), then an actor pool
  running that stage and the rest: each actor sets up (loads) each model once and keeps it.
  Ray fuses the read and the tasks into the actor operator, so a unit goes through every
  stage in one process, as in the local engine;
- the driver takes the records as they finish and a :class:`~curate.engine.unit.UnitAssembler`
  per unit writes them in batch order: the same files, bytes and done markers as the local
  engine, whatever the worker count, the arrival order or a retried task.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from curate.core.errors import RunError, require_extra
from curate.core.stage import Stage, holds_model
from curate.engine.ray_logs import StderrFilter
from curate.engine.unit import (
    BatchRecord,
    ProgressCallback,
    SetAside,
    UnitAssembler,
    WorkUnit,
    apply_stage,
    read_unit,
)
from curate.pipeline import build_stages, output_schema
from curate.recipe import Recipe

log = logging.getLogger(__name__)
UnitDone = Callable[[dict[str, Any]], None]
# A record is a whole batch already: small blocks let each move on as soon as it is ready.
BLOCK_BYTES = 1 << 20
RECORD = "record"
ATTEMPTS = 2
TASK_RETRIES = 3
WAIT_SECONDS = 600.0
POLL_SECONDS = 2.0
PROBE_SECONDS = 5.0


def _records_table(records: list[BatchRecord]) -> pa.Table:
    return pa.table(
        {
            "unit": pa.array([r.unit for r in records], pa.int32()),
            "batch": pa.array([r.index for r in records], pa.int32()),
            RECORD: pa.array([r.to_bytes() for r in records], pa.large_binary()),
        }
    )


def _records(table: pa.Table) -> Iterator[BatchRecord]:
    for data in table.column(RECORD).to_pylist():
        yield BatchRecord.from_bytes(data)


def read_units(units: pa.Table, recipe: Recipe) -> Iterator[pa.Table]:
    """Ray Data UDF: each unit row becomes its batch records, one output row per batch."""
    for row in units.to_pylist():
        unit = WorkUnit(row["name"], Path(row["path"]), row["source"])
        for record in read_unit(unit, row["number"], recipe):
            yield _records_table([record])


_STAGES: dict[tuple[str, int], Stage] = {}


def run_stage(table: pa.Table, recipe: Recipe, step: int) -> pa.Table:
    """Ray Data UDF for a stateless stage (a task; the stage is built once per worker)."""
    key = (recipe.fingerprint(), step)
    if key not in _STAGES:
        _STAGES[key] = build_stages(recipe)[step]
    aside = SetAside.of(recipe)
    return _records_table([apply_stage(r, _STAGES[key], aside) for r in _records(table)])


class ModelStages:
    """Ray Data UDF on an actor pool: the stages from the first that holds a model to the end.

    Each actor builds its stages and sets them up once, so each model loads once per actor
    and stays loaded.
    """

    def __init__(self, recipe: Recipe, first: int) -> None:
        self.aside = SetAside.of(recipe)
        self.stages = build_stages(recipe)[first:]
        for stage in self.stages:
            stage.setup()

    def __call__(self, table: pa.Table) -> pa.Table:
        records = list(_records(table))
        for stage in self.stages:
            records = [apply_stage(record, stage, self.aside) for record in records]
        return _records_table(records)


def _apply(function: Callable[[Any], Any], item: Any) -> Any:
    return function(item)


def _check_listening(address: str) -> None:
    """Fail fast on HOST:PORT with nothing listening (``ray.init`` retries for minutes)."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_SECONDS).close()
    except OSError as error:
        raise ConnectionError(f"nothing listens there ({error.strerror or error})") from None


def join_cluster(address: str, wait_nodes: int, wait_seconds: float, **options: Any) -> None:
    """Connect to ``address``; with ``wait_nodes``, wait for the head and for that many nodes."""
    import ray

    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            _check_listening(address)
            ray.init(address=address, **options)
            break
        except ConnectionError as error:
            if not wait_nodes or time.monotonic() > deadline:
                raise RunError(f"cannot join the Ray cluster at {address}: {error}") from None
            time.sleep(POLL_SECONDS)
    while (alive := sum(node["Alive"] for node in ray.nodes())) < wait_nodes:
        if time.monotonic() > deadline:
            ray.shutdown()
            raise RunError(f"ray: {alive} of {wait_nodes} nodes joined in time")
        time.sleep(POLL_SECONDS)
    log.info("ray: joined %s (%d nodes)", address, alive)


@dataclass
class RayEngine:
    """Runs units on Ray: joins ``address`` (``auto`` or HOST:PORT) or starts Ray here.

    Use it as a context manager around a whole run, so corpus passes can use :meth:`map`
    after the units; a Ray instance it started stops when the outermost
    ``with`` ends (``run`` enters it too, so it also works on its own).
    """

    address: str | None = None
    workers: int | None = None
    object_store_bytes: int | None = None
    wait_nodes: int = 0
    wait_seconds: float = WAIT_SECONDS
    _started: bool = field(default=False, init=False)
    _depth: int = field(default=0, init=False)
    _stderr: StderrFilter = field(default_factory=StderrFilter, init=False)

    def __enter__(self) -> RayEngine:
        require_extra("ray", "ray", "the Ray engine")
        import ray

        self._depth += 1
        if self._depth > 1 or ray.is_initialized():
            return self
        try:
            self._start_or_join()
        except BaseException:
            self._depth -= 1
            raise
        # After ray.init, so the processes it starts keep the real standard error.
        self._stderr.__enter__()
        self._started = True
        return self

    def _start_or_join(self) -> None:
        import ray

        quiet = {"logging_level": logging.WARNING, "log_to_driver": False}
        if self.address:
            join_cluster(self.address, self.wait_nodes, self.wait_seconds, **quiet)
        else:
            ray.init(
                num_cpus=self.workers or os.cpu_count() or 1,
                object_store_memory=self.object_store_bytes,
                include_dashboard=False,
                **quiet,
            )

    def __exit__(self, *exc: object) -> None:
        import ray

        self._depth -= 1
        if self._depth == 0 and self._started:
            ray.shutdown()
            self._stderr.__exit__(None, None, None)
            self._started = False

    def map(self, function: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        """``function`` over ``items`` as Ray tasks, results in order: corpus passes (dedup)
        spread their per-shard work with it. A task whose worker dies runs again."""
        import ray

        if not items:
            return []
        with self:
            task = ray.remote(max_retries=TASK_RETRIES)(_apply)
            return ray.get([task.remote(function, item) for item in items])

    def concurrency(self) -> int:
        import ray

        return self.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))

    def run(
        self,
        units: list[WorkUnit],
        recipe: Recipe,
        out: Path,
        on_progress: ProgressCallback,
        on_unit: UnitDone,
    ) -> None:
        if not units:
            return
        with self:
            remaining = units
            for attempt in range(ATTEMPTS):
                if attempt:
                    log.warning("ray: %d units incomplete, running them again", len(remaining))
                remaining = self._run_once(remaining, recipe, out, on_progress, on_unit)
                if not remaining:
                    return
        names = ", ".join(u.name for u in remaining)
        raise RunError(f"ray: units incomplete after {ATTEMPTS} attempts: {names}")

    def _run_once(
        self,
        units: list[WorkUnit],
        recipe: Recipe,
        out: Path,
        on_progress: ProgressCallback,
        on_unit: UnitDone,
    ) -> list[WorkUnit]:
        """One pass over ``units``; returns those that did not finish."""
        dataset = plan_dataset(units, recipe, self.concurrency())
        schema = output_schema(build_stages(recipe))
        assemblers: dict[int, UnitAssembler] = {}
        finished: set[int] = set()
        for table in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
            for record in _records(table):
                if record.unit in finished:
                    continue
                if record.unit not in assemblers:
                    unit = units[record.unit]
                    assemblers[record.unit] = UnitAssembler(unit, recipe, out, schema)
                assembler = assemblers[record.unit]
                on_progress(assembler.add(record))
                if assembler.complete:
                    on_unit(assemblers.pop(record.unit).finish())
                    finished.add(record.unit)
        return [unit for number, unit in enumerate(units) if number not in finished]


def plan_dataset(units: list[WorkUnit], recipe: Recipe, workers: int) -> Any:
    """The Ray Data dataset for ``units`` on ``workers`` CPUs (lazy: runs when iterated).

    Stateless stages up to the first model stage are task ``map_batches``; Ray fuses them
    and the read into the actor pool of the model stage, which also runs every stage after
    it: one process per unit, and no second pool or task operator holding CPUs a batch
    would wait for (Ray fuses tasks into a following actor operator, not the reverse).
    """
    import ray.data

    _configure_ray_data()
    # The fused operator takes a whole unit per task: more workers than units would idle.
    width = min(workers, len(units))
    rows = [
        {"number": n, "name": u.name, "path": str(u.path), "source": u.source}
        for n, u in enumerate(units)
    ]
    dataset = ray.data.from_items(rows, override_num_blocks=len(rows)).map_batches(
        read_units,
        fn_kwargs={"recipe": recipe},
        batch_size=1,
        batch_format="pyarrow",
        compute=ray.data.TaskPoolStrategy(width),
    )
    stages = build_stages(recipe)
    first_model = next((n for n, s in enumerate(stages) if holds_model(s)), len(stages))
    for step in range(first_model):
        dataset = dataset.map_batches(
            run_stage,
            fn_kwargs={"recipe": recipe, "step": step},
            batch_size=None,
            batch_format="pyarrow",
            compute=ray.data.TaskPoolStrategy(width),
        )
    if first_model < len(stages):
        dataset = dataset.map_batches(
            ModelStages,
            fn_constructor_kwargs={"recipe": recipe, "first": first_model},
            batch_size=None,
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(min_size=1, max_size=width, initial_size=width),
        )
    return dataset


def _configure_ray_data() -> None:
    import ray.data

    context = ray.data.DataContext.get_current()
    context.target_max_block_size = BLOCK_BYTES
    context.enable_progress_bars = False  # curate shows its own
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.ERROR)
