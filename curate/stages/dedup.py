"""Exact and MinHash near-duplicate removal over every output shard: a corpus pass.

Runs once every unit has written ``OUT/data/<language>/<unit>-NNNNN.parquet``, in phases that
each leave files under ``OUT/work/dedup/`` so a crashed run resumes where it stopped:

1. ``plan.json``: the shards in corpus order (language, file name), with their row counts.
2. Per shard (in parallel when the engine offers a ``map``): ``docs/<shard>.parquet`` (key,
   id, bytes, exact hash) and ``bands/band=NN/<shard>.parquet`` (key, band hash).
3. ``decisions.parquet`` and ``result.json``: exact duplicates grouped by hash; near duplicates
   found band by band (one band in memory at a time), joined into connected components; one
   document kept per group or cluster (``keep`` rule), the others dropped with the kept id.
4. Per shard: the shard rewritten atomically without its dropped documents, and the dropped
   ones written to the audit ledger ``OUT/dropped/dedup.<language>.<shard>.parquet`` (beside
   the units' ledgers, same schema) with the kept document's id in ``detail``; a marker in
   ``rewritten/``.

A document's key is ``shard number << 32 | row``, so key order is corpus order and the outcome
does not depend on how many workers computed the signatures.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate.core.registry import register
from curate.core.stage import ParallelMap
from curate.dedup.config import DedupConfig
from curate.dedup.lsh import Components, bucket_edges, keepers, size_histogram
from curate.dedup.minhash import MinHasher, band_hashes, fmix64, shingle_batch, splitmix64
from curate.io.atomic import commit, temp_path, write_json
from curate.io.config import OutputConfig
from curate.io.writer import LEDGER_SCHEMA, ParquetSink
from curate.stats import RunStats

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")
EXACT_DUP = "exact_dup"
NEAR_DUP = "near_dup"
ROW_BITS = 32
MAX_BATCH_BYTES = 64 << 20


@dataclass(frozen=True)
class Shard:
    number: int
    language: str
    path: str
    rows: int

    @property
    def name(self) -> str:
        return f"{self.number:06d}"


def _serial_map(function: Callable[[T], R], items: list[T]) -> list[R]:
    return [function(item) for item in items]


@register("dedup", section="dedup", config=DedupConfig, phase="corpus", order=10)
@dataclass
class Dedup:
    """Exact and MinHash near-duplicate removal over every output shard."""

    config: DedupConfig
    output: OutputConfig
    parallel_map: ParallelMap | None = None
    name: str = "dedup"

    @classmethod
    def from_recipe(cls, recipe: Any, parallel_map: ParallelMap | None = None) -> Dedup | None:
        dedup = recipe.dedup
        if dedup.enabled and (dedup.exact or dedup.near):
            return cls(dedup, recipe.output, parallel_map)
        return None

    def run(self, out: Path, stats: RunStats) -> None:
        start = time.perf_counter()
        work = out / "work" / "dedup"
        shards = _plan(out, work)
        if not shards:
            return
        result_file = work / "result.json"
        if not result_file.exists():
            self._sign(shards, out)
            _decide(shards, work, self.config)
        result = json.loads(result_file.read_text())
        self._rewrite(shards, out, work)
        for language, counts in sorted(result["languages"].items()):
            stats.record_totals(self.name, language, **counts)
        stats.summaries[self.name] = result["summary"]
        stats.seconds[self.name] += time.perf_counter() - start
        summary = result["summary"]
        log.info(
            "dedup: %d docs, dropped %d exact and %d near duplicates (%d clusters)",
            summary["docs"],
            summary["exact"]["removed"],
            summary["near"]["removed"],
            summary["near"]["clusters"],
        )

    def _map(self, function: Callable[[T], R], items: list[T]) -> list[R]:
        return list((self.parallel_map or _serial_map)(function, items))

    def _sign(self, shards: list[Shard], out: Path) -> None:
        docs = out / "work" / "dedup" / "docs"
        todo = [s for s in shards if not (docs / f"{s.name}.parquet").exists()]
        log.info("dedup: signatures for %d of %d shards", len(todo), len(shards))
        self._map(partial(sign_shard, out=out, config=self.config), todo)

    def _rewrite(self, shards: list[Shard], out: Path, work: Path) -> None:
        decisions = pl.read_parquet(work / "decisions.parquet")
        by_shard = decisions.with_columns(shard=pl.col("doc") // (1 << ROW_BITS)).partition_by(
            "shard", as_dict=True, include_key=False
        )
        jobs = []
        for shard in shards:
            dropped = by_shard.get((shard.number,))
            if dropped is None or (work / "rewritten" / f"{shard.name}.json").exists():
                continue
            rows = (dropped["doc"] % (1 << ROW_BITS)).to_numpy()
            drops = _Drops(rows, dropped["reason"].to_list(), dropped["kept_id"].to_list())
            jobs.append((shard, drops))
        if jobs:
            log.info("dedup: rewriting %d shards", len(jobs))
        self._map(partial(rewrite_shard, out=out, work=work, output=self.output), jobs)


def _plan(out: Path, work: Path) -> list[Shard]:
    plan_file = work / "plan.json"
    if plan_file.exists():
        return [Shard(**entry) for entry in json.loads(plan_file.read_text())]
    paths = sorted((out / "data").glob("*/*.parquet"), key=lambda p: (p.parent.name, p.name))
    shards = [
        Shard(n, p.parent.name, str(p.relative_to(out)), pq.ParquetFile(p).metadata.num_rows)
        for n, p in enumerate(paths)
    ]
    write_json(plan_file, [s.__dict__ for s in shards])
    return shards


def _group_salt(group: str) -> np.uint64:
    """Mixed into every hash so that documents of different groups never meet."""
    digest = hashlib.blake2b(group.encode("utf-8"), digest_size=8).digest()
    return splitmix64(int.from_bytes(digest, "little"), 1)[0]


def sign_shard(shard: Shard, out: Path, config: DedupConfig) -> int:
    """Hashes of one shard's documents: exact hashes and one LSH key per band."""
    work = out / "work" / "dedup"
    docs: list[pa.Table] = []
    bands: list[list[pa.Table]] = [[] for _ in range(config.bands)]
    row = 0
    parquet = pq.ParquetFile(out / shard.path)
    for batch in parquet.iter_batches(batch_size=config.batch_size, columns=["id", "text"]):
        for piece in _bounded(batch):
            keys = (shard.number << ROW_BITS) + np.arange(row, row + piece.num_rows, dtype=np.int64)
            row += piece.num_rows
            _sign_batch(piece, keys, config, config.group_of(shard.language), docs, bands)
    for band, parts in enumerate(bands if config.near else []):
        _write(work / "bands" / f"band={band:03d}" / f"{shard.name}.parquet", parts, _BAND)
    _write(work / "docs" / f"{shard.name}.parquet", docs, _DOCS)  # written last: the marker
    return row


