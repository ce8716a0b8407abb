"""``curate erase``: take documents out of everything a run produced, and keep them out.

An erasure goes in three steps, each safe to interrupt:

1. **Plan.** Every file that can name a document is scanned (URL and id columns only): the
   kept shards, ``rejected/``, the drop ledgers, the dedup pass's work files, and with
   ``--mix`` each mixture's ``documents.parquet``. The rows to remove (and ledger details or
   work-file ids to blank) are written, as row numbers and hashes only, to
   ``OUT/work/erase/<request>.json``; then the hashes join ``OUT/erasure/list.txt``.
2. **Rewrite.** Each file holding a match is rewritten to a temporary file and renamed, then
   marked done (``OUT/work/erase/<request>/<step>``): for a kept shard its token ``.bin`` and
   ``.idx`` first (document k still row k), then the Parquet, then the tokenize marker;
   mixture shards, ``documents.parquet`` (source rows renumbered), the blend and manifest.
3. **Record.** ``work/erase/erased.json``, ``tokens/tokens.json``, ``stats.json``,
   ``manifest.json``, the card (re-rendered if curate wrote it), then a line in
   ``OUT/erasure/log.jsonl``; the plan is removed last.

A crash leaves every file in its old or its new version; running ``curate erase`` again (the
same command, or none: any interrupted plan is completed first) finishes the job with the
same bytes as an uninterrupted erasure.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate.engine.run_identity import RunIdentity
from curate.engine.unit import done_marker
from curate.erasure import mixture, state
from curate.erasure.files import rewrite_parquet, rewrite_token_data, rewrite_token_index
from curate.erasure.state import EraseError
from curate.io.atomic import remove_stale_temps, write_bytes, write_json
from curate.io.indexed import bin_path, idx_path, read_index
from curate.recipe import OutputConfig
from curate.stages.compliance.erasure import STAGE_NAME as LIST_STAGE
from curate.stages.compliance.erasure import Hashes, load_list, save_list
from curate.stages.tokenize_pass import (
    SUMMARY_FILE,
    TOKENS_DIR,
    file_state,
    shard_marker,
    token_languages,
    token_prefix,
    token_summary,
)
from curate.stats import RunStats

KILL_AFTER_STEPS = "CURATE_TEST_KILL_AFTER_STEPS"  # tests: SIGKILL after this many steps
LEDGER_DETAIL = "detail"
TOKENIZE = "tokenize"
README = "README.md"
WORK_ID_COLUMNS = ("id", "kept_id")  # columns of work files that name documents


@dataclass(frozen=True)
class Request:
    hashes: Hashes
    reason: str
    received: str
    mixtures: tuple[str, ...] = ()

    @property
    def identity(self) -> str:
        canonical = json.dumps(
            {
                "entries": self.hashes.entries(),
                "reason": self.reason,
                "mixtures": list(self.mixtures),
            },
            sort_keys=True,
        )
        return hashlib.sha256(canonical.encode()).hexdigest()[:24]


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Outcome:
    request: str
    documents: int
    files: dict[str, int] = field(default_factory=dict)
    resumed: bool = False


def erase(out: Path, request: Request | None, echo: Callable[[str], None]) -> list[Outcome]:
    """Complete interrupted erasures of ``out``, then carry out ``request`` (if any)."""
    _check_output(out)
    outcomes = []
    for plan_file in state.pending_plans(out):
        plan = json.loads(plan_file.read_text())
        echo(f"completing the interrupted erasure {plan['request']}")
        outcomes.append(_Apply(out, plan, echo).run(resumed=True))
    if request is None:
        return outcomes
    if _logged(out, request.identity):
        echo(f"request {request.identity} was carried out already; nothing to do")
        return outcomes
    plan = _plan(out, request, echo)
    write_json(state.work_dir(out) / f"{request.identity}.json", plan)
    outcomes.append(_Apply(out, plan, echo).run(resumed=False))
    return outcomes


def _check_output(out: Path) -> None:
    for name in ("stats.json", "manifest.json"):
        if not (out / name).is_file():
            raise EraseError(f"{out / name} not found: erase works on the output of a finished run")
    run_file = out / "work" / "run.json"
    if run_file.is_file():
        units = RunIdentity.from_dict(json.loads(run_file.read_text())).units
        left = [u.name for u in units if not done_marker(out, u).is_file()]
        if left:
            raise EraseError(
                f"{out}: the run is not finished ({len(left)} input(s) left, e.g. {left[0]}); "
                "finish it with `curate run` before erasing"
            )


def parse_received(value: str | None) -> str:
    """When the request came in, as UTC ISO 8601 (now when not given)."""
    if value is None:
        return now_iso()
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise EraseError(f"--received {value!r}: not an ISO 8601 date or time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _logged(out: Path, request: str) -> bool:
    path = state.log_path(out)
    if not path.is_file():
        return False
    return any(json.loads(line)["request"] == request for line in path.read_text().splitlines())


def output_config(out: Path) -> OutputConfig:
    manifest = json.loads((out / "manifest.json").read_text())
    return OutputConfig.model_validate(manifest.get("recipe", {}).get("output", {}))


# --- 1. plan ---------------------------------------------------------------------------------


def _plan(out: Path, request: Request, echo: Callable[[str], None]) -> dict[str, Any]:
    hashes = request.hashes
    shards, kept_ids = _plan_shards(out, hashes)
    files: list[dict[str, Any]] = []
    dropped_ids: list[pa.Array] = []  # dedup's work files name dropped duplicates too
    for path in sorted((out / "rejected").glob("*/*.parquet")):
        files += _plan_rows(out, path, hashes, kept_ids, dropped_ids)
    for path in sorted((out / "dropped").glob("*.parquet")):
        files += _plan_rows(out, path, hashes, kept_ids, dropped_ids, LEDGER_DETAIL)
    erased_ids = pc.unique(_concat([kept_ids, *dropped_ids]))
    for path in sorted((out / "work").glob("**/*.parquet")):  # e.g. dedup's document tables
        for column in WORK_ID_COLUMNS:
            files += _plan_blanks(out, path, column, erased_ids)
    mixtures = [mixture.plan(Path(m), out, shards) for m in request.mixtures]
    languages: dict[str, dict[str, int]] = {}
    for shard in shards:
        entry = languages.setdefault(shard["language"], {"docs": 0, "bytes": 0, "tokens": 0})
        for key in entry:
            entry[key] += shard[key]
    documents = sum(len(s["drop"]) for s in shards)
    echo(
        f"request {request.identity}: {documents} kept documents in {len(shards)} shard(s), "
        f"{sum(len(f['drop']) for f in files)} rows in {len(files)} other file(s)"
    )
    return {
        "request": request.identity,
        "received": request.received,
        "reason": request.reason,
        "requested": {kind: sorted(hashes.kind(kind)) for kind in ("url", "domain", "id")},
        "shards": shards,
        "files": files,
        "mixtures": mixtures,
        "languages": dict(sorted(languages.items())),
    }


def _plan_shards(out: Path, hashes: Hashes) -> tuple[list[dict[str, Any]], pa.Array]:
    """Kept shards holding a match; and the ids of every matched document (kept or not)."""
    shards = []
    ids: list[pa.Array] = []
    for path in sorted((out / "data").glob("*/*.parquet")):
        parquet = pq.ParquetFile(path)
        table = parquet.read(columns=["url", "id"] if hashes.id else ["url"])
        rows = np.flatnonzero(hashes.matches(table))
        if len(rows) == 0:
            continue
        ids.append(parquet.read(columns=["id"]).column("id").take(rows).combine_chunks())
        text = parquet.read(columns=["text"]).column("text").take(rows)
        prefix = token_prefix(out, path)
        tokens = 0
        if idx_path(prefix).is_file():
            tokens = int(read_index(prefix)[1][rows].sum(dtype=np.int64))
        shards.append(
            {
                "path": path.relative_to(out).as_posix(),
                "language": path.parent.name,
                "rows_before": parquet.metadata.num_rows,
                "drop": rows.tolist(),
                "docs": len(rows),
                "bytes": int(pc.sum(pc.binary_length(text)).as_py() or 0),
                "tokens": tokens,
                "token_prefix": (
                    prefix.relative_to(out).as_posix() if idx_path(prefix).is_file() else None
                ),
                "carried": _carried_stats(out, path)
                if len(rows) == parquet.metadata.num_rows
                else None,
            }
        )
    return shards, _concat(ids)


def _carried_stats(out: Path, shard: Path) -> dict[str, Any] | None:
    """The tokenize pass's stats of a shard about to be emptied (and deleted)."""
    marker = shard_marker(out, shard)
    if not marker.is_file():
        return None
    stats = json.loads(marker.read_text())["stats"]
    return {k: v for k, v in stats.items() if k != "seconds"}


