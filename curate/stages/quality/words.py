"""Language-aware word and sentence splitting with spaCy's rule-based tokenizers.

The tokenizer for a language is the one datatrove assigns it (its ``tokenizer_assignment.csv``,
e.g. ``fra_Latn -> fr``, ``bos_Latn -> sr``), so word counts and thresholds mean what they mean
in datatrove and FineWeb-2. Languages datatrove sends to Stanza or other model-based tokenizers
(Galician, Maltese, ...) need model downloads; they fall back to spaCy's multi-language ``xx``
tokenizer unless a recipe names another spaCy language in ``word_tokenizer``.

Words are split once per document and shared by every filter stage through a bounded cache.
"""

from __future__ import annotations

import csv
import functools
import importlib
import importlib.resources
import logging
from collections import OrderedDict

log = logging.getLogger(__name__)

FALLBACK_TOKENIZER = "xx"
# spaCy interns every new string; a fresh tokenizer bounds that memory on long runs.
MAX_INTERNED_STRINGS = 500_000
CACHE_MAX_CHARS = 16_000_000


@functools.cache
def _assignments() -> dict[str, tuple[str, str]]:
    """datatrove's language -> word tokenizer table, read as the package data it ships."""
    assignments = importlib.resources.files("datatrove") / "assets" / "tokenizer_assignment.csv"
    table: dict[str, tuple[str, str]] = {}
    with assignments.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["type"]:
                table.setdefault(f"{row['code_3']}_{row['script']}", (row["type"], row["tok_code"]))
    return table


def spacy_code(language: str | None) -> str:
    """The spaCy language whose tokenizer splits ``language`` (``fra_Latn`` -> ``fr``)."""
    kind, code = _assignments().get(language or "", ("", ""))
    return code if kind == "SpaCyTokenizer" and code else FALLBACK_TOKENIZER


@functools.cache
def default_stop_words(code: str) -> frozenset[str]:
    """spaCy's stop-word list for a spaCy language code; empty when spaCy has none."""
    try:
        module = importlib.import_module(f"spacy.lang.{code}.stop_words")
    except ImportError:
        return frozenset()
    return frozenset(module.STOP_WORDS)


class Tokenizer:
    """A spaCy blank pipeline for one language, loaded on first use."""

    def __init__(self, code: str) -> None:
        self.code = code
        self._nlp = None
        self._sentencizer = None

    def _load(self):  # noqa: ANN202
        if self._nlp is None or len(self._nlp.vocab.strings) > MAX_INTERNED_STRINGS:
            import spacy

            try:
                self._nlp = spacy.blank(self.code)
            except ImportError as error:  # e.g. Japanese needs SudachiPy
                log.warning("spaCy '%s' unavailable (%s): using 'xx'", self.code, error)
                self.code = FALLBACK_TOKENIZER
                self._nlp = spacy.blank(self.code)
            self._sentencizer = self._nlp.add_pipe("sentencizer")
        return self._nlp

    @property
    def spacy_language(self) -> str:
        """The spaCy language in use: the one asked for, or the fallback if it cannot load."""
        self._load()
        return self.code

    def words(self, text: str) -> list[str]:
        """Tokens with whitespace tokens removed, as datatrove's ``split_into_words``."""
        tokens = self._load().tokenizer(text)
        return [w for w in (t.text.strip() for t in tokens) if w]

    def count_sentences(self, text: str, limit: int) -> int:
        """Sentences in ``text`` by spaCy's sentencizer (at least one), counted up to ``limit``."""
        doc = self._sentencizer(self._load().tokenizer(text))
        count = 0
        for _ in doc.sents:
            count += 1
            if count >= limit:
                break
        return max(count, 1)


@functools.cache
def tokenizer(code: str) -> Tokenizer:
    return Tokenizer(code)


class WordCache:
    """Recently split documents, so consecutive filter stages split each text only once."""

    def __init__(self, max_chars: int = CACHE_MAX_CHARS) -> None:
        self.max_chars = max_chars
        self._entries: OrderedDict[tuple[str, str], list[str]] = OrderedDict()
        self._chars = 0

    def clear(self) -> None:
        self._entries.clear()
        self._chars = 0

    def words(self, code: str, text: str) -> list[str]:
        key = (code, text)
        found = self._entries.get(key)
        if found is not None:
            return found
        found = tokenizer(code).words(text)
        if len(text) <= self.max_chars:
            self._entries[key] = found
            self._chars += len(text)
            while self._chars > self.max_chars:
                (_, old), _ = self._entries.popitem(last=False)
                self._chars -= len(old)
        return found


WORDS = WordCache()
