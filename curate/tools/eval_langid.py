"""Measuring language ID on labelled text: per-language precision, recall, F1 and confusions.

Labelled data is a directory of ``<code>.txt`` files, one sentence per line, named by ISO 639-1
code (``fr.txt``, as in ``shared/data/langid``) or by curate's ISO 639-3 + script code
(``fra_Latn.txt``). A 639-1 name is read through lid176's table (``nb`` is Bokmål); a name that
table lacks stays as is, so no model output can match it: such files act as distractors and
are not scored. Macro F1 averages the scored languages that have labelled text; languages asked
for without any are listed as skipped.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from curate.models.langid import label_map
from curate.recipe import LangIdConfig
from curate.schema import make_batch
from curate.stages.langid import LanguageId

REJECTED = "rejected"
Split = Literal["all", "dev", "test"]


def is_code(name: str) -> bool:
    """True for curate's ISO 639-3 + script codes, false for raw names without a mapping."""
    parts = name.split("_")
    return len(parts) == 2 and len(parts[0]) == 3 and len(parts[1]) == 4


def gold_code(stem: str) -> str:
    """curate's code for a labelled file's name."""
    if is_code(stem):
        return stem
    return "nob_Latn" if stem == "nb" else label_map("lid176").get(stem, stem)


@dataclass
class Labelled:
    texts: list[str]
    gold: list[str]


def load_labelled(directory: Path, pages: int = 0, split: Split = "all") -> Labelled:
    """Every line of every ``*.txt`` file; ``pages`` > 0 joins that many lines into one text.

    ``split`` halves each file: ``dev`` is the first half (where curate's decision knobs and
    thresholds were chosen), ``test`` the second.
    """
    files = sorted(directory.glob("*.txt"))
    if not files:
        raise FileNotFoundError(f"no labelled *.txt files in {directory}")
    texts: list[str] = []
    gold: list[str] = []
    for path in files:
        lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
        half = len(lines) // 2
        lines = {"all": lines, "dev": lines[:half], "test": lines[half:]}[split]
        if pages > 0:
            lines = ["\n".join(lines[i : i + pages]) for i in range(0, len(lines), pages)]
        texts += lines
        gold += [gold_code(path.stem)] * len(lines)
    return Labelled(texts, gold)


@dataclass
class LanguageRow:
    language: str
    support: int
    precision: float
    recall: float
    f1: float
    confused_with: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class Report:
    rows: list[LanguageRow]
    docs: int
    seconds: float
    skipped: list[str] = field(default_factory=list)  # asked for, but no labelled text
    unscored: list[str] = field(default_factory=list)  # raw names without a code: distractors

    @property
    def macro_f1(self) -> float:
        return float(np.mean([r.f1 for r in self.rows])) if self.rows else 0.0

    @property
    def docs_per_second(self) -> float:
        return self.docs / self.seconds if self.seconds else float("inf")


def predict_labels(config: LangIdConfig, texts: list[str]) -> tuple[list[str], float]:
    """Each text's language as curate decides it (``rejected`` below the score threshold)."""
    stage = LanguageId(config)
    batch = make_batch({"id": str(i), "text": t} for i, t in enumerate(texts))
    start = time.perf_counter()
    codes, scores = stage.predict(batch.column("text").combine_chunks())
    keep = scores >= stage.thresholds(codes)
    seconds = time.perf_counter() - start
    return [c if k else REJECTED for c, k in zip(codes, keep, strict=True)], seconds


def score(
    gold: list[str], predicted: list[str], languages: list[str] | None = None
) -> list[LanguageRow]:
    """Per-language scores for ``languages`` (default: every gold language)."""
    gold_a, pred_a = np.array(gold, dtype=object), np.array(predicted, dtype=object)
    rows = []
    for language in languages or sorted(set(gold)):
        is_gold, is_pred = gold_a == language, pred_a == language
        tp = int((is_gold & is_pred).sum())
        fp, fn = int((~is_gold & is_pred).sum()), int((is_gold & ~is_pred).sum())
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
        confusions = Counter(pred_a[is_gold & ~is_pred].tolist()).most_common(3)
        rows.append(LanguageRow(language, int(is_gold.sum()), precision, recall, f1, confusions))
    return rows


def evaluate(config: LangIdConfig, data: Labelled, languages: list[str] | None = None) -> Report:
    """Scores over ``languages`` that have labelled text (default: every gold language with a
    code); the others are listed, not averaged in as F1 0."""
    present = set(data.gold)
    unscored = sorted(c for c in present if not is_code(c)) if languages is None else []
    asked = languages or sorted(c for c in present if is_code(c))
    predicted, seconds = predict_labels(config, data.texts)
    rows = score(data.gold, predicted, [c for c in asked if c in present])
    skipped = [c for c in asked if c not in present]
    return Report(rows, len(data.texts), seconds, skipped, unscored)


def as_table(report: Report, title: str) -> list[str]:
    """The report as Markdown lines (what the CLI and the benchmark print)."""
    lines = [
        f"### {title}",
        "",
        "| language | n | precision | recall | F1 | most often predicted instead |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for row in report.rows:
        confused = ", ".join(f"{code} {count}" for code, count in row.confused_with)
        lines.append(
            f"| {row.language} | {row.support} | {row.precision:.3f} | {row.recall:.3f} "
            f"| {row.f1:.3f} | {confused} |"
        )
    lines += [
        "",
        f"macro F1 {report.macro_f1:.4f} over {len(report.rows)} languages; "
        f"{report.docs} texts, {report.docs_per_second:,.0f} texts/s",
    ]
    if report.skipped:
        lines.append(f"skipped (no labelled text): {', '.join(report.skipped)}")
    if report.unscored:
        lines.append(
            f"not scored (no language code; input as distractors): {', '.join(report.unscored)}"
        )
    return lines
