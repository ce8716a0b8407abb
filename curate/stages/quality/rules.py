"""The heuristic rules: statistics of one document and the decisions taken on them.

Each family has ``measure_*`` (every statistic it decides on: the document's signals) and
``decide_*`` (the first rule that rejects, in datatrove's order, with the measured value and
the threshold it failed). A run decides from the signals it just measured, ``curate refilter``
from the signals a run kept, so both take the same decisions. The statistic functions give
datatrove's numbers exactly (its n-gram joins, its line splits, its denominators) while making
one pass where datatrove makes several.
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


def number(value: float) -> str:
    """A measured value or threshold as the ledger shows it: integers whole, else 3 decimals."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.3f}" if abs(value) >= 0.001 else f"{value:.3g}"


def _shown(value: float, limit: float) -> tuple[str, str]:
    # 0.7738 against 0.774 must not read "0.774 < 0.774": more digits until they differ.
    shown, bound = number(value), number(limit)
    digits = 4
    while shown == bound and digits < 10 and value != limit:
        shown, bound = f"{value:.{digits}f}", f"{limit:.{digits}f}"
        digits += 1
    return shown, bound


def above(name: str, value: float, limit: float | None) -> str | None:
    """``name=value > limit`` when ``value`` exceeds ``limit`` (None: rule off), else None."""
    if not _over(value, limit):
        return None
    shown, bound = _shown(value, limit)
    return f"{name}={shown} > {bound}"


def below(name: str, value: float, limit: float | None) -> str | None:
    """``name=value < limit`` when ``value`` is under ``limit`` (None: rule off), else None."""
    if not _under(value, limit):
        return None
    shown, bound = _shown(value, limit)
    return f"{name}={shown} < {bound}"


Signals = dict[str, Any]
# (short snake_case reason, detail naming the measured value and the threshold it failed)
Decision = tuple[str, str] | None


def _first(checks: list[tuple[str, str | None]]) -> Decision:
    return next(((reason, detail) for reason, detail in checks if detail is not None), None)


# --- Gopher repetition ------------------------------------------------------------------------


def measure_gopher_repetition(
    text: str, cfg: GopherRepetitionConfig, words: Words
) -> dict[str, float]:
    """Every repetition statistic; the n-gram ones for the sizes ``cfg`` lists."""
    size = max(len(text), 1)
    paragraphs = PARAGRAPH_BREAK.split(text.strip())
    para_count, para_chars = duplicates(paragraphs)
    lines = LINE_BREAKS.split(text)
    line_count, line_chars = duplicates(lines)
    stats = {
        "chars": float(len(text)),
        "dup_para_frac": para_count / len(paragraphs),
        "dup_para_char_frac": para_chars / size,
        "dup_line_frac": line_count / len(lines),
        "dup_line_char_frac": line_chars / size,
    }
    if not cfg.top_n_grams and not cfg.dup_n_grams:
        return stats
    grams = NGrams(words())
    for n, _ in cfg.top_n_grams:
        stats[f"top_{n}_gram"] = top_ngram_chars(grams, n) / size if grams.count >= n else 0.0
    for n, _ in cfg.dup_n_grams:
        stats[f"dup_{n}_gram"] = duplicated_ngram_chars(grams, n) / size
    return stats


def decide_gopher_repetition(s: Signals, cfg: GopherRepetitionConfig) -> Decision:
    """The first repetition rule that rejects, in datatrove's order."""
    if not s["chars"]:
        return "gopher_empty", "chars=0"
    checks = [
        ("gopher_dup_para_frac", above("dup_para_frac", s["dup_para_frac"], cfg.dup_para_frac)),
        (
            "gopher_dup_para_char_frac",
            above("dup_para_char_frac", s["dup_para_char_frac"], cfg.dup_para_char_frac),
        ),
        ("gopher_dup_line_frac", above("dup_line_frac", s["dup_line_frac"], cfg.dup_line_frac)),
        (
            "gopher_dup_line_char_frac",
            above("dup_line_char_frac", s["dup_line_char_frac"], cfg.dup_line_char_frac),
        ),
    ]
    for kind, thresholds in (("top", cfg.top_n_grams), ("dup", cfg.dup_n_grams)):
        for n, limit in thresholds:
            name = f"{kind}_{n}_gram"
            checks.append((f"gopher_{name}", above(name, s[name], limit)))
    return _first(checks)


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


def measure_gopher_quality(
    text: str, cfg: GopherQualityConfig, words: Words, stop_words: frozenset[str]
) -> dict[str, float]:
    """Every quality statistic; ``stop_words`` is None when the language has no list."""
    del cfg
    stats = _gopher_quality_stats(text, words(), stop_words)
    if not stop_words:
        stats["stop_words"] = None
    return stats


