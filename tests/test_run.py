import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from curate.engine.local import LocalEngine
from curate.recipe import load_recipe
from curate.runner import Run

from .conftest import RECIPES, REPO
from .helpers import labelled_jsonl, without_quality_filters


def run(inputs: list[Path], out: Path, workers: int = 1, name: str = "base") -> dict:
    recipe = without_quality_filters(load_recipe(RECIPES / f"{name}.yaml"))
    summary, _ = Run(recipe, inputs, out).execute(LocalEngine(workers))
    return summary


def kept_rows(out: Path) -> pl.DataFrame:
    return pl.read_parquet(sorted((out / "data").glob("*/*.parquet")))


def test_real_warcs_accounting_and_readback(warc_files: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    summary = run(warc_files, out)
    totals = summary["totals"]
    assert totals["docs_read"] == 16 + 29 + 1
    assert totals["docs_read"] == totals["docs_kept"] + totals["docs_dropped"]
    kept = kept_rows(out)
    ledger = pl.read_parquet(sorted((out / "dropped").glob("*.parquet")))
    assert kept.height == totals["docs_kept"] and ledger.height == totals["docs_dropped"]
    assert set(kept["id"]).isdisjoint(set(ledger["id"]))
    assert kept["language"].null_count() == 0 and kept["text"].null_count() == 0
    for language_dir in (out / "data").iterdir():
        frame = pl.read_parquet(language_dir / "*.parquet")
        assert set(frame["language"]) == {language_dir.name}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["langid_model"]["sha256"].startswith("8f3472cf")
    assert len(manifest["inputs"]) == 3


def test_shards_load_with_datasets(warc_files: list[Path], tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    out = tmp_path / "out"
    run([p for p in warc_files if p.name == "warcfile.warc.gz"], out)
    files = sorted(str(p) for p in (out / "data").glob("*/*.parquet"))
    loaded = datasets.load_dataset(
        "parquet", data_files=files, split="train", cache_dir=str(tmp_path / "cache")
    )
    assert loaded.num_rows == kept_rows(out).height
    assert {"id", "text", "language", "language_score", "metadata"} <= set(loaded.column_names)


def test_languages_agree_with_labels(shared_data: Path, tmp_path: Path) -> None:
    truth = labelled_jsonl(shared_data, tmp_path / "labelled.jsonl")
    out = tmp_path / "out"
    run([tmp_path / "labelled.jsonl"], out)
    kept = kept_rows(out)
    assigned = dict(zip(kept["id"], kept["language"], strict=True))
    correct = sum(assigned.get(doc_id) == language for doc_id, language in truth.items())
    assert correct / len(truth) >= 0.95


def test_selected_language_routing(shared_data: Path, tmp_path: Path) -> None:
    labelled_jsonl(shared_data, tmp_path / "labelled.jsonl")
    out = tmp_path / "out"
    summary = run([tmp_path / "labelled.jsonl"], out, name="fra_Latn")
    assert [p.name for p in (out / "data").iterdir()] == ["fra_Latn"]
    assert summary["totals"]["dropped"]["language_not_selected"] >= 35


def test_deterministic_across_workers_and_resumable(warc_files: list[Path], tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    run(warc_files, one, workers=1)
    run(warc_files, two, workers=2)
    shards = sorted(p.relative_to(one) for p in (one / "data").rglob("*.parquet"))
    assert shards == sorted(p.relative_to(two) for p in (two / "data").rglob("*.parquet"))
    for shard in shards:
        assert (one / shard).read_bytes() == (two / shard).read_bytes()
    assert (one / "stats.json").read_bytes() == (two / "stats.json").read_bytes()
    marker = next((one / "work" / "done").glob("warcfile.warc.gz.json"))
    shard = one / "data" / "deu_Latn" / "warcfile.warc.gz-00000.parquet"
    shard.unlink()
    marker.unlink()
    run(warc_files, one, workers=1)
    assert (one / "stats.json").read_bytes() == (two / "stats.json").read_bytes()
    assert shard.read_bytes() == (two / shard.relative_to(one)).read_bytes()


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "curate.cli", *args], capture_output=True, text=True, cwd=REPO
    )


def test_cli_errors_are_one_line_exit_2(tmp_path: Path, warc_files: list[Path]) -> None:
    missing = cli(
        "run",
        "base",
        "--input",
        str(tmp_path / "nope.warc.gz"),
        "--output",
        str(tmp_path / "o"),
    )
    assert missing.returncode == 2 and "input not found" in missing.stderr
    assert "Traceback" not in missing.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nlangid: {min_score: high}\n")
    wrong = cli("run", str(bad), "--input", str(warc_files[0]), "--output", str(tmp_path / "o"))
    assert wrong.returncode == 2 and "langid.min_score: must be a number" in wrong.stderr


def test_cli_names_a_url_as_given(tmp_path: Path, warc_files: list[Path]) -> None:
    """A URL is refused in one line that spells it as typed (not folded to ``s3:/a/b``), and
    an output URL does not become a local folder named ``s3:``."""
    url_input = cli("run", "base", "--input", "s3://a/b.warc.gz", "--output", str(tmp_path / "o"))
    assert url_input.returncode == 2 and "input s3://a/b.warc.gz: URLs are" in url_input.stderr
    url_output = cli("run", "base", "--input", str(warc_files[0]), "--output", "s3://a/run")
    assert url_output.returncode == 2 and "output s3://a/run: URLs are" in url_output.stderr
    assert not (REPO / "s3:").exists() and "Traceback" not in url_output.stderr


def test_cli_run_takes_shell_expanded_inputs_then_inspect(
    tmp_path: Path, warc_files: list[Path]
) -> None:
    out = tmp_path / "o"
    done = cli(
        "run",
        "base",
        "--input",
        *map(str, warc_files),
        "--output",
        str(out),
        "--workers",
        "1",
    )
    assert done.returncode == 0, done.stderr
    assert len(json.loads((out / "manifest.json").read_text())["inputs"]) == 3
    changed = cli("run", "fra_Latn", "--input", *map(str, warc_files), "--output", str(out))
    assert changed.returncode == 2 and "different recipe" in changed.stderr
    shown = cli("inspect", str(out))
    assert shown.returncode == 0 and "truncated_record" in shown.stdout
