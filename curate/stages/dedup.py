"""Exact and MinHash near-duplicate removal over every output shard: a corpus pass.

Runs once every unit has written ``OUT/data/<language>/<unit>-NNNNN.parquet``, in phases that
each leave files under ``OUT/work/dedup/`` so a crashed run resumes where it stopped:

1. ``plan.json``: the shards in corpus order (language, file name), their row counts, and the
   number of partitions ``P`` (a power of two: ``dedup.partitions`` or one per about half a
   million documents).
2. Per shard (in parallel when the engine offers a ``map``): the shard's hashes split by
   partition, ``exact/p=PPPP/``, ``bands/p=PPPP/`` (by hash range) and ``nodes/p=PPPP/`` (by
   document key), then ``signed/<shard>.json``.
3. The clustering tasks of :mod:`curate.dedup.cluster`, each over one partition: exact groups,
   LSH buckets, connected components in large-star / small-star rounds, one keeper per group
   or cluster (``keep`` rule); then ``result.json``.
4. Per shard: the shard rewritten atomically without its dropped documents and with
   ``minhash_cluster_size`` (how many documents each kept one stands for, 1 if unique); the
   dropped ones written to the audit ledger ``OUT/dropped/dedup.<language>.<shard>.parquet``
   (beside the units' ledgers, same schema) with the kept document's id in ``detail``; with
   ``dedup.index``, the kept documents' hashes appended to the index; a marker in
   ``rewritten/``. The index commit comes last.

A document's key is ``shard number << 32 | row``, so key order is corpus order and the outcome
does not depend on how many workers or partitions computed it.
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
from curate.dedup import cluster
from curate.dedup.cluster import (
    BANDS,
    DROPS,
    EXACT,
    EXACT_DUP,
    NEAR_DUP,
    NODES,
    ROW_BITS,
    SIZES,
    Clustering,
    cluster_histogram,
    hash_partition,
    node_partition,
    part,
    write_frame,
)
from curate.dedup.config import DedupConfig
from curate.dedup.index import DedupIndex, append_shard, check_doc_keys, commit_run
from curate.dedup.lsh import size_histogram
from curate.dedup.minhash import MinHasher, band_hashes, fmix64, shingle_batch, splitmix64
from curate.io.atomic import write_json
from curate.io.config import OutputConfig
from curate.io.writer import LEDGER_SCHEMA, ParquetSink
from curate.stats import RunStats

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")
__all__ = ["EXACT_DUP", "NEAR_DUP", "CLUSTER_SIZE", "Dedup", "ParallelMap"]
CLUSTER_SIZE = "minhash_cluster_size"
MAX_BATCH_BYTES = 64 << 20
PARTITION_DOCS = 1 << 19


@dataclass(frozen=True)
class Shard:
    number: int
    language: str
    path: str
    rows: int

    @property
    def name(self) -> str:
        return f"{self.number:06d}"


@dataclass(frozen=True)
class Plan:
    shards: list[Shard]
    bits: int
    run: str


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
        plan = _plan(out, work, self.config)
        if not plan.shards:
            return
        result_file = work / "result.json"
        if not result_file.exists():
            self._sign(plan, out)
            _decide(plan, work, self.config, self._map, self._index(plan, work))
        result = json.loads(result_file.read_text())
        self._rewrite(plan, out, work)
        if self.config.index and not _committed(self.config, plan):
            commit_run(Path(self.config.index), plan.run, result["summary"]["index"]["kept"])
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
        if not items:
            return []
        return list((self.parallel_map or _serial_map)(function, items))

    def _index(self, plan: Plan, work: Path) -> DedupIndex | None:
        """The index runs this run deduplicates against, fixed at its first attempt."""
        if not self.config.index:
            return None
        check_doc_keys(len(plan.shards))
        chosen = work / "index.json"
        root = Path(self.config.index)
        if chosen.exists():
            return DedupIndex(root, tuple(json.loads(chosen.read_text())["runs"]))
        index = DedupIndex.open(root, _index_settings(self.config), plan.run)
        write_json(chosen, {"root": str(root), "runs": list(index.runs)})
        return index

    def _sign(self, plan: Plan, out: Path) -> None:
        signed = out / "work" / "dedup" / "signed"
        todo = [s for s in plan.shards if not (signed / f"{s.name}.json").exists()]
        log.info("dedup: signatures for %d of %d shards", len(todo), len(plan.shards))
        self._map(partial(sign_shard, out=out, config=self.config, bits=plan.bits), todo)

    def _rewrite(self, plan: Plan, out: Path, work: Path) -> None:
        todo = [s for s in plan.shards if not _rewritten(out, work, s)]
        if todo:
            log.info("dedup: rewriting %d shards", len(todo))
        index = (Path(self.config.index), plan.run) if self.config.index else None
        rewrite = partial(
            rewrite_shard, out=out, work=work, output=self.output, bits=plan.bits, index=index
        )
        self._map(rewrite, todo)


def _rewritten(out: Path, work: Path, shard: Shard) -> bool:
    """Whether the shard is as its rewrite left it (a unit run again writes it anew)."""
    marker = work / "rewritten" / f"{shard.name}.json"
    if not marker.exists():
        return False
    state = _file_state(out / shard.path)
    # gone after its rewrite: an erasure removed a shard it emptied (a re-run unit writes anew)
    return state is None or json.loads(marker.read_text()).get("state") == state


def _file_state(path: Path) -> list[int] | None:
    if not path.exists():
        return None
    status = path.stat()
    return [status.st_size, status.st_mtime_ns]


def _index_settings(config: DedupConfig) -> dict[str, Any]:
    keys = ("ngram_size", "bands", "rows_per_band", "seed", "scope")
    return {key: getattr(config, key) for key in keys}


def _committed(config: DedupConfig, plan: Plan) -> bool:
    return (Path(str(config.index)) / "runs" / f"{plan.run}.json").exists()


def _plan(out: Path, work: Path, config: DedupConfig) -> Plan:
    plan_file = work / "plan.json"
    if plan_file.exists():
        saved = json.loads(plan_file.read_text())
        return Plan([Shard(**s) for s in saved["shards"]], saved["bits"], saved["run"])
    paths = sorted((out / "data").glob("*/*.parquet"), key=lambda p: (p.parent.name, p.name))
    shards = [
        Shard(n, p.parent.name, str(p.relative_to(out)), pq.ParquetFile(p).metadata.num_rows)
        for n, p in enumerate(paths)
    ]
    docs = sum(s.rows for s in shards)
    partitions = config.partitions or max(1, -(-docs // PARTITION_DOCS))
    bits = (partitions - 1).bit_length()
    plan = Plan(shards, bits, config.index_run or _run_name(out, shards))
    write_json(plan_file, {"shards": [s.__dict__ for s in shards], "bits": bits, "run": plan.run})
    return plan


def _run_name(out: Path, shards: list[Shard]) -> str:
    """A name for this run in an index, the same for the same run (and its resumption)."""
    identity = out / "work" / "run.json"
    digest = hashlib.blake2b(digest_size=8)
    digest.update(identity.read_bytes() if identity.exists() else str(out.resolve()).encode())
    digest.update(json.dumps([s.__dict__ for s in shards]).encode())
    return f"run-{digest.hexdigest()}"


def _group_salt(group: str) -> np.uint64:
    """Mixed into every hash so that documents of different groups never meet."""
    digest = hashlib.blake2b(group.encode("utf-8"), digest_size=8).digest()
    return splitmix64(int.from_bytes(digest, "little"), 1)[0]


def sign_shard(shard: Shard, out: Path, config: DedupConfig, bits: int) -> int:
    """Hashes of one shard's documents, split by partition; ``signed/<shard>.json`` last."""
    work = out / "work" / "dedup"
    tables: dict[str, list[pa.Table]] = {"exact": [], "nodes": [], "bands": []}
    row = nbytes = 0
    parquet = pq.ParquetFile(out / shard.path)
    for batch in parquet.iter_batches(batch_size=config.batch_size, columns=["id", "text"]):
        for piece in _bounded(batch):
            keys = (shard.number << ROW_BITS) + np.arange(row, row + piece.num_rows, dtype=np.int64)
            row += piece.num_rows
            nbytes += _sign_batch(piece, keys, config, config.group_of(shard.language), tables)
    frames = {kind: _frame(parts, kind) for kind, parts in tables.items()}
    _split(work, "exact", shard, frames["exact"], hash_partition(pl.col("exact_1"), bits), bits)
    _split(work, "bands", shard, frames["bands"], hash_partition(pl.col("key"), bits), bits)
    _split(work, "nodes", shard, frames["nodes"], node_partition(pl.col("doc"), bits), bits)
    write_json(work / "signed" / f"{shard.name}.json", {"rows": row, "bytes": nbytes})
    return row


