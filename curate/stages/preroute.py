"""Pre-routing: a cheap language guess that spares trafilatura the pages no recipe wants.

A recipe for one language, or a few, would otherwise run the expensive extraction on every
page of a multilingual crawl and drop most of them right after language ID. This stage reads
two cheap texts from one resiliparse parse of each page, its main content and its whole
visible text, and asks fastText (the model of ``langid:``) for the top languages of each. A
page goes on to trafilatura and the regular language ID, which stays the judge, unless the
selected languages are implausible in both texts: their summed probability below ``margin``
in the top ``top_k`` of each. Pages whose main content the cheap extraction cannot find go on
as well. Two views because resiliparse sometimes takes a boilerplate block (a German menu, an
English cookie notice) for the main content, and the whole text then still shows the article's
language; see ``benchmarks/bench_preroute.py`` for the recall this buys.

A dropped page gets the reason ``prerouted`` and the guessed language (of its main content) in
``language`` / ``language_score``, so stats and the drop ledger count pre-routed pages per
language like any other drop, with one reason instead of one per language.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from curate.langid import load_fasttext, locate_model, normalise_label, registry
from curate.schema import DROP_REASON, HTML, replace_column, set_drop_reason

if TYPE_CHECKING:  # curate.recipe imports this module for PrerouteConfig
    from curate.recipe import LangIdConfig
    from curate.stages.base import Stage

log = logging.getLogger(__name__)
PREROUTED = "prerouted"


class PrerouteConfig(BaseModel):
    """The ``preroute:`` recipe section: the pre-router and the cheap pre-filters."""

    model_config = ConfigDict(extra="forbid")

    # auto: on when the recipe selects a subset of languages and extraction is on
    enabled: Literal["auto", True, False] = "auto"
    # a page is dropped when its selected languages sum to less than this in both cheap texts
    margin: float = Field(0.1, ge=0.0, le=1.0)
    top_k: int = Field(5, ge=1)
    # characters of each cheap text given to fastText; its cost grows with the length
    max_chars: int = Field(3000, gt=0)
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
    main: str
    whole: str


def cheap_texts(html: str) -> CheapTexts | None:
    """Main-content and whole visible text from one resiliparse parse; None if it fails."""
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    try:
        tree = HTMLTree.parse(html)
        return CheapTexts(
            extract_plain_text(tree, main_content=True), extract_plain_text(tree, main_content=False)
        )
    except (ValueError, TypeError, RuntimeError, MemoryError) as error:
        log.debug("preroute: resiliparse failed: %s", error)
        return None


@dataclass
class Preroute:
    """Drops pages whose cheap text cannot be in the selected languages (reason ``prerouted``)."""

    config: PrerouteConfig
    langid: LangIdConfig
    languages: list[str]
    name: str = "preroute"
    output_fields: tuple[pa.Field, ...] = ()
    _selected: frozenset[str] | None = field(default=None, init=False, repr=False)

    def _model(self) -> Any:
        spec = registry().get(self.langid.model)
        path = locate_model(self.langid.model, self.langid.model_path)
        return load_fasttext(str(path), spec.sha256 if spec else None)

    def _selected_labels(self) -> frozenset[str]:
        """The model's raw labels (``__label__de``) that stand for a selected language."""
        if self._selected is None:
            labels = self._model().get_labels()
            wanted = set(self.languages)
            self._selected = frozenset(
                label for label in labels if normalise_label(self.langid.model, label) in wanted
            )
            if not self._selected:
                log.warning("preroute: model %s knows none of %s", self.langid.model, wanted)
        return self._selected

    def _predict(self, texts: Sequence[str]) -> tuple[np.ndarray, list[str | None], np.ndarray]:
        """Per text: the summed probability of the selected languages, the top language and its
        probability, from fastText's top ``top_k`` on the first ``max_chars`` characters."""
        selected = self._selected_labels()
        flat = [t[: self.config.max_chars].replace("\n", " ") for t in texts]
        labels, scores = self._model().predict(flat, k=self.config.top_k)
        plausible = np.array(
            [
                sum(float(s) for label, s in zip(row, probs, strict=True) if label in selected)
                for row, probs in zip(labels, scores, strict=True)
            ],
            dtype=np.float32,
        )
        top = [normalise_label(self.langid.model, row[0]) if row else None for row in labels]
        top_scores = np.array([s[0] if len(s) else np.nan for s in scores], dtype=np.float32)
        return plausible, top, top_scores

    def _judge(self, batch: pa.Table) -> tuple[list[int], list[CheapTexts]]:
        """Rows with a main content to judge by, and their cheap texts."""
        rows: list[int] = []
        pages: list[CheapTexts] = []
        htmls = batch.column(HTML).to_pylist()
        reasons = batch.column(DROP_REASON).to_pylist()
        for row, (html, reason) in enumerate(zip(htmls, reasons, strict=True)):
            texts = None if reason or html is None else cheap_texts(html)
            if texts is not None and texts.main.strip():  # no main content found: let it pass
                rows.append(row)
                pages.append(texts)
        return rows, pages

    def __call__(self, batch: pa.Table) -> pa.Table:
        if HTML not in batch.column_names or batch.num_rows == 0:
            return batch
        rows, pages = self._judge(batch)
        if not pages:
            return batch
        main_plausible, guesses, guess_scores = self._predict([p.main for p in pages])
        whole_plausible, _, _ = self._predict([p.whole for p in pages])
        rejected = np.maximum(main_plausible, whole_plausible) < self.config.margin
        language = batch.column("language").to_pylist()
        score = batch.column("language_score").to_pylist()
        mask = [False] * batch.num_rows
        for index in np.flatnonzero(rejected):
            row = rows[index]
            language[row], score[row], mask[row] = guesses[index], guess_scores[index], True
        batch = replace_column(batch, "language", pa.array(language, pa.string()))
        batch = replace_column(batch, "language_score", pa.array(score, pa.float32()))
        return set_drop_reason(batch, pa.array(mask), PREROUTED)


def prerouting_stages(
    config: PrerouteConfig,
    langid: LangIdConfig,
    languages: Literal["all"] | list[str],
    extract_enabled: bool,
) -> list[Stage]:
    """The stages that run before extraction: pre-filters if set, then the pre-router if on."""
    from curate.stages.prefilter import Prefilter

    stages: list[Stage] = []
    if config.min_html_bytes or config.require_markup:
        stages.append(Prefilter(config))
    if config.routes(languages, extract_enabled) and isinstance(languages, list):
        stages.append(Preroute(config, langid, languages))
    return stages
