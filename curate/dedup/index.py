"""An incremental dedup index: the kept documents of earlier runs, append-only.

Layout (every file written once, under a name no other run uses, so concurrent runs never
touch each other's files; nothing is ever rewritten in place)::

    INDEX/index.json                      settings; created once (a hard link refuses a second)
    INDEX/runs/<run>/bands/<shard>.parquet   band, key, doc, id of the run's kept documents
    INDEX/runs/<run>/exact/<shard>.parquet   exact_1, exact_2, doc, id, nbytes
    INDEX/runs/<run>.json                 the commit: written last, atomically

Readers take only runs with a commit file, so a run that crashed while appending is invisible.
Files are sorted by their hash column with small row groups, so a reader of one hash range
reads only the row groups of that range. Only whole-file writes, one rename per file and
listing ``runs/*.json`` are needed, which object stores also offer (fsspec) later.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from curate.dedup.cluster import BANDS, EXACT, hash_range, write_frame
from curate.io.atomic import temp_path, write_json

FORMAT = 1
INDEX_BASE = -(1 << 62)
DOC_BITS = 52  # an indexed node: INDEX_BASE + (run number << DOC_BITS) + its key in its run
MAX_RUNS = 1 << (62 - DOC_BITS)


class DedupIndexError(ValueError):
    """An index that cannot be used: the message names it and why, in one line."""


def index_detail(doc_id: str, run: str) -> str:
    """The ledger detail of a document dropped as a duplicate of an indexed one."""
    return f"{doc_id} (run {run})"


@dataclass(frozen=True)
class DedupIndex:
    """The committed runs of an index, numbered in commit order (this run's own excluded)."""

    root: Path
    runs: tuple[str, ...]

    @staticmethod
    def open(root: Path, settings: dict[str, Any], own_run: str) -> DedupIndex:
        _ensure_settings(root, settings)
        commits = []
        for marker in (root / "runs").glob("*.json"):
            entry = json.loads(marker.read_text())
            if entry["run"] != own_run:
                commits.append((entry["committed"], entry["run"]))
        if len(commits) >= MAX_RUNS:
            raise DedupIndexError(f"dedup index {root}: more than {MAX_RUNS - 1} runs")
        return DedupIndex(root, tuple(run for _, run in sorted(commits)))

    def lookup(self, kind: str, bits: int, partition: int) -> pl.DataFrame:
        """Rows of every indexed run in one hash range, with index node keys and details."""
        column, schema = ("key", BANDS) if kind == "bands" else ("exact_1", EXACT)
        low, high = hash_range(bits, partition)
        frames = []
        for number, run in enumerate(self.runs):
            files = sorted((self.root / "runs" / run / kind).glob("*.parquet"))
            if not files:
                continue
            rows = pl.scan_parquet(files).filter(pl.col(column).is_between(low, high)).collect()
            frames.append(
                rows.with_columns(
                    doc=INDEX_BASE + (number << DOC_BITS) + pl.col("doc"),
                    id=pl.col("id") + f" (run {run})",
                )
            )
        columns = {**schema, "id": pl.String, "nbytes": pl.Int64}
        if not frames:
            return pl.DataFrame(schema=columns)
        return pl.concat(frames, how="diagonal").with_columns(nbytes=pl.lit(0, pl.Int64))


def _ensure_settings(root: Path, settings: dict[str, Any]) -> None:
    """Creates ``index.json`` if absent (exactly once, even with racing runs), then checks it."""
    path = root / "index.json"
    wanted = {"format": FORMAT, **settings}
    if not path.exists():
        (root / "runs").mkdir(parents=True, exist_ok=True)
        temp = temp_path(path)
        temp.write_text(json.dumps(wanted, indent=2, sort_keys=True) + "\n")
        try:
            os.link(temp, path)  # fails if another run created it first: theirs stands
        except FileExistsError:
            pass
        finally:
            temp.unlink()
    found = json.loads(path.read_text())
    if found != wanted:
        changed = sorted(k for k in wanted.keys() | found.keys() if found.get(k) != wanted.get(k))
        raise DedupIndexError(
            f"dedup index {root} was built with other settings ({', '.join(changed)})"
        )


def check_doc_keys(shards: int) -> None:
    if shards >= 1 << (DOC_BITS - 32):
        raise DedupIndexError(f"dedup index: {shards} shards, at most {1 << (DOC_BITS - 32)}")


def append_shard(
    root: Path, run: str, shard: str, bands: pl.DataFrame, exact: pl.DataFrame
) -> None:
    """One shard's kept documents into this run's (uncommitted) part of the index."""
    write_frame(
        root / "runs" / run / "bands" / f"{shard}.parquet", bands.sort("key", "band", "doc")
    )
    write_frame(root / "runs" / run / "exact" / f"{shard}.parquet", exact.sort("exact_1", "doc"))


def commit_run(root: Path, run: str, documents: int) -> None:
    """Makes the run's files visible to readers: the commit file, written last."""
    entry = {"run": run, "documents": documents, "committed": time.time_ns()}
    write_json(root / "runs" / f"{run}.json", entry)
