"""Distributed clustering and the incremental index: same clusters whatever the partitions,
workers or engine, as the in-process reference (curate.dedup.lsh); runs appending to one index."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from curate.dedup import cluster as distributed
from curate.dedup.config import DedupConfig
from curate.dedup.evaluation import build_labelled_set
from curate.dedup.evaluation import cluster as reference_clusters
from curate.dedup.index import DedupIndexError
from curate.engine.local import LocalEngine
from curate.io.writer import ShardWriter
from curate.schema import DOCUMENT_SCHEMA, make_batch

from .test_dedup_pass import (
    OUTPUT,
    _doc,
    _files,
    _near,
    cluster_sizes,
    kept_ids,
    ledger,
    run_pass,
    write_corpus,
)


@pytest.fixture(scope="module")
def lines(shared_data: Path) -> dict[str, list[str]]:
    return {
        code: (shared_data / "langid" / f"{code}.txt").read_text("utf-8").splitlines()
        for code in ("fr", "de", "pl")
    }


def write_units(out: Path, units: dict[str, list[str]], language: str = "fra_Latn") -> None:
    """One shard per unit, documents named ``<unit>-<row>``."""
    for unit, texts in units.items():
        rows = [{"id": f"{unit}-{i}", "text": t, "language": language} for i, t in enumerate(texts)]
        writer = ShardWriter(out, unit, DOCUMENT_SCHEMA, OUTPUT)
        writer.write(make_batch(rows).drop_columns(["drop_reason"]))
        writer.close()


@pytest.fixture(scope="module")
def labelled(lines: dict[str, list[str]], shared_data: Path) -> list[str]:
    """Pairs of real documents with edits (the near-dedup evaluation set), plus exact copies."""
    gold = (shared_data / "html-eval" / "gold.jsonl").read_text("utf-8").splitlines()
    noise = [line for row in gold for line in json.loads(row)["without"]]
    bases = [" ".join(lines[c][i : i + 12]) for c in lines for i in range(0, 360, 12)]
    donors = [line for c in lines for line in lines[c][360:]]
    texts = build_labelled_set(bases, donors, noise, seed=5).texts
    return texts + texts[:40:3]


def test_partitions_workers_and_reference_agree_on_the_labelled_set(
    tmp_path: Path, labelled: list[str]
) -> None:
    """Near clusters and keepers: one partition in-process, 8 partitions on 2 processes, and
    the in-process reference (band by band, scipy components) give the same documents."""
    units = {f"u{n}": labelled[n::3] for n in range(3)}
    order = [t for unit in units.values() for t in unit]  # corpus order: shard, row
    names = [f"{u}-{i}" for u, texts in units.items() for i in range(len(texts))]
    near_only = DedupConfig(exact=False)
    write_units(tmp_path / "one", units)
    run_pass(tmp_path / "one", near_only.model_copy(update={"partitions": 1}))
    write_units(tmp_path / "eight", units)
    run_pass(tmp_path / "eight", near_only.model_copy(update={"partitions": 8}), LocalEngine(2).map)
    assert _files(tmp_path / "eight") == _files(tmp_path / "one")
    roots = reference_clusters(order)
    expected_kept = {names[i] for i in range(len(order)) if roots[i] == i}
    members = np.bincount(roots, minlength=len(order))
    assert kept_ids(tmp_path / "one") == expected_kept
    assert cluster_sizes(tmp_path / "one") == {names[i]: int(members[i]) for i in np.unique(roots)}
    assert ledger(tmp_path / "one") == {
        names[i]: ("near_dup", names[roots[i]]) for i in range(len(order)) if roots[i] != i
    }
    assert len(ledger(tmp_path / "one")) > 50  # the set holds many clusters
    # exact duplicates found first change the reasons, not which documents are kept
    write_units(tmp_path / "both", units)
    run_pass(tmp_path / "both", DedupConfig(partitions=4))
    assert kept_ids(tmp_path / "both") == expected_kept
    assert cluster_sizes(tmp_path / "both") == cluster_sizes(tmp_path / "one")
    assert {r for r, _ in ledger(tmp_path / "both").values()} == {"exact_dup", "near_dup"}


@pytest.mark.parametrize("keep", ["first", "longest"])
def test_same_bytes_whatever_the_partitions(tmp_path: Path, lines: Any, keep: str) -> None:
    write_corpus(tmp_path / "one", lines)
    run_pass(tmp_path / "one", DedupConfig(keep=keep, partitions=1, scope="all"))
    write_corpus(tmp_path / "many", lines)
    stats = run_pass(tmp_path / "many", DedupConfig(keep=keep, partitions=16, scope="all"))
    assert _files(tmp_path / "many") == _files(tmp_path / "one")
    assert stats.totals()["dropped"]


def test_components_by_stars_on_chains_and_stars(tmp_path: Path) -> None:
    """Large-star / small-star rounds find the components of long chains and wide stars."""
    import polars as pl

    rng = np.random.default_rng(3)
    nodes = rng.permutation(2000).astype(np.int64) * 7 + 5
    chain = np.stack([nodes[:999], nodes[1:1000]], 1)  # one long path, shuffled keys
    star = np.stack([np.full(500, nodes[1000]), nodes[1001:1501]], 1)
    pairs = np.concatenate([chain, star])
    edges = pl.DataFrame({"src": pairs[:, 0], "dst": pairs[:, 1]})
    both = pl.concat([edges, edges.select(src="dst", dst="src")])
    work = tmp_path / "work"
    distributed.send(work, "cc/000", "seed", both, "src", 2)
    clustering = distributed.Clustering(work, 2, "first", False, True, None)
    final = clustering._components(lambda f, items: [f(i) for i in items])
    labels = distributed.read_frames(sorted((work / "cc" / f"{final:03d}").rglob("*.parquet")), {})
    cluster_of = dict(
        labels.group_by("src")
        .agg(pl.col("dst").min())
        .select("src", cluster=pl.min_horizontal("src", "dst"))
        .iter_rows()
    )
    assert {cluster_of[int(n)] for n in nodes[:1000]} == {int(nodes[:1000].min())}
    assert {cluster_of[int(n)] for n in nodes[1000:1501]} == {int(nodes[1000:1501].min())}
    assert final < 40  # rounds grow with the log of the chain, not its length


def halves(lines: dict[str, list[str]]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Two halves of a corpus with duplicates inside each half and across them."""
    fr = lines["fr"]
    first = [_doc(fr, 12 * i) for i in range(20)]
    first += [first[3], _near(first[4], fr[450])]
    second = [_doc(fr, 12 * i) for i in range(20, 35)]
    second += [first[0].upper(), _near(first[1], fr[451]), _near(first[1], fr[452]), second[2]]
    second += [_near(first[4], fr[453])]  # near the kept one of a cluster of the first half
    return {"a1": first[:11], "a2": first[11:]}, {"b1": second[:9], "b2": second[9:]}


