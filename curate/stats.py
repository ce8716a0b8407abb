"""Accounting: per stage and language, documents and bytes in, kept, and dropped by reason;
plus counters a stage keeps per language (``counters``: stage -> language -> name -> n)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from curate.schema import DROP_REASON, HTML

UNKNOWN_LANGUAGE = "und"


def _content_bytes(batch: pa.Table) -> pa.Array:
    """UTF-8 bytes of each document: its HTML while it has not been extracted, else its text."""
    column = "text"
    if HTML in batch.column_names and batch.column("text").null_count == batch.num_rows:
        column = HTML
    return pc.fill_null(pc.binary_length(batch.column(column)), 0)


def _outcomes(before: pa.Table, after: pa.Table) -> list[dict[str, Any]]:
    """Docs and bytes per (language, drop reason) for one stage applied to ``before``."""
    if after.num_rows == 0:
        return []
    table = pa.table(
        {
            "language": pc.fill_null(after.column("language"), UNKNOWN_LANGUAGE),
            "reason": after.column(DROP_REASON),
            "bytes_in": _content_bytes(before),
            "bytes_out": _content_bytes(after),
        }
    )
    grouped = table.group_by(["language", "reason"], use_threads=False).aggregate(
        [("bytes_in", "sum"), ("bytes_out", "sum"), ("bytes_in", "count")]
    )
    return grouped.to_pylist()


class RunStats:
    """Counters that merge associatively, so per-unit stats add up to the run's stats."""

    def __init__(self, stage_names: tuple[str, ...] = ()) -> None:
        self.stages: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        for name in stage_names:
            self.stages[name] = {}
        self.seconds: dict[str, float] = defaultdict(float)
        self.input_errors: dict[str, int] = defaultdict(int)
        self.summaries: dict[str, Any] = {}
        self.counters: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)

    def _entry(self, stage: str, language: str) -> dict[str, Any]:
        return self.stages[stage].setdefault(
            language,
            {"docs_in": 0, "docs_kept": 0, "bytes_in": 0, "bytes_kept": 0, "dropped": {}},
        )

    def record(self, stage: str, before: pa.Table, after: pa.Table, seconds: float) -> None:
        """Count one stage's outcome: ``after`` is ``before`` row for row, as the stage left it.

        Documents are counted under the language they have after the stage.
        """
        self.seconds[stage] += seconds
        for row in _outcomes(before, after):
            entry = self._entry(stage, row["language"])
            entry["docs_in"] += row["bytes_in_count"]
            entry["bytes_in"] += row["bytes_in_sum"]
            if row["reason"] is None:
                entry["docs_kept"] += row["bytes_in_count"]
                entry["bytes_kept"] += row["bytes_out_sum"]
            else:
                dropped = entry["dropped"]
                dropped[row["reason"]] = dropped.get(row["reason"], 0) + row["bytes_in_count"]

    def record_totals(
        self,
        stage: str,
        language: str,
        docs_in: int,
        bytes_in: int,
        docs_kept: int,
        bytes_kept: int,
        dropped: dict[str, int],
    ) -> None:
        """Count a stage's outcome from totals (a corpus pass that never holds whole batches)."""
        entry = self._entry(stage, language)
        entry["docs_in"] += docs_in
        entry["bytes_in"] += bytes_in
        entry["docs_kept"] += docs_kept
        entry["bytes_kept"] += bytes_kept
        for reason, n in dropped.items():
            entry["dropped"][reason] = entry["dropped"].get(reason, 0) + n

    def count(self, stage: str, counts: Mapping[str, Mapping[str, int]]) -> None:
        """Add a stage's own counters, given as ``{language: {name: n}}``."""
        for language, named in counts.items():
            entry = self.counters[stage].setdefault(language, {})
            for name, n in named.items():
                entry[name] = entry.get(name, 0) + n

    def record_input_error(self, reason: str) -> None:
        self.input_errors[reason] += 1

    def merge(self, other: RunStats) -> None:
        for stage, languages in other.stages.items():
            for language, src in languages.items():
                dst = self._entry(stage, language)
                for key in ("docs_in", "docs_kept", "bytes_in", "bytes_kept"):
                    dst[key] += src[key]
                for reason, n in src["dropped"].items():
                    dst["dropped"][reason] = dst["dropped"].get(reason, 0) + n
        for stage, s in other.seconds.items():
            self.seconds[stage] += s
        for reason, n in other.input_errors.items():
            self.input_errors[reason] += n
        for stage, counts in other.counters.items():
            self.count(stage, counts)

    def totals(self) -> dict[str, Any]:
        """Documents read, kept at the end, and dropped by reason over all stages."""
        stage_names = list(self.stages)
        if not stage_names:
            return {"docs_read": 0, "docs_kept": 0, "docs_dropped": 0, "dropped": {}}
        first, last = self.stages[stage_names[0]], self.stages[stage_names[-1]]
        dropped: dict[str, int] = defaultdict(int)
        for languages in self.stages.values():
            for entry in languages.values():
                for reason, n in entry["dropped"].items():
                    dropped[reason] += n
        return {
            "docs_read": sum(e["docs_in"] for e in first.values()),
            "docs_kept": sum(e["docs_kept"] for e in last.values()),
            "docs_dropped": sum(dropped.values()),
            "dropped": dict(sorted(dropped.items())),
        }

    def to_dict(self, include_timing: bool = False) -> dict[str, Any]:
        result: dict[str, Any] = {
            "totals": self.totals(),
            "stages": {
                stage: {lang: _sorted_entry(e) for lang, e in sorted(langs.items())}
                for stage, langs in self.stages.items()
            },
            "input_errors": dict(sorted(self.input_errors.items())),
            "counters": {
                stage: {lang: dict(sorted(c.items())) for lang, c in sorted(langs.items())}
                for stage, langs in sorted(self.counters.items())
            },
        }
        result.update(sorted(self.summaries.items()))
        if include_timing:
            result["seconds"] = {k: round(v, 3) for k, v in self.seconds.items()}
        return result

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunStats:
        stats = cls()
        for stage, languages in data.get("stages", {}).items():
            for language, entry in languages.items():
                stats.stages[stage][language] = {**entry, "dropped": dict(entry["dropped"])}
        stats.seconds.update(data.get("seconds", {}))
        stats.input_errors.update(data.get("input_errors", {}))
        for stage, counts in data.get("counters", {}).items():
            stats.count(stage, counts)
        return stats


def _sorted_entry(entry: dict[str, Any]) -> dict[str, Any]:
    return {**entry, "dropped": dict(sorted(entry["dropped"].items()))}