def _bounded(batch: pa.RecordBatch) -> list[pa.RecordBatch]:
    """The batch cut so that no piece holds much more than MAX_BATCH_BYTES of text."""
    sizes = pc.fill_null(pc.binary_length(batch.column("text")), 0).to_numpy(zero_copy_only=False)
    piece_of = np.cumsum(sizes) // MAX_BATCH_BYTES
    cuts = np.flatnonzero(np.diff(piece_of)) + 1
    bounds = [0, *cuts.tolist(), batch.num_rows]
    return [batch.slice(a, b - a) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


def _sign_batch(
    batch: pa.RecordBatch,
    keys: np.ndarray,
    config: DedupConfig,
    group: str,
    docs: list[pa.Table],
    bands: list[list[pa.Table]],
) -> None:
    salt = _group_salt(group)
    text = batch.column("text")
    shingled = shingle_batch(text, config.ngram_size)
    exact = shingled.exact ^ salt
    columns = {
        "doc": keys,
        "id": batch.column("id"),
        "nbytes": pc.fill_null(pc.binary_length(text), 0),
        "exact_1": pa.array(exact[:, 0], mask=~shingled.has_words),
        "exact_2": pa.array(exact[:, 1], mask=~shingled.has_words),
    }
    docs.append(pa.table(columns))
    if not config.near:
        return
    hasher = MinHasher(config.num_permutations, config.seed)
    signatures = hasher.signatures(shingled.shingles, shingled.shingle_offsets)
    signed = np.diff(shingled.shingle_offsets) > 0
    hashes = fmix64(band_hashes(signatures, config.bands, config.rows_per_band) ^ salt)
    for band, values in enumerate(hashes):
        bands[band].append(pa.table({"doc": keys[signed], "key": values[signed]}))


_DOCS = pa.schema(
    [
        ("doc", pa.int64()),
        ("id", pa.string()),
        ("nbytes", pa.int64()),
        ("exact_1", pa.uint64()),
        ("exact_2", pa.uint64()),
    ]
)
_BAND = pa.schema([("doc", pa.int64()), ("key", pa.uint64())])
_WORK_OUTPUT = OutputConfig(compression="zstd", compression_level=1, row_group_rows=1 << 20)


def _write(path: Path, parts: list[pa.Table], schema: pa.Schema) -> None:
    sink = ParquetSink(path, schema, _WORK_OUTPUT)
    sink.write(pa.concat_tables(parts) if parts else schema.empty_table())
    sink.close()


def _decide(shards: list[Shard], work: Path, config: DedupConfig) -> None:
    """Which documents go, and why: writes decisions.parquet, then result.json."""
    docs = pl.read_parquet(
        work / "docs" / "*.parquet", columns=["doc", "nbytes", "exact_1", "exact_2"]
    )
    exact = _exact_duplicates(docs, config) if config.exact else _empty_drops()
    log.info("dedup: %d exact duplicates", exact.height)
    near, cluster_sizes = (
        _near_duplicates(work, docs, exact["doc"], config)
        if config.near
        else (_empty_drops(), np.zeros(0, np.int64))
    )
    drops = pl.concat(
        [exact.with_columns(reason=pl.lit(EXACT_DUP)), near.with_columns(reason=pl.lit(NEAR_DUP))]
    )
    ids = pl.read_parquet(work / "docs" / "*.parquet", columns=["doc", "id"])
    decisions = (
        drops.join(ids.rename({"doc": "kept", "id": "kept_id"}), on="kept", how="left")
        .select("doc", "reason", "kept", "kept_id")
        .sort("doc")
    )
    temp = temp_path(work / "decisions.parquet")
    decisions.write_parquet(temp)
    commit(temp, work / "decisions.parquet")
    result = {
        "languages": _language_counts(shards, docs, decisions),
        "summary": _summary(shards, docs, decisions, exact, cluster_sizes, config),
    }
    write_json(work / "result.json", result)


def _empty_drops() -> pl.DataFrame:
    return pl.DataFrame(schema={"doc": pl.Int64, "kept": pl.Int64})


def _exact_duplicates(docs: pl.DataFrame, config: DedupConfig) -> pl.DataFrame:
    hashed = docs.filter(pl.col("exact_1").is_not_null())
    groups = hashed.select("doc", cluster=pl.col("doc").min().over(["exact_1", "exact_2"])).filter(
        pl.len().over("cluster") > 1
    )
    kept = keepers(groups, docs.select("doc", "nbytes"), config.keep)
    return kept.filter(pl.col("doc") != pl.col("kept")).select("doc", "kept")


def _near_duplicates(
    work: Path, docs: pl.DataFrame, exact_dropped: pl.Series, config: DedupConfig
) -> tuple[pl.DataFrame, np.ndarray]:
    excluded = pl.DataFrame({"doc": exact_dropped})
    components = Components()
    for band in range(config.bands):
        keys = pl.read_parquet(work / "bands" / f"band={band:03d}" / "*.parquet")
        keys = keys.join(excluded, on="doc", how="anti")
        components.add(*bucket_edges(keys))
    clusters = components.clusters()
    sizes = clusters.group_by("cluster").len()["len"].to_numpy()
    kept = keepers(clusters, docs.select("doc", "nbytes"), config.keep)
    drops = kept.filter(pl.col("doc") != pl.col("kept")).select("doc", "kept")
    log.info("dedup: %d near duplicates in %d clusters", drops.height, len(sizes))
    return drops, np.sort(sizes)


def _languages(shards: list[Shard]) -> pl.DataFrame:
    return pl.DataFrame(
        {"shard": [s.number for s in shards], "language": [s.language for s in shards]},
        schema={"shard": pl.Int64, "language": pl.String},
    )


def _language_counts(
    shards: list[Shard], docs: pl.DataFrame, decisions: pl.DataFrame
) -> dict[str, dict[str, Any]]:
    table = (
        docs.select("doc", "nbytes")
        .join(decisions.select("doc", "reason"), on="doc", how="left")
        .with_columns(shard=pl.col("doc") // (1 << ROW_BITS))
        .join(_languages(shards), on="shard", how="left")
    )
    counts: dict[str, dict[str, Any]] = {}
    for (language,), rows in table.group_by(["language"]):
        kept = rows.filter(pl.col("reason").is_null())
        reasons = rows.filter(pl.col("reason").is_not_null())["reason"].value_counts()
        counts[language] = {
            "docs_in": rows.height,
            "bytes_in": int(rows["nbytes"].sum()),
            "docs_kept": kept.height,
            "bytes_kept": int(kept["nbytes"].sum()),
            "dropped": dict(sorted(zip(reasons["reason"], reasons["count"], strict=True))),
        }
    for shard in shards:  # a language whose shards are all empty still shows up
        counts.setdefault(
            shard.language,
            {"docs_in": 0, "bytes_in": 0, "docs_kept": 0, "bytes_kept": 0, "dropped": {}},
        )
    return counts


def _summary(
    shards: list[Shard],
    docs: pl.DataFrame,
    decisions: pl.DataFrame,
    exact: pl.DataFrame,
    cluster_sizes: np.ndarray,
    config: DedupConfig,
) -> dict[str, Any]:
    by_language = (
        decisions.with_columns(shard=pl.col("doc") // (1 << ROW_BITS))
        .join(_languages(shards), on="shard", how="left")
        .group_by("language", "reason")
        .len()
        .sort("language", "reason")
    )
    removed: dict[str, dict[str, int]] = {}
    for language, reason, count in by_language.iter_rows():
        removed.setdefault(language, {})[reason] = count
    return {
        "docs": docs.height,
        "settings": {
            "ngram_size": config.ngram_size,
            "bands": config.bands,
            "rows_per_band": config.rows_per_band,
            "seed": config.seed,
            "scope": config.scope,
            "keep": config.keep,
        },
        "exact": {"groups": exact["kept"].n_unique(), "removed": exact.height},
        "near": {
            "clusters": len(cluster_sizes),
            "docs_in_clusters": int(cluster_sizes.sum()),
            "removed": int(decisions.filter(pl.col("reason") == NEAR_DUP).height),
            "max_cluster_size": int(cluster_sizes.max()) if len(cluster_sizes) else 0,
            "cluster_sizes": size_histogram(cluster_sizes),
        },
        "removed_per_language": removed,
    }


@dataclass(frozen=True)
class _Drops:
    rows: np.ndarray
    reasons: list[str]
    kept_ids: list[str | None]


def rewrite_shard(job: tuple[Shard, _Drops], out: Path, work: Path, output: OutputConfig) -> int:
    """Rewrites one shard without its dropped rows and ledgers them; returns rows kept."""
    shard, drops = job
    path = out / shard.path
    marker = work / "rewritten" / f"{shard.name}.json"
    kept_rows = shard.rows - len(drops.rows)
    if pq.ParquetFile(path).metadata.num_rows == kept_rows:  # rewritten before a crash
        write_json(marker, {"shard": shard.path, "kept": kept_rows})
        return kept_rows
    language, file_name = Path(shard.path).parent.name, Path(shard.path).name
    ledger_path = out / "dropped" / f"dedup.{language}.{file_name}"
    parquet = pq.ParquetFile(path)
    dropped = np.zeros(shard.rows, bool)
    dropped[drops.rows] = True
    detail = pa.table({"reason": drops.reasons, "detail": drops.kept_ids})
    ledgered = parquet.read(columns=["id", "url", "source", "language"]).take(drops.rows)
    _write_ledger(ledger_path, ledgered, detail, output)
    shards = ParquetSink(path, parquet.schema_arrow, output)
    row = 0
    for batch in parquet.iter_batches(batch_size=output.row_group_rows):
        keep = ~dropped[row : row + batch.num_rows]
        row += batch.num_rows
        if keep.any():
            shards.write(pa.Table.from_batches([batch]).filter(pa.array(keep)))
    if kept_rows == 0:
        shards.write(parquet.schema_arrow.empty_table())
    shards.close()
    write_json(marker, {"shard": shard.path, "kept": kept_rows})
    return kept_rows


def _write_ledger(path: Path, rows: pa.Table, detail: pa.Table, output: OutputConfig) -> None:
    if not output.keep_dropped_ledger:
        return
    ledger = pa.table(
        {
            "id": rows.column("id"),
            "url": rows.column("url"),
            "source": rows.column("source"),
            "language": rows.column("language"),
            "stage": pa.array(["dedup"] * rows.num_rows, pa.string()),
            "reason": detail.column("reason"),
            "detail": detail.column("detail"),
        }
    )
    sink = ParquetSink(path, LEDGER_SCHEMA, output)
    sink.write(ledger)
    sink.close()
