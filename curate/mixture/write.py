"""Writing a planned mixture: shuffled token shards, provenance, Megatron weights, manifest.

Layout of ``MIX/``:

- ``shards/mix-NNNNN.bin`` / ``.idx``: the chosen documents of all languages in one seeded
  random order, cut into shards of about ``shard_tokens`` tokens (a document starts in the
  shard its first token falls in). Megatron-LM reads them as they are
  (``--data-path MIX/shards/mix-00000 ...``); layout in :mod:`curate.io.indexed`.
- ``documents.parquet``: one row per document written, in shard order: shard, language,
  source token shard, document index in that source (row index of its Parquet shard).
- ``megatron_blend.txt``: ``weight prefix`` pairs over the *source* token shards, the mixture
  weights split over each language's shards by their tokens, for Megatron's blended datasets
  (``--data-args-path``), which samples the same mixture itself, without the copy.
- ``manifest.json`` and ``manifest.md``: per language available tokens, target, epochs,
  weight and tokens written, and each shard's documents, tokens and sha256.

A re-run with the same mixture rewrites nothing whose index already matches the plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curate.core.hashing import sha256_of
from curate.io.atomic import commit, temp_path, write_bytes, write_json
from curate.io.indexed import (
    IndexedDataset,
    IndexedDatasetWriter,
    bin_path,
    encode_index,
    idx_path,
)

CHUNK_DOCUMENTS = 1 << 16
PROVENANCE_SCHEMA = pa.schema(
    [
        ("shard", pa.int32()),
        ("language", pa.string()),
        ("source", pa.string()),
        ("source_document", pa.int64()),
    ]
)


@dataclass
class Sources:
    """Every source document of the mixture, numbered globally across token shards."""

    datasets: list[IndexedDataset]
    names: list[str]
    languages: list[str]

    def __post_init__(self) -> None:
        sizes = np.array([len(d) for d in self.datasets], dtype=np.int64)
        self.bases = np.concatenate([[0], np.cumsum(sizes)])
        self.lengths = np.concatenate([d.lengths for d in self.datasets]).astype(np.int64)

    def locate(self, documents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(dataset index, document index within it) of global document numbers."""
        dataset = np.searchsorted(self.bases, documents, side="right") - 1
        return dataset, documents - self.bases[dataset]

    def gather(self, documents: np.ndarray, dtype: np.dtype) -> np.ndarray:
        """The tokens of ``documents``, concatenated in order, read by memory map."""
        lengths = self.lengths[documents]
        out = np.empty(int(lengths.sum()), dtype=dtype)
        out_starts = np.cumsum(lengths) - lengths
        dataset, local = self.locate(documents)
        for index in np.unique(dataset):
            picked = np.flatnonzero(dataset == index)
            source = self.datasets[index]
            tokens = source.open_tokens()
            starts = source.offsets[local[picked]]
            counts = lengths[picked]
            total = int(counts.sum())
            step = np.repeat(starts - np.cumsum(counts) + counts, counts)
            positions = np.repeat(out_starts[picked] - np.cumsum(counts) + counts, counts)
            within = np.arange(total)
            out[positions + within] = tokens[step + within]
        return out