_SCHEMAS = {"exact": EXACT, "nodes": NODES, "bands": BANDS}


def _frame(parts: list[pa.Table], kind: str) -> pl.DataFrame:
    if not parts:
        return pl.DataFrame(schema=_SCHEMAS[kind])
    return pl.from_arrow(pa.concat_tables(parts)).cast(_SCHEMAS[kind]).select(_SCHEMAS[kind].keys())


def _split(
    work: Path, kind: str, shard: Shard, frame: pl.DataFrame, by: pl.Expr, bits: int
) -> None:
    parts = frame.with_columns(_p=by).partition_by("_p", as_dict=True, include_key=False)
    for partition in range(1 << bits):
        rows = parts.get((partition,), frame.clear())
        write_frame(part(work, kind, partition) / f"{shard.name}.parquet", rows)


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
    tables: dict[str, list[pa.Table]],
) -> int:
    """Adds the batch's exact rows, nodes and band rows to ``tables``; returns its bytes."""
    salt = _group_salt(group)
    text = batch.column("text")
    shingled = shingle_batch(text, config.ngram_size)
    exact = shingled.exact ^ salt
    nbytes = pc.fill_null(pc.binary_length(text), 0).cast(pa.int64())
    words = pa.array(shingled.has_words)
    docs = pa.table({"doc": keys, "nbytes": nbytes, "id": batch.column("id")})
    hashes = pa.table({"exact_1": exact[:, 0], "exact_2": exact[:, 1]})
    tables["exact"].append(
        pa.concat_tables([docs])
        .append_column("exact_1", hashes["exact_1"])
        .append_column("exact_2", hashes["exact_2"])
        .filter(words)
    )
    if not config.near:
        return int(pc.sum(nbytes).as_py() or 0)
    signed = np.diff(shingled.shingle_offsets) > 0
    tables["nodes"].append(docs.filter(pa.array(signed)))
    hasher = MinHasher(config.num_permutations, config.seed)
    signatures = hasher.signatures(shingled.shingles, shingled.shingle_offsets)
    band_keys = fmix64(band_hashes(signatures, config.bands, config.rows_per_band) ^ salt)
    for band, values in enumerate(band_keys):
        count = int(signed.sum())
        tables["bands"].append(
            pa.table(
                {
                    "band": np.full(count, band, np.uint8),
                    "key": values[signed],
                    "doc": keys[signed],
                }
            )
        )
    return int(pc.sum(nbytes).as_py() or 0)


