"""The embedded engine: a process pool over work units on this machine.

Workers ignore SIGINT (a Ctrl-C reaches the whole process group; the parent decides) and
die with the parent (Linux). When the parent stops early (a signal, an error), it stops the
workers at once instead of letting every queued unit run, so no worker outlives the run.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import multiprocessing
import queue
import signal
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curate.engine.unit import ProgressCallback, WorkUnit, process_unit
from curate.recipe import Recipe

UnitDone = Callable[[dict[str, Any]], None]
POLL_SECONDS = 0.2
PR_SET_PDEATHSIG = 1
_docs_queue: Any = None


@dataclass
class LocalEngine:
    """Runs units in this process (one worker) or in a pool of ``workers`` processes."""

    workers: int

    def map(self, function: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        """``function`` over ``items`` on the pool (corpus passes use it); results in order."""
        if self.workers <= 1 or len(items) <= 1:
            return [function(item) for item in items]
        with _pool(min(self.workers, len(items)), None) as pool:
            return list(pool.map(function, items))

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
        docs_queue = multiprocessing.get_context("spawn").Queue()
        with _pool(min(self.workers, len(units)), docs_queue) as pool:
            pending = {pool.submit(_process_unit, unit, recipe, out) for unit in units}
            while pending:
                finished, pending = wait(pending, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
                _drain(docs_queue, on_docs)
                for future in finished:
                    on_unit(future.result())
            _drain(docs_queue, on_docs)


@contextmanager
def _pool(workers: int, docs_queue: Any) -> Iterator[ProcessPoolExecutor]:
    """A spawn pool; on any exception (an interrupt too) its workers are killed, not awaited."""
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(logging.getLogger().getEffectiveLevel(), docs_queue),
    )
    try:
        yield pool
    except BaseException:
        _stop_workers(pool)
        raise
    pool.shutdown(wait=True)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    # Python 3.14 has ProcessPoolExecutor.terminate_workers; before it, the worker processes
    # are only reachable through this attribute.
    processes = list(getattr(pool, "_processes", {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join()


def _start_worker(level: int, docs_queue: Any) -> None:
    """Spawned workers start with no logging set up: give them the parent's level; ignore
    Ctrl-C (the parent stops them) and die with the parent."""
    global _docs_queue
    _docs_queue = docs_queue
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform == "linux":
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s [worker] %(message)s")


def _process_unit(unit: WorkUnit, recipe: Recipe, out: Path) -> dict[str, Any]:
    return process_unit(unit, recipe, out, _docs_queue.put)


def _drain(docs_queue: Any, on_docs: ProgressCallback) -> None:
    while True:
        try:
            on_docs(docs_queue.get_nowait())
        except queue.Empty:
            return
