"""How far a reader is into its input file, in bytes of the file: for progress and an ETA.

A reader registers the file object it reads the input's bytes from (a compressed file's raw
file, not the decompressed stream), or sets a position itself (Parquet, by row group); the
unit reading the input asks after each batch. One reader per input path in a process.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import IO

_positions: dict[str, Callable[[], int]] = {}


def track(path: Path, stream: IO[bytes]) -> None:
    """The input's position is ``stream``'s (its raw file, for compressed inputs)."""
    _positions[str(path)] = stream.tell


def set_position(path: Path, offset: int) -> None:
    _positions[str(path)] = lambda: offset


def position(path: Path) -> int:
    """Bytes of ``path`` read so far, 0 before a reader registered (or once it closed)."""
    tell = _positions.get(str(path))
    try:
        return tell() if tell else 0
    except (OSError, ValueError):  # closed: the unit's end reports the whole file
        return 0


def forget(path: Path) -> None:
    _positions.pop(str(path), None)