def _decide(
    plan: Plan,
    work: Path,
    config: DedupConfig,
    parallel_map: ParallelMap,
    index: DedupIndex | None,
) -> None:
    """Which documents go, and why: the clustering tasks, then ``result.json``."""
    clustering = Clustering(
        work,
        plan.bits,
        config.keep,
        config.exact,
        config.near,
        index.lookup if index is not None else None,
    )
    tasks = clustering.run(parallel_map)
    signed = [json.loads((work / "signed" / f"{s.name}.json").read_text()) for s in plan.shards]
    dropped = _dropped_per_shard(tasks)
    result = {
        "languages": _language_counts(plan.shards, signed, dropped),
        "summary": _summary(plan, signed, tasks, config),
    }
    write_json(work / "result.json", result)


def _dropped_per_shard(tasks: dict[str, Any]) -> dict[int, dict[str, list[int]]]:
    """``{shard: {reason: [docs, bytes]}}`` over every task's drops."""
    dropped: dict[int, dict[str, list[int]]] = {}
    for result in tasks["exact"] + tasks["near"]:
        for shard, reason, docs, nbytes in result["shards"]:
            entry = dropped.setdefault(shard, {}).setdefault(reason, [0, 0])
            entry[0] += docs
            entry[1] += nbytes
    return dropped


