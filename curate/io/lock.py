"""One run per output directory: ``OUT/.curate.lock`` names the run holding it.

The lock file holds the owner's host, pid and start time. It is created whole in one step (a
hard link of a finished temporary file: the link fails if the lock exists), so a second run
never reads a half-written lock. A lock left by a process that is gone (same host, pid not
running: a run killed with SIGKILL) is taken over with a warning; a lock from another host
cannot be checked from here, so the message says which file to delete if that run is gone.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from pathlib import Path
from types import TracebackType
from typing import Any

log = logging.getLogger(__name__)
LOCK_NAME = ".curate.lock"
TAKEOVER_ATTEMPTS = 3


class OutputLocked(Exception):
    """Another run holds the output: the message says which, in one line."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user: it exists
        return True
    return True


def _read(path: Path) -> dict[str, Any] | None:
    try:
        owner = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return owner if isinstance(owner, dict) else {}


class OutputLock:
    """Held for a whole run (``with OutputLock(out):``); released on exit, even on errors."""

    def __init__(self, out: Path) -> None:
        self.path = out / LOCK_NAME
        self.owner = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }

    def __enter__(self) -> OutputLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(TAKEOVER_ATTEMPTS):
            if self._create():
                return self
            holder = _read(self.path)
            if holder is not None and not self._stale(holder):
                raise OutputLocked(self._held_message(holder))
            if holder is not None and _read(self.path) == holder:
                log.warning(
                    "%s: taking over the lock of pid %s on %s (started %s): that run is gone",
                    self.path.parent,
                    holder.get("pid"),
                    holder.get("host"),
                    holder.get("started"),
                )
                self.path.unlink(missing_ok=True)
        raise OutputLocked(f"{self.path}: cannot take the lock (other runs keep taking it)")

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if _read(self.path) == self.owner:
            self.path.unlink(missing_ok=True)

    def _create(self) -> bool:
        temp = self.path.with_name(f"{LOCK_NAME}.{os.getpid()}")
        try:
            temp.write_text(json.dumps(self.owner) + "\n")
            os.link(temp, self.path)
            return True
        except FileExistsError:
            return False
        finally:
            temp.unlink(missing_ok=True)

    def _stale(self, holder: dict[str, Any]) -> bool:
        pid = holder.get("pid")
        same_host = holder.get("host") == self.owner["host"]
        return same_host and isinstance(pid, int) and pid != os.getpid() and not _alive(pid)

    def _held_message(self, holder: dict[str, Any]) -> str:
        if not holder:
            return f"{self.path.parent} is locked by another curate run ({self.path} unreadable)"
        return (
            f"{self.path.parent} is in use by another curate run (pid {holder.get('pid')} on "
            f"{holder.get('host')}, started {holder.get('started')}); wait for it to end, "
            f"or delete {self.path} if that run is gone"
        )
