"""The tokenize pass: after every unit (and near-dedup), turn the final shards into token shards.

For each ``OUT/data/<lang>/<shard>.parquet``, row group by row group (memory stays bounded by
one row group, whatever the size of a language):

- the documents are encoded in batches (:class:`curate.stages.tokenize.Tokenize`);
- their ids go to ``OUT/tokens/<lang>/<shard>.bin`` / ``.idx`` (Megatron-LM's indexed dataset,
  layout in :mod:`curate.io.indexed`), document k of the index being row k of the shard;
- the shard is rewritten atomically with a ``token_count`` column.

``OUT/tokens/tokens.json`` records the tokenizer (file, sha256, vocabulary, BOS/EOS ids), the
dtype, and per language the documents, tokens and shard prefixes; ``curate mix`` reads it.
Each finished shard leaves a marker under ``OUT/work/tokenize/``, so a re-run after a crash
redoes only unfinished shards; a changed tokenizer or BOS/EOS setting redoes all of them.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from curate.io.atomic import write_json
from curate.io.indexed import IndexedDatasetWriter, bin_path, dtype_for_vocab, idx_path
from curate.io.writer import ParquetSink
from curate.recipe import OutputConfig
from curate.stages.tokenize import TOKEN_COUNT, TOKEN_COUNT_FIELD, TOKENS, Tokenize, TokenizeConfig
from curate.stats import RunStats

log = logging.getLogger(__name__)
TOKENS_DIR = "tokens"
SUMMARY_FILE = "tokens.json"


def shard_marker(out: Path, shard: Path) -> Path:
    return out / "work" / "tokenize" / shard.parent.name / f"{shard.stem}.json"


def token_prefix(out: Path, shard: Path) -> Path:
    return out / TOKENS_DIR / shard.parent.name / shard.stem


def _file_state(path: Path) -> list[int]:
    status = path.stat()
    return [status.st_size, status.st_mtime_ns]


@dataclass
class TokenizePass:
    """A :class:`curate.pipeline.CorpusPass` writing token shards and ``token_count``."""

    config: TokenizeConfig
    output: OutputConfig
    name: str = "tokenize"

    def run(self, out: Path, stats: RunStats) -> None:
        stage = Tokenize(self.config, self.name)
        identity = {**stage.identity(), "dtype": dtype_for_vocab(stage.encoder.vocab_size).name}
        self._reset_if_changed(out, identity)
        shards = sorted((out / "data").glob("*/*.parquet"))
        self._remove_orphans(out, shards)
        languages: dict[str, dict[str, Any]] = {}
        for number, shard in enumerate(shards, 1):
            result = self._done(out, shard) or self._tokenize_shard(out, shard, stage, identity)
            stats.merge(RunStats.from_dict(result["stats"]))
            entry = languages.setdefault(shard.parent.name, {"documents": 0, "tokens": 0})
            entry["documents"] += result["documents"]
            entry["tokens"] += result["tokens"]
            entry.setdefault("shards", []).append(f"{shard.parent.name}/{shard.stem}")
            log.info(
                "tokenize: shard %d/%d %s/%s: %d docs, %d tokens",
                number,
                len(shards),
                shard.parent.name,
                shard.name,
                result["documents"],
                result["tokens"],
            )
        summary = {**identity, "bos": self.config.bos, "eos": self.config.eos}
        write_json(out / TOKENS_DIR / SUMMARY_FILE, {**summary, "languages": languages})

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
        if result["parquet"] != _file_state(shard) or not idx_path(prefix).is_file():
            return None
        return result

    def _tokenize_shard(
        self, out: Path, shard: Path, stage: Tokenize, identity: dict[str, Any]
    ) -> dict[str, Any]:
        """Encode one shard; reading the next row group and writing the last one overlap the
        encoding, on one I/O thread (Arrow and file writes release the GIL)."""
        source = pq.ParquetFile(shard)
        rewritten = ParquetSink(shard, _with_token_count(source.schema_arrow), self.output)
        dtype = dtype_for_vocab(identity["vocab_size"])
        tokens = IndexedDatasetWriter(token_prefix(out, shard), dtype)
        shard_stats = RunStats((self.name,))
        groups = source.num_row_groups
        with ThreadPoolExecutor(1, thread_name_prefix="tokenize-io") as io:
            reading = io.submit(source.read_row_group, 0) if groups else None
            writing: Future[None] | None = None
            for group in range(groups):
                assert reading is not None
                table = reading.result()
                if group + 1 < groups:
                    reading = io.submit(source.read_row_group, group + 1)
                start = time.perf_counter()
                if TOKEN_COUNT in table.column_names:
                    table = table.drop_columns([TOKEN_COUNT])
                encoded = stage(table)
                if writing is not None:
                    writing.result()
                writing = io.submit(_write_group, encoded, tokens, rewritten)
                accounted = _accounting_view(table)
                shard_stats.record(self.name, accounted, accounted, time.perf_counter() - start)
            if writing is not None:
                writing.result()
        source.close()
        token_total = int(tokens.close().sum())
        rewritten.close()
        shard_stats.record_tokens(shard.parent.name, token_total)
        result = {
            "shard": f"{shard.parent.name}/{shard.name}",
            "documents": int(source.metadata.num_rows),
            "tokens": token_total,
            "parquet": _file_state(shard),
            "stats": shard_stats.to_dict(include_timing=True),
        }
        write_json(shard_marker(out, shard), result)
        return result


def _write_group(encoded: pa.Table, tokens: IndexedDatasetWriter, rewritten: ParquetSink) -> None:
    ids = encoded.column(TOKENS).combine_chunks()
    tokens.write(ids.flatten().to_numpy(), encoded.column(TOKEN_COUNT).to_numpy())
    rewritten.write(encoded.drop_columns([TOKENS]))


def _with_token_count(schema: pa.Schema) -> pa.Schema:
    index = schema.get_field_index(TOKEN_COUNT)
    return schema.append(TOKEN_COUNT_FIELD) if index < 0 else schema.set(index, TOKEN_COUNT_FIELD)


def _accounting_view(table: pa.Table) -> pa.Table:
    """What :meth:`RunStats.record` counts: every document kept, under its language."""
    return pa.table(
        {
            "language": table.column("language"),
            "text": table.column("text"),
            "drop_reason": pa.nulls(table.num_rows, pa.string()),
        }
    )
