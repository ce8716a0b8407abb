"""Erasing from a training mixture built from the output (``curate erase --mix MIX``).

A mixture names its documents by source token shard and row (``documents.parquet``), so the
erased rows of the output's shards tell which mixture documents go (every copy, when a
language takes several epochs). The mixture's shards holding them are rewritten, the
provenance loses their rows and the rows after an erased one in the same source are
renumbered (the source shard lost rows too), the blend weights are split again over the
sources' new token counts, and the manifest counts what is left.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate.core.hashing import sha256_of
from curate.erasure.files import (
    ChangedSincePlanError,
    kept_mask,
    rewrite_token_data,
    rewrite_token_index,
)
from curate.erasure.state import EraseError
from curate.io.atomic import commit, temp_path
from curate.io.indexed import IndexedDataset, bin_path, idx_path, read_index
from curate.mixture.write import Sources, blend_lines, write_reports

DOCUMENTS = "documents.parquet"
BLEND = "megatron_blend.txt"
ERASURE_KEY = b"curate.erasure"
Step = Callable[[str, Callable[[], object]], None]


def _source_name(token_prefix: str) -> str:
    """``tokens/<lang>/<stem>`` -> ``<lang>/<stem>``, as ``documents.parquet`` names sources."""
    return "/".join(token_prefix.split("/")[-2:])


def plan(mix_dir: Path, out: Path, shards: list[dict[str, Any]]) -> dict[str, Any]:
    """Which mixture documents and shard rows go, from the erased rows of ``out``'s shards."""
    manifest_file = mix_dir / "manifest.json"
    if not manifest_file.is_file() or not (mix_dir / DOCUMENTS).is_file():
        raise EraseError(f"{mix_dir}: not a mixture (no manifest.json or {DOCUMENTS})")
    manifest = json.loads(manifest_file.read_text())
    inputs = [Path(p).resolve() for p in manifest.get("inputs", [])]
    if out.resolve() not in inputs:
        raise EraseError(f"{mix_dir} was not built from {out} (its inputs: {manifest['inputs']})")
    erased = {_source_name(s["token_prefix"]): s["drop"] for s in shards if s["token_prefix"]}
    _refuse_ambiguous(mix_dir, out, inputs, erased)
    docs = pq.read_table(mix_dir / DOCUMENTS, columns=["shard", "source", "source_document"])
    gone = np.zeros(docs.num_rows, dtype=bool)
    for name, rows in erased.items():
        mask = pc.and_(
            pc.equal(docs.column("source"), name),
            pc.is_in(docs.column("source_document"), value_set=pa.array(rows, pa.int64())),
        )
        gone |= mask.to_numpy(zero_copy_only=False)
    shard_of = docs.column("shard").to_numpy()
    positions = np.flatnonzero(gone)
    return {
        "dir": str(mix_dir.resolve()),
        "rows_before": docs.num_rows,
        "drop": positions.tolist(),
        "shards": _shard_drops(manifest, shard_of, positions),
        "renumber": {name: sorted(rows) for name, rows in erased.items()},
    }


def _refuse_ambiguous(mix_dir: Path, out: Path, inputs: list[Path], erased: dict) -> None:
    """Sources are named ``<lang>/<stem>``: another input with such a shard is ambiguous."""
    for other in inputs:
        if other == out.resolve():
            continue
        for name in erased:
            if idx_path(other / "tokens" / name).is_file():
                raise EraseError(
                    f"{mix_dir}: token shard {name} exists in {out} and {other}; "
                    "the mixture's provenance cannot tell them apart"
                )


def _shard_drops(
    manifest: dict[str, Any], shard_of: np.ndarray, positions: np.ndarray
) -> list[dict[str, Any]]:
    drops = []
    for number, shard in enumerate(manifest["shards"]):
        first = int(np.searchsorted(shard_of, number, side="left"))
        last = int(np.searchsorted(shard_of, number, side="right"))
        local = positions[(positions >= first) & (positions < last)] - first
        if len(local):
            drops.append(
                {"prefix": shard["prefix"], "rows_before": last - first, "drop": local.tolist()}
            )
    return drops


