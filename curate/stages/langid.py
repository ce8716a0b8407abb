"""Language identification with fastText; routes each document to its language."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate.langid import as_probability, load_fasttext, locate_model, normalise_label, registry
from curate.langid_decide import DecisionRules, decide
from curate.recipe import LangIdConfig
from curate.schema import replace_column, set_drop_reason

UNDETERMINED = "und_Zyyy"


@dataclass
class LanguageId:
    """Sets ``language`` / ``language_score``; drops low scores and unselected languages.

    With ``decision: evidence`` (the default) the language comes from the model's top-k
    scores plus alphabets and confusable-group markers (:mod:`curate.langid_decide`); with
    ``decision: top1`` it is the model's first label.
    """

    config: LangIdConfig
    languages: str | list[str] = "all"
    name: str = "langid"
    output_fields: tuple[pa.Field, ...] = ()

    def _model(self):  # noqa: ANN202
        spec = registry().get(self.config.model)
        path = locate_model(self.config.model, self.config.model_path)
        return load_fasttext(str(path), spec.sha256 if spec else None)

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