def _concat(arrays: list[pa.Array]) -> pa.Array:
    return pa.concat_arrays(arrays) if arrays else pa.array([], pa.string())


def _plan_rows(
    out: Path,
    path: Path,
    hashes: Hashes,
    kept_ids: pa.Array,
    dropped_ids: list[pa.Array],
    detail: str | None = None,
) -> list[dict[str, Any]]:
    """Rows of a rejected file or ledger naming a match (their ids go to ``dropped_ids``);
    ledger details naming an erased kept document."""
    parquet = pq.ParquetFile(path)
    names = parquet.schema_arrow.names
    columns = [c for c in ("url", "id") if c in names]
    table = parquet.read(columns=columns + ([detail] if detail in names else []))
    drop = np.flatnonzero(hashes.matches(table))
    if len(drop) and "id" in names:
        dropped_ids.append(table.column("id").take(drop).combine_chunks().cast(pa.string()))
    blank: list[int] = []
    if detail in names:
        named = pc.fill_null(pc.is_in(table.column(detail), value_set=kept_ids), False)
        named = named.to_numpy(zero_copy_only=False)
        named[drop] = False
        blank = np.flatnonzero(named).tolist()
    if len(drop) == 0 and not blank:
        return []
    return [_file_entry(out, path, parquet, drop.tolist(), detail if blank else None, blank)]


