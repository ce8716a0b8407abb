"""Model-based quality scoring: a fastText supervised classifier per language, on CPU.

Each document whose language has a model (or the ``default`` one) gets ``quality_score``, the
probability the model gives the recipe's ``label``, computed on :func:`quality_text` (the
dedup normalisation: NFC, lowercase, numbers to ``0``, punctuation and whitespace to single
spaces), the same text ``curate train-quality`` trains on. A document scoring under its
language's ``min_score`` is dropped as ``low_quality_score``. Models are local files checked
against the recipe's sha256, loaded once per process in :meth:`QualityModel.setup`, never
downloaded; the manifest records each one's checksum.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from curate.core.config import Section
from curate.core.registry import register
from curate.core.stage import ModelFile, Stage
from curate.dedup.minhash import normalise
from curate.models.langid import load_fasttext
from curate.schema import replace_column, set_drop_reason

QUALITY_SCORE = "quality_score"
LOW_QUALITY = "low_quality_score"
DEFAULT = "default"


class QualityModelSpec(Section):
    """One classifier: its file and identity, the label to score, the threshold."""

    model_path: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    label: str = "__label__positive"
    min_score: float = Field(0.5, ge=0.0, le=1.0)
    source: str = "trained locally with curate train-quality"
    licence: str = "as its training data"


class QualityModelConfig(Section):
    """``models``: language code (e.g. ``deu_Latn``, or ``default``) -> its classifier."""

    models: dict[str, QualityModelSpec] = Field(default_factory=dict)


def quality_text(texts: pa.Array | pa.ChunkedArray) -> list[str]:
    """The text a quality classifier sees, in training and in scoring."""
    return [" ".join(text.split()) for text in normalise(texts).to_pylist()]


def score(model: Any, texts: list[str], label: str) -> np.ndarray:
    """The probability of ``label`` for each text (one batched fastText call)."""
    labels, probabilities = model.predict(texts, k=-1)
    return np.array(
        [
            dict(zip(row, probs, strict=True)).get(label, 0.0)
            for row, probs in zip(labels, probabilities, strict=True)
        ],
        np.float64,
    )


@register(
    "quality_model", section="quality_model", config=QualityModelConfig, phase="document", order=45
)
@dataclass
class QualityModel(Stage):
    """Scores documents with a fastText quality classifier; drops those under ``min_score``."""

    config: QualityModelConfig
    name: str = "quality_model"
    output_fields: ClassVar[tuple[pa.Field, ...]] = (pa.field(QUALITY_SCORE, pa.float32()),)

    @classmethod
    def from_recipe(cls, recipe: Any) -> QualityModel | None:
        return cls(recipe.quality_model) if recipe.quality_model.models else None

    def models(self) -> tuple[ModelFile, ...]:
        return tuple(
            ModelFile(f"quality:{language}", Path(spec.model_path), spec.sha256)
            for language, spec in sorted(self.config.models.items())
        )

    def setup(self) -> None:
        for spec in self.config.models.values():
            load_fasttext(spec.model_path, spec.sha256)

    def spec_for(self, language: str | None) -> QualityModelSpec | None:
        return self.config.models.get(language or "", self.config.models.get(DEFAULT))

    def __call__(self, batch: pa.Table) -> pa.Table:
        scores = np.full(batch.num_rows, np.nan)
        thresholds = np.full(batch.num_rows, -1.0)
        languages = batch.column("language").to_pylist()
        texts = batch.column("text")
        for language in sorted({lang or "" for lang in languages}):
            spec = self.spec_for(language)
            if spec is None:
                continue
            rows = np.flatnonzero([(lang or "") == language for lang in languages])
            model = load_fasttext(spec.model_path, spec.sha256)
            chosen = quality_text(texts.take(pa.array(rows)))
            scores[rows] = score(model, chosen, spec.label)
            thresholds[rows] = spec.min_score
        column = pa.array(scores.astype(np.float32), mask=np.isnan(scores))
        batch = replace_column(batch, QUALITY_SCORE, column)
        low = pc.fill_null(pc.less(column, pa.array(thresholds.astype(np.float32))), False)
        details = [
            f"{QUALITY_SCORE}={scores[row]:.3f} < {thresholds[row]:.3f}" if is_low else None
            for row, is_low in enumerate(low.to_pylist())
        ]
        return set_drop_reason(batch, low, LOW_QUALITY, pa.array(details, pa.string()))
