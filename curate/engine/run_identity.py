"""What an output was made from: ``OUT/work/run.json``, checked when a run starts again.

It records the recipe's fingerprint, the inputs' common folder (``root``) and per input its
unit name, ``source`` (path relative to ``root``), resolved path, size, mtime and sha256. A
run on an output that holds one resumes when the recipe is the same and every recorded input
is given again (as any path to the same file: relative, absolute, from another directory) and
unchanged. Inputs not recorded yet are added as new units, named relative to the same
``root``, unless a corpus pass already ran over the output (its result would not include
them). An input that changed after its unit finished is refused, with what differs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from curate.core.hashing import sha256_of
from curate.engine.unit import WorkUnit, common_root, plan_units

log = logging.getLogger(__name__)
FORMAT = 2
SHOWN_NAMES = 3
REPLACE_HINT = "use --force to replace it or choose another --output"


class IdentityError(Exception):
    """The output holds another run: the message says what differs, in one line."""


@dataclass(frozen=True)
class InputFile:
    unit: str
    source: str
    path: str
    bytes: int
    mtime_ns: int
    sha256: str

    @classmethod
    def of(cls, unit: WorkUnit) -> InputFile:
        status = unit.path.stat()
        return cls(
            unit.name,
            unit.source,
            str(unit.path),
            status.st_size,
            status.st_mtime_ns,
            sha256_of(unit.path),
        )

    def as_unit(self) -> WorkUnit:
        return WorkUnit(self.unit, Path(self.path), self.source)


@dataclass
class RunIdentity:
    recipe: str
    root: str
    inputs: list[InputFile]

    @property
    def units(self) -> list[WorkUnit]:
        return [entry.as_unit() for entry in self.inputs]

    def to_dict(self) -> dict[str, Any]:
        inputs = [asdict(entry) for entry in self.inputs]
        return {"format": FORMAT, "recipe": self.recipe, "root": self.root, "inputs": inputs}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunIdentity:
        inputs = [InputFile(**entry) for entry in data["inputs"]]
        return cls(data["recipe"], data["root"], inputs)


def new_identity(recipe: str, paths: list[Path]) -> RunIdentity:
    units = plan_units(paths)
    root = common_root([u.path for u in units])
    return RunIdentity(recipe, str(root), [InputFile.of(u) for u in units])


def resume_identity(
    out: Path,
    previous: dict[str, Any],
    recipe: str,
    paths: list[Path],
    unit_done: Callable[[str], bool],
    passes_ran: list[str],
) -> RunIdentity:
    """The identity to go on with, or an :class:`IdentityError` saying why the run cannot."""
    if previous.get("format") != FORMAT:
        older = "a run of an older curate (other unit names)"
        raise IdentityError(f"{out} holds {older}; {REPLACE_HINT}")
    if previous["recipe"] != recipe:
        raise IdentityError(f"{out} holds a run with a different recipe; {REPLACE_HINT}")
    identity = RunIdentity.from_dict(previous)
    resolved = sorted({p.resolve() for p in paths}, key=str)
    recorded = {entry.path: entry for entry in identity.inputs}
    missing = sorted(set(recorded) - {str(p) for p in resolved})
    if missing:
        raise IdentityError(
            f"{out} holds a run that also read {_names(missing)}, not among the inputs given; "
            f"give every input of that run again, or {REPLACE_HINT}"
        )
    root = Path(identity.root)
    outside = [str(p) for p in resolved if not p.is_relative_to(root)]
    if outside:
        raise IdentityError(
            f"{_names(outside)}: outside {root}, the folder of the inputs of the run in {out}; "
            "a run can only add inputs under that folder: choose another --output"
        )
    current = [_checked(recorded[entry.path], unit_done) for entry in identity.inputs]
    added = [p for p in resolved if str(p) not in recorded]
    if added and passes_ran:
        raise IdentityError(
            f"cannot add {_names([str(p) for p in added])} to {out}: "
            f"{', '.join(passes_ran)} already ran over its output; {REPLACE_HINT}"
        )
    if added:
        log.info("adding %d inputs to the run in %s", len(added), out)
    new = [InputFile.of(unit) for unit in plan_units(added, root)] if added else []
    return RunIdentity(recipe, identity.root, sorted(current + new, key=lambda e: e.path))


def _checked(entry: InputFile, unit_done: Callable[[str], bool]) -> InputFile:
    """``entry`` as the file is now; refused if it changed after its unit finished."""
    path = Path(entry.path)
    try:
        status = path.stat()
    except OSError as error:
        raise IdentityError(f"input {path}: {error.strerror or error}") from None
    if (status.st_size, status.st_mtime_ns) == (entry.bytes, entry.mtime_ns):
        return entry
    now = replace(entry, bytes=status.st_size, mtime_ns=status.st_mtime_ns)
    now = replace(now, sha256=sha256_of(path))
    if now.sha256 == entry.sha256 or not unit_done(entry.unit):
        return now  # touched only, or not processed yet: read as it is now
    raise IdentityError(
        f"input {path} changed after this run read it ({_differences(entry, now)}); "
        f"put the original back, or {REPLACE_HINT}"
    )


def _differences(before: InputFile, after: InputFile) -> str:
    parts = []
    if before.bytes != after.bytes:
        parts.append(f"size {before.bytes:,} -> {after.bytes:,} bytes")
    parts.append(f"modified {_when(before.mtime_ns)} -> {_when(after.mtime_ns)}")
    parts.append(f"sha256 {before.sha256[:12]}... -> {after.sha256[:12]}...")
    return ", ".join(parts)


def _when(mtime_ns: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(mtime_ns / 1e9))


def _names(paths: list[str]) -> str:
    shown = ", ".join(paths[:SHOWN_NAMES])
    more = len(paths) - SHOWN_NAMES
    return shown + (f" and {more} more" if more > 0 else "")