def _language_counts(
    shards: list[Shard], signed: list[dict[str, int]], dropped: dict[int, dict[str, list[int]]]
) -> dict[str, dict[str, Any]]:
    counts: dict[str, dict[str, Any]] = {}
    for shard, sign in zip(shards, signed, strict=True):
        entry = counts.setdefault(
            shard.language,
            {"docs_in": 0, "bytes_in": 0, "docs_kept": 0, "bytes_kept": 0, "dropped": {}},
        )
        entry["docs_in"] += sign["rows"]
        entry["bytes_in"] += sign["bytes"]
        entry["docs_kept"] += sign["rows"]
        entry["bytes_kept"] += sign["bytes"]
        for reason, (docs, nbytes) in dropped.get(shard.number, {}).items():
            entry["docs_kept"] -= docs
            entry["bytes_kept"] -= nbytes
            entry["dropped"][reason] = entry["dropped"].get(reason, 0) + docs
    for entry in counts.values():
        entry["dropped"] = dict(sorted(entry["dropped"].items()))
    return counts


def _summary(
    plan: Plan, signed: list[dict[str, int]], tasks: dict[str, Any], config: DedupConfig
) -> dict[str, Any]:
    languages = {s.number: s.language for s in plan.shards}
    removed: dict[str, dict[str, int]] = {}
    for shard, reasons in sorted(_dropped_per_shard(tasks).items()):
        for reason, (docs, _) in sorted(reasons.items()):
            entry = removed.setdefault(languages[shard], {})
            entry[reason] = entry.get(reason, 0) + docs
    sizes: dict[int, int] = {}
    for result in tasks["near"]:
        for size, count in result["cluster_sizes"].items():
            sizes[int(size)] = sizes.get(int(size), 0) + count
    cluster_sizes = cluster_histogram(sizes)
    docs = sum(s["rows"] for s in signed)
    exact_removed = sum(r["removed"] for r in tasks["exact"])
    near_removed = sum(r["removed"] for r in tasks["near"])
    summary: dict[str, Any] = {
        "docs": docs,
        "settings": {
            "ngram_size": config.ngram_size,
            "bands": config.bands,
            "rows_per_band": config.rows_per_band,
            "seed": config.seed,
            "scope": config.scope,
            "keep": config.keep,
        },
        "exact": {
            "groups": sum(r["groups"] for r in tasks["exact"]),
            "removed": exact_removed,
        },
        "near": {
            "clusters": len(cluster_sizes),
            "docs_in_clusters": int(cluster_sizes.sum()),
            "removed": near_removed,
            "max_cluster_size": int(cluster_sizes.max()) if len(cluster_sizes) else 0,
            "cluster_sizes": size_histogram(cluster_sizes),
        },
        "removed_per_language": removed,
    }
    if config.index:
        summary["index"] = {
            "run": plan.run,
            "kept": docs - exact_removed - near_removed,
            "removed": sum(r["indexed"] for r in tasks["exact"] + tasks["near"]),
        }
    return summary


