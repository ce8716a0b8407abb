"""A run: plan units from the inputs, resume, run an engine, then account and record.

Outputs beside the shards: ``stats.json`` (deterministic), ``timing.json`` (seconds per stage),
``manifest.json`` (resolved recipe, versions, each stage's description and model files with
their checksums, inputs with checksums).

A run holds ``OUT/.curate.lock`` from start to end. SIGINT and SIGTERM stop it between
documents: workers are stopped, finished units stay committed, temporaries are removed, and
:class:`Interrupted` carries the one line to print and the exit status (130 / 143).
"""

from __future__ import annotations

import errno
import glob
import json
import logging
import os
import platform
import re
import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

from curate import __version__
from curate.core.errors import RunError
from curate.core.hashing import sha256_of
from curate.core.layout import EU_SUMMARY, README
from curate.core.registry import describe_stage
from curate.core.stage import ParallelMap
from curate.engine.progress import ConsoleProgress, RunProgress
from curate.engine.run_identity import IdentityError, RunIdentity, new_identity, resume_identity
from curate.engine.unit import ProgressCallback, WorkUnit, done_marker
from curate.erasure import state as erasure
from curate.io.atomic import remove_stale_temps, write_json
from curate.io.lock import OutputLock, OutputLocked
from curate.io.readers import FORMATS, input_format
from curate.models.langid import locate_model, registry
from curate.pipeline import build_corpus_passes, build_stages, stage_names
from curate.recipe import Recipe
from curate.stats import RunStats

log = logging.getLogger(__name__)
RECORDED_PACKAGES = (
    "trafilatura",
    "fasttext-numpy2",
    "fastwarc",
    "resiliparse",
    "pyarrow",
    "polars",
    "datatrove",
    "numpy",
    "scipy",
    "pydantic",
    "tokenizers",
    "mistral_common",
    "tiktoken",
)


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived; ``message`` is the line to print once the run has stopped.

    A ``BaseException``, as ``KeyboardInterrupt`` is: no ``except Exception`` may swallow it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.exit_code = 128 + signum
        self.message = f"interrupted by {signal.Signals(signum).name}"


class Engine(Protocol):
    map: ParallelMap

    def run(
        self,
        units: list[WorkUnit],
        recipe: Recipe,
        out: Path,
        on_progress: ProgressCallback,
        on_unit: Any,
    ) -> None: ...


RUN_FILES = ("stats.json", "timing.json", "manifest.json")
RUN_DIRS = ("data", "dropped", "rejected", "signals", "tokens", "work")
CARD_ASSETS = "assets"
PASSES_FILE = "passes.json"
RUN_FILE = "run.json"
SHOWN_SKIPPED = 5
# Writing failures reported as one line (the path and the cause), not as a traceback.
WRITE_ERRORS = frozenset({errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EACCES, errno.EPERM})


URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def refuse_url(spec: str, what: str) -> None:
    """One line for a URL (``s3://``, ``https://``...) where only a path works yet, with the
    URL as given: ``Path`` would fold its ``//`` and name another thing (``s3:/a/b``)."""
    if URL.match(spec):
        raise RunError(
            f"{what} {spec}: URLs are not supported yet; give a local path "
            "(on a cluster, a shared file system)"
        )


def expand_inputs(specs: list[str], exclude: Path | None = None) -> list[Path]:
    """Paths as given (a shell may have expanded globs already), globs, or directories.

    Returns resolved paths. Directories are searched for supported files, skipping hidden
    files and folders (as shells and ``datasets`` do) and ``exclude`` (the output: its shards
    and ledgers are not inputs); the files of unknown format are logged.
    """
    excluded = exclude.resolve() if exclude is not None else None
    paths: list[Path] = []
    for spec in specs:
        refuse_url(spec, "input")
        matches = sorted(glob.glob(spec)) if glob.has_magic(spec) else [spec]
        if not matches:
            raise RunError(f"input not found: {spec} matches no file")
        for match in matches:
            path = Path(match)
            if path.is_dir():
                paths.extend(_supported_files(path, excluded))
            elif path.is_file():
                input_format(path)
                paths.append(path.resolve())
            else:
                raise RunError(f"input not found: {path}")
    kept = [p for p in paths if excluded is None or not p.is_relative_to(excluded)]
    if len(kept) < len(paths):
        log.warning("skipped %d inputs inside the output %s", len(paths) - len(kept), exclude)
    if not kept:
        raise RunError("no input files given")
    return sorted(set(kept), key=str)


