"""The tokenize pass: after every unit (and near-dedup), turn the final shards into token shards.

For each ``OUT/data/<lang>/<shard>.parquet``, row group by row group (memory stays bounded by
a few row groups, whatever the size of a language):

- the documents are encoded in batches (:class:`curate.models.tokenizers.Tokenize`);
- their ids go to ``OUT/tokens/<lang>/<shard>.bin`` / ``.idx`` (Megatron-LM's indexed dataset,
  layout in :mod:`curate.io.indexed`), document k of the index being row k of the shard;
- the shard is rewritten atomically with a ``token_count`` column.

``OUT/tokens/tokens.json`` records the tokenizer (file, sha256, vocabulary, BOS/EOS ids), the
dtype, and per language the documents, tokens and shard prefixes; ``curate mix`` reads it.
Each finished shard leaves a marker under ``OUT/work/tokenize/``, so a re-run after a crash
redoes only unfinished shards; a changed tokenizer or BOS/EOS setting redoes all of them.

Reading the next row group and writing the previous one run on a reader and a writer thread
while the current one is encoded (Arrow, zstd and file writes release the GIL), across shard
boundaries too, so on several cores the Parquet work hides behind the encoding.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curate.core.registry import register
from curate.core.stage import ParallelMap
from curate.io.atomic import write_json
from curate.io.config import OutputConfig
from curate.io.indexed import IndexedDatasetWriter, bin_path, dtype_for_vocab, idx_path
from curate.io.writer import ParquetSink
from curate.models.tokenizers import TOKEN_COUNT, TOKENS, Tokenize, TokenizeConfig
from curate.stats import RunStats

log = logging.getLogger(__name__)
TOKENS_DIR = "tokens"
SUMMARY_FILE = "tokens.json"


def shard_marker(out: Path, shard: Path) -> Path:
    return out / "work" / "tokenize" / shard.parent.name / f"{shard.stem}.json"


def token_prefix(out: Path, shard: Path) -> Path:
    return out / TOKENS_DIR / shard.parent.name / shard.stem


def token_languages(results: dict[Path, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per language: documents, tokens and shard prefixes, from each shard's marker."""
    languages: dict[str, dict[str, Any]] = {}
    for shard in sorted(results):
        result = results[shard]
        entry = languages.setdefault(shard.parent.name, {"documents": 0, "tokens": 0})
        entry["documents"] += result["documents"]
        entry["tokens"] += result["tokens"]
        entry.setdefault("shards", []).append(f"{shard.parent.name}/{shard.stem}")
    return languages