def rewrite_shard(
    shard: Shard,
    out: Path,
    work: Path,
    output: OutputConfig,
    bits: int,
    index: tuple[Path, str] | None,
) -> int:
    """Rewrites one shard without its dropped rows, with each kept row's cluster size; ledgers
    the drops and appends the kept rows to the index. Returns rows kept."""
    path = out / shard.path
    marker = work / "rewritten" / f"{shard.name}.json"
    drops = _shard_rows(work / "drops", shard, DROPS)
    kept_rows = shard.rows - drops.height
    if index is not None:
        _append_to_index(work, shard, drops, bits, *index)
    parquet = pq.ParquetFile(path)
    if CLUSTER_SIZE in parquet.schema_arrow.names:  # rewritten before a crash
        write_json(marker, {"shard": shard.path, "kept": kept_rows, "state": _file_state(path)})
        return kept_rows
    rows = (drops["doc"] & ((1 << ROW_BITS) - 1)).to_numpy()
    sizes = np.ones(shard.rows, np.int64)
    kept_sizes = _shard_rows(work / "sizes", shard, SIZES)
    sizes[(kept_sizes["doc"] & ((1 << ROW_BITS) - 1)).to_numpy()] = kept_sizes["size"].to_numpy()
    language, file_name = Path(shard.path).parent.name, Path(shard.path).name
    ledger_path = out / "dropped" / f"dedup.{language}.{file_name}"
    detail = pa.table({"reason": drops["reason"].to_arrow(), "detail": drops["kept_id"].to_arrow()})
    if drops.height:
        ledgered = parquet.read(columns=["id", "url", "source", "language"]).take(rows)
        _write_ledger(ledger_path, ledgered, detail, output)
    dropped = np.zeros(shard.rows, bool)
    dropped[rows] = True
    schema = parquet.schema_arrow.append(pa.field(CLUSTER_SIZE, pa.int64()))
    shards = ParquetSink(path, schema, output)
    row = 0
    for batch in parquet.iter_batches(batch_size=output.row_group_rows):
        keep = ~dropped[row : row + batch.num_rows]
        table = pa.Table.from_batches([batch]).append_column(
            CLUSTER_SIZE, pa.array(sizes[row : row + batch.num_rows])
        )
        row += batch.num_rows
        if keep.any():
            shards.write(table.filter(pa.array(keep)))
    if kept_rows == 0:
        shards.write(schema.empty_table())
    shards.close()
    write_json(marker, {"shard": shard.path, "kept": kept_rows, "state": _file_state(path)})
    return kept_rows


def _shard_rows(directory: Path, shard: Shard, schema: dict[str, Any]) -> pl.DataFrame:
    """The rows of one shard's documents in the partition files of ``directory``."""
    files = sorted(directory.glob("*.parquet"))
    if not files:
        return pl.DataFrame(schema=schema)
    low = shard.number << ROW_BITS
    rows = pl.scan_parquet(files).filter(pl.col("doc").is_between(low, low + (1 << ROW_BITS) - 1))
    return rows.collect().cast(schema).sort("doc")


def _append_to_index(
    work: Path, shard: Shard, drops: pl.DataFrame, bits: int, root: Path, run: str
) -> None:
    """The shard's kept documents (their band hashes and exact hashes) into the index."""
    name = f"{shard.name}.parquet"
    parts = range(1 << bits)
    dropped = drops.select("doc")
    nodes = cluster.read_frames([part(work, "nodes", p) / name for p in parts], NODES)
    bands = cluster.read_frames([part(work, "bands", p) / name for p in parts], BANDS)
    bands = bands.join(dropped, on="doc", how="anti").join(nodes.select("doc", "id"), on="doc")
    exact = cluster.read_frames([part(work, "exact", p) / name for p in parts], EXACT)
    exact = exact.join(dropped, on="doc", how="anti")
    append_shard(root, run, shard.name, bands, exact)


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
