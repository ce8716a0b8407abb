"""Language ID: raw lid.176 top-1 vs curate's decision, on the shared labelled sentences.

Prints Markdown tables: per-language P/R/F1 for both on the held-out (test) half of every
file, macro F1 on sentences and on pages (10 consecutive sentences joined), and texts/s.
curate's thresholds come from the one-pass recipe (recipes/eu_all.yaml). The dev half is
where the decision knobs were chosen and where ``--fit`` derives per-language thresholds.

    CURATE_SHARED_DATA=../shared/data python benchmarks/bench_langid.py [--fit]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from common import SHARED_DATA

from curate.pipeline import langid_config
from curate.recipe import LangIdConfig, load_recipe
from curate.tools.eval_langid import (
    Labelled,
    as_table,
    evaluate,
    load_labelled,
    predict_labels,
    score,
)

REPO = Path(__file__).resolve().parents[1]
THRESHOLD_FLOOR = 0.3


def languages_with_data(recipe_languages: list[str], data: Labelled) -> list[str]:
    return [code for code in recipe_languages if code in set(data.gold)]


def fit_thresholds(config: LangIdConfig, data: Labelled, languages: list[str]) -> dict:
    """Per language, the score threshold with the best F1 on ``data`` (floored)."""
    predicted, _ = predict_labels(config.model_copy(update={"min_score": 0.0}), data.texts)
    stage_scores = _scores(config, data.texts)
    fitted = {}
    for code in languages:
        best = max(
            np.arange(0.0, 0.96, 0.05),
            key=lambda t: (
                score(
                    data.gold,
                    [
                        p if p != code or s >= t else "rejected"
                        for p, s in zip(predicted, stage_scores, strict=True)
                    ],
                    [code],
                )[0].f1
            ),
        )
        fitted[code] = round(max(float(best), THRESHOLD_FLOOR), 2)
    return fitted


def _scores(config: LangIdConfig, texts: list[str]) -> np.ndarray:
    import pyarrow as pa

    from curate.stages.langid import LanguageId

    return LanguageId(config).predict(pa.array(texts, pa.string()))[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fit", action="store_true", help="print thresholds fitted on dev")
    args = parser.parse_args()
    recipe = load_recipe(REPO / "curate" / "recipes" / "eu_all.yaml")
    curate = langid_config(recipe)
    raw = LangIdConfig(decision="top1", min_score=0.0)
    directory = SHARED_DATA / "langid"
    if args.fit:
        dev = load_labelled(directory, split="dev")
        for code, value in fit_thresholds(
            curate, dev, languages_with_data(recipe.languages, dev)
        ).items():
            print(f"{code}: {value}")
        return
    summary = [
        "| data | texts | lid176 top-1 macro F1 | curate macro F1 | lid176 texts/s "
        "| curate texts/s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, pages, split in [
        ("sentences, test half", 0, "test"),
        ("sentences, all", 0, "all"),
        ("pages of 10 sentences, all", 10, "all"),
    ]:
        data = load_labelled(directory, pages, split)
        languages = languages_with_data(recipe.languages, data)
        before, after = evaluate(raw, data, languages), evaluate(curate, data, languages)
        summary.append(
            f"| {name} | {before.docs} | {before.macro_f1:.4f} | {after.macro_f1:.4f} "
            f"| {before.docs_per_second:,.0f} | {after.docs_per_second:,.0f} |"
        )
        if split == "test" or pages:
            print("\n".join(as_table(before, f"lid176 top-1, {name}")) + "\n")
            print(
                "\n".join(as_table(after, f"curate (lid176 + evidence, eu_all thresholds), {name}"))
                + "\n"
            )
    print(
        f"### Summary ({len(languages)} European languages scored; every file of "
        f"{directory} is input, the others act as distractors)\n"
    )
    print("\n".join(summary))


if __name__ == "__main__":
    main()