def _supported_files(directory: Path, excluded: Path | None) -> list[Path]:
    suffixes = tuple(s for suffixes, _ in FORMATS.values() for s in suffixes)
    found: list[Path] = []
    unknown: list[str] = []
    for folder, subfolders, files in os.walk(directory.resolve()):
        here = Path(folder)
        subfolders[:] = sorted(
            name
            for name in subfolders
            if not name.startswith(".") and (excluded is None or here / name != excluded)
        )
        for name in sorted(files):
            if name.startswith("."):
                continue
            if name.lower().endswith(suffixes):
                found.append(here / name)
            else:
                unknown.append(str((here / name).relative_to(directory.resolve())))
    if unknown:
        shown = ", ".join(unknown[:SHOWN_SKIPPED]) + (
            " ..." if len(unknown) > SHOWN_SKIPPED else ""
        )
        log.warning("%s: skipped %d files of unknown format: %s", directory, len(unknown), shown)
    return found


def clear_output(out: Path) -> None:
    """Delete everything a run, ``curate card`` and the passes wrote to ``out`` (``--force``),
    so a run killed early never leaves the previous run's stats, manifest or card beside its
    shards. Other files in ``out`` are the user's and stay.

    ``work/run.json`` first becomes a tombstone: a run killed while clearing leaves it, and
    the next run finishes the clearing (see :meth:`Run._prepare`). SIGINT and SIGTERM wait
    until the clearing is done.
    """
    run_file = out / "work" / RUN_FILE
    with deferred_interrupts():
        write_json(run_file, {"clearing": True})
        for name in (*RUN_FILES, README, EU_SUMMARY):
            (out / name).unlink(missing_ok=True)
        for part in (*RUN_DIRS, CARD_ASSETS):
            if part != "work":
                shutil.rmtree(out / part, ignore_errors=True)
        for entry in (out / "work").iterdir():
            if entry.is_dir():
                shutil.rmtree(entry)
            elif entry != run_file:
                entry.unlink()


@dataclass
class _Deferral:
    depth: int = 0
    pending: int | None = None


_DEFERRAL = _Deferral()


@contextmanager
def deferred_interrupts() -> Iterator[None]:
    """A signal arriving inside waits until the block ends (it must not stop half-way)."""
    _DEFERRAL.depth += 1
    try:
        yield
    finally:
        _DEFERRAL.depth -= 1
        if not _DEFERRAL.depth and _DEFERRAL.pending is not None:
            signum, _DEFERRAL.pending = _DEFERRAL.pending, None
            raise Interrupted(signum)


