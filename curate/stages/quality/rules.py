"""The heuristic rules: statistics of one document and the decisions taken on them.

Each family has ``measure_*`` (every statistic, for calibration) and ``check_*`` (the first
rule that rejects, in datatrove's order, computing only what it needs). Both use the same
statistic functions, written to give datatrove's numbers exactly (its n-gram joins, its line
splits, its denominators) while making one pass where datatrove makes several.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from itertools import accumulate
from typing import Any

from datatrove.utils.text import PUNCTUATION_SET, TERMINAL_PUNCTUATION

from curate.stages.quality.config import (
    C4QualityConfig,
    FineWebQualityConfig,
    GopherQualityConfig,
    GopherRepetitionConfig,
)

Words = Callable[[], list[str]]
PARAGRAPH_BREAK = re.compile(r"\n{2,}")
LINE_BREAKS = re.compile("\n+")
PUNCTUATION_CHARS = "".join(sorted(PUNCTUATION_SET))
TERMINAL_CHARS = frozenset(TERMINAL_PUNCTUATION)
GOPHER_STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")


def duplicates(items: list[str]) -> tuple[int, int]:
    """Repeated items after their first occurrence: (count, characters)."""
    seen: set[str] = set()
    count = chars = 0
    for item in items:
        if item in seen:
            count += 1
            chars += len(item)
        else:
            seen.add(item)
    return count, chars


class NGrams:
    """A document's words joined once, so every n-gram is a slice of one string."""

    def __init__(self, words: list[str]) -> None:
        self.count = len(words)
        self.concatenated = "".join(words)
        # Word i starts at starts[i] in the concatenation, and at starts[i] + i when joined
        # with spaces.
        self.starts = list(accumulate((len(w) for w in words), initial=0))
        self._spaced: str | None = None
        self._words = words

    @property
    def spaced(self) -> str:
        if self._spaced is None:
            self._spaced = " ".join(self._words)
        return self._spaced


def top_ngram_chars(grams: NGrams, n: int) -> int:
    """Characters covered by the most frequent word n-gram (words joined by spaces)."""
    spaced, starts = grams.spaced, grams.starts
    counts = Counter(
        [spaced[starts[i] + i : starts[i + n] + i + n - 1] for i in range(grams.count - n + 1)]
    )
    gram, count = max(counts.items(), key=lambda item: item[1])  # first of the most frequent
    return len(gram) * count


def duplicated_ngram_chars(grams: NGrams, n: int) -> int:
    """Characters in n-grams seen before, scanning greedily (datatrove's find_all_duplicate).

    N-grams are compared as their words concatenated without separator, as datatrove does.
    """
    joined, starts = grams.concatenated, grams.starts
    seen: set[str] = set()
    repeated = i = 0
    last = grams.count - n
    while i <= last:
        gram = joined[starts[i] : starts[i + n]]
        if gram in seen:
            repeated += len(gram)
            i += n
        else:
            seen.add(gram)
            i += 1
    return repeated


def _over(value: float, limit: float | None) -> bool:
    return limit is not None and value > limit


def _under(value: float, limit: float | None) -> bool:
    return limit is not None and value < limit


# --- Gopher repetition ------------------------------------------------------------------------


def check_gopher_repetition(text: str, cfg: GopherRepetitionConfig, words: Words) -> str | None:
    if not text:
        return "gopher_empty"
    size = len(text)
    if cfg.dup_para_frac is not None or cfg.dup_para_char_frac is not None:
        paragraphs = PARAGRAPH_BREAK.split(text.strip())
        count, chars = duplicates(paragraphs)
        if _over(count / len(paragraphs), cfg.dup_para_frac):
            return "gopher_dup_para_frac"
        if _over(chars / size, cfg.dup_para_char_frac):
            return "gopher_dup_para_char_frac"
    if cfg.dup_line_frac is not None or cfg.dup_line_char_frac is not None:
        lines = LINE_BREAKS.split(text)
        count, chars = duplicates(lines)
        if _over(count / len(lines), cfg.dup_line_frac):
            return "gopher_dup_line_frac"
        if _over(chars / size, cfg.dup_line_char_frac):
            return "gopher_dup_line_char_frac"
    if not cfg.top_n_grams and not cfg.dup_n_grams:
        return None
    grams = NGrams(words())
    for n, limit in cfg.top_n_grams:
        if grams.count >= n and top_ngram_chars(grams, n) / size > limit:
            return f"gopher_top_{n}_gram"
    for n, limit in cfg.dup_n_grams:
        if duplicated_ngram_chars(grams, n) / size > limit:
            return f"gopher_dup_{n}_gram"
    return None


