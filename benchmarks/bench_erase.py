"""Erasing 100 URLs from a tokenized output of 1M documents: time and bytes rewritten.

The output is built synthetically (no pipeline run): ``--shards`` Parquet shards over two
languages, each with its Megatron token pair and tokenize marker, ``stats.json``,
``manifest.json`` and ``tokens/tokens.json``, as a tokenized run leaves them; documents are
short sentences of random words with URLs on 1,000 hosts. Two requests:

- ``scattered``: 100 URLs drawn uniformly from the corpus (a takedown list), which reach many
  shards;
- ``clustered``: 100 URLs of documents that sit in one input's shards (a site crawled in one
  file), which reach few.

Anchor, measured in the same run: a full rewrite (every shard and token pair read, filtered
and written again), what a pipeline without per-shard erasure would do. Columns: curate's
time (planning scan included) and bytes rewritten against the anchor's.

    python benchmarks/bench_erase.py [--docs 1000000] [--shards 200]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import print_table  # noqa: E402
from curate.erasure.erase import Request, erase  # noqa: E402
from curate.io.atomic import write_json  # noqa: E402
from curate.io.indexed import IndexedDatasetWriter, bin_path, idx_path  # noqa: E402
from curate.recipe import OutputConfig  # noqa: E402
from curate.schema import DOCUMENT_SCHEMA  # noqa: E402
from curate.stages.compliance.erasure import request_hashes  # noqa: E402
from curate.stages.tokenize_pass import file_state, shard_marker, token_prefix  # noqa: E402
from curate.stats import RunStats  # noqa: E402

LANGUAGES = ("deu_Latn", "fra_Latn")
WORDS = np.array([f"w{n}" for n in range(5000)])
OUTPUT = OutputConfig()
DTYPE = np.dtype(np.uint16)


def build_output(out: Path, docs: int, shards: int, seed: int = 0) -> list[list[str]]:
    """The synthetic output; returns each shard's URLs (shard order)."""
    rng = np.random.default_rng(seed)
    per_shard = docs // shards
    stats = RunStats(("read", "tokenize"))
    urls_by_shard, languages = [], {}
    for number in range(shards):
        language = LANGUAGES[number % len(LANGUAGES)]
        shard = out / "data" / language / f"crawl-{number:04d}-00000.parquet"
        urls, table, lengths = _shard_rows(rng, number, per_shard, language)
        shard.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, shard, compression="zstd", compression_level=3)
        prefix = token_prefix(out, shard)
        writer = IndexedDatasetWriter(prefix, DTYPE)
        writer.write(rng.integers(0, 60_000, int(lengths.sum()), dtype=DTYPE), lengths)
        writer.close()
        text_bytes = int(sum(len(t.encode()) for t in table.column("text").to_pylist()))
        shard_stats = RunStats(("tokenize",))
        shard_stats.record_totals(
            "tokenize", language, per_shard, text_bytes, per_shard, text_bytes, {}
        )
        shard_stats.count("tokenize", {language: {"tokens": int(lengths.sum())}})
        stats.record_totals("read", language, per_shard, text_bytes, per_shard, text_bytes, {})
        stats.merge(shard_stats)
        marker = {
            "shard": f"{language}/{shard.name}",
            "documents": per_shard,
            "tokens": int(lengths.sum()),
            "parquet": file_state(shard),
            "stats": shard_stats.to_dict(),
        }
        write_json(shard_marker(out, shard), marker)
        entry = languages.setdefault(language, {"documents": 0, "tokens": 0, "shards": []})
        entry["documents"] += per_shard
        entry["tokens"] += int(lengths.sum())
        entry["shards"].append(f"{language}/{shard.stem}")
        urls_by_shard.append(urls)
    identity = {"file": "synthetic", "sha256": "0" * 64, "vocab_size": 60_000, "dtype": "uint16"}
    write_json(
        out / "tokens" / "tokens.json",
        {**identity, "bos": False, "eos": False, "languages": languages},
    )
    stats.summaries["tokenize"] = {
        "tokenizer": "synthetic",
        "sha256": "0" * 64,
        "tokens": sum(v["tokens"] for v in languages.values()),
        "tokens_per_language": {k: v["tokens"] for k, v in languages.items()},
    }
    write_json(out / "stats.json", stats.to_dict(), sort_keys=False)
    write_json(out / "manifest.json", {"recipe": {"output": OUTPUT.model_dump()}})
    return urls_by_shard


