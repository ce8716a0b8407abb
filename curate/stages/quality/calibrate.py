"""Calibration: every filter statistic on a reference sample, thresholds at chosen quantiles.

This is FineWeb-2's way of adapting English thresholds to another language: measure the
statistics on text known to be good in that language and put each threshold at a quantile of
its distribution, so a rule drops about the same share of good text in every language.
A ``min`` threshold (documents below it drop) goes at the low quantile, a ``max`` threshold
at the high one; integers are rounded outward and fractions to 3 decimals outward, so the
document at the quantile itself is kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from curate.stages.quality import rules
from curate.stages.quality.config import TEXT_FILTERS, FiltersConfig
from curate.stages.quality.text_filters import DocumentContext

DISTRIBUTION_QUANTILES = (0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99)


def measure_document(text: str, ctx: DocumentContext) -> dict[str, float]:
    """Every statistic the four text-filter families decide on, for one document."""
    settings, words = ctx.settings, ctx.words(text)
    stats: dict[str, float] = {}
    stats |= rules.measure_gopher_repetition(text, settings.gopher_repetition, words)
    stats |= rules.measure_gopher_quality(text, settings.gopher_quality, words, ctx.stop_words)
    stats |= rules.measure_c4(text, settings.c4_quality, ctx.sentences)
    stats |= rules.measure_fineweb_quality(text, settings.fineweb_quality, words)
    return stats


@dataclass(frozen=True)
class Threshold:
    """A recipe key (``family.key``, or ``family.key[n]`` for n-gram lists) and its statistics."""

    family: str
    key: str
    statistics: tuple[str, ...]
    side: Literal["min", "max"]
    integer: bool = False
    ngram: int | None = None

    @property
    def label(self) -> str:
        suffix = f"[{self.ngram}]" if self.ngram is not None else ""
        return f"{self.family}.{self.key}{suffix}"


def thresholds_for(ctx: DocumentContext) -> list[Threshold]:
    rep = ctx.settings.gopher_repetition
    table = [
        Threshold("gopher_repetition", "dup_line_frac", ("dup_line_frac",), "max"),
        Threshold("gopher_repetition", "dup_para_frac", ("dup_para_frac",), "max"),
        Threshold("gopher_repetition", "dup_line_char_frac", ("dup_line_char_frac",), "max"),
        Threshold("gopher_repetition", "dup_para_char_frac", ("dup_para_char_frac",), "max"),
    ]
    table += [
        Threshold("gopher_repetition", "top_n_grams", (f"top_{n}_gram",), "max", ngram=n)
        for n, _ in rep.top_n_grams
    ]
    table += [
        Threshold("gopher_repetition", "dup_n_grams", (f"dup_{n}_gram",), "max", ngram=n)
        for n, _ in rep.dup_n_grams
    ]
    table += [
        Threshold("gopher_quality", "min_doc_words", ("doc_words",), "min", integer=True),
        Threshold("gopher_quality", "max_doc_words", ("doc_words",), "max", integer=True),
        Threshold("gopher_quality", "min_avg_word_length", ("avg_word_length",), "min"),
        Threshold("gopher_quality", "max_avg_word_length", ("avg_word_length",), "max"),
        Threshold(
            "gopher_quality",
            "max_symbol_word_ratio",
            ("hash_word_ratio", "ellipsis_word_ratio"),
            "max",
        ),
        Threshold("gopher_quality", "max_bullet_lines_ratio", ("bullet_lines_ratio",), "max"),
        Threshold("gopher_quality", "max_ellipsis_lines_ratio", ("ellipsis_lines_ratio",), "max"),
        Threshold("gopher_quality", "min_alpha_words_ratio", ("alpha_words_ratio",), "min"),
        Threshold("gopher_quality", "min_stop_words", ("stop_words",), "min", integer=True),
        Threshold("c4_quality", "min_num_sentences", ("sentences",), "min", integer=True),
        Threshold("fineweb_quality", "line_punct_thr", ("line_punct_ratio",), "min"),
        Threshold("fineweb_quality", "short_line_thr", ("short_line_ratio",), "max"),
        Threshold("fineweb_quality", "char_duplicates_ratio", ("char_dup_ratio",), "max"),
        Threshold("fineweb_quality", "new_line_ratio", ("new_line_ratio",), "max"),
    ]
    return table


def current_value(ctx: DocumentContext, threshold: Threshold) -> Any:
    value = getattr(getattr(ctx.settings, threshold.family), threshold.key)
    if threshold.ngram is not None:
        return dict(value).get(threshold.ngram)
    return value


def _outward(value: float, side: str, integer: bool) -> float | int:
    if math.isnan(value):
        return value
    if integer:
        return int(math.floor(value) if side == "min" else math.ceil(value))
    scaled = value * 1000
    rounded = math.floor(scaled + 1e-9) if side == "min" else math.ceil(scaled - 1e-9)
    return round(rounded / 1000, 3)


@dataclass
class Calibration:
    language: str
    documents: int
    low: float
    high: float
    distributions: dict[str, np.ndarray]
    thresholds: list[tuple[Threshold, Any, float | int]] = field(default_factory=list)
    disabled_families: frozenset[str] = frozenset()

    def overrides(self) -> dict[str, dict[str, Any]]:
        """Calibrated values as a ``filters.per_language.<language>`` recipe block."""
        block: dict[str, dict[str, Any]] = {}
        for threshold, current, value in self.thresholds:
            if current is None or (isinstance(value, float) and math.isnan(value)):
                continue  # a rule the recipe disables stays disabled
            if threshold.family in self.disabled_families:
                continue
            section = block.setdefault(threshold.family, {})
            if threshold.ngram is None:
                section[threshold.key] = value
            else:
                section.setdefault(threshold.key, []).append([threshold.ngram, value])
        return block


def calibrate(texts: list[str], ctx: DocumentContext, low: float, high: float) -> Calibration:
    measured = [measure_document(text, ctx) for text in texts]
    if not measured:
        raise ValueError("the sample holds no documents with text")
    names = list(measured[0])
    distributions = {
        name: np.array([m.get(name, np.nan) for m in measured], dtype=float) for name in names
    }
    return calibrate_distributions(distributions, len(measured), ctx, low, high)


def calibrate_distributions(
    distributions: dict[str, np.ndarray],
    documents: int,
    ctx: DocumentContext,
    low: float,
    high: float,
) -> Calibration:
    """Thresholds at quantiles of measured statistics (from texts, or a run's signals)."""
    if not documents:
        raise ValueError("the sample holds no documents with text")
    result = Calibration(ctx.language or "und", documents, low, high, distributions)
    result.disabled_families = frozenset(
        family for family in TEXT_FILTERS if not getattr(ctx.settings, family).enabled
    )
    for threshold in thresholds_for(ctx):
        quantile = low if threshold.side == "min" else high
        values = [
            _quantile(distributions.get(s, np.array([np.nan])), quantile)
            for s in threshold.statistics
        ]
        chosen = max(values) if threshold.side == "max" else min(values)
        value = _outward(chosen, threshold.side, threshold.integer)
        result.thresholds.append((threshold, current_value(ctx, threshold), value))
    return result


def _quantile(values: np.ndarray, q: float) -> float:
    finite = values[~np.isnan(values)]
    return float(np.quantile(finite, q)) if finite.size else float("nan")


def fineweb2_values(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A FineWeb-2 per-language config (configs/<lang>.yml) as curate recipe sections.

    The fixed settings are those of FineWeb-2's filtering pipeline (fineweb-2-pipeline.py):
    paragraph and line-character repetition off, FineWeb short-line rule off, character
    duplicates at 0.1, at least 2 stop words, no C4 rules.
    """
    return {
        "gopher_repetition": {
            "dup_line_frac": config["dup_line_frac"],
            "dup_para_frac": None,
            "dup_line_char_frac": None,
            "dup_para_char_frac": None,
            "top_n_grams": [list(pair) for pair in config["top_n_grams"]],
            "dup_n_grams": [list(pair) for pair in config["dup_n_grams"]],
        },
        "gopher_quality": {
            "min_avg_word_length": config["min_avg_word_length"],
            "max_avg_word_length": config["max_avg_word_length"],
            "min_alpha_words_ratio": config["max_non_alpha_words_ratio"],
            "min_stop_words": 2,
            "stop_words": list(config["stopwords"]),
        },
        "c4_quality": {"enabled": False},
        "fineweb_quality": {
            "line_punct_thr": config["line_punct_thr"],
            "short_line_thr": None,
            "char_duplicates_ratio": 0.1,
            "new_line_ratio": config["new_line_ratio"],
        },
    }


def reference_value(reference: dict[str, dict[str, Any]], threshold: Threshold) -> Any:
    """The value a reference config (sections as from :func:`fineweb2_values`) puts in force."""
    settings = FiltersConfig.model_validate(reference).for_language(None)
    if not getattr(settings, threshold.family).enabled:
        return None
    value = getattr(getattr(settings, threshold.family), threshold.key)
    if threshold.ngram is not None:
        return dict(value).get(threshold.ngram)
    return value
