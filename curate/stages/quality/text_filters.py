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


def signal_column(family: str, name: str) -> str:
    """A signal's column name in a batch and in the signals table: ``<family>.<name>``."""
    return f"{family}.{name}"


def stored_signals(batch: pa.Table, family: str) -> dict[str, list[Any]] | None:
    """The family's signals a batch already carries (kept by a run), by name; else None."""
    prefix = signal_column(family, "")
    names = [c for c in batch.column_names if c.startswith(prefix)]
    if not names:
        return None
    return {c[len(prefix) :]: batch.column(c).to_pylist() for c in names}


@dataclass
class TextFilter(Stage):
    """Runs one family's rules on every kept document with its language's settings.

    Each document's signals (``measure``) decide (``decide``); a batch that carries the
    family's signals already (``curate refilter``, or a run keeping signals) is decided from
    them without measuring again. A family a recipe disables still has its (pass-through)
    stage, so every recipe has the same stage order and a routed many-language run applies
    each language's filters in that order.
    """

    config: FiltersConfig
    _contexts: dict[str | None, DocumentContext] = field(default_factory=dict, repr=False)
    family: ClassVar[str]
    # The signals this family measures (n-gram sizes come from the config, see signal_names).
    signals: ClassVar[tuple[str, ...]]

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

    def measure(
        self, text: str, section: Any, ctx: DocumentContext, cap: int | None = None
    ) -> tuple[rules.Signals, str]:
        """(the document's signals, the text as the family leaves it if it keeps it)."""
        raise NotImplementedError

    def decide(self, signals: rules.Signals, section: Any) -> rules.Decision:
        raise NotImplementedError

    def kept_text(self, text: str, section: Any, ctx: DocumentContext) -> str:
        """The text of a kept document decided from stored signals (only C4 rewrites it)."""
        return text

    @classmethod
    def signal_names(cls, section: Any) -> tuple[str, ...]:
        return cls.signals

    def __call__(self, batch: pa.Table) -> pa.Table:
        if batch.num_rows == 0 or not self.config.enabled_anywhere(self.family):
            return batch
        stored = stored_signals(batch, self.family)
        texts = batch.column("text").to_pylist()
        reasons: list[str | None] = []
        details: list[str | None] = []
        rewritten = False
        for i, language in enumerate(batch.column("language").to_pylist()):
            ctx = self.context(language)
            section = getattr(ctx.settings, self.family)
            text = texts[i]
            decision: rules.Decision = None
            if text is not None and section.enabled:
                if stored is None:
                    signals, new_text = self.measure(text, section, ctx)
                else:
                    signals = {name: values[i] for name, values in stored.items()}
                    new_text = None
                decision = self.decide(signals, section)
                if decision is None:
                    new_text = self.kept_text(text, section, ctx) if new_text is None else new_text
                    if new_text != text:
                        texts[i], rewritten = new_text, True
            reasons.append(decision[0] if decision else None)
            details.append(decision[1] if decision else None)
        if rewritten:
            batch = replace_column(batch, "text", pa.array(texts, pa.string()))
        reason_array = pa.array(reasons, pa.string())
        detail_array = pa.array(details, pa.string())
        return set_drop_reason(batch, pc.is_valid(reason_array), reason_array, detail_array)


def _family(name: str, order: int) -> Any:
    """Registers a filter family; datatrove's FineWeb order (C4 may rewrite text for the last)."""
    return register(name, section="filters", config=FiltersConfig, phase="document", order=order)


@_family("gopher_repetition", 10)
class GopherRepetition(TextFilter):
    """Gopher repetition rules: duplicated lines, paragraphs and n-grams."""

    family = "gopher_repetition"
    signals = (
        "chars",
        "dup_para_frac",
        "dup_para_char_frac",
        "dup_line_frac",
        "dup_line_char_frac",
    )

    @classmethod
    def signal_names(cls, section: Any) -> tuple[str, ...]:
        grams = [f"top_{n}_gram" for n, _ in section.top_n_grams]
        return cls.signals + tuple(grams + [f"dup_{n}_gram" for n, _ in section.dup_n_grams])

    def measure(
        self, text: str, section: Any, ctx: DocumentContext, cap: int | None = None
    ) -> tuple[rules.Signals, str]:
        return rules.measure_gopher_repetition(text, section, ctx.words(text)), text

    def decide(self, signals: rules.Signals, section: Any) -> rules.Decision:
        return rules.decide_gopher_repetition(signals, section)


