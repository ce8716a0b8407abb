"""From band hashes to clusters: candidate pairs per band, connected components, keepers.

Documents are int64 keys whose order is the corpus order. One band is held in memory at a
time; what carries over between bands is one (member, root) link per clustered document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import polars as pl

KeepRule = Literal["first", "longest"]


def bucket_edges(band: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Links each document to the first document sharing its band hash (column ``key``)."""
    linked = band.lazy().with_columns(root=pl.col("doc").min().over("key"))
    linked = linked.filter(pl.col("doc") != pl.col("root")).select("doc", "root").collect()
    return linked["doc"].to_numpy(), linked["root"].to_numpy()


@dataclass
class Components:
    """Connected components over document keys, grown one batch of edges at a time.

    Holds, for each document in a component of two or more, the smallest key of that
    component (its root); the roots themselves are implied.
    """

    members: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    roots: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def add(self, sources: np.ndarray, targets: np.ndarray) -> None:
        if len(sources) == 0:
            return
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        left = np.concatenate([self.members, sources.astype(np.int64)])
        right = np.concatenate([self.roots, targets.astype(np.int64)])
        nodes = np.unique(np.concatenate([left, right]))
        i, j = np.searchsorted(nodes, left), np.searchsorted(nodes, right)
        graph = coo_matrix((np.ones(len(i), np.int8), (i, j)), shape=(len(nodes), len(nodes)))
        _, labels = connected_components(graph, directed=False)
        _, first = np.unique(labels, return_index=True)  # nodes are sorted: first is smallest
        roots = nodes[first][labels]
        linked = nodes != roots
        self.members, self.roots = nodes[linked], roots[linked]

    def clusters(self) -> pl.DataFrame:
        """Every clustered document with its cluster (the root key), roots included."""
        roots = np.unique(self.roots)
        return pl.DataFrame(
            {
                "doc": np.concatenate([self.members, roots]),
                "cluster": np.concatenate([self.roots, roots]),
            },
            schema={"doc": pl.Int64, "cluster": pl.Int64},
        )


def keepers(groups: pl.DataFrame, sizes: pl.DataFrame, rule: KeepRule) -> pl.DataFrame:
    """Adds ``kept``: the document each group keeps (columns ``doc``, ``cluster``).

    ``first`` keeps the smallest key; ``longest`` the most bytes (``sizes``: doc, nbytes),
    ties to the smallest key.
    """
    if rule == "first":
        return groups.with_columns(kept=pl.col("doc").min().over("cluster"))
    ranked = groups.join(sizes, on="doc", how="left").sort(
        ["cluster", "nbytes", "doc"], descending=[False, True, False]
    )
    return ranked.with_columns(kept=pl.col("doc").first().over("cluster")).drop("nbytes")


def size_histogram(cluster_sizes: np.ndarray) -> dict[str, int]:
    """Clusters by size: 2, 3, 4, 5, 6-10, 11-100, 101-1000, >1000."""
    bins = [(2, 2), (3, 3), (4, 4), (5, 5), (6, 10), (11, 100), (101, 1000)]
    histogram = {}
    for low, high in bins:
        count = int(np.count_nonzero((cluster_sizes >= low) & (cluster_sizes <= high)))
        histogram[str(low) if low == high else f"{low}-{high}"] = count
    histogram[">1000"] = int(np.count_nonzero(cluster_sizes > 1000))
    return histogram
