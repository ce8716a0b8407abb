"""The dedup corpus pass over real output shards: drops, ledger, stats, scope, resume, workers."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from curate.dedup.config import DedupConfig
from curate.dedup.lsh import Components, keepers
from curate.engine.local import LocalEngine
from curate.io.writer import ShardWriter
from curate.recipe import OutputConfig, RecipeError, load_recipe, parse_recipe
from curate.runner import Run
from curate.schema import DOCUMENT_SCHEMA, make_batch
from curate.stages import dedup
from curate.stages.dedup import Dedup
from curate.stats import RunStats

from .helpers import without_quality_filters

OUTPUT = OutputConfig()


@pytest.fixture(scope="module")
def lines(shared_data: Path) -> dict[str, list[str]]:
    return {
        code: (shared_data / "langid" / f"{code}.txt").read_text("utf-8").splitlines()
        for code in ("fr", "de")
    }


def _doc(lines: list[str], start: int) -> str:
    return " ".join(lines[start : start + 12])


def _near(text: str, replacement: str) -> str:
    """The same text with its last sentence-sized tail changed (Jaccard about 0.85)."""
    words = text.split()
    return " ".join(words[:-12] + replacement.split()[:12])


def write_corpus(out: Path, lines: dict[str, list[str]]) -> dict[str, str]:
    """Two units, two languages; planted exact and near duplicates across shards."""
    fr, de = lines["fr"], lines["de"]
    rows_a = [{"id": f"a{i}", "text": _doc(fr, 12 * i), "language": "fra_Latn"} for i in range(8)]
    rows_a += [
        {"id": f"a-de{i}", "text": _doc(de, 12 * i), "language": "deu_Latn"} for i in range(4)
    ]
    rows_b = [
        {"id": "b-exact", "text": _doc(fr, 0).upper() + " !!", "language": "fra_Latn"},
        {"id": "b-near", "text": _near(_doc(fr, 12), fr[400]), "language": "fra_Latn"},
        {"id": "b-near2", "text": _near(_doc(fr, 12), fr[401]), "language": "fra_Latn"},
        {"id": "b-new", "text": _doc(fr, 200), "language": "fra_Latn"},
        {"id": "b-empty", "text": "", "language": "fra_Latn"},
        {"id": "b-de-exact", "text": _doc(de, 0), "language": "deu_Latn"},
        {"id": "b-cross", "text": _doc(fr, 24), "language": "deu_Latn"},
    ]
    for unit, rows in (("a", rows_a), ("b", rows_b)):
        writer = ShardWriter(out, unit, DOCUMENT_SCHEMA, OUTPUT)
        writer.write(make_batch(rows).drop_columns(["drop_reason"]))
        writer.close()
    return {row["id"]: row["language"] for row in rows_a + rows_b}


def kept_ids(out: Path) -> set[str]:
    return {
        i for p in (out / "data").rglob("*.parquet") for i in pq.read_table(p)["id"].to_pylist()
    }


def cluster_sizes(out: Path) -> dict[str, int]:
    tables = [pq.read_table(p) for p in (out / "data").rglob("*.parquet")]
    return {
        i: n
        for t in tables
        for i, n in zip(t["id"].to_pylist(), t["minhash_cluster_size"].to_pylist(), strict=True)
    }


def ledger(out: Path) -> dict[str, tuple[str, str]]:
    rows = [r for p in (out / "dropped").rglob("*.parquet") for r in pq.read_table(p).to_pylist()]
    return {r["id"]: (r["reason"], r["detail"]) for r in rows}


def run_pass(out: Path, config: DedupConfig, parallel_map: Callable | None = None) -> RunStats:
    stats = RunStats(("dedup",))
    Dedup(config, OUTPUT, parallel_map).run(out, stats)
    return stats


def test_drops_exact_and_near_duplicates_with_kept_id(tmp_path: Path, lines: Any) -> None:
    languages = write_corpus(tmp_path, lines)
    stats = run_pass(tmp_path, DedupConfig())
    assert ledger(tmp_path) == {
        "b-exact": ("exact_dup", "a0"),
        "b-de-exact": ("exact_dup", "a-de0"),
        "b-near": ("near_dup", "a1"),
        "b-near2": ("near_dup", "a1"),
    }
    assert kept_ids(tmp_path) == set(languages) - set(ledger(tmp_path))
    sizes = cluster_sizes(tmp_path)
    assert (sizes["a0"], sizes["a-de0"], sizes["a1"]) == (2, 2, 3)  # itself and its duplicates
    assert {n for i, n in sizes.items() if i not in ("a0", "a-de0", "a1")} == {1}
    totals = stats.totals()
    assert (totals["docs_read"], totals["docs_kept"]) == (len(languages), len(languages) - 4)
    assert totals["dropped"] == {"exact_dup": 2, "near_dup": 2}
    assert stats.stages["dedup"]["deu_Latn"]["dropped"] == {"exact_dup": 1}
    summary = stats.to_dict()["dedup"]
    assert summary["near"]["clusters"] == 1 and summary["near"]["max_cluster_size"] == 3
    assert summary["exact"] == {"groups": 2, "removed": 2}
    assert summary["removed_per_language"]["fra_Latn"] == {"exact_dup": 1, "near_dup": 2}


def test_scope_across_languages_and_keep_longest(tmp_path: Path, lines: Any) -> None:
    write_corpus(tmp_path, lines)
    run_pass(tmp_path, DedupConfig(scope=["deu_Latn", "fra_Latn"], keep="longest"))
    dropped = ledger(tmp_path)
    assert dropped["a2"] == (
        "exact_dup",
        "b-cross",
    )  # same text and length: deu_Latn shards come first
    assert dropped["a0"] == ("exact_dup", "b-exact")  # upper case and "!!": more bytes
    assert "b-empty" not in dropped


def test_near_disabled_and_exact_disabled(tmp_path: Path, lines: Any) -> None:
    write_corpus(tmp_path / "exact", lines)
    run_pass(tmp_path / "exact", DedupConfig(near=False))
    assert {r for r, _ in ledger(tmp_path / "exact").values()} == {"exact_dup"}
    write_corpus(tmp_path / "near", lines)
    run_pass(tmp_path / "near", DedupConfig(exact=False))
    assert {r for r, _ in ledger(tmp_path / "near").values()} == {"near_dup"}
    assert len(ledger(tmp_path / "near")) == 4  # exact copies are near copies too


def _files(out: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(out)): p.read_bytes()
        for part in ("data", "dropped")
        for p in sorted((out / part).rglob("*.parquet"))
    }


class Crash(Exception):
    pass


def crash_after(items_done: int, on_call: int) -> Callable:
    """A parallel map that dies on its ``on_call``-th call after ``items_done`` items."""
    calls = [0]

    def parallel_map(function: Callable, items: list) -> list:
        calls[0] += 1
        if calls[0] < on_call:
            return [function(item) for item in items]
        for item in items[:items_done]:
            function(item)
        raise Crash

    return parallel_map


@pytest.mark.parametrize(
    ("items_done", "on_call", "partitions"),
    [(1, 1, 1), (1, 2, 1), (3, 2, 4), (2, 3, 4), (2, 5, 4), (1, 7, 4)],
)
def test_resumes_after_a_crash(
    tmp_path: Path, lines: Any, items_done: int, on_call: int, partitions: int
) -> None:
    """Dies in signatures (call 1), exact and bucket tasks (2), star rounds, labels, keepers or
    rewrites (later calls), partway through the call's tasks."""
    config = DedupConfig(partitions=partitions)
    write_corpus(tmp_path / "clean", lines)
    clean_stats = run_pass(tmp_path / "clean", config)
    write_corpus(tmp_path / "crash", lines)
    with pytest.raises(Crash):
        run_pass(tmp_path / "crash", config, crash_after(items_done, on_call))
    for marker in (tmp_path / "crash" / "work" / "dedup" / "rewritten").glob("*.json"):
        marker.unlink()  # died between the shard's rename and its marker
    resumed_stats = run_pass(tmp_path / "crash", config)
    assert _files(tmp_path / "crash") == _files(tmp_path / "clean")
    assert resumed_stats.to_dict() == clean_stats.to_dict()
    again = run_pass(tmp_path / "crash", config)  # a finished pass re-records its stats
    assert again.to_dict() == clean_stats.to_dict()