def _plan_blanks(out: Path, path: Path, column: str, erased_ids: pa.Array) -> list[dict[str, Any]]:
    """Work files (the dedup pass's) keep document ids: those of erased documents are blanked."""
    parquet = pq.ParquetFile(path)
    if column not in parquet.schema_arrow.names or len(erased_ids) == 0:
        return []
    values = parquet.read(columns=[column]).column(column).cast(pa.string())
    blank = np.flatnonzero(
        pc.fill_null(pc.is_in(values, value_set=erased_ids), False).to_numpy(zero_copy_only=False)
    )
    if len(blank) == 0:
        return []
    return [_file_entry(out, path, parquet, [], column, blank.tolist())]


def _file_entry(
    out: Path,
    path: Path,
    parquet: pq.ParquetFile,
    drop: list[int],
    null_column: str | None,
    null_rows: list[int],
) -> dict[str, Any]:
    return {
        "path": path.relative_to(out).as_posix(),
        "rows_before": parquet.metadata.num_rows,
        "drop": drop,
        "null_column": null_column,
        "null_rows": null_rows,
    }


# --- 2. rewrite, 3. record -------------------------------------------------------------------


def _remove_if_empty(directory: Path) -> None:
    if directory.is_dir() and not any(directory.iterdir()):
        directory.rmdir()


