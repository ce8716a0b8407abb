"""``curate refilter``: a run that kept signals, re-decided under a new recipe.

A run with ``output.signals: true`` keeps, for every document that reached language ID, its
text and every value the filters measured (:mod:`curate.io.signals`). Refiltering applies a
new recipe's language selection, language-ID thresholds and filter thresholds to those
values, then runs the rest of the pipeline (text rewriting, PII, the corpus passes) as a full
run would: the output has the same layout, stats and ledger as ``curate run`` with the new
recipe on the same inputs, which are never read.

What signals cannot answer is refused with the recipe key that asks for it: reading,
extraction, pre-filters, the language-ID model and its decision rules, the word tokenizer,
any setting that changes what a filter measures.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate.core.errors import RunError
from curate.core.stage import Stage
from curate.engine.run_identity import RunIdentity
from curate.engine.unit import (
    Advance,
    BatchRecord,
    ProgressCallback,
    SetAside,
    UnitAssembler,
    WorkUnit,
    apply_stage,
    done_marker,
)
from curate.erasure import state as erasure
from curate.io.atomic import write_json
from curate.io.signals import signals_paths, unit_record_path
from curate.pipeline import build_stages, early_stage_names, output_schema, signals_schema
from curate.recipe import Recipe, RecipeError, parse_recipe
from curate.runner import RUN_FILE, Run, clear_output
from curate.schema import DROP_REASON, SIGNALS_ROW, SIGNALS_TEXT
from curate.stages.langid import LanguageId
from curate.stages.quality.rules import SENTENCE_CAP
from curate.stats import RunStats

_FAMILY_KEYS = {
    "gopher_repetition": (
        "enabled",
        "dup_line_frac",
        "dup_para_frac",
        "dup_line_char_frac",
        "dup_para_char_frac",
        "top_n_grams",
        "dup_n_grams",
    ),
    "gopher_quality": (
        "enabled",
        "min_doc_words",
        "max_doc_words",
        "min_avg_word_length",
        "max_avg_word_length",
        "max_symbol_word_ratio",
        "max_bullet_lines_ratio",
        "max_ellipsis_lines_ratio",
        "min_alpha_words_ratio",
        "min_stop_words",
    ),
    "c4_quality": ("min_num_sentences",),
    "fineweb_quality": (
        "enabled",
        "line_punct_thr",
        "line_punct_exclude_zero",
        "short_line_thr",
        "char_duplicates_ratio",
        "new_line_ratio",
    ),
}
# Recipe keys (dotted, fnmatch patterns) a run's kept signals can answer.
ANSWERABLE = (
    "name",
    "description",
    "languages",
    "langid.min_score",
    "langid.min_score_per_language*",
    "output.*",
    "pii*",
    "dedup*",
    "tokenize*",
    *(f"filters.{family}.{key}" for family, keys in _FAMILY_KEYS.items() for key in keys),
    *(
        f"filters.per_language.*.{family}.{key}"
        for family, keys in _FAMILY_KEYS.items()
        for key in keys
    ),
)


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """A recipe dump as ``{dotted.key: value}`` (lists are values)."""
    if not isinstance(data, dict) or (prefix and not data):
        return {prefix: data}
    flat: dict[str, Any] = {}
    for key, value in data.items():
        flat |= flatten(value, f"{prefix}.{key}" if prefix else str(key))
    return flat


def source_recipe(source: Path) -> Recipe:
    """The recipe a run used, from its manifest; the run must have kept signals."""
    manifest = source / "manifest.json"
    if not manifest.is_file():
        raise RunError(f"{source}: no manifest.json (not a finished curate run)")
    data = json.loads(manifest.read_text())["recipe"]
    if data.get("route"):
        raise RunError(f"{source}: refilter does not handle routed recipes (key route)")
    recipe = parse_recipe(data, str(manifest))
    if not recipe.output.signals:
        raise RunError(f"{source}: the run kept no signals (run it with output.signals: true)")
    return recipe


def check_answerable(old: Recipe, new: Recipe) -> None:
    """Raise naming the first key of ``new`` that a refilter of ``old`` cannot honour."""
    if new.route:
        raise RecipeError("refilter does not handle routed recipes (key route)")
    before = flatten(old.model_dump(mode="json"))
    after = flatten(new.model_dump(mode="json"))
    for key in sorted(set(before) | set(after)):
        if before.get(key) == after.get(key):
            continue
        if not any(fnmatch.fnmatchcase(key, pattern) for pattern in ANSWERABLE):
            raise RecipeError(f"refilter: {key} differs from the run's; signals cannot answer it")
    if old.languages != new.languages and _prerouted(old, new):
        raise RecipeError("refilter: languages differ and preroute chose pages by them")
    if new.output.keep_dropped_ledger and not old.output.keep_dropped_ledger:
        raise RecipeError("refilter: output.keep_dropped_ledger: the run kept no ledger")
    if new.filters.write_rejected:
        raise RecipeError("refilter: filters.write_rejected: the run kept no rejected pages")
    _check_signals_cover(old, new)


def _prerouted(*recipes: Recipe) -> bool:
    return any(s.name == "preroute" for r in recipes for s in build_stages(r))


def _check_signals_cover(old: Recipe, new: Recipe) -> None:
    kept = set((signals_schema(old) or pa.schema([])).names)
    needed = signals_schema(new.model_copy(update={"output": old.output})) or pa.schema([])
    missing = [name for name in needed.names if name not in kept]
    if missing:
        raise RecipeError(f"refilter: the run kept no signal {missing[0]} that the recipe needs")
    for language in [None, *new.filters.per_language]:
        sentences = new.filters.for_language(language).c4_quality.min_num_sentences
        if sentences is not None and sentences > SENTENCE_CAP:
            raise RecipeError(
                f"refilter: c4_quality.min_num_sentences {sentences}: "
                f"signals count sentences up to {SENTENCE_CAP}"
            )


def _decision_stages(recipe: Recipe) -> list[Stage]:
    """Language ID and every stage after it: what refiltering runs again."""
    stages = build_stages(recipe)
    first = next(i for i, s in enumerate(stages) if s.name == LanguageId.name)
    return stages[first:]


def _documents(rows: pa.Table, stages: list[Stage]) -> pa.Table:
    """Signals-table rows back into a batch as it entered language ID, with language ID's
    signals; the signals of later stages (PII counts) are measured again."""
    later = {f.name for stage in stages[1:] for f in stage.signal_fields}
    rows = rows.drop_columns([name for name in rows.column_names if name in later])
    batch = rows.drop_columns(["batch"]).rename_columns(
        [SIGNALS_ROW if n == "row" else n for n in rows.column_names if n != "batch"]
    )
    batch = batch.append_column(SIGNALS_TEXT, batch.column("text"))
    return batch.append_column(DROP_REASON, pa.nulls(batch.num_rows, pa.string()))


def _early_stats(source: Path, unit: WorkUnit, early: tuple[str, ...]) -> RunStats:
    marker = json.loads(done_marker(source, unit).read_text())["stats"]
    marker["stages"] = {k: v for k, v in marker["stages"].items() if k in early}
    marker["counters"] = {k: v for k, v in marker.get("counters", {}).items() if k in early}
    marker["seconds"] = {k: v for k, v in marker.get("seconds", {}).items() if k in early}
    return RunStats.from_dict(marker)


def _early_ledger(source: Path, unit: WorkUnit, early: tuple[str, ...]) -> pa.Table | None:
    path = source / "dropped" / f"{unit.name}.parquet"
    if not path.is_file():
        return None
    ledger = pq.read_table(path)
    return ledger.filter(pc.is_in(ledger.column("stage"), pa.array(early, pa.string())))


def _unit_signals(source: Path, unit: WorkUnit) -> pa.Table | None:
    tables = [pq.read_table(p) for p in signals_paths(source, unit.name)]
    if not tables:
        return None
    rows = pa.concat_tables(tables)
    return rows.take(pc.sort_indices(rows, [("batch", "ascending"), ("row", "ascending")]))


def refilter_unit(
    source: Path, unit: WorkUnit, recipe: Recipe, out: Path, progress: ProgressCallback
) -> dict[str, Any]:
    """One unit re-decided from its kept signals; writes what ``process_unit`` would."""
    record_path = unit_record_path(source, unit.name)
    if not record_path.is_file():
        raise RunError(f"{source}: unit {unit.name} kept no signals ({record_path} missing)")
    early_counts = json.loads(record_path.read_text())["early_ledger_rows"]
    early = early_stage_names(recipe)
    stages, aside = _decision_stages(recipe), SetAside.of(recipe)
    ledger = _early_ledger(source, unit, early)
    signals = _unit_signals(source, unit)
    assembler = UnitAssembler(unit, recipe, out, output_schema(build_stages(recipe)))
    offset = 0
    for index, early_rows in enumerate(early_counts):
        rows = (
            signals.filter(pc.equal(signals.column("batch"), index))
            if signals is not None
            else None
        )
        docs = _documents(rows, stages) if rows is not None and rows.num_rows else None
        record = BatchRecord(0, index, docs, RunStats())
        if early_rows and ledger is not None and aside.ledger:
            record.ledger.append(ledger.slice(offset, early_rows))
        offset += early_rows
        for stage in stages:
            record = apply_stage(record, stage, aside)
        assembler.add(record)
        progress(Advance(docs.num_rows if docs is not None else 0, 0))
    assembler.add(
        BatchRecord(0, len(early_counts), None, _early_stats(source, unit, early), final=True)
    )
    return assembler.finish()


@dataclass
class RefilterEngine:
    """An engine whose units come from a finished run's signals instead of its inputs."""

    source: Path

    def map(self, function: Callable[[Any], Any], items: list[Any]) -> Iterable[Any]:
        return [function(item) for item in items]

    def run(
        self,
        units: list[WorkUnit],
        recipe: Recipe,
        out: Path,
        on_progress: ProgressCallback,
        on_unit: Any,
    ) -> None:
        for unit in units:
            on_unit(refilter_unit(self.source, unit, recipe, out, on_progress))


