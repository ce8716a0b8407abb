"""``curate inspect``: tables from a run's stats.json and timing.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.table import Table

from curate.tools.near_threshold import NEAR, NearRow, near_threshold


def _language_table(summary: dict[str, Any]) -> Table:
    stages = summary["stages"]
    last = stages[list(stages)[-1]] if stages else {}
    table = Table(title="Kept documents per language")
    for column in ("language", "docs", "bytes"):
        table.add_column(column, justify="left" if column == "language" else "right")
    for language, entry in sorted(last.items(), key=lambda kv: -kv[1]["docs_kept"]):
        if entry["docs_kept"]:
            table.add_row(language, f"{entry['docs_kept']:,}", f"{entry['bytes_kept']:,}")
    return table


def _drop_table(summary: dict[str, Any], timing: dict[str, float]) -> Table:
    table = Table(title="Documents per stage")
    for column in ("stage", "in", "kept", "dropped by reason", "seconds"):
        table.add_column(
            column, justify="left" if column in ("stage", "dropped by reason") else "right"
        )
    for stage, languages in summary["stages"].items():
        reasons: dict[str, int] = {}
        for entry in languages.values():
            for reason, n in entry["dropped"].items():
                reasons[reason] = reasons.get(reason, 0) + n
        table.add_row(
            stage,
            f"{sum(e['docs_in'] for e in languages.values()):,}",
            f"{sum(e['docs_kept'] for e in languages.values()):,}",
            ", ".join(f"{r}: {n:,}" for r, n in sorted(reasons.items(), key=lambda kv: -kv[1])),
            f"{timing[stage]:.2f}" if stage in timing else "",
        )
    return table


def _counter_table(counters: dict[str, Any]) -> Table:
    table = Table(title="Stage counters per language")
    for column in ("stage", "language", "counts"):
        table.add_column(column)
    for stage, languages in counters.items():
        for language, named in languages.items():
            table.add_row(stage, language, ", ".join(f"{k}: {v:,}" for k, v in named.items()))
    return table


def render_summary(summary: dict[str, Any], timing: dict[str, float] | None = None) -> Group:
    totals = summary["totals"]
    headline = (
        f"read {totals['docs_read']:,} documents: kept {totals['docs_kept']:,}, "
        f"dropped {totals['docs_dropped']:,}"
    )
    parts: list[Any] = [headline, _drop_table(summary, timing or {}), _language_table(summary)]
    if summary.get("counters"):
        parts.append(_counter_table(summary["counters"]))
    if summary.get("input_errors"):
        errors = ", ".join(f"{k}: {v}" for k, v in summary["input_errors"].items())
        parts.append(f"input errors (files or records skipped): {errors}")
    return Group(*parts)


class IncompleteRun(Exception):
    """The output of a run that has not finished: the message says how far it got."""


def _progress_of(out: Path) -> str | None:
    """ "N of M inputs done" for a run that started on ``out``, else None."""
    run_file = out / "work" / "run.json"
    try:
        inputs = json.loads(run_file.read_text())["inputs"]
        units = [entry["unit"] for entry in inputs]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    done = sum((out / "work" / "done" / f"{unit}.json").is_file() for unit in units)
    return f"{done} of {len(units)} inputs done"


def inspect_output(out: Path, console: Console) -> None:
    stats_file = out / "stats.json"
    if not stats_file.is_file() and (progress := _progress_of(out)):
        raise IncompleteRun(
            f"{out}: incomplete run: {progress}; run the same `curate run` command to finish it"
        )
    if not stats_file.is_file():
        raise FileNotFoundError(f"{stats_file} not found: is {out} the output of `curate run`?")
    summary = json.loads(stats_file.read_text())
    timing_file = out / "timing.json"
    timing = json.loads(timing_file.read_text()) if timing_file.is_file() else {}
    console.print(render_summary(summary, timing))
    console.print(drop_rate_table(summary))
    near = near_threshold(out)
    if near:
        console.print(near_threshold_table(near))


def near_threshold_table(rows: list[NearRow]) -> Table:
    """Per language and rule: documents measured within 5% of the threshold (borderline)."""
    table = Table(title=f"Documents within {NEAR:.0%} of a threshold (from the signals table)")
    for column in ("language", "rule", "threshold", "near", "of measured"):
        table.add_column(column, justify="left" if column in ("language", "rule") else "right")
    for row in rows:
        if row.near:
            table.add_row(
                row.language,
                row.rule,
                f"{row.threshold:g}",
                f"{row.near:,}",
                f"{row.near / max(row.measured, 1):.1%}",
            )
    return table


def drop_rate_table(summary: dict[str, Any]) -> Table:
    """Per stage that dropped anything, and per language: share of its input dropped, by rule."""
    table = Table(title="Drop rates per stage and language")
    for column in ("stage", "language", "in", "dropped", "by reason"):
        table.add_column(column, justify="right" if column in ("in", "dropped") else "left")
    for stage, languages in summary["stages"].items():
        if not any(entry["dropped"] for entry in languages.values()):
            continue
        for language, entry in sorted(languages.items()):
            docs_in = entry["docs_in"]
            if not docs_in:
                continue
            dropped = sum(entry["dropped"].values())
            reasons = sorted(entry["dropped"].items(), key=lambda kv: -kv[1])
            table.add_row(
                stage,
                language,
                f"{docs_in:,}",
                f"{dropped / docs_in:.1%}",
                ", ".join(f"{reason} {n / docs_in:.1%}" for reason, n in reasons),
            )
    return table
