"""Assembling a recipe into stages, and the output schema they produce."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import pyarrow as pa

from curate.engine.tokenize import TokenizePass
from curate.recipe import LangIdConfig, Recipe
from curate.schema import DOCUMENT_SCHEMA
from curate.stages.base import Stage
from curate.stages.dedup import Dedup, ParallelMap
from curate.stages.erasure import ErasureFilter
from curate.stages.extract import Extract
from curate.stages.langid import LanguageId
from curate.stages.pii import PiiScrub
from curate.stages.preroute import prerouting_stages
from curate.stages.quality.optout import OptOut
from curate.stages.quality.text_filters import build_text_filters
from curate.stages.quality.url import UrlFilter
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
    if recipe.route:
        return _routed_stages(recipe)
    return [
        *_before_extract(recipe),
        Extract(recipe.extract),
        LanguageId(recipe.langid, recipe.languages),
        *_after_langid(recipe),
    ]


def _before_extract(recipe: Recipe) -> list[Stage]:
    """Erasure lists first: an erased document is touched by nothing else. Opt-out needs the
    HTML, and URL checks are cheap: both run before extraction, after the pre-filters and the
    pre-router, which drop most of a crawl for a few languages' recipe at less cost per page
    than the opt-out scan."""
    filters = recipe.filters
    stages: list[Stage] = []
    if recipe.erasure_lists():
        stages.append(ErasureFilter(tuple(recipe.erasure_lists())))
    stages += prerouting_stages(recipe)
    if filters.opt_out.enabled:
        stages.append(OptOut(filters.opt_out))
    if filters.url.enabled and filters.url.blocklists:
        stages.append(UrlFilter(filters.url))
    return stages


def _after_langid(recipe: Recipe) -> list[Stage]:
    """The stages that depend on the document's language."""
    stages: list[Stage] = list(build_text_filters(recipe.filters))
    if recipe.pii.enabled:
        stages.append(PiiScrub(recipe.pii))
    return stages


def langid_config(recipe: Recipe) -> LangIdConfig:
    """The langid settings a run of ``recipe`` uses (per-language thresholds when routed)."""
    return next(s.config for s in build_stages(recipe) if isinstance(s, LanguageId))


def _routed_stages(recipe: Recipe) -> list[Stage]:
    """One pass: one langid with each language's threshold, then each language's own stages."""
    thresholds: dict[str, float] = {}
    downstream: dict[str, list[Stage]] = {}
    for sub in recipe.route.values():
        own = _after_langid(sub)
        for code in sub.languages:
            thresholds[code] = sub.langid.min_score_per_language.get(code, sub.langid.min_score)
            downstream[code] = own
    langid = recipe.langid.model_copy(update={"min_score_per_language": thresholds})
    stages = [
        *_before_extract(recipe),
        Extract(recipe.extract),
        LanguageId(langid, recipe.languages),
    ]
    return stages + per_language_stages(downstream)


def build_corpus_passes(
    recipe: Recipe, parallel_map: ParallelMap | None = None
) -> list[CorpusPass]:
    """The whole-corpus passes, in order, run after every unit finishes.

    ``parallel_map`` (an engine's ``map``) lets a pass spread per-shard work over workers.
    """
    passes: list[CorpusPass] = []
    if recipe.dedup.enabled and (recipe.dedup.exact or recipe.dedup.near):
        passes.append(Dedup(recipe.dedup, recipe.output, parallel_map))
    if recipe.tokenize.enabled:
        passes.append(TokenizePass(recipe.tokenize, recipe.output))
    return passes


def stage_names(recipe: Recipe) -> tuple[str, ...]:
    names = [READ_STAGE, *(s.name for s in build_stages(recipe))]
    return tuple(names + [p.name for p in build_corpus_passes(recipe)])


def output_schema(stages: list[Stage]) -> pa.Schema:
    schema = DOCUMENT_SCHEMA
    for stage in stages:
        for extra in stage.output_fields:
            schema = schema.append(extra)
    return schema