def token_summary(identity: dict[str, Any], languages: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The ``tokenize`` entry of ``stats.json``."""
    return {
        "tokenizer": identity["file"],
        "sha256": identity["sha256"],
        "tokens": sum(entry["tokens"] for entry in languages.values()),
        "tokens_per_language": {k: v["tokens"] for k, v in languages.items()},
    }


def file_state(path: Path) -> list[int]:
    status = path.stat()
    return [status.st_size, status.st_mtime_ns]


@register("tokenize", section="tokenize", config=TokenizeConfig, phase="corpus", order=20)
@dataclass
class TokenizePass:
    """Token shards (Megatron indexed dataset) and a ``token_count`` column for every shard."""

    config: TokenizeConfig
    output: OutputConfig
    name: str = "tokenize"

    @classmethod
    def from_recipe(
        cls, recipe: Any, parallel_map: ParallelMap | None = None
    ) -> TokenizePass | None:
        return cls(recipe.tokenize, recipe.output) if recipe.tokenize.enabled else None

    def run(self, out: Path, stats: RunStats) -> None:
        stage = Tokenize(self.config, self.name)
        identity = {**stage.identity(), "dtype": dtype_for_vocab(stage.encoder.vocab_size).name}
        self._reset_if_changed(out, identity)
        shards = sorted((out / "data").glob("*/*.parquet"))
        self._remove_orphans(out, shards)
        results = {shard: self._done(out, shard) for shard in shards}
        todo = [shard for shard, result in results.items() if result is None]
        results.update(self._tokenize(out, todo, stage, np.dtype(identity["dtype"])))
        finished = {shard: result for shard, result in results.items() if result is not None}
        assert len(finished) == len(shards)
        for shard in shards:
            stats.merge(RunStats.from_dict(finished[shard]["stats"]))
        summary = {**identity, "bos": self.config.bos, "eos": self.config.eos}
        languages = token_languages(finished)
        write_json(out / TOKENS_DIR / SUMMARY_FILE, {**summary, "languages": languages})
        stats.summaries[self.name] = token_summary(summary, languages)

    def _reset_if_changed(self, out: Path, identity: dict[str, Any]) -> None:
        """Token shards made with another tokenizer or BOS/EOS setting are all redone."""
        work = out / "work" / "tokenize"
        identity_file = work / "identity.json"
        if identity_file.is_file() and json.loads(identity_file.read_text()) == identity:
            return
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(out / TOKENS_DIR, ignore_errors=True)
        write_json(identity_file, identity)

    def _remove_orphans(self, out: Path, shards: list[Path]) -> None:
        """Token files whose Parquet shard is gone (e.g. after a ``--force`` re-run)."""
        wanted = {token_prefix(out, s) for s in shards}
        for index in sorted((out / TOKENS_DIR).glob("*/*.idx")):
            prefix = index.with_suffix("")
            if prefix not in wanted:
                index.unlink()
                bin_path(prefix).unlink(missing_ok=True)

    def _done(self, out: Path, shard: Path) -> dict[str, Any] | None:
        marker = shard_marker(out, shard)
        if not marker.is_file():
            return None
        result = json.loads(marker.read_text())
        prefix = token_prefix(out, shard)
        if result["parquet"] != file_state(shard) or not idx_path(prefix).is_file():
            return None
        return result

    def _tokenize(
        self, out: Path, shards: list[Path], stage: Tokenize, dtype: np.dtype
    ) -> dict[Path, dict[str, Any]]:
        """Encode ``shards`` row group by row group; reading and writing overlap the encoding.

        Reads and writes have a thread each, so a slow ``fsync`` on commit does not hold up
        the next row group.
        """
        finished: dict[Path, Future[dict[str, Any]]] = {}
        rewrite: _ShardRewrite | None = None
        numbers = {shard: f"{n}/{len(shards)}" for n, shard in enumerate(shards, 1)}
        with (
            ThreadPoolExecutor(1, thread_name_prefix="tokenize-read") as reader,
            ThreadPoolExecutor(1, thread_name_prefix="tokenize-write") as writer,
        ):
            for shard, table, last in _prefetched(reader, shards):
                if rewrite is None:
                    rewrite = _ShardRewrite(out, shard, self.output, dtype, self.name)
                start = time.perf_counter()
                encoded = stage(_without_token_count(table))
                rewrite.write(writer, encoded, time.perf_counter() - start)
                if last:
                    finished[shard] = writer.submit(rewrite.finish, numbers[shard])
                    rewrite = None
        return {shard: future.result() for shard, future in finished.items()}


def _prefetched(
    reader: ThreadPoolExecutor, shards: list[Path]
) -> Iterator[tuple[Path, pa.Table, bool]]:
    """(shard, row group, last of its shard) in order; the next is read while one is used."""
    groups = []
    for shard in shards:
        count = pq.ParquetFile(shard).metadata.num_row_groups
        groups += [(shard, g, g == count - 1) for g in range(count)] or [(shard, -1, True)]
    reading = reader.submit(_read_group, *groups[0][:2]) if groups else None
    for number, (shard, _, last) in enumerate(groups):
        assert reading is not None
        table = reading.result()
        if number + 1 < len(groups):
            reading = reader.submit(_read_group, *groups[number + 1][:2])
        yield shard, table, last


def _read_group(shard: Path, group: int) -> pa.Table:
    source = pq.ParquetFile(shard)
    table = source.read_row_group(group) if group >= 0 else source.schema_arrow.empty_table()
    source.close()
    return table


@dataclass
class _ShardRewrite:
    """One shard's outputs: the rewritten Parquet, its token files, its stats."""

    out: Path
    shard: Path
    output: OutputConfig
    dtype: np.dtype
    stage_name: str
    _writing: Future[None] | None = None
    _documents: int = 0
    _stats: RunStats = field(init=False)

    def __post_init__(self) -> None:
        self._parquet: ParquetSink | None = None
        self._tokens = IndexedDatasetWriter(token_prefix(self.out, self.shard), self.dtype)
        self._stats = RunStats((self.stage_name,))

    def write(self, writer: ThreadPoolExecutor, encoded: pa.Table, seconds: float) -> None:
        """Hand ``encoded`` to the writer thread (after the previous row group); count it."""
        if self._writing is not None:
            self._writing.result()
        self._writing = writer.submit(self._write, encoded)
        accounted = _accounting_view(encoded)
        self._stats.record(self.stage_name, accounted, accounted, seconds)
        self._documents += encoded.num_rows

    def _write(self, encoded: pa.Table) -> None:
        ids = encoded.column(TOKENS).combine_chunks()
        self._tokens.write(ids.flatten().to_numpy(), encoded.column(TOKEN_COUNT).to_numpy())
        rows = encoded.drop_columns([TOKENS])
        if self._parquet is None:
            self._parquet = ParquetSink(self.shard, rows.schema, self.output)
        self._parquet.write(rows)

    def finish(self, number: str) -> dict[str, Any]:
        """Commit token files, then the Parquet, then the marker (on the writer thread)."""
        if self._writing is not None:
            self._writing.result()  # done already (one writer thread, in order); re-raises
        tokens = int(self._tokens.close().sum(dtype=np.int64))
        assert self._parquet is not None  # every shard yields at least one (maybe empty) group
        self._parquet.close()
        self._stats.count(self.stage_name, {self.shard.parent.name: {"tokens": tokens}})
        result = {
            "shard": f"{self.shard.parent.name}/{self.shard.name}",
            "documents": self._documents,
            "tokens": tokens,
            "parquet": file_state(self.shard),
            "stats": self._stats.to_dict(include_timing=True),
        }
        write_json(shard_marker(self.out, self.shard), result)
        log.info(
            "tokenize: shard %s %s: %d docs, %d tokens",
            number,
            result["shard"],
            result["documents"],
            result["tokens"],
        )
        return result


def _without_token_count(table: pa.Table) -> pa.Table:
    """A shard tokenized before (a re-run) has the column already; it is computed afresh."""
    return table.drop_columns([TOKEN_COUNT]) if TOKEN_COUNT in table.column_names else table


def _accounting_view(table: pa.Table) -> pa.Table:
    """What :meth:`RunStats.record` counts: every document kept, under its language."""
    return pa.table(
        {
            "language": table.column("language"),
            "text": table.column("text"),
            "drop_reason": pa.nulls(table.num_rows, pa.string()),
        }
    )
