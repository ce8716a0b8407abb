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
from curate.schema import replace_column, set_drop_reason

UNDETERMINED = "und_Zyyy"


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

    @classmethod
    def from_recipe(cls, recipe: Any) -> LanguageId:
        """A routed recipe's run uses each routed language's own threshold."""
        if not recipe.route:
            return cls(recipe.langid, recipe.languages)
        thresholds: dict[str, float] = {}
        for sub in recipe.route.values():
            for code in sub.languages:
                thresholds[code] = sub.langid.min_score_per_language.get(code, sub.langid.min_score)
        config = recipe.langid.model_copy(update={"min_score_per_language": thresholds})
        return cls(config, recipe.languages)

    def models(self) -> tuple[ModelFile, ...]:
        return (model_file(self.config.model, self.config.model_path),)

    def setup(self) -> None:
        self._model()

    def _model(self) -> Any:
        return fasttext_model(self.config.model, self.config.model_path)

    def predict(self, texts: pa.Array) -> tuple[list[str], np.ndarray]:
        """The language and its score for each text (newlines folded, as fastText needs)."""
        flat = pc.replace_substring(pc.fill_null(texts, ""), "\n", " ").to_pylist()
        k = 1 if self.config.decision == "top1" else self.config.top_k
        labels, probs = self._model().predict(flat, k=k)
        codes = [[normalise_label(self.config.model, label) for label in row] for row in labels]
        if self.config.decision == "top1":
            top = [row[0] if row else UNDETERMINED for row in codes]
            return top, as_probability([p[0] if len(p) else 0.0 for p in probs])
        chosen, scores = decide(pc.fill_null(texts, ""), codes, list(probs), self.rules)
        return chosen, as_probability(scores)

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
        codes, scores = self.predict(batch.column("text").combine_chunks())
        batch = replace_column(batch, "language", pa.array(codes, pa.string()))
        batch = replace_column(batch, "language_score", pa.array(scores, pa.float32()))
        if self.languages != "all":
            selected = pc.is_in(batch.column("language"), pa.array(self.languages, pa.string()))
            batch = set_drop_reason(batch, pc.invert(selected), "language_not_selected")
        low = pa.array(scores < self.thresholds(codes))
        return set_drop_reason(batch, low, "low_language_score")