@contextmanager
def interruptible() -> Iterator[None]:
    """SIGINT and SIGTERM raise :class:`Interrupted` in the main thread; once: a second
    signal while the run stops is ignored, so the cleanup runs to its end."""

    def interrupt(signum: int, _frame: FrameType | None) -> None:
        for name in (signal.SIGINT, signal.SIGTERM):
            signal.signal(name, signal.SIG_IGN)
        if _DEFERRAL.depth:
            _DEFERRAL.pending = signum
            return
        raise Interrupted(signum)

    previous = {name: signal.signal(name, interrupt) for name in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for name, handler in previous.items():
            signal.signal(name, handler)


@dataclass
class Run:
    recipe: Recipe
    inputs: list[Path]
    out: Path
    force: bool = False
    identity: RunIdentity | None = field(default=None, init=False)

    def execute(
        self, engine: Engine, progress: RunProgress | None = None
    ) -> tuple[dict[str, Any], dict[str, float]]:
        """Run (or resume) over the inputs, then the corpus passes; ``progress`` shows it
        (default: bars on standard error). :class:`RunError` or :class:`Interrupted` if not."""
        units: list[WorkUnit] = []
        try:
            with OutputLock(self.out), interruptible():
                try:
                    units = self._prepare()
                    return self._execute(engine, units, progress or ConsoleProgress())
                except BaseException:
                    remove_stale_temps(self.out)  # ours: the lock keeps other runs away
                    raise
        except Interrupted as stop:
            done = sum(done_marker(self.out, u).exists() for u in units)
            total = len(units) or len(self.inputs)
            stop.message = (
                f"interrupted: {done} of {total} inputs done; run the same command to resume"
            )
            raise
        except (OutputLocked, IdentityError, erasure.ErasurePending) as error:
            raise RunError(str(error)) from None
        except OSError as error:
            if error.errno not in WRITE_ERRORS and "errno 28" not in str(error).lower():
                raise
            log.debug("run stopped", exc_info=True)
            where = error.filename or self.out
            cause = " ".join(str(error.strerror or error).split())  # Arrow's have line breaks
            raise RunError(f"cannot write {where}: {cause}") from None

    def _prepare(self) -> list[WorkUnit]:
        """Check the output against the run it may hold; record this run's identity."""
        erasure.refuse_pending(self.out, "running on it again")
        run_file = self.out / "work" / RUN_FILE
        previous = json.loads(run_file.read_text()) if run_file.exists() else None
        if self.force or (previous and previous.get("clearing")):
            clear_output(self.out)
            previous = None
        fingerprint = self.recipe.fingerprint()
        if previous is not None:
            identity = resume_identity(
                self.out,
                previous,
                fingerprint,
                self.inputs,
                lambda unit: (self.out / "work" / "done" / f"{unit}.json").exists(),
                self._passes_ran(),
            )
        else:
            identity = new_identity(fingerprint, self.inputs)
        write_json(run_file, identity.to_dict())
        self.identity = identity
        remove_stale_temps(self.out)
        return identity.units

    def _passes_ran(self) -> list[str]:
        """The corpus passes that started over the output (adding inputs after them is
        refused); none when the recipe has none to run again."""
        passes_file = self.out / "work" / PASSES_FILE
        if not passes_file.is_file() or not build_corpus_passes(self.recipe):
            return []
        return list(json.loads(passes_file.read_text())["passes"])

    def _execute(
        self, engine: Engine, units: list[WorkUnit], display: RunProgress
    ) -> tuple[dict[str, Any], dict[str, float]]:
        # the output's own erasure list joins the recipe's: erased documents stay out
        recipe = erasure.with_output_list(self.recipe, self.out)
        todo = [u for u in units if not done_marker(self.out, u).exists()]
        if len(todo) < len(units):
            log.info("resuming: %d of %d units already done", len(units) - len(todo), len(units))
        if todo:  # the output changes: the summaries of an earlier run no longer describe it
            for name in RUN_FILES:
                (self.out / name).unlink(missing_ok=True)
        done_units = [u for u in units if u not in todo]
        display.start(
            total_bytes=sum(u.path.stat().st_size for u in units),
            done_bytes=sum(u.path.stat().st_size for u in done_units),
            total_files=len(units),
            done_files=len(done_units),
        )
        try:
            engine.run(
                todo,
                recipe,
                self.out,
                on_progress=display.advance,
                on_unit=lambda _result: display.unit_done(),
            )
        finally:
            display.stop()
        stats, timing = self._merge(units, recipe)
        corpus_passes = build_corpus_passes(recipe, engine.map)
        if corpus_passes:
            passes = {"passes": [p.name for p in corpus_passes]}
            write_json(self.out / "work" / PASSES_FILE, passes)
        for corpus_pass in corpus_passes:
            corpus_pass.run(self.out, stats)
        erasure.account(self.out, stats)
        summary = stats.to_dict()
        write_json(self.out / "stats.json", summary, sort_keys=False)
        timing = {k: round(v, 3) for k, v in {**timing, **stats.seconds}.items()}
        write_json(self.out / "timing.json", timing, sort_keys=False)
        write_json(self.out / "manifest.json", self._manifest())
        return summary, timing

    def _merge(self, units: list[WorkUnit], recipe: Recipe) -> tuple[RunStats, dict[str, float]]:
        stats = RunStats(stage_names(recipe))
        for unit in units:
            marker = json.loads(done_marker(self.out, unit).read_text())
            stats.merge(RunStats.from_dict(marker["stats"]))
        return stats, dict(stats.seconds)

    def _manifest(self) -> dict[str, Any]:
        assert self.identity is not None
        model = locate_model(self.recipe.langid.model, self.recipe.langid.model_path)
        spec = registry().get(self.recipe.langid.model)
        manifest = {
            "curate_version": __version__,
            "python": platform.python_version(),
            "recipe": self.recipe.model_dump(mode="json"),
            "recipe_fingerprint": self.recipe.fingerprint(),
            "packages": {name: _version(name) for name in RECORDED_PACKAGES},
            "langid_model": {
                "name": self.recipe.langid.model,
                "file": model.name,
                "sha256": sha256_of(model),
                "source_url": spec.source_url if spec else None,
                "licence": spec.licence if spec else None,
            },
            "stages": _stages(self.recipe),
            "tokenizer": _tokenizer(self.out),
            "inputs": [
                {
                    "unit": entry.unit,
                    "source": entry.source,
                    "path": entry.path,
                    "bytes": entry.bytes,
                    "sha256": entry.sha256,
                }
                for entry in self.identity.inputs
            ],
        }
        erased = erasure.manifest_entry(self.out, self.recipe.erasure_lists())
        return manifest if erased is None else {**manifest, "erasure": erased}


def _stages(recipe: Recipe) -> list[dict[str, Any]]:
    """Each stage and pass in run order: what it does and the model files it loaded."""
    checksums: dict[Path, str] = {}
    entries = []
    for stage in build_stages(recipe):
        models = [
            {
                "name": model.name,
                "file": model.path.name,
                "sha256": checksums.setdefault(model.path, sha256_of(model.path)),
            }
            for model in stage.models()
        ]
        entries.append(_stage_entry(stage.name, models))
    return entries + [_stage_entry(p.name, []) for p in build_corpus_passes(recipe)]


def _stage_entry(name: str, models: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": name, "description": describe_stage(name), "models": models}


def _tokenizer(out: Path) -> dict[str, Any] | None:
    """The tokenize pass's tokenizer identity (file, sha256, vocabulary, BOS/EOS ids, dtype)."""
    summary = out / "tokens" / "tokens.json"
    if not summary.is_file():
        return None
    return {k: v for k, v in json.loads(summary.read_text()).items() if k != "languages"}


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None
