"""Quality filtering inside real runs: routing, audit output, calibrate."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import yaml

from curate.engine.local import LocalEngine
from curate.recipe import load_raw, load_recipe, parse_recipe
from curate.runner import Run
from tests.conftest import RECIPES, REPO


def _run(recipe_data: dict, inputs: list[Path], out: Path) -> dict:
    summary, _ = Run(parse_recipe(recipe_data), inputs, out).execute(LocalEngine(1))
    return summary


def _labelled_jsonl(shared_data: Path, path: Path) -> Path:
    """Clean prose in three languages and a few junk documents the filters must drop."""
    with open(path, "w", encoding="utf-8") as stream:
        for iso in ("fr", "de", "el"):
            lines = (shared_data / "langid" / f"{iso}.txt").read_text().splitlines()
            for n in range(4):
                text = "\n".join(lines[n * 20 : n * 20 + 20])
                stream.write(json.dumps({"id": f"{iso}-{n}", "text": text}) + "\n")
            junk = "\n".join(lines[:3] * 6)  # the same lines again and again
            stream.write(json.dumps({"id": f"{iso}-junk", "text": junk}) + "\n")
    return path


def test_routed_run_applies_each_languages_filters_as_alone(
    shared_data: Path, tmp_path: Path
) -> None:
    sample = _labelled_jsonl(shared_data, tmp_path / "in.jsonl")
    routes = [str(RECIPES / code) for code in ("fra_Latn", "deu_Latn", "ell_Grek")]
    all_path = tmp_path / "all.yaml"
    all_path.write_text(
        yaml.safe_dump({"extends": str(RECIPES / "base.yaml"), "name": "three", "route": routes})
    )
    summary, _ = Run(load_recipe(all_path), [sample], tmp_path / "all").execute(LocalEngine(1))
    assert summary["stages"]["gopher_repetition"]["fra_Latn"]["dropped"]
    for code in ("fra_Latn", "deu_Latn", "ell_Grek"):
        alone = tmp_path / code
        Run(load_recipe(RECIPES / f"{code}.yaml"), [sample], alone).execute(LocalEngine(1))
        one_pass = pq.read_table(tmp_path / "all" / "data" / code / "in.jsonl-00000.parquet")
        separate = pq.read_table(alone / "data" / code / "in.jsonl-00000.parquet")
        assert one_pass.equals(separate)
        assert one_pass.num_rows >= 2


def test_rejected_documents_written_for_audit_and_inspect_rates(
    shared_data: Path, tmp_path: Path
) -> None:
    sample = _labelled_jsonl(shared_data, tmp_path / "in.jsonl")
    data = load_raw(RECIPES / "fra_Latn.yaml")
    data["filters"]["write_rejected"] = True
    out = tmp_path / "out"
    summary = _run(data, [sample], out)
    rejected = pq.read_table(out / "rejected" / "fra_Latn" / "in.jsonl.parquet").to_pylist()
    by_id = {row["id"]: row for row in rejected}
    assert by_id["fr-junk"]["stage"] == "gopher_repetition"
    assert by_id["fr-junk"]["reason"] == "gopher_dup_line_frac"
    assert by_id["fr-junk"]["text"].startswith(
        (shared_data / "langid" / "fr.txt").read_text().splitlines()[0]
    )
    assert (out / "rejected" / "deu_Latn" / "in.jsonl.parquet").is_file()  # language_not_selected
    ledger = pq.read_table(out / "dropped" / "in.jsonl.parquet")
    assert summary["totals"]["docs_dropped"] == len(ledger)
    shown = subprocess.run(
        [sys.executable, "-m", "curate.cli", "inspect", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    ).stdout
    assert "Drop rates per stage and language" in shown and "gopher_dup_line_frac" in shown


def test_calibrate_writes_overrides_that_keep_the_reference_sample(
    shared_data: Path, tmp_path: Path
) -> None:
    lines = (shared_data / "langid" / "fr.txt").read_text().splitlines()
    sample = tmp_path / "fr.jsonl"
    with open(sample, "w", encoding="utf-8") as stream:
        for n in range(0, 500, 10):
            stream.write(json.dumps({"id": str(n), "text": "\n".join(lines[n : n + 10])}) + "\n")
    out = tmp_path / "calibrated.yaml"
    shown = subprocess.run(
        [
            sys.executable,
            "-m",
            "curate.cli",
            "calibrate",
            "--input",
            str(sample),
            "--language",
            "fra_Latn",
            "--quantiles",
            "0.02,0.98",
            "--recipe",
            str(RECIPES / "fra_Latn.yaml"),
            "--output",
            str(out),
            "--reference",
            str(shared_data / "fineweb2-configs" / "fra_Latn.yml"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    ).stdout
    assert "avg_word_length" in shown and "FineWeb-2" in shown
    calibrated = load_recipe(out)
    settings = calibrated.filters.for_language("fra_Latn")
    assert settings.gopher_quality.min_stop_words > 2  # real French has many stop words
    assert not settings.c4_quality.enabled  # the recipe's disabled family stays disabled
    summary = _run(calibrated.model_dump(), [sample], tmp_path / "run")
    assert summary["totals"]["docs_kept"] >= 0.8 * 50
