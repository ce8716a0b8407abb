"""``curate train-quality``: train a fastText quality classifier for the ``quality_model`` stage.

Positives and negatives are texts from JSONL (``text`` field), Parquet (``text`` column),
plain text (one per line), or a run's output directory: its kept documents (``data/``) as
positives, or its rejected documents (``rejected/``, written with ``filters.write_rejected``)
as negatives. Texts are normalised as the stage scores them (:func:`quality_text`); a
deterministic fifth is held out for precision, recall and ROC AUC. Writes the model and, beside
it, ``<model>.card.json``: data, sizes, settings, metrics and the model's sha256.
"""

from __future__ import annotations

import hashlib
import json
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curate.core.hashing import sha256_of
from curate.io.atomic import write_json
from curate.stages.quality_model import quality_text, score

POSITIVE = "__label__positive"
NEGATIVE = "__label__negative"
HELD_OUT_EVERY = 5
DIMENSION = 50
BUCKETS = 100_000  # hashed word-bigram rows: with fastText's 2 million a model is 800 MB


@dataclass(frozen=True)
class Metrics:
    precision: float
    recall: float
    auc: float
    held_out: int


def read_texts(path: Path, role: str) -> list[str]:
    """Non-empty texts of a file or a run's output (kept documents, or rejected ones)."""
    if path.is_dir():
        folder = path / ("data" if role == "positive" else "rejected")
        files = sorted(folder.glob("*/*.parquet"))
        if not files:
            raise FileNotFoundError(f"{path}: no {folder.name}/*/*.parquet in this run output")
        return [t for f in files for t in _parquet_texts(f)]
    if path.suffix == ".parquet":
        return _parquet_texts(path)
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    if path.suffix != ".jsonl":
        return [line for line in lines if line.strip()]
    return [text for text in map(_json_text, lines) if text]


def _parquet_texts(path: Path) -> list[str]:
    return [t for t in pq.read_table(path, columns=["text"]).column("text").to_pylist() if t]


def _json_text(line: str) -> str | None:
    try:
        row = json.loads(line)
    except ValueError:
        return None
    text = row.get("text") if isinstance(row, dict) else None
    return text if isinstance(text, str) and text.strip() else None


def held_out(text: str) -> bool:
    """A fixed fifth of the texts, by content, whatever their order."""
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") % HELD_OUT_EVERY == 0


def train(
    positives: list[str],
    negatives: list[str],
    output: Path,
    epochs: int = 10,
    ngrams: int = 2,
    seed: int = 1,
) -> dict[str, Any]:
    """Trains, evaluates on the held-out fifth, writes the model and its card; returns the card."""
    import fasttext

    labelled = [(POSITIVE, t) for t in quality_text(pa.array(positives, pa.large_string()))]
    labelled += [(NEGATIVE, t) for t in quality_text(pa.array(negatives, pa.large_string()))]
    labelled = [(label, text) for label, text in labelled if text]
    train_rows = [row for row in labelled if not held_out(row[1])]
    test_rows = [row for row in labelled if held_out(row[1])]
    random.Random(seed).shuffle(train_rows)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output.parent) as scratch:
        data = Path(scratch) / "train.txt"
        data.write_text("".join(f"{label} {text}\n" for label, text in train_rows), "utf-8")
        model = fasttext.train_supervised(
            input=str(data),
            epoch=epochs,
            wordNgrams=ngrams,
            dim=DIMENSION,
            bucket=BUCKETS,
            lr=0.5,
            thread=1,
            seed=seed,
            verbose=0,
        )
        temporary = Path(scratch) / output.name
        model.save_model(str(temporary))
        temporary.replace(output)
    metrics = evaluate(model, test_rows)
    card = {
        "model": output.name,
        "sha256": sha256_of(output),
        "bytes": output.stat().st_size,
        "label": POSITIVE,
        "data": {
            "positives": len(positives),
            "negatives": len(negatives),
            "train": len(train_rows),
            "held_out": len(test_rows),
        },
        "settings": {
            "epochs": epochs,
            "word_ngrams": ngrams,
            "dim": DIMENSION,
            "buckets": BUCKETS,
            "seed": seed,
        },
        "metrics": metrics.__dict__,
    }
    write_json(card_path(output), card)
    return card


def card_path(model: Path) -> Path:
    return model.with_name(model.name + ".card.json")


def evaluate(model: Any, rows: list[tuple[str, str]]) -> Metrics:
    """Precision and recall of the positive label at 0.5, and ROC AUC, on ``rows``."""
    if not rows:
        return Metrics(0.0, 0.0, 0.0, 0)
    truth = np.array([label == POSITIVE for label, _ in rows])
    scores = score(model, [text for _, text in rows], POSITIVE)
    predicted = scores >= 0.5
    true_positives = int((predicted & truth).sum())
    precision = true_positives / max(int(predicted.sum()), 1)
    recall = true_positives / max(int(truth.sum()), 1)
    return Metrics(
        round(precision, 4), round(recall, 4), round(roc_auc(truth, scores), 4), len(rows)
    )


def roc_auc(truth: np.ndarray, scores: np.ndarray) -> float:
    """The probability that a random positive outscores a random negative (ties count half)."""
    positives, negatives = int(truth.sum()), int((~truth).sum())
    if not positives or not negatives:
        return 0.0
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    for value in np.unique(scores):  # average ranks of ties
        tied = scores == value
        ranks[tied] = ranks[tied].mean()
    return float((ranks[truth].sum() - positives * (positives + 1) / 2) / (positives * negatives))
