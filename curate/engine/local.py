"""The embedded engine: a process pool over work units on this machine."""

from __future__ import annotations

import logging
import multiprocessing
import queue
import weakref
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
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
    _pool: ProcessPoolExecutor | None = field(default=None, init=False, repr=False)

    def map(self, function: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        """``function`` over ``items`` on the pool (corpus passes use it); results in order.

        The pool lives as long as the engine: a pass calling ``map`` for each of its phases
        starts its worker processes (and their imports) once."""
        if self.workers <= 1 or len(items) <= 1:
            return [function(item) for item in items]
        if self._pool is None:
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
            weakref.finalize(self, self._pool.shutdown)
        try:
            return list(self._pool.map(function, items))
        except BrokenProcessPool:
            self._pool = None  # a worker died: the next call starts a new pool
            raise

    def run(
        self,
        units: list[WorkUnit],
        recipe: Recipe,
        out: Path,
        on_docs: ProgressCallback,
        on_unit: UnitDone,
    ) -> None:
        if self.workers <= 1 or len(units) <= 1:
            for unit in units:
                on_unit(process_unit(unit, recipe, out, on_docs))
            return
        self._run_pool(units, recipe, out, on_docs, on_unit)

    def _run_pool(
        self,
        units: list[WorkUnit],
        recipe: Recipe,
        out: Path,
        on_docs: ProgressCallback,
        on_unit: UnitDone,
    ) -> None:
        context = multiprocessing.get_context("spawn")
        with (
            context.Manager() as manager,
            ProcessPoolExecutor(
                max_workers=min(self.workers, len(units)),
                mp_context=context,
                initializer=_log_like_parent,
                initargs=(logging.getLogger().getEffectiveLevel(),),
            ) as pool,
        ):
            docs_queue = manager.Queue()
            pending = {
                pool.submit(process_unit, unit, recipe, out, docs_queue.put) for unit in units
            }
            while pending:
                finished, pending = wait(pending, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
                _drain(docs_queue, on_docs)
                for future in finished:
                    on_unit(future.result())
            _drain(docs_queue, on_docs)


def _log_like_parent(level: int) -> None:
    """Spawned workers start with no logging set up; give them the parent's level."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s [worker] %(message)s")


def _drain(docs_queue: Any, on_docs: ProgressCallback) -> None:
    while True:
        try:
            on_docs(docs_queue.get_nowait())
        except queue.Empty:
            return
