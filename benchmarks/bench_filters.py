"""Quality filters: curate's stages vs datatrove's filters, same documents, same thresholds.

Documents: the real html-eval pages and WARC records of ../shared/data (extracted and labelled
by curate's stages) plus lingua's labelled sentences as 25-line documents; European scripts
only (datatrove's CJK tokenizers need packages curate does not install).

Two settings: datatrove's defaults (FineWeb's English setup, all four families) and each
document's shipped recipe values (FineWeb-2's per-language thresholds, three families).
Per setting: each family alone, then the families in sequence as a pipeline runs them
(a dropped document goes no further; C4's rewritten text goes on). One process pinned to one
core; each timing is the best of three repeats with word caches emptied first. The decisions
of both sides are compared and must be identical.

    CURATE_SHARED_DATA=../shared/data python benchmarks/bench_filters.py [--pages N]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

import pyarrow as pa
from common import SHARED_DATA, print_table

from curate.recipe import load_recipe, locate_recipe
from curate.schema import make_batch, split_kept
from curate.stages.quality import words as curate_words
from curate.stages.quality.config import FiltersConfig, LanguageFilters
from curate.stages.quality.rules import GOPHER_STOP_WORDS
from curate.stages.quality.text_filters import TEXT_FILTER_STAGES, document_context
from curate.testing.datatrove_filters import build_datatrove_filter
from curate.testing.quality_docs import real_documents

REPEATS = 3
BATCH = 500
NEVER = 1e9  # a datatrove threshold no document reaches: the rule curate disables with null


def datatrove_kwargs(family: str, settings: LanguageFilters, stop_words: frozenset) -> dict:
    """curate settings as datatrove keyword arguments."""
    section = getattr(settings, family).model_dump(exclude={"enabled"})
    if family == "gopher_repetition":
        return {k: (0 if v is None else v) for k, v in section.items()}
    if family == "gopher_quality":
        section["max_non_alpha_words_ratio"] = section.pop("min_alpha_words_ratio")
        section["stop_words"] = sorted(stop_words)
        return {k: (0 if v is None else v) for k, v in section.items()}
    if family == "c4_quality":
        return {k: (-1 if v is None else v) for k, v in section.items()}
    section["stop_chars"] = None if section["stop_chars"] is None else tuple(section["stop_chars"])
    for key in ("short_line_thr", "char_duplicates_ratio", "new_line_ratio"):
        section[key] = NEVER if section[key] is None else section[key]
    section["line_punct_thr"] = section["line_punct_thr"] or 0
    return section


def datatrove_filters(family: str, filters_by_language: dict[str, FiltersConfig]) -> dict:
    built = {}
    for language, config in filters_by_language.items():
        ctx = document_context(config, language)
        kwargs = datatrove_kwargs(family, ctx.settings, ctx.stop_words)
        built[language] = build_datatrove_filter(family, language, ctx.tokenizer_code, kwargs)
    return built


def time_datatrove(families: list[str], configs: dict, docs: list) -> tuple[float, list]:
    from datatrove.data import Document
    from datatrove.utils.text import split_into_parts

    filters = {f: datatrove_filters(f, configs) for f in families}
    best, decisions = float("inf"), []
    for _ in range(REPEATS):
        split_into_parts.cache_clear()
        decisions = []
        start = time.perf_counter()
        for i, (language, text) in enumerate(docs):
            doc, reason = Document(text=text, id=str(i)), None
            for family in families:
                result = filters[family][language].filter(doc)
                if result is not True:
                    reason = (family, result[1] if isinstance(result, tuple) else None)
                    break
            decisions.append(reason[0] if reason else None)
        best = min(best, time.perf_counter() - start)
    return best, decisions


def time_curate(families: list[str], config_for: Callable, docs: list) -> tuple[float, list]:
    batches = [
        make_batch(
            [{"id": str(i + j), "text": t, "language": lang} for j, (lang, t) in enumerate(chunk)]
        )
        for i in range(0, len(docs), BATCH)
        for chunk in [docs[i : i + BATCH]]
    ]
    best, decisions = float("inf"), []
    for _ in range(REPEATS):
        curate_words.WORDS.clear()
        stages = [s(config_for()) for s in TEXT_FILTER_STAGES if s.family in families]
        dropped_by: dict[str, str] = {}
        start = time.perf_counter()
        for batch in batches:
            kept = batch
            for stage in stages:
                after = stage(kept)
                kept, dropped = split_kept(after)
                for doc_id in dropped.column("id").to_pylist():
                    dropped_by[doc_id] = stage.name
        best = min(best, time.perf_counter() - start)
        decisions = [dropped_by.get(str(i)) for i in range(len(docs))]
    return best, decisions


def warm_up(docs: list, configs: dict) -> None:
    """Load every language's tokenizer on both sides so neither timing includes model loading."""
    seen: dict[str, str] = {}
    for language, text in docs:
        seen.setdefault(language, text[:200])
    sample = list(seen.items())
    time_datatrove(["gopher_quality"], configs, sample)
    time_curate(["gopher_quality"], lambda: next(iter(configs.values())), sample)