@dataclass
class RefilterRun(Run):
    """A :class:`~curate.runner.Run` whose inputs are those ``source`` recorded (not read)."""

    source: Path = Path()

    def _prepare(self) -> list[WorkUnit]:
        erasure.refuse_pending(self.out, "refiltering into it")
        clear_output(self.out)
        recorded = json.loads((self.source / "work" / RUN_FILE).read_text())
        identity = RunIdentity.from_dict(recorded)
        identity.recipe = self.recipe.fingerprint()
        write_json(self.out / "work" / RUN_FILE, identity.to_dict())
        self.identity = identity
        return identity.units


def refilter(source: Path, recipe: Recipe, out: Path, force: bool = False) -> tuple[dict, dict]:
    """Re-decide the run in ``source`` under ``recipe`` into ``out``; (stats, timing)."""
    if source.resolve() == out.resolve():
        raise RunError(f"refilter: --output must differ from the run it reads ({source})")
    check_answerable(source_recipe(source), recipe)
    if erasure.list_path(source).is_file():
        # `curate erase` removed documents from the shards after the run, not from its
        # signals: refiltering would bring them back.
        raise RunError(
            f"refilter: {source} has documents erased after the run "
            f"({erasure.list_path(source)}); run `curate run` with the new recipe instead"
        )
    if out.exists() and any(out.iterdir()) and not force:
        raise RunError(f"{out} is not empty; use --force to replace it or choose another --output")
    inputs = json.loads((source / "manifest.json").read_text())["inputs"]
    run = RefilterRun(recipe, [Path(entry["path"]) for entry in inputs], out, force, source)
    return run.execute(RefilterEngine(source))