def write_shards(
    out: Path, order: np.ndarray, sources: Sources, dtype: np.dtype, shard_tokens: int
) -> list[dict[str, Any]]:
    """Write documents ``order`` (global numbers) into shards; returns each shard's summary."""
    lengths = sources.lengths[order]
    starts = np.cumsum(lengths) - lengths
    _, firsts = np.unique(starts // shard_tokens, return_index=True)
    boundaries = np.append(firsts, len(order))
    _remove_extra_shards(out, len(boundaries) - 1)
    provenance = _ProvenanceWriter(out / "documents.parquet", sources)
    shards = []
    for number in range(len(boundaries) - 1):
        documents = order[boundaries[number] : boundaries[number + 1]]
        prefix = out / "shards" / f"mix-{number:05d}"
        shard_lengths = sources.lengths[documents]
        if not _shard_matches(prefix, shard_lengths, dtype):
            writer = IndexedDatasetWriter(prefix, dtype)
            for first in range(0, len(documents), CHUNK_DOCUMENTS):
                chunk = documents[first : first + CHUNK_DOCUMENTS]
                writer.write(sources.gather(chunk, dtype), sources.lengths[chunk])
            writer.close()
        provenance.write(number, documents)
        shards.append(
            {
                "prefix": f"shards/{prefix.name}",
                "documents": int(len(documents)),
                "tokens": int(shard_lengths.sum()),
                "sha256": sha256_of(bin_path(prefix)),
            }
        )
    provenance.close()
    return shards


def _shard_matches(prefix: Path, lengths: np.ndarray, dtype: np.dtype) -> bool:
    """A shard left by an earlier run of the same plan (same index, full data file)."""
    index, data = idx_path(prefix), bin_path(prefix)
    if not (index.is_file() and data.is_file()):
        return False
    expected_bytes = int(lengths.sum()) * dtype.itemsize
    return data.stat().st_size == expected_bytes and index.read_bytes() == encode_index(
        lengths, dtype
    )


def _remove_extra_shards(out: Path, count: int) -> None:
    for stale in sorted((out / "shards").glob("mix-*.idx")):
        if int(stale.stem.split("-")[1]) >= count:
            stale.unlink()
            bin_path(stale.with_suffix("")).unlink(missing_ok=True)


class _ProvenanceWriter:
    def __init__(self, path: Path, sources: Sources) -> None:
        self.path = path
        self.sources = sources
        path.parent.mkdir(parents=True, exist_ok=True)
        self.temp = temp_path(path)
        self.writer = pq.ParquetWriter(self.temp, PROVENANCE_SCHEMA, compression="zstd")

    def write(self, shard: int, documents: np.ndarray) -> None:
        dataset, local = self.sources.locate(documents)
        names = np.array(self.sources.names, dtype=object)
        languages = np.array(self.sources.languages, dtype=object)
        table = pa.table(
            {
                "shard": pa.array(np.full(len(documents), shard, dtype=np.int32)),
                "language": pa.array(languages[dataset], pa.string()),
                "source": pa.array(names[dataset], pa.string()),
                "source_document": pa.array(local),
            },
            schema=PROVENANCE_SCHEMA,
        )
        self.writer.write_table(table)

    def close(self) -> None:
        self.writer.close()
        commit(self.temp, self.path)


def blend_lines(weights: dict[str, float], sources: Sources) -> str:
    """Megatron ``--data-path`` pairs: language weight split over its shards by tokens."""
    lines = []
    language_tokens: dict[str, int] = {}
    for dataset, language in zip(sources.datasets, sources.languages, strict=True):
        language_tokens[language] = language_tokens.get(language, 0) + dataset.num_tokens
    for dataset, language in zip(sources.datasets, sources.languages, strict=True):
        share = weights[language] * dataset.num_tokens / language_tokens[language]
        if share > 0:
            lines.append(f"{share:.10f} {dataset.prefix.resolve()}")
    return "\n".join(lines) + "\n"


def write_reports(out: Path, manifest: dict[str, Any], blend: str) -> None:
    write_bytes(out / "megatron_blend.txt", blend.encode())
    write_json(out / "manifest.json", manifest, sort_keys=False)
    write_bytes(out / "manifest.md", render_markdown(manifest).encode())


def render_markdown(manifest: dict[str, Any]) -> str:
    lines = [
        f"# Mixture {manifest['name']}",
        "",
        manifest["description"] or "",
        "",
        f"Strategy **{manifest['strategy']}**"
        + (f", tau {manifest['tau']}" if manifest["strategy"] == "temperature" else "")
        + (f", at most {manifest['max_epochs']} epochs" if manifest["max_epochs"] else "")
        + f"; seed {manifest['seed']}; budget {manifest['total_tokens']:,} tokens, "
        f"written {manifest['tokens']:,} tokens in {len(manifest['shards'])} shards.",
        "",
        f"Tokenizer `{manifest['tokenizer']['file']}` (sha256 `{manifest['tokenizer']['sha256']}`),"
        f" ids stored as {manifest['tokenizer']['dtype']}.",
        "",
        "| language | available tokens | weight | target tokens | epochs | tokens | documents |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for language, row in manifest["languages"].items():
        lines.append(
            f"| {language} | {row['available_tokens']:,} | {row['weight']:.4f} "
            f"| {row['target_tokens']:,} | {row['epochs']:.3f} | {row['tokens']:,} "
            f"| {row['documents']:,} |"
        )
    lines += [
        "",
        "| shard | documents | tokens | sha256 |",
        "|---|---:|---:|---|",
    ]
    for shard in manifest["shards"]:
        lines.append(
            f"| `{shard['prefix']}` | {shard['documents']:,} | {shard['tokens']:,} "
            f"| `{shard['sha256'][:16]}` |"
        )
    lines += [
        "",
        "Train on the shuffled shards with Megatron-LM `--data-path` and the shard prefixes, or",
        "let Megatron blend the source token shards itself with `--data-args-path "
        "megatron_blend.txt`.",
        "",
    ]
    return "\n".join(lines)