class _Apply:
    """Carries out a plan step by step; each step is marked done once its file is in place."""

    def __init__(self, out: Path, plan: dict[str, Any], echo: Callable[[str], None]) -> None:
        self.out, self.plan, self.echo = out, plan, echo
        self.markers = state.work_dir(out) / plan["request"]
        self.output = output_config(out)
        self.steps_done = 0
        budget = os.environ.get(KILL_AFTER_STEPS)
        self.kill_after = int(budget) if budget else None

    def run(self, resumed: bool) -> Outcome:
        remove_stale_temps(self.out)
        for mix in self.plan["mixtures"]:
            remove_stale_temps(Path(mix["dir"]))
        self._step("list", self._add_to_list)
        for n, shard in enumerate(self.plan["shards"]):
            self._shard(n, shard)
        for n, entry in enumerate(self.plan["files"]):
            self._step(f"file-{n}", lambda e=entry: self._rewrite_file(e))
        for n, mix in enumerate(self.plan["mixtures"]):
            mixture.apply(
                mix, self.plan["request"], lambda name, f, n=n: self._step(f"mix-{n}-{name}", f)
            )
        self._step("accounting", self._account)
        self._step("tokens", self._tokens_summary)
        self._step("stats", self._stats)
        self._step("manifest", self._manifest)
        self._step("card", self._card)
        self._step("log", self._log)
        state.work_dir(self.out).joinpath(f"{self.plan['request']}.json").unlink()
        shutil.rmtree(self.markers, ignore_errors=True)
        return self._outcome(resumed)

    def _step(self, name: str, action: Callable[[], object]) -> None:
        marker = self.markers / name
        if marker.exists():
            return
        action()
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()  # empty: it exists or not; the file it marks was committed already
        self.steps_done += 1
        if self.kill_after is not None and self.steps_done >= self.kill_after:
            os.kill(os.getpid(), signal.SIGKILL)

    def _add_to_list(self) -> None:
        path = state.list_path(self.out)
        hashes = load_list(path) if path.is_file() else Hashes()
        for kind, values in self.plan["requested"].items():
            hashes.kind(kind).update(values)
        save_list(path, hashes)

    def _shard(self, n: int, shard: dict[str, Any]) -> None:
        rows, drop = shard["rows_before"], shard["drop"]
        if len(drop) == rows:
            self._step(f"shard-{n}-delete", lambda: self._delete_shard(shard))
            self._step(f"shard-{n}-dedup", lambda: self._dedup_marker(shard["path"]))
            return
        if shard["token_prefix"] is not None:
            prefix = self.out / shard["token_prefix"]
            self._step(f"shard-{n}-bin", lambda: rewrite_token_data(prefix, rows, drop))
            self._step(f"shard-{n}-idx", lambda: rewrite_token_index(prefix, rows, drop))
        path = self.out / shard["path"]
        self._step(f"shard-{n}-parquet", lambda: rewrite_parquet(path, rows, drop, self.output))
        if shard["token_prefix"] is not None:
            self._step(f"shard-{n}-marker", lambda: self._tokenize_marker(path))
        self._step(f"shard-{n}-dedup", lambda: self._dedup_marker(shard["path"]))

    def _delete_shard(self, shard: dict[str, Any]) -> None:
        """A shard left empty goes, with its token files and marker (the Parquet last: a
        later tokenize pass removes token files whose shard is gone anyway)."""
        path = self.out / shard["path"]
        if shard["token_prefix"] is not None:
            prefix = self.out / shard["token_prefix"]
            for done in (bin_path(prefix), idx_path(prefix), shard_marker(self.out, path)):
                done.unlink(missing_ok=True)
                _remove_if_empty(done.parent)
        path.unlink(missing_ok=True)
        _remove_if_empty(path.parent)

    def _dedup_marker(self, relative: str) -> None:
        """The dedup pass's marker of this shard records its file state (None once deleted):
        it describes the erased shard, so a re-run does not take it for an unrewritten one."""
        path = self.out / relative
        state = file_state(path) if path.exists() else None
        for marker in sorted((self.out / "work" / "dedup" / "rewritten").glob("*.json")):
            result = json.loads(marker.read_text())
            if result.get("shard") == relative and "state" in result:
                write_json(marker, {**result, "state": state})

    def _tokenize_marker(self, shard: Path) -> None:
        """The tokenize pass's marker describes the rewritten shard, so a re-run keeps it."""
        marker = shard_marker(self.out, shard)
        if not marker.is_file():
            return
        result = json.loads(marker.read_text())
        _, lengths, _ = read_index(token_prefix(self.out, shard))
        result["documents"] = len(lengths)
        result["tokens"] = int(lengths.sum(dtype=np.int64))
        result["parquet"] = file_state(shard)
        write_json(marker, result)

    def _rewrite_file(self, entry: dict[str, Any]) -> None:
        rewrite_parquet(
            self.out / entry["path"],
            entry["rows_before"],
            entry["drop"],
            self.output,
            entry["null_column"],
            entry["null_rows"],
        )

    def _account(self) -> None:
        carried = [s["carried"] for s in self.plan["shards"] if s["carried"]]
        state.record_request(self.out, self.plan["request"], self.plan["languages"], carried)

    def _tokens_summary(self) -> None:
        summary_file = self.out / TOKENS_DIR / SUMMARY_FILE
        if not summary_file.is_file():
            return
        summary = json.loads(summary_file.read_text())
        summary["languages"] = token_languages(self._token_markers())
        write_json(summary_file, summary)

    def _token_markers(self) -> dict[Path, dict[str, Any]]:
        shards = sorted((self.out / "data").glob("*/*.parquet"))
        return {s: json.loads(shard_marker(self.out, s).read_text()) for s in shards}

    def _stats(self) -> None:
        path = self.out / "stats.json"
        summary = json.loads(path.read_text())
        stats = state.stats_from_summary(summary, LIST_STAGE)
        tokens_file = self.out / TOKENS_DIR / SUMMARY_FILE
        if TOKENIZE in stats.summaries and tokens_file.is_file():
            # as a re-run counts it: from the markers of the shards there now
            stats.stages[TOKENIZE] = {}
            stats.counters.pop(TOKENIZE, None)
            for result in self._token_markers().values():
                stats.merge(RunStats.from_dict(result["stats"]))
            tokens = json.loads(tokens_file.read_text())
            stats.summaries[TOKENIZE] = token_summary(tokens, tokens["languages"])
        state.account(self.out, stats)
        write_json(path, stats.to_dict(), sort_keys=False)

    def _manifest(self) -> None:
        path = self.out / "manifest.json"
        manifest = json.loads(path.read_text())
        lists = manifest.get("recipe", {}).get("erasure_list")
        lists = [lists] if isinstance(lists, str) else list(lists or [])
        manifest["erasure"] = state.manifest_entry(self.out, lists)
        write_json(path, manifest)

    def _card(self) -> None:
        if not (self.out / README).is_file():
            return
        from curate.erasure.card import rerender_card  # matplotlib: only when there is a card

        for line in rerender_card(self.out):
            self.echo(line)

    def _log(self) -> None:
        if _logged(self.out, self.plan["request"]):
            return
        path = state.log_path(self.out)
        old = path.read_bytes() if path.is_file() else b""
        line = json.dumps(self._log_entry(), sort_keys=True, ensure_ascii=True) + "\n"
        write_bytes(path, old + line.encode())

    def _log_entry(self) -> dict[str, Any]:
        plan = self.plan
        removed = {s["path"]: len(s["drop"]) for s in plan["shards"]}
        for s in plan["shards"]:
            if s["token_prefix"]:
                removed[s["token_prefix"] + ".bin/.idx"] = len(s["drop"])
        removed.update({f["path"]: len(f["drop"]) for f in plan["files"] if f["drop"]})
        blanked = {f["path"]: len(f["null_rows"]) for f in plan["files"] if f["null_rows"]}
        return {
            "request": plan["request"],
            "received": plan["received"],
            "reason": plan["reason"],
            "requested_sha256": plan["requested"],
            "documents_erased": sum(len(s["drop"]) for s in plan["shards"]),
            "documents_per_language": {k: v["docs"] for k, v in plan["languages"].items()},
            "rows_removed": removed,
            "values_blanked": blanked,
            "mixtures": [mixture.log_entry(m) for m in plan["mixtures"]],
        }

    def _outcome(self, resumed: bool) -> Outcome:
        entry = self._log_entry()
        return Outcome(
            self.plan["request"], entry["documents_erased"], entry["rows_removed"], resumed
        )
