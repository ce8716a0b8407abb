"""How `curate card` scales: one streaming pass over the shards, bounded memory.

Builds a synthetic output (per-language shards with URLs over many domains, crawl dates and
texts of log-normal length, a consistent stats.json and manifest.json), then times each part of
`curate card --eu-summary` and its peak memory, next to the time pyarrow alone needs to read the
same columns (the floor for any card that looks at every document).

    python benchmarks/bench_card.py [--docs 200000]
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curate.card import CardOptions, write_card
from curate.card.facts import gather

LANGUAGES = ("deu_Latn", "fra_Latn", "pol_Latn", "ita_Latn", "spa_Latn", "nld_Latn")
SHARDS_PER_LANGUAGE = 4


def synthetic_output(out: Path, docs: int, seed: int = 0) -> int:
    rng = np.random.default_rng(seed)
    words = np.array(
        ["lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed", "do"]
    )
    stages: dict[str, dict] = {"read": {}, "extract": {}, "langid": {}}
    total_read = 0
    per_language = docs // len(LANGUAGES)
    for language in LANGUAGES:
        kept_docs = kept_bytes = 0
        for shard in range(SHARDS_PER_LANGUAGE):
            n = per_language // SHARDS_PER_LANGUAGE
            lengths = np.clip(rng.lognormal(6.5, 0.8, n).astype(int) // 6, 5, 5000)
            texts = [" ".join(rng.choice(words, size=k)) for k in lengths]
            domains = rng.zipf(1.3, n) % 50_000
            table = pa.table(
                {
                    "id": [f"{language}-{shard}-{i}" for i in range(n)],
                    "text": texts,
                    "url": [f"https://www.site{d}.eu/page/{i}" for i, d in enumerate(domains)],
                    "date": [f"2024-0{1 + i % 9}-1{i % 10}T12:00:00Z" for i in range(n)],
                    "source": ["synthetic"] * n,
                    "language": [language] * n,
                    "language_score": pa.array(np.full(n, 0.9), pa.float32()),
                    "metadata": [None] * n,
                }
            )
            path = out / "data" / language / f"synthetic-{shard:05d}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, path, compression="zstd")
            kept_docs += n
            kept_bytes += sum(len(t.encode()) for t in texts)
        dropped = kept_docs // 10
        stages["langid"][language] = {
            "docs_in": kept_docs + dropped,
            "docs_kept": kept_docs,
            "bytes_in": kept_bytes,
            "bytes_kept": kept_bytes,
            "dropped": {"low_language_score": dropped},
        }
        total_read += kept_docs + dropped
    und = {"docs_in": total_read, "docs_kept": total_read, "bytes_in": 0, "bytes_kept": 0}
    stages["read"]["und"] = {**und, "dropped": {}}
    stages["extract"]["und"] = {**und, "dropped": {}}
    kept = sum(e["docs_kept"] for e in stages["langid"].values())
    stats = {
        "totals": {
            "docs_read": total_read,
            "docs_kept": kept,
            "docs_dropped": total_read - kept,
            "dropped": {"low_language_score": total_read - kept},
        },
        "stages": stages,
        "input_errors": {},
    }
    (out / "stats.json").write_text(json.dumps(stats))
    recipe = {"name": "synthetic", "langid": {"model": "lid176"}}
    (out / "manifest.json").write_text(json.dumps({"recipe": recipe, "inputs": []}))
    return kept


def read_floor(out: Path) -> float:
    start = time.perf_counter()
    for shard in sorted((out / "data").glob("*/*.parquet")):
        pq.read_table(shard, columns=["url", "date", "text"])
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        docs = synthetic_output(out, args.docs)
        size = sum(p.stat().st_size for p in (out / "data").rglob("*.parquet"))
        floor = read_floor(out)
        start = time.perf_counter()
        facts = gather(out)
        scan = time.perf_counter() - start
        start = time.perf_counter()
        write_card(out, CardOptions(repo="org/synthetic"), eu_summary=True, force=True)
        full = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"synthetic output: {docs:,} documents, {len(LANGUAGES)} languages, "
        f"{len(facts.domains):,} domains, {size / 1e6:.0f} MB of Parquet"
    )
    print(f"{'step':<44}{'seconds':>10}{'docs/s':>14}")
    for name, seconds in (
        ("pyarrow: read url, date, text (floor)", floor),
        ("curate card: scan (facts.gather)", scan),
        ("curate card --eu-summary: everything", full),
    ):
        print(f"{name:<44}{seconds:>10.2f}{docs / seconds:>14,.0f}")
    print(f"scan / floor: {scan / floor:.2f}x; peak RSS of the process: {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
