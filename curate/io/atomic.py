"""Atomic file writes: write to a temporary name in the same directory, then rename."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

TEMP_SUFFIX = ".tmp"


def temp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}{TEMP_SUFFIX}")


def commit(temp: Path, path: Path) -> None:
    """Flush ``temp`` to disk and move it onto ``path`` in one step."""
    with open(temp, "rb") as stream:
        os.fsync(stream.fileno())
    os.replace(temp, path)


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path(path)
    temp.write_bytes(data)
    commit(temp, path)


def write_json(path: Path, value: Any, sort_keys: bool = True) -> None:
    text = json.dumps(value, indent=2, sort_keys=sort_keys, ensure_ascii=False) + "\n"
    write_bytes(path, text.encode("utf-8"))


def remove_stale_temps(directory: Path) -> int:
    """Delete temporaries a crashed run left behind; returns how many."""
    removed = 0
    if directory.is_dir():
        for stale in directory.rglob(f".*{TEMP_SUFFIX}"):
            stale.unlink(missing_ok=True)
            removed += 1
    return removed
