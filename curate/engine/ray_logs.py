"""Dropping Ray's known-harmless error lines from this process's standard error.

Ray's C++ core worker logs at error level, straight to file descriptor 2, that an actor with
constructor arguments in the object store may not restart (ray-project/ray#53727). Ray Data
puts every actor pool's arguments there, and here the driver holds them for the whole run, so
the line says nothing to act on. No Ray setting lowers one message, or the level of the
standard-error sink alone; so, while Ray runs, file descriptor 2 goes through a pipe and a
thread copies everything to the real standard error except those lines.
"""

from __future__ import annotations

import os
import re
import threading
from types import TracebackType

HARMLESS = re.compile(rb"core_worker\.cc:\d+: Actor with class name: .* max_restarts > 0\. ")
# Ray's C++ log lines start "[2026-12-02 01:52:50,892 E ...": a partial line starting with "["
# is held until its end arrives (it may be one); anything else (progress bars) passes at once.
LOG_START = b"["
HOLD_BYTES = 1 << 14
CHUNK = 1 << 16
JOIN_SECONDS = 5.0


class StderrFilter:
    """A context manager: within it, lines matching ``HARMLESS`` never reach standard error."""

    def __init__(self, pattern: re.Pattern[bytes] = HARMLESS) -> None:
        self.pattern = pattern
        self._saved: int | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> StderrFilter:
        read_end, write_end = os.pipe()
        self._saved = os.dup(2)
        os.dup2(write_end, 2)
        os.close(write_end)
        self._thread = threading.Thread(
            target=self._relay, args=(read_end, self._saved), name="stderr-filter", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._saved is None or self._thread is None:
            return
        os.dup2(self._saved, 2)  # closes the pipe's write end: the relay reads to its end
        self._thread.join(JOIN_SECONDS)
        if not self._thread.is_alive():  # else a child holds the pipe: the relay goes on
            os.close(self._saved)
        self._saved, self._thread = None, None

    def _relay(self, source: int, target: int) -> None:
        pending = b""
        with os.fdopen(source, "rb", buffering=0) as stream:
            while chunk := stream.read(CHUNK):
                pending = self._forward(pending + chunk, target)
        if pending:
            os.write(target, pending)

    def _forward(self, data: bytes, target: int) -> bytes:
        """Writes every complete line of ``data`` but the harmless ones; returns what to hold."""
        *lines, tail = data.split(b"\n")
        kept = b"".join(line + b"\n" for line in lines if not self.pattern.search(line))
        if not tail.startswith(LOG_START) or len(tail) > HOLD_BYTES:
            kept, tail = kept + tail, b""
        if kept:
            os.write(target, kept)
        return tail
