"""Assembling a recipe into stages and corpus passes, from the registry, and their schema."""

from __future__ import annotations

import pyarrow as pa

from curate.core.registry import Phase, registrations
from curate.core.stage import CorpusPass, ParallelMap, Stage
from curate.recipe import Recipe
from curate.schema import DOCUMENT_SCHEMA, SIGNALS_SCHEMA
from curate.stages.langid import LangIdConfig, LanguageId
from curate.stages.route import per_language_stages

READ_STAGE = "read"


def build_stages(recipe: Recipe) -> list[Stage]:
    """The per-batch stages, in registry order: page, text, then document stages.

    A routed recipe runs one pass: document stages come from each routed recipe and run on
    that recipe's languages only (:class:`~curate.stages.route.PerLanguage`).
    """
    stages = _phase(recipe, "page") + _phase(recipe, "text")
    if not recipe.route:
        return stages + _phase(recipe, "document")
    downstream: dict[str, list[Stage]] = {}
    for sub in recipe.route.values():
        own = _phase(sub, "document")
        for code in sub.languages:
            downstream[code] = own
    return stages + per_language_stages(downstream)


def _phase(recipe: Recipe, phase: Phase) -> list[Stage]:
    built = (entry.build(recipe) for entry in registrations(phase))
    return [stage for stage in built if stage is not None]


def build_corpus_passes(
    recipe: Recipe, parallel_map: ParallelMap | None = None
) -> list[CorpusPass]:
    """The whole-corpus passes, in order, run after every unit finishes.

    ``parallel_map`` (an engine's ``map``) lets a pass spread per-shard work over workers.
    """
    built = (entry.build(recipe, parallel_map) for entry in registrations("corpus"))
    return [corpus_pass for corpus_pass in built if corpus_pass is not None]


def langid_config(recipe: Recipe) -> LangIdConfig:
    """The langid settings a run of ``recipe`` uses (per-language thresholds when routed)."""
    return LanguageId.from_recipe(recipe).config


def stage_names(recipe: Recipe) -> tuple[str, ...]:
    names = [READ_STAGE, *(s.name for s in build_stages(recipe))]
    return tuple(names + [p.name for p in build_corpus_passes(recipe)])


def output_schema(stages: list[Stage]) -> pa.Schema:
    """The output columns: the document schema and the fields each stage declares it adds."""
    schema = DOCUMENT_SCHEMA
    for stage in stages:
        for extra in stage.output_fields:
            schema = schema.append(extra)
    return schema


def signals_schema(recipe: Recipe) -> pa.Schema | None:
    """The signals table's columns when the recipe keeps signals (``output.signals``)."""
    if not recipe.output.signals:
        return None
    schema = SIGNALS_SCHEMA
    for stage in build_stages(recipe):
        for extra in stage.signal_fields:
            schema = schema.append(extra)
    return schema


def early_stage_names(recipe: Recipe) -> tuple[str, ...]:
    """The stages before language ID: what a run's kept signals cannot re-decide."""
    names = [READ_STAGE]
    for stage in build_stages(recipe):
        if stage.name == LanguageId.name:
            break
        names.append(stage.name)
    return tuple(names)
