"""Language identification with fastText; routes each document to its language."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from curate.core.config import Section
from curate.core.registry import register
from curate.core.stage import ModelFile, Stage
from curate.models.langid import as_probability, fasttext_model, model_file, normalise_label
from curate.models.langid_decide import DecisionRules, decide
from curate.schema import SIGNALS_ROW, SIGNALS_TEXT, replace_column, set_drop_reason
from curate.stages.quality.rules import below
from curate.stages.quality.text_filters import DocumentSignals

UNDETERMINED = "und_Zyyy"
# The model's own top labels and probabilities, kept as signals (the chosen language and its
# score are the document's ``language`` / ``language_score``).
TOP_LABELS = "langid.top_labels"
TOP_SCORES = "langid.top_scores"
TOP_KEPT = 3


class LangIdConfig(Section):
    model: str = "lid176"
    model_path: str | None = None
    min_score: float = Field(0.5, ge=0.0, le=1.0)
    min_score_per_language: dict[str, float] = {}
    top_k: int = Field(10, ge=1)
    # "evidence": top-k + confusable groups + alphabets + markers (curate.models.langid_decide);
    # "top1": the model's first label as is.
    decision: Literal["evidence", "top1"] = "evidence"
    letter_penalty: float = Field(1.0, ge=0.0)
    marker_weight: float = Field(2.0, ge=0.0)
    member_floor: float = Field(0.1, gt=0.0, le=1.0)


@register("langid", section="langid", config=LangIdConfig, phase="text", order=20)
@dataclass
class LanguageId(Stage):
    """Identify the language with fastText; drop low-confidence and unselected languages.

    Sets ``language`` / ``language_score``.
    With ``decision: evidence`` (the default) the language comes from the model's top-k
    scores plus alphabets and confusable-group markers (:mod:`curate.models.langid_decide`); with
    ``decision: top1`` it is the model's first label.
    """

    config: LangIdConfig
    languages: str | list[str] = "all"
    name: str = "langid"
    # Set when the recipe keeps signals: every text filter's signals, measured here for every
    # document before this stage drops any (see curate.stages.quality.text_filters).
    signals: DocumentSignals | None = None

    @classmethod
    def from_recipe(cls, recipe: Any) -> LanguageId:
        """A routed recipe's run uses each routed language's own threshold."""
        signals = _document_signals(recipe) if recipe.output.signals else None
        if not recipe.route:
            return cls(recipe.langid, recipe.languages, signals=signals)
        thresholds: dict[str, float] = {}
        for sub in recipe.route.values():
            for code in sub.languages:
                thresholds[code] = sub.langid.min_score_per_language.get(code, sub.langid.min_score)
        config = recipe.langid.model_copy(update={"min_score_per_language": thresholds})
        return cls(config, recipe.languages, signals=signals)

    @property
    def signal_fields(self) -> tuple[pa.Field, ...]:
        if self.signals is None:
            return ()
        top = (
            pa.field(TOP_LABELS, pa.list_(pa.string())),
            pa.field(TOP_SCORES, pa.list_(pa.float32())),
        )
        return top + tuple(self.signals.fields())

    def models(self) -> tuple[ModelFile, ...]:
        return (model_file(self.config.model, self.config.model_path),)

    def setup(self) -> None:
        self._model()

    def _model(self) -> Any:
        return fasttext_model(self.config.model, self.config.model_path)

    def predict(self, texts: pa.Array) -> tuple[list[str], np.ndarray]:
        """The language and its score for each text (newlines folded, as fastText needs)."""
        chosen, scores, _, _ = self.predict_top(texts)
        return chosen, scores

    def predict_top(
        self, texts: pa.Array
    ) -> tuple[list[str], np.ndarray, list[list[str]], list[np.ndarray]]:
        """:meth:`predict`, plus the model's top labels and probabilities for each text."""
        flat = pc.replace_substring(pc.fill_null(texts, ""), "\n", " ").to_pylist()
        k = 1 if self.config.decision == "top1" else self.config.top_k
        labels, probs = self._model().predict(flat, k=k)
        codes = [[normalise_label(self.config.model, label) for label in row] for row in labels]
        if self.config.decision == "top1":
            top = [row[0] if row else UNDETERMINED for row in codes]
            scores = as_probability([p[0] if len(p) else 0.0 for p in probs])
            return top, scores, codes, list(probs)
        chosen, scores = decide(pc.fill_null(texts, ""), codes, list(probs), self.rules)
        return chosen, as_probability(scores), codes, list(probs)

    @property
    def rules(self) -> DecisionRules:
        return DecisionRules(
            letter_penalty=self.config.letter_penalty,
            marker_weight=self.config.marker_weight,
            member_floor=self.config.member_floor,
        )

    def thresholds(self, codes: list[str]) -> np.ndarray:
        per_language = self.config.min_score_per_language
        return np.array([per_language.get(c, self.config.min_score) for c in codes], np.float32)

    def __call__(self, batch: pa.Table) -> pa.Table:
        if batch.num_rows == 0:
            return batch
        if TOP_LABELS in batch.column_names:
            # A run's kept signals (curate refilter): the language is known, only decide.
            codes = batch.column("language").to_pylist()
            scores = batch.column("language_score").to_numpy(zero_copy_only=False)
        else:
            codes, scores, top, probs = self.predict_top(batch.column("text").combine_chunks())
            batch = replace_column(batch, "language", pa.array(codes, pa.string()))
            batch = replace_column(batch, "language_score", pa.array(scores, pa.float32()))
            if self.signals is not None:
                batch = _attach_signals(self.signals, batch, top, probs)
        if self.languages != "all":
            selected = pc.is_in(batch.column("language"), pa.array(self.languages, pa.string()))
            not_selected = [f"language={code} not selected" for code in codes]
            batch = set_drop_reason(
                batch, pc.invert(selected), "language_not_selected", pa.array(not_selected)
            )
        thresholds = self.thresholds(codes)
        low = scores < thresholds
        details = [
            below("language_score", float(score), float(limit)) if is_low else None
            for score, limit, is_low in zip(scores, thresholds, low, strict=True)
        ]
        return set_drop_reason(
            batch, pa.array(low), "low_language_score", pa.array(details, pa.string())
        )


def _document_signals(recipe: Any) -> DocumentSignals:
    """Each language's ``filters:`` (a routed language's own recipe's), for the signals."""
    by_language = {code: sub.filters for sub in recipe.route.values() for code in sub.languages}
    return DocumentSignals(recipe.filters, by_language)


def _attach_signals(
    signals: DocumentSignals, batch: pa.Table, top: list[list[str]], probs: list[np.ndarray]
) -> pa.Table:
    """The row's text and place, the model's top labels, and every text filter's signals."""
    batch = replace_column(batch, SIGNALS_TEXT, batch.column("text"))
    batch = replace_column(batch, SIGNALS_ROW, pa.array(range(batch.num_rows), pa.int32()))
    batch = replace_column(
        batch, TOP_LABELS, pa.array([row[:TOP_KEPT] for row in top], pa.list_(pa.string()))
    )
    kept_probs = [[float(p) for p in row[:TOP_KEPT]] for row in probs]
    batch = replace_column(batch, TOP_SCORES, pa.array(kept_probs, pa.list_(pa.float32())))
    return signals.attach(batch)
