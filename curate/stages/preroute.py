"""Pre-routing: a cheap language guess that spares trafilatura the pages no recipe wants.

A recipe for one language, or a few, would otherwise run the expensive extraction on every
page of a multilingual crawl and drop most of them right after language ID. This stage parses
each page once with resiliparse and shows fastText (the model of ``langid:``) two cheap views
of its visible text: its start and its longest lines (prose rather than menus). A page goes on
to trafilatura and the regular language ID, which stays the judge, unless the selected
languages (with their confusable groups) are implausible in both views: their summed
probability below ``margin`` in the top ``top_k`` of each. Pages in which resiliparse sees no
text at all go on as well (trafilatura finds text in some).

Two views because they fail on different pages: a page often starts with a menu or a cookie
notice in another language than its article, and a page's longest lines are sometimes a
teaser or a legal notice. With ``main_content: true`` the first view is resiliparse's
main-content extract instead; on the benchmark crawl that buys no recall for about 1 ms a
page, and the main content alone misses pages where resiliparse takes a boilerplate block for
it. ``benchmarks/bench_preroute.py`` measures recall and speed.

A dropped page gets the reason ``prerouted`` and the guessed language (of its first view) in
``language`` / ``language_score``, so stats and the drop ledger count pre-routed pages per
language like any other drop, with one reason instead of one per language.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pyarrow as pa
from pydantic import Field

from curate.core.config import Section
from curate.core.registry import register
from curate.core.stage import ModelFile, Stage
from curate.models.langid import as_probability, fasttext_model, model_file, normalise_label
from curate.models.langid_decide import load_evidence
from curate.schema import DROP_REASON, HTML, replace_column, set_drop_reason
from curate.stages.langid import LangIdConfig

log = logging.getLogger(__name__)
PREROUTED = "prerouted"
# Characters fastText reads per view (its cost grows with them): the first START_CHARS of the
# text and its longest lines up to LONGEST_CHARS. Chosen on the benchmark crawl, where longer
# views bought no recall.
START_CHARS = 3000
LONGEST_CHARS = 1000


class PrerouteConfig(Section):
    """The ``preroute:`` recipe section: the pre-router and the cheap pre-filters."""

    # auto: on when the recipe selects a subset of languages and extraction is on
    enabled: Literal["auto", True, False] = "auto"
    # a page is dropped when its selected languages sum to less than this in both cheap texts
    margin: float = Field(0.05, ge=0.0, le=1.0)
    top_k: int = Field(5, ge=1)
    # first view: the start of the page's text; true: of resiliparse's main content (~1 ms a
    # page dearer, no recall gained on the benchmark crawl)
    main_content: bool = False
    # pre-filters, off by default: pages under this many bytes of HTML (0: off) ...
    min_html_bytes: int = Field(0, ge=0)
    # ... and bodies without any HTML markup (plain text, JSON served as text/html)
    require_markup: bool = False

    def routes(self, languages: Literal["all"] | list[str], extract_enabled: bool) -> bool:
        if self.enabled == "auto":
            return languages != "all" and extract_enabled
        return self.enabled and languages != "all"


@dataclass(frozen=True)
class CheapTexts:
    """What fastText reads of a page: the start of its text, and its longest lines."""

    start: str
    longest: str


def longest_lines(text: str, chars: int) -> str:
    """The longest lines of ``text``, about ``chars`` characters: prose rather than menus."""
    chosen: list[str] = []
    total = 0
    for line in sorted(text.splitlines(), key=len, reverse=True):
        if total >= chars or not line.strip():
            break
        chosen.append(line)
        total += len(line)
    return " ".join(chosen)


def cheap_texts(html: bytes, main_content: bool = False) -> CheapTexts | None:
    """The two views of a UTF-8 page from one resiliparse parse.

    None when there is nothing to judge by: parsing fails or the page shows no text at all.
    With ``main_content`` the first view starts the main content, if resiliparse finds one.
    """
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    try:
        tree = HTMLTree.parse_from_bytes(html, "utf-8")
        text = extract_plain_text(tree, main_content=False)
        main = extract_plain_text(tree, main_content=True) if main_content else ""
    except (ValueError, TypeError, RuntimeError, MemoryError) as error:
        log.debug("preroute: resiliparse failed: %s", error)
        return None
    if not text.strip():
        return None
    start = main if main.strip() else text
    return CheapTexts(start[:START_CHARS], longest_lines(text, LONGEST_CHARS))


def with_confusable_groups(languages: list[str]) -> set[str]:
    groups = load_evidence().group_of
    wanted = set(languages)
    for code in languages:
        if code in groups:
            wanted |= {*groups[code].members, *groups[code].labels}
    return wanted


@register("preroute", section="preroute", config=PrerouteConfig, phase="page", order=20)
@dataclass
class Preroute(Stage):
    """Drops pages whose cheap text cannot be in the selected languages (reason ``prerouted``)."""

    config: PrerouteConfig
    langid: LangIdConfig
    languages: list[str]
    name: str = "preroute"
    _selected: frozenset[str] | None = field(default=None, init=False, repr=False)

    @classmethod
    def from_recipe(cls, recipe: Any) -> Preroute | None:
        config, languages = recipe.preroute, recipe.languages
        if config.routes(languages, recipe.extract.enabled) and isinstance(languages, list):
            return cls(config, recipe.langid, languages)
        return None

    def models(self) -> tuple[ModelFile, ...]:
        return (model_file(self.langid.model, self.langid.model_path),)

    def setup(self) -> None:
        self._selected_labels()

    def _model(self) -> Any:
        return fasttext_model(self.langid.model, self.langid.model_path)

    def _selected_labels(self) -> frozenset[str]:
        """The model's raw labels (``__label__hr``) that can end as a selected language: the
        language's own, and its confusable group's, whose summed probability the language ID
        stage weighs as one (:mod:`curate.models.langid_decide`)."""
        if self._selected is None:
            labels = self._model().get_labels()
            wanted = with_confusable_groups(self.languages)
            self._selected = frozenset(
                label for label in labels if normalise_label(self.langid.model, label) in wanted
            )
            if not self._selected:
                log.warning(
                    "preroute: model %s knows none of %s; every page goes on to extraction",
                    self.langid.model,
                    sorted(self.languages),
                )
        return self._selected

    def _predict(self, texts: Sequence[str]) -> tuple[np.ndarray, list[str | None], np.ndarray]:
        """Per text: the summed probability of the selected languages, the top language and its
        probability, from fastText's top ``top_k``."""
        selected = self._selected_labels()
        flat = [t.replace("\n", " ") for t in texts]
        labels, scores = self._model().predict(flat, k=self.config.top_k)
        plausible = np.array(
            [
                sum(float(s) for label, s in zip(row, probs, strict=True) if label in selected)
                for row, probs in zip(labels, scores, strict=True)
            ],
            dtype=np.float32,
        )
        top = [normalise_label(self.langid.model, row[0]) if row else None for row in labels]
        top_scores = as_probability([s[0] if len(s) else np.nan for s in scores])
        return plausible, top, top_scores

    def _judge(self, batch: pa.Table) -> tuple[list[int], list[CheapTexts]]:
        """Rows with cheap texts to judge by, and those texts; the other rows pass."""
        rows: list[int] = []
        pages: list[CheapTexts] = []
        htmls = batch.column(HTML).cast(pa.binary()).to_pylist()  # UTF-8 bytes, no decoding
        reasons = batch.column(DROP_REASON).to_pylist()
        for row, (html, reason) in enumerate(zip(htmls, reasons, strict=True)):
            texts = None if reason or html is None else cheap_texts(html, self.config.main_content)
            if texts is not None:
                rows.append(row)
                pages.append(texts)
        return rows, pages

    def __call__(self, batch: pa.Table) -> pa.Table:
        if HTML not in batch.column_names or batch.num_rows == 0 or not self._selected_labels():
            return batch
        rows, pages = self._judge(batch)
        if not pages:
            return batch
        start_plausible, guesses, guess_scores = self._predict([p.start for p in pages])
        longest_plausible, _, _ = self._predict([p.longest for p in pages])
        rejected = np.maximum(start_plausible, longest_plausible) < self.config.margin
        language = batch.column("language").to_pylist()
        score = batch.column("language_score").to_pylist()
        mask = [False] * batch.num_rows
        for index in np.flatnonzero(rejected):
            row = rows[index]
            language[row], score[row], mask[row] = guesses[index], guess_scores[index], True
        batch = replace_column(batch, "language", pa.array(language, pa.string()))
        batch = replace_column(batch, "language_score", pa.array(score, pa.float32()))
        return set_drop_reason(batch, pa.array(mask), PREROUTED)
