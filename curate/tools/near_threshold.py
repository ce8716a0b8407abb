"""How many documents sit near each threshold, per language and rule, from a run's signals.

A rule whose threshold has many documents within a few percent of it is borderline: a small
change of the threshold moves many documents in or out. Read from the signals table a run
keeps with ``output.signals: true`` (every document that reached the filters, kept or not).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate.io.signals import SIGNALS_DIR
from curate.stages.quality.calibrate import current_value, thresholds_for
from curate.stages.quality.config import TEXT_FILTERS, FiltersConfig
from curate.stages.quality.text_filters import STRING_SIGNALS, document_context

NEAR = 0.05


@dataclass(frozen=True)
class NearRow:
    language: str
    rule: str
    threshold: float
    near: int
    measured: int


def read_signals(out: Path, language: str) -> pa.Table | None:
    paths = sorted((out / SIGNALS_DIR / language).glob("*.parquet"))
    return pa.concat_tables([pq.read_table(p) for p in paths]) if paths else None


def signal_distributions(table: pa.Table) -> dict[str, np.ndarray]:
    """Each text-filter signal as floats (NaN where missing), named without its family."""
    found = {}
    for name in table.column_names:
        family, _, statistic = name.partition(".")
        if family in TEXT_FILTERS and name not in STRING_SIGNALS:
            values = pc.fill_null(table.column(name).cast(pa.float64()), float("nan"))
            found[statistic] = values.to_numpy(zero_copy_only=False)
    return found


def signal_languages(out: Path) -> list[str]:
    root = out / SIGNALS_DIR
    return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def near_threshold(out: Path, within: float = NEAR) -> list[NearRow]:
    """Per language and rule: documents whose signal lies within ``within`` of the threshold."""
    manifest = out / "manifest.json"
    if not manifest.is_file():
        return []
    recipe = json.loads(manifest.read_text())["recipe"]
    filters = FiltersConfig.model_validate(recipe.get("filters", {}))
    rows = []
    for language in signal_languages(out):
        table = read_signals(out, language)
        if table is None:
            continue
        distributions = signal_distributions(table)
        ctx = document_context(filters, language)
        for threshold in thresholds_for(ctx):
            if not getattr(ctx.settings, threshold.family).enabled:
                continue
            limit = current_value(ctx, threshold)
            if limit is None or not limit:
                continue
            near = np.zeros(table.num_rows, bool)
            measured = np.zeros(table.num_rows, bool)
            for statistic in threshold.statistics:
                values = distributions.get(statistic)
                if values is None:
                    continue
                measured |= ~np.isnan(values)
                near |= np.abs(values - limit) <= within * abs(limit)
            rows.append(
                NearRow(
                    language, threshold.label, float(limit), int(near.sum()), int(measured.sum())
                )
            )
    return rows
