"""Recipe sections for the quality filters (``filters:``), with per-language overrides.

Threshold names and defaults follow datatrove's filters (the FineWeb English setup), so a value
published for datatrove means the same here. Differences: ``None`` (YAML ``null``) disables a
rule, where datatrove disables on any falsy value; and ``min_alpha_words_ratio`` is datatrove's
``max_non_alpha_words_ratio`` under a name that says what it does.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_serializer, field_validator

from curate.core.config import Section

Fraction = float | None
NGramThresholds = list[tuple[int, float]]


class GopherRepetitionConfig(Section):
    """Gopher repetition rules (Rae et al. 2021, table A1); fractions above a value drop."""

    enabled: bool = True
    dup_line_frac: Fraction = Field(0.3, ge=0)
    dup_para_frac: Fraction = Field(0.3, ge=0)
    dup_line_char_frac: Fraction = Field(0.2, ge=0)
    dup_para_char_frac: Fraction = Field(0.2, ge=0)
    top_n_grams: NGramThresholds = [(2, 0.2), (3, 0.18), (4, 0.16)]
    dup_n_grams: NGramThresholds = [
        (5, 0.15),
        (6, 0.14),
        (7, 0.13),
        (8, 0.12),
        (9, 0.11),
        (10, 0.1),
    ]

    @field_validator("top_n_grams", "dup_n_grams")
    @classmethod
    def _positive_n(cls, value: NGramThresholds) -> NGramThresholds:
        for n, _ in value:
            if n < 1:
                raise ValueError(f"n-gram size must be >= 1, got {n}")
        return value


class GopherQualityConfig(Section):
    """Gopher quality rules: document length, word shape, symbols, lists, stop words."""

    enabled: bool = True
    min_doc_words: int | None = Field(50, ge=0)
    max_doc_words: int | None = Field(100_000, ge=0)
    min_avg_word_length: float | None = Field(3, ge=0)
    max_avg_word_length: float | None = Field(10, ge=0)
    max_symbol_word_ratio: Fraction = Field(0.1, ge=0)
    max_bullet_lines_ratio: Fraction = Field(0.9, ge=0)
    max_ellipsis_lines_ratio: Fraction = Field(0.3, ge=0)
    min_alpha_words_ratio: Fraction = Field(0.8, ge=0, le=1)
    min_stop_words: int | None = Field(2, ge=0)
    # None: spaCy's stop-word list for the document's language (see words.default_stop_words).
    stop_words: list[str] | None = None


class C4QualityConfig(Section):
    """C4 rules (Raffel et al. 2020) as datatrove applies them: line removal, then doc checks."""

    enabled: bool = True
    remove_citations: bool = True
    filter_no_terminal_punct: bool = True
    min_num_sentences: int | None = Field(5, ge=0)
    min_words_per_line: int | None = Field(3, ge=0)
    max_word_length: int | None = Field(1000, ge=1)
    filter_lorem_ipsum: bool = True
    filter_javascript: bool = True
    filter_curly_bracket: bool = True
    filter_policy: bool = True


class FineWebQualityConfig(Section):
    """FineWeb's own rules (Penedo et al. 2024): punctuation, short lines, duplicates, lists."""

    enabled: bool = True
    line_punct_thr: Fraction = Field(0.12, ge=0, le=1)
    line_punct_exclude_zero: bool = False
    # None: datatrove's TERMINAL_PUNCTUATION (every script's sentence-final marks).
    stop_chars: list[str] | None = None
    short_line_thr: Fraction = Field(0.67, ge=0)
    short_line_length: int = Field(30, ge=0)
    char_duplicates_ratio: Fraction = Field(0.01, ge=0)
    new_line_ratio: Fraction = Field(0.3, ge=0)


class LanguageFilters(Section):
    """The text filters for one language; ``word_tokenizer`` is a spaCy language code."""

    word_tokenizer: str | None = None
    gopher_repetition: GopherRepetitionConfig = GopherRepetitionConfig()
    gopher_quality: GopherQualityConfig = GopherQualityConfig()
    c4_quality: C4QualityConfig = C4QualityConfig()
    fineweb_quality: FineWebQualityConfig = FineWebQualityConfig()


TEXT_FILTERS = ("gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality")


class UrlBlocklist(Section):
    """One list file, one entry a line (``#`` starts a comment).

    ``match``: ``domain`` blocks the host and all its subdomains, ``host`` the exact host only,
    ``url`` the exact URL, ``substring`` any URL containing the entry (case-insensitive).
    Relative paths are resolved against the working directory.
    """

    file: str
    match: Literal["domain", "host", "url", "substring"]
    name: str | None = None

    @field_validator("file")
    @classmethod
    def _exists(cls, value: str) -> str:
        if not Path(value).is_file():
            raise ValueError(f"blocklist file not found: {value}")
        return value

    @property
    def reason(self) -> str:
        label = self.name or Path(self.file).name.split(".")[0]
        return "url_blocked_" + (re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_") or "list")


class UrlFilterConfig(Section):
    enabled: bool = True
    blocklists: list[UrlBlocklist] = []


class OptOutConfig(Section):
    """EU text-and-data-mining reservations (DSM directive art. 4(3)); each rule switchable."""

    enabled: bool = True
    tdm_reservation_meta: bool = True
    tdm_reservation_header: bool = True
    robots_noai: bool = True
    robots_noimageai: bool = True


class FiltersConfig(LanguageFilters):
    """``filters:``: defaults for every language, ``per_language`` overrides, URL and opt-out."""

    url: UrlFilterConfig = UrlFilterConfig()
    opt_out: OptOutConfig = OptOutConfig()
    write_rejected: bool = False
    per_language: dict[str, LanguageFilters] = {}

    @field_serializer("per_language")
    def _only_overrides(self, value: dict[str, LanguageFilters]) -> dict[str, object]:
        return {lang: o.model_dump(mode="json", exclude_unset=True) for lang, o in value.items()}

    def for_language(self, language: str | None) -> LanguageFilters:
        """The text filters in force for ``language``: defaults with its overrides applied."""
        base = LanguageFilters.model_validate(
            {name: getattr(self, name) for name in LanguageFilters.model_fields}
        )
        override = self.per_language.get(language or "")
        return base if override is None else _apply_overrides(base, override)

    def enabled_anywhere(self, family: str) -> bool:
        languages = [None, *self.per_language]
        return any(getattr(self.for_language(lang), family).enabled for lang in languages)


def _apply_overrides(base: BaseModel, override: BaseModel) -> BaseModel:
    """``base`` with the fields ``override`` sets explicitly, recursing into sections."""
    update = {}
    for name in override.model_fields_set:
        value = getattr(override, name)
        current = getattr(base, name)
        update[name] = _apply_overrides(current, value) if isinstance(value, Section) else value
    return base.model_copy(update=update)
