"""Distributed clustering: exact groups, LSH buckets, connected components and keepers as tasks.

Every task reads and writes Parquet files under ``OUT/work/dedup/`` and holds only its own
partition, so no process ever holds all document keys or all edges:

- ``exact`` (per exact-hash range): groups of the same normalised text, one keeper each;
- ``bucket`` (per band-hash range): each document linked to the first document of each of its
  buckets, the edges sent to the partition of each end (``doc & (P - 1)``);
- ``star`` (per node partition, in rounds): large-star and small-star steps (Kiveris et al.,
  2014) until every component is a star around its smallest key, which each node can check
  alone: all its neighbours are larger (a centre) or it has one, smaller, neighbour (a leaf);
- ``label`` (per node partition): each node's component, with its bytes, id and whether it is
  an exact duplicate, sent to the partition of the component;
- ``keep`` (per component partition): one keeper per component (the ``keep`` rule), the others
  dropped as near duplicates; the keeper's cluster size.

Exact duplicates share every band hash with the document they duplicate, so they join its
component without bridging any other: components are computed with them, and only the
documents that survived the exact step compete to be kept. Documents of an incremental index
enter as nodes with negative keys (below every key of this run): a component holding one keeps
it and drops this run's documents as its duplicates.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from curate.dedup.lsh import KeepRule, keepers
from curate.io.atomic import commit, temp_path, write_json

EXACT_DUP = "exact_dup"
NEAR_DUP = "near_dup"
ROW_BITS = 32
ROW_GROUP_ROWS = 1 << 16
EDGES = {"src": pl.Int64, "dst": pl.Int64}
NODES = {"doc": pl.Int64, "nbytes": pl.Int64, "id": pl.String}
DROPS = {
    "doc": pl.Int64,
    "reason": pl.String,
    "kept": pl.Int64,
    "kept_id": pl.String,
    "nbytes": pl.Int64,
}
SIZES = {"doc": pl.Int64, "size": pl.Int64}
EXACT = {**NODES, "exact_1": pl.UInt64, "exact_2": pl.UInt64}
BANDS = {"band": pl.UInt8, "key": pl.UInt64, "doc": pl.Int64}
MEMBERS = {**NODES, "cluster": pl.Int64, "exact": pl.Boolean}
ParallelMap = Callable[[Callable[[Any], Any], list[Any]], Any]
IndexLookup = Callable[[str, int, int], pl.DataFrame]  # (kind, bits, partition) -> rows


def hash_partition(values: pl.Expr, bits: int) -> pl.Expr:
    """The partition of a 64-bit hash: its top ``bits`` bits (key ranges, for index lookups)."""
    if bits == 0:
        return pl.lit(0, pl.Int64)
    return (values // pl.lit(1 << (64 - bits), pl.UInt64)).cast(pl.Int64)


def node_partition(values: pl.Expr, bits: int) -> pl.Expr:
    """The partition of a document key: its low bits (rows of every shard spread evenly)."""
    return (values & ((1 << bits) - 1)).cast(pl.Int64)


def hash_range(bits: int, partition: int) -> tuple[int, int]:
    """The 64-bit hash values ``[low, high]`` of a partition."""
    width = 1 << (64 - bits)
    return partition * width, (partition + 1) * width - 1


def part(work: Path, kind: str, partition: int) -> Path:
    return work / kind / f"p={partition:04d}"


def routed(work: Path, kind: str, to: int, sender: str) -> Path:
    return work / kind / f"to={partition_name(to)}" / f"{sender}.parquet"


def partition_name(partition: int) -> str:
    return f"{partition:04d}"


def write_frame(path: Path, frame: pl.DataFrame) -> None:
    """One Parquet file, atomically (temp then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path(path)
    frame.write_parquet(
        temp, compression="zstd", compression_level=1, row_group_size=ROW_GROUP_ROWS
    )
    commit(temp, path)


def read_frames(paths: list[Path], schema: dict[str, Any]) -> pl.DataFrame:
    if not paths:
        return pl.DataFrame(schema=schema)
    return pl.read_parquet(paths).cast(schema)


def read_dir(directory: Path, schema: dict[str, Any]) -> pl.DataFrame:
    return read_frames(sorted(directory.glob("*.parquet")), schema)


def send(work: Path, kind: str, sender: str, frame: pl.DataFrame, key: str, bits: int) -> None:
    """``frame`` split by the node partition of column ``key``: one file per destination."""
    with_to = frame.with_columns(_to=node_partition(pl.col(key), bits))
    parts = with_to.partition_by("_to", as_dict=True, include_key=False)
    for to in range(1 << bits):
        rows = parts.get((to,), frame.clear())
        write_frame(routed(work, kind, to, sender), rows.sort(rows.columns))


@dataclass(frozen=True)
class Task:
    """One unit of clustering work: ``function(partition)``, its result kept in a marker."""

    marker: Path
    function: Callable[[int], dict[str, Any]]
    partition: int


def run_task(task: Task) -> dict[str, Any]:
    """Runs a task unless its marker says it is done; the marker is written last."""
    if task.marker.exists():
        return json.loads(task.marker.read_text())
    result = task.function(task.partition)
    write_json(task.marker, result)
    return result


def run_tasks(parallel_map: ParallelMap, tasks: list[Task]) -> list[dict[str, Any]]:
    todo = [t for t in tasks if not t.marker.exists()]
    list(parallel_map(run_task, todo))
    return [json.loads(t.marker.read_text()) for t in tasks]


# ---------------------------------------------------------------- exact duplicates


def exact_task(
    partition: int, work: Path, bits: int, rule: KeepRule, sizes: bool, index: IndexLookup | None
) -> dict[str, Any]:
    """Groups of one exact hash, one keeper each; an indexed document always wins."""
    rows = read_dir(part(work, "exact", partition), EXACT)
    if index is not None:
        indexed = index("exact", bits, partition).join(
            rows.select("exact_1", "exact_2").unique(), on=["exact_1", "exact_2"], how="semi"
        )
        rows = pl.concat([indexed.select(rows.columns).cast(rows.schema), rows])
    groups = rows.with_columns(cluster=pl.col("doc").min().over("exact_1", "exact_2")).filter(
        pl.len().over("cluster") > 1
    )
    kept = _kept(groups, rule)
    drops = _drops(kept, EXACT_DUP)
    write_frame(work / "drops" / f"exact-{partition_name(partition)}.parquet", drops)
    send(work, "xdrops", f"exact-{partition_name(partition)}", drops.select("doc"), "doc", bits)
    if sizes:
        write_frame(work / "sizes" / f"exact-{partition_name(partition)}.parquet", _sizes(kept))
    return {
        "groups": drops["kept"].n_unique(),
        "removed": drops.height,
        "indexed": int((drops["kept"] < 0).sum()),
        "shards": _shard_counts(drops),
    }


def _kept(groups: pl.DataFrame, rule: KeepRule) -> pl.DataFrame:
    """Adds ``kept`` to rows of ``doc, cluster, nbytes, id``; indexed documents (< 0) win."""
    ruled = keepers(groups.select("doc", "cluster"), groups.select("doc", "nbytes"), rule)
    kept = groups.join(ruled.select("doc", "kept"), on="doc", how="left")
    kept = kept.with_columns(
        kept=pl.when(pl.col("cluster") < 0).then(pl.col("cluster")).otherwise(pl.col("kept"))
    )
    ids = kept.select(kept="doc", kept_id="id").unique("kept")
    return kept.join(ids, on="kept", how="left")


def _drops(kept: pl.DataFrame, reason: str) -> pl.DataFrame:
    dropped = kept.filter((pl.col("doc") != pl.col("kept")) & (pl.col("doc") >= 0))
    return (
        dropped.select(
            "doc", reason=pl.lit(reason), kept="kept", kept_id="kept_id", nbytes="nbytes"
        )
        .cast(DROPS)
        .sort("doc")
    )


def _sizes(kept: pl.DataFrame) -> pl.DataFrame:
    """The keeper of each cluster of this run, with the number of documents it stands for."""
    own = kept.filter(pl.col("cluster") >= 0)
    sizes = own.group_by("kept").agg(size=pl.col("doc").filter(pl.col("doc") >= 0).len())
    return sizes.select(doc="kept", size="size").cast(SIZES).sort("doc")


def _shard_counts(drops: pl.DataFrame) -> list[list[Any]]:
    """Per shard and reason: documents and bytes dropped (for per-language totals)."""
    counts = (
        drops.group_by(shard=pl.col("doc") // (1 << ROW_BITS), reason="reason")
        .agg(docs=pl.len(), bytes=pl.col("nbytes").sum())
        .sort("shard", "reason")
    )
    return [list(row) for row in counts.iter_rows()]


# ---------------------------------------------------------------- near duplicates


def bucket_task(partition: int, work: Path, bits: int, index: IndexLookup | None) -> dict[str, Any]:
    """Edges from one band-hash range: each document to the first document of its bucket."""
    rows = read_dir(part(work, "bands", partition), BANDS)
    name = f"bucket-{partition_name(partition)}"
    indexed = pl.DataFrame(schema={**BANDS, "id": pl.String})
    if index is not None:
        indexed = index("bands", bits, partition).join(
            rows.select("band", "key").unique(), on=["band", "key"], how="semi"
        )
        rows = pl.concat([indexed.select(BANDS.keys()), rows])
    linked = rows.with_columns(root=pl.col("doc").min().over("band", "key")).filter(
        pl.col("doc") != pl.col("root")
    )
    edges = linked.select(src="doc", dst="root").unique()
    both = pl.concat([edges, edges.select(src="dst", dst="src")])
    send(work, "cc/000", name, both, "src", bits)
    found = indexed.select("doc", "id", nbytes=pl.lit(0, pl.Int64)).unique("doc")
    send(work, "inodes", name, found.select(NODES.keys()), "doc", bits)
    return {"edges": edges.height}


def converged(edges: pl.DataFrame) -> bool:
    """Whether every node is a star centre (neighbours all larger) or a leaf (one, smaller)."""
    per_node = edges.group_by("src").agg(
        degree=pl.len(), smaller=(pl.col("dst") < pl.col("src")).sum()
    )
    leaf = (pl.col("degree") == 1) & (pl.col("smaller") == 1)
    return bool(per_node.select(((pl.col("smaller") == 0) | leaf).all()).item())


def large_star(edges: pl.DataFrame) -> pl.DataFrame:
    """Each node's larger neighbours linked to the smallest node of its neighbourhood."""
    least = edges.group_by("src").agg(least=pl.col("dst").min())
    joined = edges.join(least, on="src").with_columns(least=pl.min_horizontal("least", "src"))
    return joined.filter(pl.col("dst") > pl.col("src")).select(src="dst", dst="least")


def small_star(edges: pl.DataFrame) -> pl.DataFrame:
    """Each node and its smaller neighbours linked to the smallest of them."""
    smaller = edges.filter(pl.col("dst") < pl.col("src"))
    least = smaller.group_by("src").agg(least=pl.col("dst").min())
    joined = smaller.join(least, on="src")
    neighbours = joined.filter(pl.col("dst") != pl.col("least")).select(src="dst", dst="least")
    return pl.concat([neighbours, least.select("src", dst="least")])


def star_task(partition: int, work: Path, bits: int, step: int) -> dict[str, Any]:
    """One large-star (odd step) or small-star (even step) over a node partition's edges."""
    edges = read_dir(work / "cc" / f"{step - 1:03d}" / f"to={partition_name(partition)}", EDGES)
    edges = edges.unique()
    done = converged(edges)  # stars are a fixed point of both steps: run them anyway
    result = large_star(edges) if step % 2 else small_star(edges)
    both = pl.concat([result, result.select(src="dst", dst="src")]).unique()
    send(work, f"cc/{step:03d}", partition_name(partition), both, "src", bits)
    return {"converged": done, "edges": edges.height}


def label_task(partition: int, work: Path, bits: int, step: int) -> dict[str, Any]:
    """Each node's component (its smallest key) with what ``keep`` needs, sent to the component's
    partition."""
    name = partition_name(partition)
    edges = read_dir(work / "cc" / f"{step:03d}" / f"to={name}", EDGES)
    labels = (
        edges.group_by("src")
        .agg(cluster=pl.col("dst").min())
        .select(doc="src", cluster=pl.min_horizontal("src", "cluster"))
    )
    nodes = pl.concat(
        [
            read_dir(part(work, "nodes", partition), NODES),
            read_dir(work / "inodes" / f"to={name}", NODES),
        ]
    ).unique("doc")  # an indexed document comes from each bucket task that found it
    exact = read_dir(work / "xdrops" / f"to={name}", {"doc": pl.Int64})
    members = labels.join(nodes, on="doc", how="left").with_columns(
        exact=pl.col("doc").is_in(exact["doc"].implode())
    )
    send(work, "members", name, members.select(MEMBERS.keys()), "cluster", bits)
    return {"nodes": labels.height}


def keep_task(partition: int, work: Path, rule: KeepRule) -> dict[str, Any]:
    """One keeper per component of this partition; the rest dropped as near duplicates."""
    name = partition_name(partition)
    members = read_dir(work / "members" / f"to={name}", MEMBERS)
    own = members.filter(pl.col("doc") >= 0)
    candidates = members.filter(~pl.col("exact"))  # indexed documents included: they win
    kept = _kept(candidates.select("doc", "cluster", "nbytes", "id"), rule)
    drops = _drops(kept, NEAR_DUP)
    write_frame(work / "drops" / f"near-{name}.parquet", drops)
    sizes = own.group_by("cluster").agg(size=pl.len())
    keepers_sizes = kept.filter((pl.col("doc") == pl.col("kept")) & (pl.col("cluster") >= 0))
    keepers_sizes = keepers_sizes.join(sizes, on="cluster").select("doc", "size")
    write_frame(work / "sizes" / f"near-{name}.parquet", keepers_sizes.cast(SIZES).sort("doc"))
    clusters = candidates.filter(pl.col("cluster") >= 0).group_by("cluster").agg(size=pl.len())
    clusters = clusters.filter(pl.col("size") > 1)["size"].value_counts()
    return {
        "removed": drops.height,
        "indexed": int((drops["kept"] < 0).sum()),
        "cluster_sizes": {int(s): int(c) for s, c in clusters.iter_rows()},
        "shards": _shard_counts(drops),
    }


# ---------------------------------------------------------------- the whole clustering


@dataclass(frozen=True)
class Clustering:
    """Runs the tasks of one dedup pass in order, through ``parallel_map``."""

    work: Path
    bits: int
    rule: KeepRule
    exact: bool
    near: bool
    index: IndexLookup | None

    def tasks(
        self, kind: str, function: Callable[..., dict[str, Any]], **kwargs: Any
    ) -> list[Task]:
        bound = partial(function, work=self.work, **kwargs)
        return [
            Task(self.work / "tasks" / f"{kind}-{partition_name(p)}.json", bound, p)
            for p in range(1 << self.bits)
        ]

    def run(self, parallel_map: ParallelMap) -> dict[str, Any]:
        first: list[Task] = []
        if self.exact:
            first += self.tasks(
                "exact",
                exact_task,
                bits=self.bits,
                rule=self.rule,
                sizes=not self.near,
                index=self.index,
            )
        if self.near:
            first += self.tasks("bucket", bucket_task, bits=self.bits, index=self.index)
        results = run_tasks(parallel_map, first)
        exact = [r for r in results if "groups" in r]
        summary: dict[str, Any] = {"exact": exact, "near": []}
        if self.near:
            step = self._components(parallel_map)
            run_tasks(parallel_map, self.tasks("label", label_task, bits=self.bits, step=step))
            summary["near"] = run_tasks(parallel_map, self.tasks("keep", keep_task, rule=self.rule))
        return summary

    def _components(self, parallel_map: ParallelMap) -> int:
        """Star rounds until converged; returns the step whose edges are the final stars."""
        step = 1
        while True:
            results = run_tasks(
                parallel_map, self.tasks(f"star-{step:03d}", star_task, bits=self.bits, step=step)
            )
            if all(r["converged"] for r in results):
                return step - 1
            step += 1


def cluster_histogram(sizes: dict[int, int]) -> np.ndarray:
    """All cluster sizes as one sorted array (from ``{size: count}``)."""
    if not sizes:
        return np.zeros(0, np.int64)
    return np.sort(np.repeat(np.array(list(sizes), np.int64), list(sizes.values())))
