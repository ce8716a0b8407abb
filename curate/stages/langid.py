"""Language identification with fastText; routes each document to its language."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate.langid import load_fasttext, locate_model, normalise_label, registry
from curate.recipe import LangIdConfig
from curate.schema import replace_column, set_drop_reason


@dataclass
class LanguageId:
    """Sets ``language`` / ``language_score``; drops low scores and unselected languages."""

    config: LangIdConfig
    languages: str | list[str] = "all"
    name: str = "langid"
    output_fields: tuple[pa.Field, ...] = ()

    def _model(self):  # noqa: ANN202
        spec = registry().get(self.config.model)
        path = locate_model(self.config.model, self.config.model_path)
        return load_fasttext(str(path), spec.sha256 if spec else None)

    def predict(self, texts: list[str]) -> tuple[list[str], np.ndarray]:
        """Top language and its probability for each text (newlines folded, as fastText needs)."""
        model = self._model()
        flat = [t.replace("\n", " ") for t in texts]
        labels, scores = model.predict(flat, k=1)
        codes = [
            normalise_label(self.config.model, row[0]) if row else "und_Zyyy" for row in labels
        ]
        best = np.array([s[0] if len(s) else 0.0 for s in scores], dtype=np.float32)
        return codes, best

    def _thresholds(self, codes: list[str]) -> np.ndarray:
        per_language = self.config.min_score_per_language
        return np.array([per_language.get(c, self.config.min_score) for c in codes], np.float32)

    def __call__(self, batch: pa.Table) -> pa.Table:
        if batch.num_rows == 0:
            return batch
        texts = pc.fill_null(batch.column("text"), "").to_pylist()
        codes, scores = self.predict(texts)
        batch = replace_column(batch, "language", pa.array(codes, pa.string()))
        batch = replace_column(batch, "language_score", pa.array(scores, pa.float32()))
        if self.languages != "all":
            selected = pc.is_in(batch.column("language"), pa.array(self.languages, pa.string()))
            batch = set_drop_reason(batch, pc.invert(selected), "language_not_selected")
        low = pa.array(scores < self._thresholds(codes))
        return set_drop_reason(batch, low, "low_language_score")
