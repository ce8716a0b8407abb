"""The embedded engine: a process pool over work units on this machine.

Pool workers send their progress (per batch) and their log records to this process through
queues, so progress counts every worker and a log line looks the same whatever ``workers``.
"""

from __future__ import annotations

import logging
import logging.handlers
import multiprocessing
import queue
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curate.engine.unit import ProgressCallback, WorkUnit, process_unit
from curate.recipe import Recipe

UnitDone = Callable[[dict[str, Any]], None]
POLL_SECONDS = 0.2


@dataclass
class LocalEngine:
    """Runs units in this process (one worker) or in a pool of ``workers`` processes."""

    workers: int

    def map(self, function: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        """``function`` over ``items`` on the pool (corpus passes use it); results in order."""
        if self.workers <= 1 or len(items) <= 1:
            return [function(item) for item in items]
        context = multiprocessing.get_context("spawn")
        workers = min(self.workers, len(items))
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            return list(pool.map(function, items))

    def run(
        self,
        units: list[WorkUnit],
        recipe: Recipe,
        out: Path,
        on_progress: ProgressCallback,
        on_unit: UnitDone,
    ) -> None:
        if self.workers <= 1 or len(units) <= 1:
            for unit in units:
                on_unit(process_unit(unit, recipe, out, on_progress))
            return
        self._run_pool(units, recipe, out, on_progress, on_unit)

    def _run_pool(
        self,
        units: list[WorkUnit],
        recipe: Recipe,
        out: Path,
        on_progress: ProgressCallback,
        on_unit: UnitDone,
    ) -> None:
        context = multiprocessing.get_context("spawn")
        with context.Manager() as manager:
            progress_queue, log_queue = manager.Queue(), manager.Queue()
            with ProcessPoolExecutor(
                max_workers=min(self.workers, len(units)),
                mp_context=context,
                initializer=_log_to_parent,
                initargs=(log_queue, logging.getLogger().getEffectiveLevel()),
            ) as pool:
                pending = {
                    pool.submit(process_unit, unit, recipe, out, progress_queue.put)
                    for unit in units
                }
                while pending:
                    finished, pending = wait(
                        pending, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED
                    )
                    _drain(progress_queue, on_progress, log_queue)
                    for future in finished:
                        on_unit(future.result())
            _drain(progress_queue, on_progress, log_queue)


def _log_to_parent(log_queue: Any, level: int) -> None:
    """A spawned worker's log records go to the parent, which formats them as its own."""
    root = logging.getLogger()
    root.handlers = [logging.handlers.QueueHandler(log_queue)]
    root.setLevel(level)


def _drain(progress_queue: Any, on_progress: ProgressCallback, log_queue: Any) -> None:
    for record in _take_all(log_queue):
        logging.getLogger(record.name).handle(record)
    for advance in _take_all(progress_queue):
        on_progress(advance)


def _take_all(items: Any) -> list[Any]:
    taken = []
    while True:
        try:
            taken.append(items.get_nowait())
        except queue.Empty:
            return taken