def measure_gopher_repetition(
    text: str, cfg: GopherRepetitionConfig, words: Words
) -> dict[str, float]:
    size = max(len(text), 1)
    paragraphs = PARAGRAPH_BREAK.split(text.strip())
    para_count, para_chars = duplicates(paragraphs)
    lines = LINE_BREAKS.split(text)
    line_count, line_chars = duplicates(lines)
    grams = NGrams(words())
    stats = {
        "dup_para_frac": para_count / len(paragraphs),
        "dup_para_char_frac": para_chars / size,
        "dup_line_frac": line_count / len(lines),
        "dup_line_char_frac": line_chars / size,
    }
    for n, _ in cfg.top_n_grams:
        stats[f"top_{n}_gram"] = top_ngram_chars(grams, n) / size if grams.count >= n else 0.0
    for n, _ in cfg.dup_n_grams:
        stats[f"dup_{n}_gram"] = duplicated_ngram_chars(grams, n) / size
    return stats


# --- Gopher quality ---------------------------------------------------------------------------


def _gopher_quality_stats(text: str, tokens: list[str], stop_words: frozenset[str]) -> dict:
    n_words = len(tokens)
    lengths = [len(w) for w in tokens if w.strip(PUNCTUATION_CHARS)]
    lines = text.splitlines()
    n_lines = max(len(lines), 1)
    per_word = max(n_words, 1)
    return {
        "doc_words": len(lengths),
        "avg_word_length": sum(lengths) / len(lengths) if lengths else float("nan"),
        "hash_word_ratio": text.count("#") / per_word,
        "ellipsis_word_ratio": (text.count("...") + text.count("…")) / per_word,
        "bullet_lines_ratio": sum(s.lstrip().startswith(("•", "-")) for s in lines) / n_lines,
        "ellipsis_lines_ratio": sum(s.rstrip().endswith(("...", "…")) for s in lines) / n_lines,
        "alpha_words_ratio": sum(_has_letter(w) for w in tokens) / per_word,
        "stop_words": len(stop_words.intersection(tokens)),
    }


def _has_letter(word: str) -> bool:
    # str.isalpha is Unicode-aware: Greek, Cyrillic and every other script's letters count.
    return word.isalpha() or any(map(str.isalpha, word))


def check_gopher_quality(
    text: str, cfg: GopherQualityConfig, words: Words, stop_words: frozenset[str]
) -> str | None:
    tokens = words()
    lengths = [len(w) for w in tokens if w.strip(PUNCTUATION_CHARS)]
    if _under(len(lengths), cfg.min_doc_words):
        return "gopher_short_doc"
    if _over(len(lengths), cfg.max_doc_words):
        return "gopher_long_doc"
    if lengths:
        average = sum(lengths) / len(lengths)
        if _under(average, cfg.min_avg_word_length):
            return "gopher_short_words"
        if _over(average, cfg.max_avg_word_length):
            return "gopher_long_words"
    per_word = max(len(tokens), 1)
    if _over(text.count("#") / per_word, cfg.max_symbol_word_ratio):
        return "gopher_too_many_hashes"
    if _over((text.count("...") + text.count("…")) / per_word, cfg.max_symbol_word_ratio):
        return "gopher_too_many_ellipsis"
    if cfg.max_bullet_lines_ratio is not None or cfg.max_ellipsis_lines_ratio is not None:
        lines = text.splitlines()
        n_lines = max(len(lines), 1)
        bullets = sum(s.lstrip().startswith(("•", "-")) for s in lines)
        if _over(bullets / n_lines, cfg.max_bullet_lines_ratio):
            return "gopher_too_many_bullets"
        ellipses = sum(s.rstrip().endswith(("...", "…")) for s in lines)
        if _over(ellipses / n_lines, cfg.max_ellipsis_lines_ratio):
            return "gopher_too_many_end_ellipsis"
    if cfg.min_alpha_words_ratio is not None:
        alpha = sum(_has_letter(w) for w in tokens)
        if alpha / per_word < cfg.min_alpha_words_ratio:
            return "gopher_few_alpha_words"
    if stop_words and _under(len(stop_words.intersection(tokens)), cfg.min_stop_words):
        return "gopher_few_stop_words"
    return None


def measure_gopher_quality(
    text: str, cfg: GopherQualityConfig, words: Words, stop_words: frozenset[str]
) -> dict[str, float]:
    del cfg
    return _gopher_quality_stats(text, words(), stop_words)


# --- C4 ---------------------------------------------------------------------------------------

CITATION = re.compile(r"\[\d*]|\[edit]|\[citation needed]")
END_PUNCTUATION = (".", "?", "!", '"', "'")
POLICY_SUBSTRINGS = (
    "terms of use",
    "privacy policy",
    "cookie policy",
    "uses cookies",
    "use of cookies",
    "use cookies",
)
Sentences = Callable[[str, int], int]


