"""A run: plan units from the inputs, resume, run an engine, then account and record.

Outputs beside the shards: ``stats.json`` (deterministic), ``timing.json`` (seconds per stage),
``manifest.json`` (resolved recipe, versions, each stage's description and model files with
their checksums, inputs with checksums).
"""

from __future__ import annotations

import glob
import json
import logging
import platform
import shutil
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from curate import __version__
from curate.core.errors import RunError
from curate.core.hashing import sha256_of
from curate.core.registry import describe_stage
from curate.core.stage import ParallelMap
from curate.engine.unit import ProgressCallback, WorkUnit, done_marker, plan_units
from curate.erasure import state as erasure
from curate.io.atomic import remove_stale_temps, write_json
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


class Engine(Protocol):
    map: ParallelMap

    def run(
        self,
        units: list[WorkUnit],
        recipe: Recipe,
        out: Path,
        on_docs: ProgressCallback,
        on_unit: Any,
    ) -> None: ...


def expand_inputs(specs: list[str]) -> list[Path]:
    """Paths as given (a shell may have expanded globs already), globs, or directories."""
    paths: list[Path] = []
    for spec in specs:
        matches = sorted(glob.glob(spec)) if glob.has_magic(spec) else [spec]
        if not matches:
            raise RunError(f"input not found: {spec} matches no file")
        for match in matches:
            path = Path(match)
            if path.is_dir():
                paths.extend(_supported_files(path))
            elif path.is_file():
                input_format(path)
                paths.append(path)
            else:
                raise RunError(f"input not found: {path}")
    if not paths:
        raise RunError("no input files given")
    return sorted(set(paths), key=str)


def _supported_files(directory: Path) -> list[Path]:
    suffixes = tuple(s for suffixes, _ in FORMATS.values() for s in suffixes)
    return sorted(p for p in directory.rglob("*") if p.is_file() and p.name.endswith(suffixes))


@dataclass
class Run:
    recipe: Recipe
    inputs: list[Path]
    out: Path
    force: bool = False

    def _check_previous(self) -> None:
        run_file = self.out / "work" / "run.json"
        identity = {"recipe": self.recipe.fingerprint(), "inputs": [str(p) for p in self.inputs]}
        if run_file.exists():
            previous = json.loads(run_file.read_text())
            if previous != identity and not self.force:
                what = "recipe" if previous["recipe"] != identity["recipe"] else "inputs"
                raise RunError(
                    f"{self.out} holds a run with a different {what}; "
                    "use --force to replace it or choose another --output"
                )
            if previous != identity:
                for part in ("data", "dropped", "rejected", "work", "tokens"):
                    shutil.rmtree(self.out / part, ignore_errors=True)
        write_json(run_file, identity)
        remove_stale_temps(self.out)

    def execute(self, engine: Engine) -> tuple[dict[str, Any], dict[str, float]]:
        try:
            erasure.refuse_pending(self.out, "running on it again")
        except erasure.ErasurePending as error:
            raise RunError(str(error)) from None
        self._check_previous()
        # the output's own erasure list joins the recipe's: erased documents stay out
        recipe = erasure.with_output_list(self.recipe, self.out)
        units = plan_units(self.inputs)
        todo = [u for u in units if not done_marker(self.out, u).exists()]
        if len(todo) < len(units):
            log.info("resuming: %d of %d units already done", len(units) - len(todo), len(units))
        with _progress() as progress:
            docs = progress.add_task("documents", total=None)
            done = progress.add_task(
                "input files", total=len(units), completed=len(units) - len(todo)
            )
            engine.run(
                todo,
                recipe,
                self.out,
                on_docs=lambda n: progress.advance(docs, n),
                on_unit=lambda _result: progress.advance(done, 1),
            )
        stats, timing = self._merge(units, recipe)
        for corpus_pass in build_corpus_passes(recipe, engine.map):
            corpus_pass.run(self.out, stats)
        erasure.account(self.out, stats)
        summary = stats.to_dict()
        write_json(self.out / "stats.json", summary, sort_keys=False)
        timing = {k: round(v, 3) for k, v in {**timing, **stats.seconds}.items()}
        write_json(self.out / "timing.json", timing, sort_keys=False)
        write_json(self.out / "manifest.json", self._manifest(units))
        return summary, timing

    def _merge(self, units: list[WorkUnit], recipe: Recipe) -> tuple[RunStats, dict[str, float]]:
        stats = RunStats(stage_names(recipe))
        for unit in units:
            marker = json.loads(done_marker(self.out, unit).read_text())
            stats.merge(RunStats.from_dict(marker["stats"]))
        return stats, dict(stats.seconds)

    def _manifest(self, units: list[WorkUnit]) -> dict[str, Any]:
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
                    "unit": u.name,
                    "path": str(u.path),
                    "bytes": u.path.stat().st_size,
                    "sha256": sha256_of(u.path),
                }
                for u in units
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


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=False,
    )