def _shard_rows(
    rng: np.random.Generator, number: int, rows: int, language: str
) -> tuple[list[str], pa.Table, np.ndarray]:
    hosts = rng.integers(0, 1000, rows)
    urls = [f"https://site{h}.example/{number}/{i}" for i, h in enumerate(hosts.tolist())]
    words = WORDS[rng.integers(0, len(WORDS), (rows, 12))]
    texts = [" ".join(row) + "." for row in words]
    table = pa.table(
        {
            "id": [f"urn:uuid:{number:06d}-{i:08d}" for i in range(rows)],
            "text": texts,
            "url": urls,
            "date": ["2026-01-01T00:00:00Z"] * rows,
            "source": [f"crawl-{number:04d}.warc.gz"] * rows,
            "language": [language] * rows,
            "language_score": pa.array(np.full(rows, 0.9, np.float32)),
            "metadata": pa.nulls(rows, pa.string()),
            "token_count": pa.array(rng.integers(20, 60, rows, dtype=np.int32)),
        },
        schema=DOCUMENT_SCHEMA.append(pa.field("token_count", pa.int32())),
    )
    return urls, table, table.column("token_count").to_numpy()


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def changed_bytes(root: Path, before: dict[Path, tuple[int, int]]) -> int:
    """Bytes of files written since ``before`` (new, or with another inode/mtime)."""
    total = 0
    for path in root.rglob("*"):
        if path.is_file() and "work" not in path.relative_to(root).parts[:1]:
            status = path.stat()
            if before.get(path) != (status.st_ino, status.st_mtime_ns):
                total += status.st_size
    return total


def states(root: Path) -> dict[Path, tuple[int, int]]:
    return {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


def curate_erase(out: Path, urls: list[str]) -> tuple[float, int, int]:
    before = states(out)
    request = Request(request_hashes(urls, [], []), "benchmark", "2026-12-02T00:00:00Z")
    start = time.perf_counter()
    outcomes = erase(out, request, lambda _line: None)
    seconds = time.perf_counter() - start
    rewritten = sum(1 for path in outcomes[0].files if path.startswith("data/"))
    return seconds, changed_bytes(out, before), rewritten


def full_rewrite(out: Path, urls: list[str]) -> tuple[float, int, int]:
    """The anchor: every shard and token pair read, filtered and written again."""
    wanted = pa.array(sorted(set(urls)))
    start = time.perf_counter()
    written = shards = 0
    for shard in sorted((out / "data").glob("*/*.parquet")):
        table = pq.read_table(shard)
        keep = pa.compute.invert(pa.compute.is_in(table.column("url"), value_set=wanted))
        lengths = table.column("token_count").to_numpy()
        prefix = token_prefix(out, shard)
        tokens = np.fromfile(bin_path(prefix), DTYPE)
        mask = np.repeat(keep.to_numpy(zero_copy_only=False), lengths)
        writer = IndexedDatasetWriter(prefix, DTYPE)
        writer.write(tokens[mask], lengths[keep.to_numpy(zero_copy_only=False)])
        writer.close()
        pq.write_table(table.filter(keep), shard, compression="zstd", compression_level=3)
        written += shard.stat().st_size + bin_path(prefix).stat().st_size
        written += idx_path(prefix).stat().st_size
        shards += 1
    return time.perf_counter() - start, written, shards


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--shards", type=int, default=200)
    parser.add_argument("--urls", type=int, default=100)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-erase-"))
    try:
        start = time.perf_counter()
        urls_by_shard = build_output(root / "pristine", args.docs, args.shards)
        built = time.perf_counter() - start
        total = tree_bytes(root / "pristine")
        print(
            f"output: {args.docs:,} documents in {args.shards} shards, {total / 1e6:,.1f} MB "
            f"(built in {built:.1f} s)"
        )
        rng = np.random.default_rng(1)
        flat = [u for urls in urls_by_shard for u in urls]
        scattered = [flat[i] for i in rng.choice(len(flat), args.urls, replace=False)]
        clustered = [urls_by_shard[0][i] for i in range(args.urls)]
        rows = []
        for name, urls in (("scattered", scattered), ("clustered", clustered)):
            shutil.copytree(root / "pristine", root / name)
            seconds, written, shards = curate_erase(root / name, urls)
            shutil.rmtree(root / name)
            shutil.copytree(root / "pristine", root / name)
            anchor_seconds, anchor_written, anchor_shards = full_rewrite(root / name, urls)
            shutil.rmtree(root / name)
            rows.append(
                [
                    name,
                    len(urls),
                    f"{shards}/{args.shards}",
                    seconds,
                    written / 1e6,
                    f"{100 * written / total:.2f} %",
                    anchor_seconds,
                    anchor_written / 1e6,
                    f"{seconds / anchor_seconds:.2f}",
                    f"{written / anchor_written:.3f}",
                ]
            )
        print_table(
            f"Erasing {args.urls} URLs from {args.docs:,} documents ({total / 1e6:,.1f} MB output)",
            [
                "request",
                "URLs",
                "shards rewritten",
                "curate s",
                "curate MB written",
                "of output",
                "full rewrite s",
                "full rewrite MB",
                "time ratio",
                "bytes ratio",
            ],
            rows,
            digits=2,
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
