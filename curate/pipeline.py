"""Assembling a recipe into stages, and the output schema they produce."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import pyarrow as pa

from curate.recipe import Recipe
from curate.schema import DOCUMENT_SCHEMA
from curate.stages.base import Stage
from curate.stages.extract import Extract
from curate.stages.langid import LanguageId
from curate.stages.quality.optout import OptOut
from curate.stages.quality.text_filters import build_text_filters
from curate.stages.quality.url import UrlFilter
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
    filters = recipe.filters
    # Opt-out needs the HTML, and URL checks are cheap: both run before extraction.
    before_extract: list[Stage] = [OptOut(filters.opt_out)] if filters.opt_out.enabled else []
    if filters.url.enabled and filters.url.blocklists:
        before_extract.append(UrlFilter(filters.url))
    return [
        *before_extract,
        Extract(recipe.extract),
        LanguageId(recipe.langid, recipe.languages),
        *build_text_filters(filters),
    ]


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
