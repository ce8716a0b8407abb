"""Where an output keeps its erasures, and how they enter ``stats.json`` and ``manifest.json``.

``OUT/erasure/list.txt``
    The hashes of everything ever erased from OUT (:mod:`curate.stages.compliance.erasure`);
    every later run on OUT drops matching documents before extraction.
``OUT/erasure/log.jsonl``
    One line per request: when it was received, the reason, the hashes requested, the
    documents removed per file. No URL, id or text.
``OUT/work/erase/erased.json``
    Per request and language, the documents, bytes and tokens taken out of the kept shards:
    what a re-run adds to ``stats.json`` after the corpus passes, so that it still adds up.
``OUT/work/erase/<request>.json``
    The plan of an erasure under way (removed when it is complete).

In ``stats.json`` an erasure is a last stage, ``erase``, per language: ``docs_in`` is what was
kept before, ``docs_kept = docs_in - erased`` and ``dropped: {erased: n}``, so ``docs_read =
docs_kept + docs_dropped`` still holds; ``counters.erase`` has the documents and tokens taken
out (``counters.tokenize.tokens - counters.erase.tokens`` = the tokens in the token shards).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from curate.core.hashing import sha256_of
from curate.io.atomic import write_json
from curate.recipe import Recipe
from curate.stages.compliance.erasure import load_list, load_lists
from curate.stats import RunStats

ERASURE_DIR = "erasure"
LIST_FILE = "list.txt"
LOG_FILE = "log.jsonl"
ERASE_STAGE = "erase"
ERASED = "erased"
STATS_KEYS = ("totals", "stages", "input_errors", "counters", "seconds")


def list_path(out: Path) -> Path:
    return out / ERASURE_DIR / LIST_FILE


def log_path(out: Path) -> Path:
    return out / ERASURE_DIR / LOG_FILE


def work_dir(out: Path) -> Path:
    return out / "work" / "erase"


def accounting_path(out: Path) -> Path:
    return work_dir(out) / "erased.json"


def pending_plans(out: Path) -> list[Path]:
    """Plans of erasures that were interrupted (complete ones are removed)."""
    return sorted(p for p in work_dir(out).glob("*.json") if p.name != "erased.json")


def refuse_pending(out: Path, action: str) -> None:
    """A one-line error when an erasure of ``out`` is half done."""
    if pending_plans(out):
        raise ErasurePending(
            f"{out}: an erasure was interrupted; complete it with `curate erase {out}` "
            f"before {action}"
        )


class EraseError(ValueError):
    """An erasure that cannot go ahead; the message says why."""


class ErasurePending(RuntimeError):
    """An output with an interrupted erasure; the message says how to complete it."""


def with_output_list(recipe: Recipe, out: Path) -> Recipe:
    """``recipe`` with the output's own erasure list added to its ``erasure_list``."""
    own = list_path(out)
    if not own.is_file():
        return recipe
    lists = [*recipe.erasure_lists(), str(own.resolve())]
    return recipe.model_copy(update={"erasure_list": list(dict.fromkeys(lists))})


def read_accounting(out: Path) -> dict[str, Any]:
    path = accounting_path(out)
    return json.loads(path.read_text()) if path.is_file() else {"requests": {}}


def record_request(
    out: Path, request: str, languages: dict[str, dict[str, int]], carried: list[dict[str, Any]]
) -> None:
    """Enter one request's per-language counts (idempotent: keyed by the request).

    ``carried``: the tokenize pass's stats of shards the erasure emptied and deleted, whose
    markers went with them: the pass's history keeps counting them.
    """
    accounting = read_accounting(out)
    accounting["requests"][request] = {"languages": languages, "carried": carried}
    write_json(accounting_path(out), accounting)


def erased_per_language(out: Path) -> dict[str, dict[str, int]]:
    totals: dict[str, dict[str, int]] = defaultdict(lambda: {"docs": 0, "bytes": 0, "tokens": 0})
    for request in read_accounting(out)["requests"].values():
        for language, counts in request["languages"].items():
            for key, n in counts.items():
                totals[language][key] += n
    return dict(sorted(totals.items()))