def language_configs(docs: list, shipped: bool) -> dict[str, FiltersConfig]:
    languages = sorted({lang for lang, _ in docs})
    if not shipped:
        default = FiltersConfig.model_validate(
            {"gopher_quality": {"stop_words": list(GOPHER_STOP_WORDS)}}
        )
        return dict.fromkeys(languages, default)
    configs = {}
    for language in languages:
        recipe = locate_recipe(language)
        configs[language] = load_recipe(recipe).filters if recipe.exists() else FiltersConfig()
    return configs


def combined(configs: dict[str, FiltersConfig]) -> FiltersConfig:
    """One curate config holding each language's settings as per-language overrides."""
    overrides = {}
    for language, config in configs.items():
        settings = config.for_language(language).model_dump()
        overrides[language] = settings
    return FiltersConfig.model_validate({"per_language": overrides})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=250, help="html-eval pages to use")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    docs = [
        (lang, text)
        for lang, text in real_documents(SHARED_DATA, pages=args.pages)
        if lang.endswith(("_Latn", "_Cyrl", "_Grek"))
    ]
    chars = sum(len(t) for _, t in docs)
    print(
        f"{len(docs)} documents, {chars / len(docs):,.0f} characters on average, "
        f"{len({lang for lang, _ in docs})} languages"
    )
    rows: list[list[Any]] = []
    for label, shipped, families in [
        ("datatrove defaults", False, [s.family for s in TEXT_FILTER_STAGES]),
        (
            "FineWeb-2 per language",
            True,
            ["gopher_repetition", "fineweb_quality", "gopher_quality"],
        ),
    ]:
        configs = language_configs(docs, shipped)
        config = combined(configs)
        warm_up(docs, configs)
        ordered = [s.family for s in TEXT_FILTER_STAGES if s.family in families]
        for run in [[f] for f in ordered] + [ordered]:
            name = run[0] if len(run) == 1 else "all, in sequence"
            dt_seconds, dt_decisions = time_datatrove(run, configs, docs)
            cu_seconds, cu_decisions = time_curate(run, lambda c=config: c, docs)
            same = sum(a == b for a, b in zip(dt_decisions, cu_decisions, strict=True))
            rows.append(
                [
                    label,
                    name,
                    len(docs) / dt_seconds,
                    len(docs) / cu_seconds,
                    f"{dt_seconds / cu_seconds:.2f}x",
                    f"{same}/{len(docs)}",
                ]
            )
    print_table(
        "Filter throughput on one core (docs/s, best of 3)",
        ["setting", "filters", "datatrove", "curate", "curate / datatrove", "same decisions"],
        rows,
    )


if __name__ == "__main__":
    pa.set_cpu_count(1)
    main()
