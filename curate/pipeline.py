"""Assembling a recipe into stages, and the output schema they produce."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import pyarrow as pa

from curate.recipe import LangIdConfig, Recipe
from curate.schema import DOCUMENT_SCHEMA
from curate.stages.base import Stage
from curate.stages.extract import Extract
from curate.stages.langid import LanguageId
from curate.stages.preroute import prerouting_stages
from curate.stages.route import per_language_stages
from curate.stats import RunStats

READ_STAGE = "read"


class CorpusPass(Protocol):
    """Work over the whole output once every unit is done (e.g. dedup across shards).

    A pass rewrites shards atomically, records its drops in ``stats``, and must be safe to
    re-run after a crash.
    """

    name: str

    def run(self, out: Path, stats: RunStats) -> None: ...


def build_stages(recipe: Recipe) -> list[Stage]:
    """The per-batch stages, in order."""
    return [*prerouting_stages(recipe), *_core_stages(recipe)]


def _core_stages(recipe: Recipe) -> list[Stage]:
    """Extraction, language ID and the stages after them."""
    if recipe.route:
        return _routed_stages(recipe)
    return [Extract(recipe.extract), LanguageId(recipe.langid, recipe.languages)]


def langid_config(recipe: Recipe) -> LangIdConfig:
    """The langid settings a run of ``recipe`` uses (per-language thresholds when routed)."""
    return next(s.config for s in build_stages(recipe) if isinstance(s, LanguageId))


def _routed_stages(recipe: Recipe) -> list[Stage]:
    """One pass: one langid with each language's threshold, then each language's own stages."""
    thresholds: dict[str, float] = {}
    downstream: dict[str, list[Stage]] = {}
    for sub in recipe.route.values():
        own = _core_stages(sub)[2:]
        for code in sub.languages:
            thresholds[code] = sub.langid.min_score_per_language.get(code, sub.langid.min_score)
            downstream[code] = own
    langid = recipe.langid.model_copy(update={"min_score_per_language": thresholds})
    stages = [Extract(recipe.extract), LanguageId(langid, recipe.languages)]
    return stages + per_language_stages(downstream)


def build_corpus_passes(recipe: Recipe) -> list[CorpusPass]:
    """The whole-corpus passes, in order, run after every unit finishes."""
    del recipe
    return []


def stage_names(recipe: Recipe) -> tuple[str, ...]:
    names = [READ_STAGE, *(s.name for s in build_stages(recipe))]
    return tuple(names + [p.name for p in build_corpus_passes(recipe)])


def output_schema(stages: list[Stage]) -> pa.Schema:
    schema = DOCUMENT_SCHEMA
    for stage in stages:
        for extra in stage.output_fields:
            schema = schema.append(extra)
    return schema
