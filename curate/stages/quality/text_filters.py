"""The heuristic filter families as stages, each with its settings per document language."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from curate.core.registry import register
from curate.core.stage import Stage
from curate.schema import replace_column, set_drop_reason
from curate.stages.quality import rules
from curate.stages.quality.config import FiltersConfig, LanguageFilters
from curate.stages.quality.words import WORDS, default_stop_words, spacy_code, tokenizer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DocumentContext:
    """What a rule needs besides the text: the language's settings and its word splitter."""

    language: str | None
    settings: LanguageFilters
    tokenizer_code: str
    stop_words: frozenset[str]

    def words(self, text: str) -> rules.Words:
        return lambda: WORDS.words(self.tokenizer_code, text)

    def sentences(self, text: str, limit: int) -> int:
        return tokenizer(self.tokenizer_code).count_sentences(text, limit)


def document_context(config: FiltersConfig, language: str | None) -> DocumentContext:
    settings = config.for_language(language)
    code = settings.word_tokenizer or spacy_code(language)
    listed = settings.gopher_quality.stop_words
    stop_words = frozenset(listed) if listed is not None else default_stop_words(code)
    if not stop_words and settings.gopher_quality.min_stop_words:
        log.warning("no stop-word list for %s (spaCy '%s'): stop-word rule skipped", language, code)
    return DocumentContext(language, settings, code, stop_words)


@dataclass
class TextFilter(Stage):
    """Runs one family's rules on every kept document with its language's settings.

    A family a recipe disables still has its (pass-through) stage, so every recipe has the same
    stage order and a routed many-language run applies each language's filters in that order.
    """

    config: FiltersConfig
    _contexts: dict[str | None, DocumentContext] = field(default_factory=dict, repr=False)
    family: ClassVar[str]

    @property
    def name(self) -> str:
        return self.family

    @classmethod
    def from_recipe(cls, recipe: Any) -> TextFilter:
        return cls(recipe.filters)

    def context(self, language: str | None) -> DocumentContext:
        if language not in self._contexts:
            self._contexts[language] = document_context(self.config, language)
        return self._contexts[language]

    def check(self, text: str, section: Any, ctx: DocumentContext) -> tuple[str | None, str]:
        """(rejection reason or None, the text as the rule leaves it)."""
        raise NotImplementedError

    def __call__(self, batch: pa.Table) -> pa.Table:
        if batch.num_rows == 0 or not self.config.enabled_anywhere(self.family):
            return batch
        texts = batch.column("text").to_pylist()
        reasons: list[str | None] = []
        rewritten = False
        for i, language in enumerate(batch.column("language").to_pylist()):
            ctx = self.context(language)
            section = getattr(ctx.settings, self.family)
            text = texts[i]
            if text is None or not section.enabled:
                reasons.append(None)
                continue
            reason, new_text = self.check(text, section, ctx)
            reasons.append(reason)
            if reason is None and new_text is not text:
                texts[i], rewritten = new_text, True
        if rewritten:
            batch = replace_column(batch, "text", pa.array(texts, pa.string()))
        reason_array = pa.array(reasons, pa.string())
        return set_drop_reason(batch, pc.is_valid(reason_array), reason_array)


def _family(name: str, order: int) -> Any:
    """Registers a filter family; datatrove's FineWeb order (C4 may rewrite text for the last)."""
    return register(name, section="filters", config=FiltersConfig, phase="document", order=order)


@_family("gopher_repetition", 10)
class GopherRepetition(TextFilter):
    """Gopher repetition rules: duplicated lines, paragraphs and n-grams."""

    family = "gopher_repetition"

    def check(self, text: str, section: Any, ctx: DocumentContext) -> tuple[str | None, str]:
        return rules.check_gopher_repetition(text, section, ctx.words(text)), text


@_family("gopher_quality", 20)
class GopherQuality(TextFilter):
    """Gopher quality rules: length, word shape, symbols, bullet lines, stop words."""

    family = "gopher_quality"

    def check(self, text: str, section: Any, ctx: DocumentContext) -> tuple[str | None, str]:
        return rules.check_gopher_quality(text, section, ctx.words(text), ctx.stop_words), text


@_family("c4_quality", 30)
class C4Quality(TextFilter):
    """C4's rules; kept documents lose the lines C4 removes (as in datatrove)."""

    family = "c4_quality"

    def check(self, text: str, section: Any, ctx: DocumentContext) -> tuple[str | None, str]:
        reason, cleaned = rules.check_c4(text, section, ctx.sentences)
        return reason, (text if cleaned == text else cleaned)


@_family("fineweb_quality", 40)
class FineWebQuality(TextFilter):
    """FineWeb's rules: line punctuation, short lines, duplicated line characters, list lines."""

    family = "fineweb_quality"

    def check(self, text: str, section: Any, ctx: DocumentContext) -> tuple[str | None, str]:
        return rules.check_fineweb_quality(text, section, ctx.words(text)), text


TEXT_FILTER_STAGES: tuple[type[TextFilter], ...] = (
    GopherRepetition,
    GopherQuality,
    C4Quality,
    FineWebQuality,
)