def apply(mix: dict[str, Any], request: str, step: Step) -> None:
    """Rewrite the mixture's files as planned; ``step`` marks each one done."""
    root = Path(mix["dir"])
    for n, shard in enumerate(mix["shards"]):
        prefix, rows, drop = root / shard["prefix"], shard["rows_before"], shard["drop"]
        step(f"shard-{n}-bin", lambda p=prefix, r=rows, d=drop: rewrite_token_data(p, r, d))
        step(f"shard-{n}-idx", lambda p=prefix, r=rows, d=drop: rewrite_token_index(p, r, d))
    step("documents", lambda: _rewrite_documents(root, mix, request))
    step("reports", lambda: _rewrite_reports(root, mix, request))


def _rewrite_documents(root: Path, mix: dict[str, Any], request: str) -> None:
    """Provenance without the erased documents, source rows renumbered; tagged with the
    request, so a repeat after a crash sees it is done."""
    path = root / DOCUMENTS
    parquet = pq.ParquetFile(path)
    metadata = parquet.schema_arrow.metadata or {}
    if metadata.get(ERASURE_KEY) == request.encode():
        return
    if parquet.metadata.num_rows != mix["rows_before"]:
        raise ChangedSincePlanError(
            f"{path}: {parquet.metadata.num_rows} rows, planned from {mix['rows_before']}"
        )
    table = parquet.read().filter(pa.array(kept_mask(mix["rows_before"], mix["drop"])))
    numbers = table.column("source_document").to_numpy().copy()
    sources = table.column("source")
    for name, rows in mix["renumber"].items():
        here = pc.equal(sources, name).to_numpy(zero_copy_only=False)
        numbers[here] -= np.searchsorted(np.asarray(rows, np.int64), numbers[here])
    index = table.schema.get_field_index("source_document")
    table = table.set_column(index, table.schema.field(index), pa.array(numbers, pa.int64()))
    table = table.replace_schema_metadata({**metadata, ERASURE_KEY: request.encode()})
    temp = temp_path(path)
    pq.write_table(table, temp, compression="zstd")
    commit(temp, path)


def _rewrite_reports(root: Path, mix: dict[str, Any], request: str) -> None:
    """Blend weights over the sources' tokens now, and the manifest's counts of what is left."""
    manifest = json.loads((root / "manifest.json").read_text())
    lines = (root / BLEND).read_text().splitlines()
    prefixes = [Path(line.split(" ", 1)[1]) for line in lines if line]
    # a source left without tokens has no weight (and would leave its language none to split)
    present = [p for p in prefixes if idx_path(p).is_file()]  # an emptied shard is deleted
    datasets = [d for d in (IndexedDataset(p) for p in present) if d.num_tokens]
    names = [d.prefix.name for d in datasets]
    sources = Sources(datasets, names, [d.prefix.parent.name for d in datasets])
    total = manifest["total_tokens"]
    weights = {k: v["target_tokens"] / total for k, v in manifest["languages"].items()}
    lengths = []
    for shard in manifest["shards"]:
        prefix = root / shard["prefix"]
        shard_lengths = read_index(prefix)[1].astype(np.int64)
        shard.update(
            documents=len(shard_lengths),
            tokens=int(shard_lengths.sum()),
            sha256=sha256_of(bin_path(prefix)),
        )
        lengths.append(shard_lengths)
    _count_languages(root, manifest, np.concatenate(lengths) if lengths else np.zeros(0, np.int64))
    erasure = manifest.setdefault("erasure", {"requests": {}})
    erasure["requests"][request] = len(mix["drop"])
    erasure["documents_erased"] = sum(erasure["requests"].values())
    write_reports(root, manifest, blend_lines(weights, sources))


def _count_languages(root: Path, manifest: dict[str, Any], lengths: np.ndarray) -> None:
    languages = pq.read_table(root / DOCUMENTS, columns=["language"]).column("language")
    table = pa.table({"language": languages, "tokens": pa.array(lengths)})
    grouped = table.group_by("language", use_threads=False).aggregate(
        [("tokens", "sum"), ("tokens", "count")]
    )
    counts = {row["language"]: row for row in grouped.to_pylist()}
    manifest["tokens"] = int(lengths.sum())
    manifest["documents"] = len(lengths)
    for language, row in manifest["languages"].items():
        found = counts.get(language, {"tokens_sum": 0, "tokens_count": 0})
        row["tokens"] = int(found["tokens_sum"] or 0)
        row["documents"] = int(found["tokens_count"])


def log_entry(mix: dict[str, Any]) -> dict[str, Any]:
    return {"mixture": mix["dir"], "documents_removed": len(mix["drop"])}