def decide_gopher_quality(s: Signals, cfg: GopherQualityConfig) -> Decision:
    """The first quality rule that rejects, in datatrove's order."""
    words = s["doc_words"]
    checks = [
        ("gopher_short_doc", below("doc_words", words, cfg.min_doc_words)),
        ("gopher_long_doc", above("doc_words", words, cfg.max_doc_words)),
    ]
    if words:
        average = s["avg_word_length"]
        checks += [
            ("gopher_short_words", below("avg_word_length", average, cfg.min_avg_word_length)),
            ("gopher_long_words", above("avg_word_length", average, cfg.max_avg_word_length)),
        ]
    symbols = cfg.max_symbol_word_ratio
    checks += [
        ("gopher_too_many_hashes", above("hash_word_ratio", s["hash_word_ratio"], symbols)),
        (
            "gopher_too_many_ellipsis",
            above("ellipsis_word_ratio", s["ellipsis_word_ratio"], symbols),
        ),
        (
            "gopher_too_many_bullets",
            above("bullet_lines_ratio", s["bullet_lines_ratio"], cfg.max_bullet_lines_ratio),
        ),
        (
            "gopher_too_many_end_ellipsis",
            above("ellipsis_lines_ratio", s["ellipsis_lines_ratio"], cfg.max_ellipsis_lines_ratio),
        ),
        (
            "gopher_few_alpha_words",
            below("alpha_words_ratio", s["alpha_words_ratio"], cfg.min_alpha_words_ratio),
        ),
    ]
    if s["stop_words"] is not None:
        checks.append(
            ("gopher_few_stop_words", below("stop_words", s["stop_words"], cfg.min_stop_words))
        )
    return _first(checks)


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
    if cfg.max_word_length is not None and max(map(len, words), default=0) > cfg.max_word_length:
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


def measure_c4(text: str, cfg: C4QualityConfig, sentences: Sentences) -> dict[str, float]:
    """Calibration's view of C4: every line rule off that would end the document early."""
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


# Sentences are counted up to this many when a run keeps signals (``min_num_sentences`` above
# it cannot be re-decided from them); a run without signals stops at the threshold.
SENTENCE_CAP = 100


def c4_signals(
    text: str, cfg: C4QualityConfig, sentences: Sentences, cap: int | None
) -> tuple[Signals, str]:
    """(C4's statistics, the text with C4's removed lines dropped).

    ``cap`` None counts sentences only up to ``min_num_sentences`` (enough to decide).
    """
    counting = cfg if cap is None else cfg.model_copy(update={"min_num_sentences": cap})
    early, kept, counted = c4_lines(text, counting, sentences)
    cleaned = "\n".join(kept).strip()
    signals = {"line_rule": early, "sentences": float(counted), "chars_left": float(len(cleaned))}
    return signals, cleaned


def c4_cleaned(text: str, cfg: C4QualityConfig) -> str:
    """The text as C4 leaves a document it keeps (no sentence counting)."""
    _, kept, _ = c4_lines(text, cfg.model_copy(update={"min_num_sentences": None}), _no_count)
    return "\n".join(kept).strip()


def _no_count(line: str, limit: int) -> int:
    return 0


def decide_c4(s: Signals, cfg: C4QualityConfig) -> Decision:
    if s["line_rule"] is not None:
        what = "lorem ipsum" if s["line_rule"] == "c4_lorem_ipsum" else "a curly bracket"
        return s["line_rule"], f"a line with {what}"
    few = below("sentences", s["sentences"], cfg.min_num_sentences)
    if few is not None:
        return "c4_too_few_sentences", few
    if not s["chars_left"]:
        return "c4_no_lines_left", "chars_left=0 after line removal"
    return None


# --- FineWeb quality --------------------------------------------------------------------------


def _fineweb_lines(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.strip()]


def _ends_in_punctuation(line: str, stop_chars: frozenset[str] | tuple[str, ...]) -> bool:
    if isinstance(stop_chars, frozenset):
        return line[-1:] in stop_chars
    return line.endswith(stop_chars)


def _stop_chars(cfg: FineWebQualityConfig) -> frozenset[str] | tuple[str, ...]:
    return TERMINAL_CHARS if cfg.stop_chars is None else tuple(cfg.stop_chars)


def measure_fineweb_quality(text: str, cfg: FineWebQualityConfig, words: Words) -> dict[str, float]:
    lines = _fineweb_lines(text)
    n_lines = max(len(lines), 1)
    stop = _stop_chars(cfg)
    chars = max(len(text) - text.count("\n"), 1)
    return {
        "lines": float(len(lines)),
        "line_punct_ratio": sum(_ends_in_punctuation(x, stop) for x in lines) / n_lines,
        "short_line_ratio": sum(len(x) <= cfg.short_line_length for x in lines) / n_lines,
        "char_dup_ratio": duplicates(lines)[1] / chars,
        "new_line_ratio": text.count("\n") / max(len(words()), 1),
    }


def decide_fineweb_quality(s: Signals, cfg: FineWebQualityConfig) -> Decision:
    if not s["lines"]:
        return "fineweb_empty", "lines=0"
    punct = s["line_punct_ratio"]
    excused = punct == 0 and cfg.line_punct_exclude_zero
    return _first(
        [
            (
                "fineweb_line_punct_ratio",
                None if excused else below("line_punct_ratio", punct, cfg.line_punct_thr),
            ),
            (
                "fineweb_short_line_ratio",
                above("short_line_ratio", s["short_line_ratio"], cfg.short_line_thr),
            ),
            (
                "fineweb_char_dup_ratio",
                above("char_dup_ratio", s["char_dup_ratio"], cfg.char_duplicates_ratio),
            ),
            (
                "fineweb_list_ratio",
                above("new_line_ratio", s["new_line_ratio"], cfg.new_line_ratio),
            ),
        ]
    )
