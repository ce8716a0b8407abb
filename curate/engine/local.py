"""The embedded engine: a process pool over work units on this machine.

Pool workers send their progress (per batch) and their log records to this process through
queues, so progress counts every worker and a log line looks the same whatever ``workers``.
Workers ignore SIGINT (a Ctrl-C reaches the whole process group; the parent decides) and
die with the parent (Linux). When the parent stops early (a signal, an error), it stops the
workers at once instead of letting every queued unit run, so no worker outlives the run.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import logging.handlers
import multiprocessing
import queue
import signal
import sys
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curate.engine.unit import ProgressCallback, WorkUnit, process_unit
from curate.recipe import Recipe

UnitDone = Callable[[dict[str, Any]], None]
POLL_SECONDS = 0.2
PR_SET_PDEATHSIG = 1
_progress_queue: Any = None


@dataclass
class LocalEngine:
    """Runs units in this process (one worker) or in a pool of ``workers`` processes."""

    workers: int
    _map_pool: ProcessPoolExecutor | None = field(default=None, init=False, repr=False)

    def map(self, function: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        """``function`` over ``items`` on the pool (corpus passes use it); results in order.

        The pool lives as long as the engine: a pass calling ``map`` for each of its phases
        starts its worker processes (and their imports) once."""
        if self.workers <= 1 or len(items) <= 1:
            return [function(item) for item in items]
        if self._map_pool is None:
            self._map_pool = _new_pool(self.workers, None, None)
            weakref.finalize(self, self._map_pool.shutdown)
        try:
            return list(self._map_pool.map(function, items))
        except BrokenProcessPool:
            self._map_pool = None  # a worker died: the next call starts a new pool
            raise
        except BaseException:
            _stop_workers(self._map_pool)
            self._map_pool = None
            raise

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
        # plain queues, not a Manager's: a Manager process would die with the Ctrl-C
        progress_queue, log_queue = context.Queue(), context.Queue()
        with _pool(min(self.workers, len(units)), progress_queue, log_queue) as pool:
            pending = {pool.submit(_process_unit, unit, recipe, out) for unit in units}
            while pending:
                finished, pending = wait(pending, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
                _drain(progress_queue, on_progress, log_queue)
                for future in finished:
                    on_unit(future.result())
        _drain(progress_queue, on_progress, log_queue)


@contextmanager
def _pool(workers: int, progress_queue: Any, log_queue: Any) -> Iterator[ProcessPoolExecutor]:
    """A spawn pool; on any exception (an interrupt too) its workers are killed, not awaited."""
    pool = _new_pool(workers, progress_queue, log_queue)
    try:
        yield pool
    except BaseException:
        _stop_workers(pool)
        raise
    pool.shutdown(wait=True)


def _new_pool(workers: int, progress_queue: Any, log_queue: Any) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(logging.getLogger().getEffectiveLevel(), progress_queue, log_queue),
    )


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    # Python 3.14 has ProcessPoolExecutor.terminate_workers; before it, the worker processes
    # are only reachable through this attribute.
    processes = list(getattr(pool, "_processes", {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join()


def _start_worker(level: int, progress_queue: Any, log_queue: Any) -> None:
    """Spawned workers start with no logging set up: their records go to the parent (which
    formats them as its own) at the parent's level; ignore Ctrl-C (the parent stops them) and
    die with the parent."""
    global _progress_queue
    _progress_queue = progress_queue
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform == "linux":
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    root = logging.getLogger()
    if log_queue is not None:
        root.handlers = [logging.handlers.QueueHandler(log_queue)]
    root.setLevel(level)


def _process_unit(unit: WorkUnit, recipe: Recipe, out: Path) -> dict[str, Any]:
    return process_unit(unit, recipe, out, _progress_queue.put)


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
