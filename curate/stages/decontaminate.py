"""Benchmark decontamination: drop documents that contain evaluation benchmark text.

Benchmarks are local files named in the recipe (JSONL with a ``text`` field, Parquet with a
``text`` column, or plain text with one item per line; an ``id`` field or column names the
items, else their row number). Their word n-grams go into one index
(:mod:`curate.dedup.ngram_index`), built once per process in :meth:`Decontaminate.setup`. A
document holding one of them (or, with ``item_fraction``, more than that fraction of one
item's n-grams) is dropped as ``contaminated``; the ledger detail names the benchmark and item.
Counts per benchmark and language go to ``stats.json`` under ``counters.decontaminate``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import Field

from curate.core.config import Section
from curate.core.registry import register
from curate.core.stage import Counts, Stage
from curate.dedup.ngram_index import NGramIndex, Words
from curate.schema import set_drop_reason
from curate.stats import UNKNOWN_LANGUAGE

log = logging.getLogger(__name__)
CONTAMINATED = "contaminated"


class Benchmark(Section):
    name: str
    path: str


class DecontaminateConfig(Section):
    benchmarks: list[Benchmark] = Field(default_factory=list)
    ngram_size: int = Field(13, ge=1, le=64)
    item_fraction: float | None = Field(None, ge=0.0, lt=1.0)
    min_item_words: int = Field(5, ge=1)


@dataclass(frozen=True)
class Items:
    """Every benchmark item: its text, benchmark name and id, in file order."""

    texts: pa.Array
    benchmarks: list[str]
    ids: list[str]


def read_items(benchmarks: list[Benchmark]) -> Items:
    texts: list[str] = []
    names: list[str] = []
    ids: list[str] = []
    for benchmark in benchmarks:
        rows = _read_file(Path(benchmark.path))
        texts += [text for text, _ in rows]
        ids += [item for _, item in rows]
        names += [benchmark.name] * len(rows)
    return Items(pa.array(texts, pa.large_string()), names, ids)


def _read_file(path: Path) -> list[tuple[str, str]]:
    """(text, id) of each item; a line without usable text is skipped and logged."""
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        texts = table.column("text").to_pylist()
        ids = table.column("id").to_pylist() if "id" in table.column_names else None
        return [(text, str(ids[row] if ids else row)) for row, text in enumerate(texts) if text]
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    if path.suffix != ".jsonl":
        return [(line, str(row)) for row, line in enumerate(lines) if line.strip()]
    rows: list[tuple[str, str]] = []
    for row, line in enumerate(lines):
        item = _json_item(line)
        if item is None:
            if line.strip():
                log.warning("%s line %d: no JSON object with a text field, skipped", path, row + 1)
            continue
        rows.append((item["text"], str(item.get("id", row))))
    return rows


def _json_item(line: str) -> dict[str, Any] | None:
    try:
        item = json.loads(line)
    except ValueError:
        return None
    if isinstance(item, dict) and isinstance(item.get("text"), str) and item["text"]:
        return item
    return None


@register(
    "decontaminate", section="decontaminate", config=DecontaminateConfig, phase="document", order=48
)
@dataclass
class Decontaminate(Stage):
    """Drops documents that contain benchmark n-grams (reason ``contaminated``)."""

    config: DecontaminateConfig
    name: str = "decontaminate"
    _index: NGramIndex | None = field(default=None, init=False, repr=False)
    _items: Items | None = field(default=None, init=False, repr=False)
    _counts: Counts = field(default_factory=dict, init=False, repr=False)

    @classmethod
    def from_recipe(cls, recipe: Any) -> Decontaminate | None:
        config = recipe.decontaminate
        return cls(config) if config.benchmarks else None

    def setup(self) -> None:
        if self._index is not None:
            return
        self._items = read_items(self.config.benchmarks)
        self._index = NGramIndex.build(
            self._items.texts, self.config.ngram_size, self.config.min_item_words
        )
        log.info(
            "decontaminate: %d benchmark items, %d n-grams, %d items under %d words left out",
            len(self._items.ids),
            len(self._index.hashes),
            self._index.skipped,
            self.config.min_item_words,
        )

    def find(self, texts: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
        """The rows of ``texts`` that are contaminated, and the item each one matches."""
        self.setup()
        assert self._index is not None
        return self._index.contaminated(Words.of(texts), self.config.item_fraction)

    def describe(self, item: int) -> str:
        """The ledger detail of a drop for ``item``: ``benchmark:item id``."""
        assert self._items is not None
        return f"{self._items.benchmarks[item]}:{self._items.ids[item]}"

    def __call__(self, batch: pa.Table) -> pa.Table:
        if batch.num_rows == 0:
            return batch
        rows, items = self.find(batch.column("text"))
        if not len(rows):
            return batch
        self._count(batch.column("language").to_pylist(), rows, items)
        rejected = np.zeros(batch.num_rows, bool)
        rejected[rows] = True
        details: list[str | None] = [None] * batch.num_rows
        for row, item in zip(rows.tolist(), items.tolist(), strict=True):
            details[row] = self.describe(item)
        return set_drop_reason(
            batch, pa.array(rejected), CONTAMINATED, pa.array(details, pa.string())
        )

    def _count(self, languages: list[str | None], rows: np.ndarray, items: np.ndarray) -> None:
        assert self._items is not None
        for row, item in zip(rows.tolist(), items.tolist(), strict=True):
            entry = self._counts.setdefault(languages[row] or UNKNOWN_LANGUAGE, {})
            benchmark = self._items.benchmarks[item]
            entry[benchmark] = entry.get(benchmark, 0) + 1

    def take_counts(self) -> Counts:
        counts, self._counts = self._counts, {}
        return counts
