"""The Ray engine: the same recipe on Ray Data, on this machine or on a cluster.

One Ray Data dataset per run (design notes in docs/ray.md): a row per unit, and one
``map_batches`` on an actor pool, :class:`UnitWorker`. Each actor builds the stages and sets
them up once (each model loads once per actor), then runs whole units with
:func:`~curate.engine.unit.run_unit`, the local engine's own function: it reads the input, runs
every stage and writes the unit's shards, ledger, rejected files and done marker itself, to
the run's output. The driver gets one small row per unit (its stats, file names and sizes)
and never sees a document, so its cost does not grow with the documents. Files are the local
engine's bytes whatever the worker count, the arrival order or a retried task.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from curate.core.errors import RunError, require_extra
from curate.engine.ray_logs import StderrFilter
from curate.engine.unit import Advance, ProgressCallback, WorkUnit, run_unit
from curate.pipeline import build_stages
from curate.recipe import Recipe

log = logging.getLogger(__name__)
UnitDone = Callable[[dict[str, Any]], None]
RESULT = "result"
ATTEMPTS = 2
TASK_RETRIES = 3
WAIT_SECONDS = 600.0
POLL_SECONDS = 2.0
PROBE_SECONDS = 5.0


class UnitWorker:
    """Ray Data UDF on an actor pool: whole units, from the input to the done marker.

    Returns a row per unit: its number and its result (the done marker's content plus the
    files written and their sizes) as JSON, a few KB whatever the unit's size.
    """

    def __init__(self, recipe: Recipe, out: str) -> None:
        self.recipe, self.out = recipe, Path(out)
        self.stages = build_stages(recipe)
        for stage in self.stages:
            stage.setup()

    def __call__(self, units: pa.Table) -> pa.Table:
        numbers, results = [], []
        for row in units.to_pylist():
            unit = WorkUnit(row["name"], Path(row["path"]), row["source"])
            result = run_unit(unit, row["number"], self.recipe, self.out, self.stages)
            numbers.append(row["number"])
            results.append(json.dumps(result))
        return pa.table({"number": pa.array(numbers, pa.int32()), RESULT: results})


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
        dataset = plan_dataset(units, recipe, out, self.concurrency())
        finished: set[int] = set()
        for table in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
            numbers = table.column("number").to_pylist()
            for number, text in zip(numbers, table.column(RESULT).to_pylist(), strict=True):
                if number in finished:  # a retried task may report its unit again
                    continue
                finished.add(number)
                result = json.loads(text)
                docs = result["stats"]["totals"]["docs_read"]
                on_progress(Advance(docs, result.pop("input_bytes")))
                on_unit(result)
        return [unit for number, unit in enumerate(units) if number not in finished]


def plan_dataset(units: list[WorkUnit], recipe: Recipe, out: Path, workers: int) -> Any:
    """The Ray Data dataset for ``units`` on ``workers`` CPUs (lazy: runs when iterated):
    one actor pool operator, each call a whole unit, one actor per CPU at most."""
    import ray.data

    _configure_ray_data()
    width = min(workers, len(units))
    rows = [
        {"number": n, "name": u.name, "path": str(u.path), "source": u.source}
        for n, u in enumerate(units)
    ]
    return ray.data.from_items(rows, override_num_blocks=len(rows)).map_batches(
        UnitWorker,
        fn_constructor_kwargs={"recipe": recipe, "out": str(out)},
        batch_size=1,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(
            min_size=1, max_size=width, initial_size=width, max_tasks_in_flight_per_actor=1
        ),
    )


def _configure_ray_data() -> None:
    import ray.data

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # curate shows its own
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.ERROR)