def test_same_result_in_small_pieces_and_on_empty_output(
    tmp_path: Path, lines: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_corpus(tmp_path / "whole", lines)
    run_pass(tmp_path / "whole", DedupConfig())
    write_corpus(tmp_path / "pieces", lines)
    monkeypatch.setattr(dedup, "MAX_BATCH_BYTES", 3000)
    run_pass(tmp_path / "pieces", DedupConfig(batch_size=3))
    assert _files(tmp_path / "pieces") == _files(tmp_path / "whole")
    stats = run_pass(tmp_path / "empty", DedupConfig())
    assert stats.totals()["docs_read"] == 0


def test_components_and_keepers() -> None:
    components = Components()
    components.add(np.array([5, 9]), np.array([3, 7]))
    components.add(np.array([7]), np.array([5]))
    components.add(np.array([20]), np.array([11]))
    clusters = components.clusters().sort("doc")
    assert dict(clusters.iter_rows()) == {3: 3, 5: 3, 7: 3, 9: 3, 11: 11, 20: 11}
    sizes = clusters.select("doc", nbytes=clusters["doc"] % 4)
    assert dict(keepers(clusters, sizes, "first").select("doc", "kept").iter_rows())[9] == 3
    longest = dict(keepers(clusters, sizes, "longest").select("doc", "kept").iter_rows())
    assert longest[3] == 3 and longest[20] == 11  # 3 % 4 == 3 is the longest; tie 11 vs 20 -> 11


def test_recipe_dedup_section(tmp_path: Path) -> None:
    base = load_recipe(Path(__file__).resolve().parents[1] / "curate" / "recipes" / "base.yaml")
    assert base.dedup == DedupConfig()
    assert (base.dedup.bands, base.dedup.rows_per_band, base.dedup.ngram_size) == (14, 8, 5)
    with pytest.raises(RecipeError, match="dedup.bands"):
        parse_recipe({"name": "x", "dedup": {"bands": 0}})
    with pytest.raises(RecipeError, match="dedup.scope"):
        parse_recipe({"name": "x", "dedup": {"scope": ["fra_Latn"]}})
    with pytest.raises(RecipeError, match="dedup.minhash"):
        parse_recipe({"name": "x", "dedup": {"minhash": 1}})


def test_same_bytes_with_two_worker_processes(tmp_path: Path, lines: Any) -> None:
    write_corpus(tmp_path / "one", lines)
    run_pass(tmp_path / "one", DedupConfig())
    write_corpus(tmp_path / "two", lines)
    run_pass(tmp_path / "two", DedupConfig(), LocalEngine(2).map)
    assert _files(tmp_path / "two") == _files(tmp_path / "one")


def test_cli_run_accounts_for_every_document_and_resumes(tmp_path: Path, lines: Any) -> None:
    """The whole run (langid included) with dedup on by default, then a resumed re-run."""
    inputs = []
    for unit, code in (("u1", "fr"), ("u2", "de"), ("u3", "fr")):
        path = tmp_path / f"{unit}.jsonl"
        rows = [{"id": f"{unit}-{i}", "text": _doc(lines[code], 12 * (i % 5))} for i in range(9)]
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        inputs.append(path)
    recipe = without_quality_filters(
        parse_recipe({"name": "t", "languages": ["fra_Latn", "deu_Latn"]})
    )
    out = tmp_path / "out"
    summary, timing = Run(recipe, inputs, out).execute(LocalEngine(1))
    assert summary["totals"] == {
        "docs_read": 27,
        "docs_kept": 10,
        "docs_dropped": 17,
        "dropped": {"exact_dup": 17},
    }
    assert "dedup" in timing and summary["dedup"]["exact"] == {"groups": 9, "removed": 17}
    assert len(kept_ids(out)) == 10
    shutil.rmtree(out / "work" / "dedup" / "rewritten")
    again, _ = Run(recipe, inputs, out).execute(LocalEngine(1))  # resume: nothing left to do
    assert again == summary
    assert len(kept_ids(out)) == 10