@_family("gopher_quality", 20)
class GopherQuality(TextFilter):
    """Gopher quality rules: length, word shape, symbols, bullet lines, stop words."""

    family = "gopher_quality"
    signals = (
        "doc_words",
        "avg_word_length",
        "hash_word_ratio",
        "ellipsis_word_ratio",
        "bullet_lines_ratio",
        "ellipsis_lines_ratio",
        "alpha_words_ratio",
        "stop_words",
    )

    def measure(
        self, text: str, section: Any, ctx: DocumentContext, cap: int | None = None
    ) -> tuple[rules.Signals, str]:
        words = ctx.words(text)
        return rules.measure_gopher_quality(text, section, words, ctx.stop_words), text

    def decide(self, signals: rules.Signals, section: Any) -> rules.Decision:
        return rules.decide_gopher_quality(signals, section)


@_family("c4_quality", 30)
class C4Quality(TextFilter):
    """C4's rules; kept documents lose the lines C4 removes (as in datatrove)."""

    family = "c4_quality"
    signals = ("line_rule", "sentences", "chars_left")

    def measure(
        self, text: str, section: Any, ctx: DocumentContext, cap: int | None = None
    ) -> tuple[rules.Signals, str]:
        return rules.c4_signals(text, section, ctx.sentences, cap)

    def decide(self, signals: rules.Signals, section: Any) -> rules.Decision:
        return rules.decide_c4(signals, section)

    def kept_text(self, text: str, section: Any, ctx: DocumentContext) -> str:
        return rules.c4_cleaned(text, section)


@_family("fineweb_quality", 40)
class FineWebQuality(TextFilter):
    """FineWeb's rules: line punctuation, short lines, duplicated line characters, list lines."""

    family = "fineweb_quality"
    signals = ("lines", "line_punct_ratio", "short_line_ratio", "char_dup_ratio", "new_line_ratio")

    def measure(
        self, text: str, section: Any, ctx: DocumentContext, cap: int | None = None
    ) -> tuple[rules.Signals, str]:
        return rules.measure_fineweb_quality(text, section, ctx.words(text)), text

    def decide(self, signals: rules.Signals, section: Any) -> rules.Decision:
        return rules.decide_fineweb_quality(signals, section)


TEXT_FILTER_STAGES: tuple[type[TextFilter], ...] = (
    GopherRepetition,
    GopherQuality,
    C4Quality,
    FineWebQuality,
)
STRING_SIGNALS = frozenset({signal_column("c4_quality", "line_rule")})


@dataclass
class DocumentSignals:
    """Every text filter's signals for every document, measured once language ID has run.

    A run keeping signals measures them for all documents that reach language ID, kept or
    not, so a later ``curate refilter`` can decide any of them under other thresholds or
    another language selection. ``filters`` holds each language's ``filters:`` section (a
    routed recipe's languages have their own), ``default`` the rest.
    """

    default: FiltersConfig
    filters: dict[str, FiltersConfig] = field(default_factory=dict)
    _stages: dict[int, list[TextFilter]] = field(default_factory=dict, repr=False)
    _fields: list[pa.Field] | None = field(default=None, repr=False)

    def stages(self, language: str | None) -> list[TextFilter]:
        config = self.filters.get(language or "", self.default)
        if id(config) not in self._stages:
            self._stages[id(config)] = [stage(config) for stage in TEXT_FILTER_STAGES]
        return self._stages[id(config)]

    def fields(self) -> list[pa.Field]:
        """One column per signal any language's settings measure, in family order."""
        if self._fields is None:
            names: dict[str, None] = {}
            for config in [self.default, *self.filters.values()]:
                for language in [None, *config.per_language]:
                    settings = config.for_language(language)
                    for stage in TEXT_FILTER_STAGES:
                        section = getattr(settings, stage.family)
                        for name in stage.signal_names(section):
                            names[signal_column(stage.family, name)] = None
            self._fields = [
                pa.field(name, pa.string() if name in STRING_SIGNALS else pa.float64())
                for name in names
            ]
        return self._fields

    def measure(self, text: str | None, language: str | None) -> dict[str, Any]:
        """Every family's signals; each family measures the text the ones before it leave."""
        found: dict[str, Any] = {}
        if text is None:
            return found
        for stage in self.stages(language):
            ctx = stage.context(language)
            section = getattr(ctx.settings, stage.family)
            signals, left = stage.measure(text, section, ctx, rules.SENTENCE_CAP)
            for name, value in signals.items():
                found[signal_column(stage.family, name)] = value
            if section.enabled:
                text = left
        return found

    def attach(self, batch: pa.Table) -> pa.Table:
        """``batch`` with a column per signal (null where a document has none)."""
        texts = batch.column("text").to_pylist()
        languages = batch.column("language").to_pylist()
        measured = [self.measure(t, lang) for t, lang in zip(texts, languages, strict=True)]
        for f in self.fields():
            values = [m.get(f.name) for m in measured]
            batch = replace_column(batch, f.name, pa.array(values, f.type))
        return batch