def c4_lines(
    text: str, cfg: C4QualityConfig, sentences: Sentences, stats: dict[str, Any] | None = None
) -> tuple[str | None, list[str], int]:
    """C4's line pass: (document-level rejection or None, kept lines, sentences counted).

    Sentences are counted only until ``min_num_sentences`` is reached, unless ``stats`` asks
    for full counts (calibration); ``stats`` also collects per-line removal counts.
    """
    needed = cfg.min_num_sentences
    count_all = stats is not None
    counted = 0
    kept: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        words = line.split()
        line_reason = _c4_line_reason(line, words, cfg)
        if line_reason is None:
            if cfg.remove_citations:
                line = CITATION.sub("", line)
            line_reason = _c4_punctuation_reason(line, words, cfg)
        if line_reason is None:
            lowered = line.lower()
            if cfg.filter_lorem_ipsum and "lorem ipsum" in lowered:
                return "c4_lorem_ipsum", kept, counted
            if cfg.filter_javascript and "javascript" in lowered:
                line_reason = "javascript"
            elif cfg.filter_curly_bracket and "{" in line:
                return "c4_curly_bracket", kept, counted
            elif cfg.filter_policy and any(p in lowered for p in POLICY_SUBSTRINGS):
                line_reason = "policy"
        if line_reason is not None:
            if stats is not None:
                stats[line_reason] = stats.get(line_reason, 0) + 1
            continue
        if count_all:
            counted += sentences(line, 1 << 30)
        elif needed is not None and counted < needed:
            counted += sentences(line, needed - counted)
        kept.append(line)
    return None, kept, counted


def _c4_line_reason(line: str, words: list[str], cfg: C4QualityConfig) -> str | None:
    if cfg.max_word_length is not None and any(len(w) > cfg.max_word_length for w in words):
        return "too_long_word"
    return None


def _c4_punctuation_reason(line: str, words: list[str], cfg: C4QualityConfig) -> str | None:
    if cfg.filter_no_terminal_punct and (
        not line.endswith(END_PUNCTUATION) or line.endswith("...")
    ):
        return "no_terminal_punct"
    if cfg.min_words_per_line is not None and len(words) < cfg.min_words_per_line:
        return "too_few_words"
    return None


def check_c4(text: str, cfg: C4QualityConfig, sentences: Sentences) -> tuple[str | None, str]:
    """(rejection or None, the text with C4's removed lines dropped)."""
    reason, kept, counted = c4_lines(text, cfg, sentences)
    if reason is not None:
        return reason, text
    if cfg.min_num_sentences is not None and counted < cfg.min_num_sentences:
        return "c4_too_few_sentences", text
    cleaned = "\n".join(kept).strip()
    return (None, cleaned) if cleaned else ("c4_no_lines_left", text)


def measure_c4(text: str, cfg: C4QualityConfig, sentences: Sentences) -> dict[str, float]:
    removed: dict[str, Any] = {}
    full = cfg.model_copy(update={"filter_lorem_ipsum": False, "filter_curly_bracket": False})
    _, kept, counted = c4_lines(text, full, sentences, removed)
    lowered = text.lower()
    total = max(len(text.splitlines()), 1)
    return {
        "sentences": counted,
        "kept_lines_ratio": len(kept) / total,
        "has_lorem_ipsum": float("lorem ipsum" in lowered),
        "has_curly_bracket": float("{" in text),
    }


# --- FineWeb quality --------------------------------------------------------------------------


def _fineweb_lines(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.strip()]


def _ends_in_punctuation(line: str, stop_chars: frozenset[str] | tuple[str, ...]) -> bool:
    if isinstance(stop_chars, frozenset):
        return line[-1:] in stop_chars
    return line.endswith(stop_chars)


def _stop_chars(cfg: FineWebQualityConfig) -> frozenset[str] | tuple[str, ...]:
    return TERMINAL_CHARS if cfg.stop_chars is None else tuple(cfg.stop_chars)


def check_fineweb_quality(text: str, cfg: FineWebQualityConfig, words: Words) -> str | None:
    lines = _fineweb_lines(text)
    if not lines:
        return "fineweb_empty"
    n_lines = len(lines)
    if cfg.line_punct_thr is not None:
        stop = _stop_chars(cfg)
        ratio = sum(_ends_in_punctuation(line, stop) for line in lines) / n_lines
        if ratio < cfg.line_punct_thr and not (ratio == 0 and cfg.line_punct_exclude_zero):
            return "fineweb_line_punct_ratio"
    if cfg.short_line_thr is not None:
        short = sum(len(line) <= cfg.short_line_length for line in lines)
        if short / n_lines > cfg.short_line_thr:
            return "fineweb_short_line_ratio"
    if cfg.char_duplicates_ratio is not None:
        ratio = duplicates(lines)[1] / (len(text) - text.count("\n"))
        if ratio > cfg.char_duplicates_ratio:
            return "fineweb_char_dup_ratio"
    if _over(text.count("\n") / max(len(words()), 1), cfg.new_line_ratio):
        return "fineweb_list_ratio"
    return None


def measure_fineweb_quality(text: str, cfg: FineWebQualityConfig, words: Words) -> dict[str, float]:
    lines = _fineweb_lines(text) or [""]
    stop = _stop_chars(cfg)
    chars = max(len(text) - text.count("\n"), 1)
    return {
        "line_punct_ratio": sum(_ends_in_punctuation(x, stop) for x in lines) / len(lines),
        "short_line_ratio": sum(len(x) <= cfg.short_line_length for x in lines) / len(lines),
        "char_dup_ratio": duplicates(lines)[1] / chars,
        "new_line_ratio": text.count("\n") / max(len(words()), 1),
    }
