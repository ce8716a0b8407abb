"""What a run shows while it works: input bytes read of the total, pages/s, an ETA, files done.

The total is known before the first page: the input files' sizes. Engines report an
:class:`~curate.engine.unit.Advance` per batch from every worker, so a single large file moves
the bar as it is read, not when it ends.
"""

from __future__ import annotations

import time
from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from curate.engine.unit import Advance


class RunProgress(Protocol):
    """Receives a run's progress: the totals once, then advances and finished units."""

    def start(self, total_bytes: int, done_bytes: int, total_files: int, done_files: int) -> None:
        """Totals over every input; ``done_*`` were finished by an earlier (resumed) run."""

    def advance(self, step: Advance) -> None: ...

    def unit_done(self) -> None: ...

    def stop(self) -> None: ...


def human_bytes(count: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if count < 1000 or unit == "TB":
            return f"{count:,.0f} {unit}" if unit == "B" else f"{count:,.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")


def eta(seconds: float | None) -> str:
    if seconds is None:
        return "-:--:--"
    whole = int(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


class ConsoleProgress:
    """Two bars on ``console``: the input's bytes (with pages, pages/s and ETA), and files."""

    def __init__(self, console: Console | None = None) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description:<11}"),
            BarColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=console or Console(stderr=True),
            transient=False,
        )
        self._input = self._progress.add_task("input", total=None, detail="", start=False)
        self._files = self._progress.add_task("input files", total=None, detail="", start=False)
        self._total_bytes = self._done_files = self._total_files = 0
        self._session_bytes = self._pages = 0
        self._started = time.monotonic()

    def start(self, total_bytes: int, done_bytes: int, total_files: int, done_files: int) -> None:
        self._total_bytes, self._total_files, self._done_files = (
            total_bytes,
            total_files,
            done_files,
        )
        self._progress.update(self._input, total=max(total_bytes, 1), completed=done_bytes)
        self._progress.update(self._files, total=max(total_files, 1), completed=done_files)
        for task in (self._input, self._files):
            self._progress.start_task(task)
        self._started = time.monotonic()
        self._show()
        self._progress.start()

    def advance(self, step: Advance) -> None:
        self._session_bytes += step.input_bytes
        self._pages += step.docs
        self._progress.advance(self._input, step.input_bytes)
        self._show()

    def unit_done(self) -> None:
        self._done_files += 1
        self._progress.advance(self._files, 1)
        self._show()

    def stop(self) -> None:
        self._show()
        self._progress.stop()

    def _show(self) -> None:
        elapsed = max(time.monotonic() - self._started, 1e-9)
        done = self._progress.tasks[self._input].completed
        left = max(self._total_bytes - done, 0)
        remaining = left * elapsed / self._session_bytes if self._session_bytes else None
        detail = (
            f"{human_bytes(done)} / {human_bytes(self._total_bytes)}  "
            f"{self._pages:,} pages  {self._pages / elapsed:,.0f} pages/s  "
            f"ETA {eta(remaining if left else 0)}"
        )
        self._progress.update(self._input, detail=detail)
        self._progress.update(self._files, detail=f"{self._done_files}/{self._total_files}")