def test_incremental_index_equals_one_run_over_the_whole(tmp_path: Path, lines: Any) -> None:
    first, second = halves(lines)
    write_units(tmp_path / "whole", {**first, **second})
    run_pass(tmp_path / "whole", DedupConfig(partitions=2))
    index = tmp_path / "index"
    config = DedupConfig(index=str(index), partitions=4)
    write_units(tmp_path / "A", first)
    run_pass(tmp_path / "A", config.model_copy(update={"index_run": "crawl-A"}))
    write_units(tmp_path / "B", second)
    stats = run_pass(tmp_path / "B", config.model_copy(update={"index_run": "crawl-B"}))
    assert kept_ids(tmp_path / "A") | kept_ids(tmp_path / "B") == kept_ids(tmp_path / "whole")
    whole, b = ledger(tmp_path / "whole"), ledger(tmp_path / "B")
    assert b["b2-6"] == ("exact_dup", "a1-0 (run crawl-A)")
    assert b["b2-7"] == b["b2-8"] == ("near_dup", "a1-1 (run crawl-A)")
    assert b["b2-10"] == ("near_dup", "a1-4 (run crawl-A)")
    assert {i: d for i, (r, d) in b.items() if "(run" not in d} == {"b2-9": "b1-2"}
    assert {i: whole[i][0] for i in b} == {i: r for i, (r, _) in b.items()}
    assert stats.to_dict()["dedup"]["index"]["removed"] == 4
    runs = sorted(p.name for p in (index / "runs").glob("*.json"))
    assert runs == ["crawl-A.json", "crawl-B.json"]
    # a third run over the same second half: every document is in the index now
    write_units(tmp_path / "C", second)
    run_pass(tmp_path / "C", config.model_copy(update={"index_run": "crawl-C"}))
    assert kept_ids(tmp_path / "C") == set()
    write_units(tmp_path / "D", first)
    with pytest.raises(DedupIndexError, match="other settings .*bands"):
        run_pass(tmp_path / "D", DedupConfig(index=str(index), bands=10, rows_per_band=11))


def _append_in_process(out: Path, index: Path, run: str, ready: Any) -> None:
    ready.wait()
    run_pass(out, DedupConfig(index=str(index), index_run=run, partitions=2))


def test_concurrent_runs_append_to_one_index(tmp_path: Path, lines: Any) -> None:
    """Two processes deduplicate different corpora into one new index at the same moment;
    a third run then finds both runs' documents."""
    first, second = halves(lines)
    write_units(tmp_path / "A", first)
    write_units(tmp_path / "B", second)
    index = tmp_path / "index"
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    workers = [
        context.Process(target=_append_in_process, args=(tmp_path / n, index, f"run-{n}", ready))
        for n in ("A", "B")
    ]
    for worker in workers:
        worker.start()
    ready.set()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    assert sorted(p.name for p in (index / "runs").glob("*.json")) == ["run-A.json", "run-B.json"]
    assert not list(index.rglob(".*.tmp"))
    write_units(tmp_path / "C", {"c1": [*first["a1"][:3], *second["b1"][:3]]})
    run_pass(tmp_path / "C", DedupConfig(index=str(index), index_run="run-C"))
    assert kept_ids(tmp_path / "C") == set()
    details = {d.split(" (run ")[1] for _, d in ledger(tmp_path / "C").values()}
    assert details == {"run-A)", "run-B)"}


@pytest.mark.ray
def test_ray_tasks_give_the_same_bytes(tmp_path: Path, lines: Any) -> None:
    from curate.engine.ray_engine import RayEngine

    write_corpus(tmp_path / "local", lines)
    run_pass(tmp_path / "local", DedupConfig(partitions=4))
    write_corpus(tmp_path / "ray", lines)
    with RayEngine(workers=2) as engine:
        run_pass(tmp_path / "ray", DedupConfig(partitions=4), engine.map)
    assert _files(tmp_path / "ray") == _files(tmp_path / "local")
    assert pq.read_schema(next((tmp_path / "ray" / "data").rglob("*.parquet"))).names[-1] == (
        "minhash_cluster_size"
    )