def account(out: Path, stats: RunStats) -> None:
    """Add the ``erase`` stage, counters and summary for every erasure recorded in ``out``."""
    erased = erased_per_language(out)
    requests = read_accounting(out)["requests"]
    if not requests:
        return
    for request in requests.values():
        for carried in request["carried"]:
            stats.merge(RunStats.from_dict(carried))
    reached = [name for name, entries in stats.stages.items() if entries and name != ERASE_STAGE]
    before = stats.stages[reached[-1]] if reached else {}
    for language in sorted(set(before) | set(erased)):
        kept = before.get(language, {"docs_kept": 0, "bytes_kept": 0})
        counts = erased.get(language, {"docs": 0, "bytes": 0, "tokens": 0})
        stats.record_totals(
            ERASE_STAGE,
            language,
            docs_in=kept["docs_kept"],
            bytes_in=kept["bytes_kept"],
            docs_kept=kept["docs_kept"] - counts["docs"],
            bytes_kept=kept["bytes_kept"] - counts["bytes"],
            dropped={ERASED: counts["docs"]} if counts["docs"] else {},
        )
    stats.count(
        ERASE_STAGE,
        {k: {"documents": v["docs"], "tokens": v["tokens"]} for k, v in erased.items()},
    )
    stats.summaries[ERASE_STAGE] = {
        "requests": len(requests),
        "documents": sum(v["docs"] for v in erased.values()),
        "documents_per_language": {k: v["docs"] for k, v in erased.items()},
    }


def stats_from_summary(summary: dict[str, Any], list_stage: str) -> RunStats:
    """``stats.json`` back into counters, without the ``erase`` parts (added afresh).

    ``list_stage`` (the erasure-list stage) is placed after the first stage if missing: once
    an output has an erasure list, every later run of it lists that stage there.
    """
    stages = [name for name in summary["stages"] if name != ERASE_STAGE]
    if list_stage not in stages:
        stages.insert(1, list_stage)
    stats = RunStats(tuple(stages))
    kept = {**summary, "stages": {k: summary["stages"].get(k, {}) for k in stages}}
    kept["counters"] = {k: v for k, v in summary.get("counters", {}).items() if k != ERASE_STAGE}
    stats.merge(RunStats.from_dict(kept))
    stats.summaries.update(
        {k: v for k, v in summary.items() if k not in STATS_KEYS and k != ERASE_STAGE}
    )
    return stats


def manifest_entry(out: Path, recipe_lists: list[str]) -> dict[str, Any] | None:
    """The manifest's ``erasure`` record: lists in force (with sha256) and requests so far."""
    own = list_path(out)
    lists = [Path(p) for p in recipe_lists]
    if not own.is_file() and not lists:
        return None
    entry: dict[str, Any] = {
        "lists": [
            {"path": str(p), "sha256": sha256_of(p), "entries": len(load_list(p))} for p in lists
        ],
    }
    if own.is_file():
        erased = erased_per_language(out)
        entry.update(
            {
                "list": f"{ERASURE_DIR}/{LIST_FILE}",
                "list_sha256": sha256_of(own),
                "list_entries": len(load_list(own)),
                "log": f"{ERASURE_DIR}/{LOG_FILE}",
                "requests": len(read_accounting(out)["requests"]),
                "documents_erased": sum(v["docs"] for v in erased.values()),
            }
        )
    return entry


def lists_in_force(out: Path) -> list[Path]:
    """The erasure lists a run of ``out`` honours: the recipe's and the output's own."""
    manifest_file = out / "manifest.json"
    recipe = (
        json.loads(manifest_file.read_text()).get("recipe", {}) if manifest_file.is_file() else {}
    )
    named = recipe.get("erasure_list")
    paths = [Path(p) for p in ([named] if isinstance(named, str) else named or [])]
    return [p for p in [*paths, list_path(out)] if p.is_file()]


def listed_documents(out: Path) -> int:
    """Kept documents of ``out`` that its erasure lists name (0 once every erasure is done)."""
    hashes = load_lists(lists_in_force(out))
    if not hashes:
        return 0
    return sum(
        int(hashes.matches(pq.read_table(shard, columns=["url", "id"])).sum())
        for shard in sorted((out / "data").glob("*/*.parquet"))
    )
