"""``curate calibrate``: filter statistics of a reference sample, and thresholds from them."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from rich.table import Table

from curate.io.atomic import write_bytes
from curate.io.readers import read_batches
from curate.recipe import ExtractConfig, ReadConfig, Recipe
from curate.schema import HTML, split_kept
from curate.stages.extract import Extract
from curate.stages.quality.calibrate import (
    DISTRIBUTION_QUANTILES,
    Calibration,
    calibrate,
    calibrate_distributions,
    fineweb2_values,
    reference_value,
)
from curate.stages.quality.config import FiltersConfig
from curate.stages.quality.text_filters import document_context
from curate.stats import RunStats
from curate.strict_yaml import load_yaml
from curate.tools.near_threshold import read_signals, signal_distributions


def parse_quantiles(spec: str) -> tuple[float, float]:
    """``"0.05,0.95"`` -> (0.05, 0.95); one value q means (q, 1 - q) in either order."""
    try:
        values = [float(v) for v in spec.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"--quantiles must be numbers like 0.05,0.95, not {spec!r}") from None
    if len(values) == 1:
        values = sorted([values[0], 1 - values[0]])
    if len(values) != 2 or not 0 <= values[0] <= values[1] <= 1:
        raise ValueError(f"--quantiles must be LOW,HIGH with 0 <= LOW <= HIGH <= 1, got {spec!r}")
    return values[0], values[1]


def sample_texts(paths: list[Path], read: ReadConfig, extract: ExtractConfig, limit: int) -> list:
    """Texts of the sample's documents (HTML extracted as a run would), at most ``limit``."""
    texts: list[str] = []
    for path in paths:
        for batch in read_batches(path, read, 500, RunStats()):
            kept, _ = split_kept(batch)
            if HTML in kept.column_names:
                kept, _ = split_kept(Extract(extract)(kept))
            texts += [t for t in kept.column("text").to_pylist() if t]
            if len(texts) >= limit:
                return texts[:limit]
    return texts


def calibrate_from_signals(
    out: Path, language: str, recipe: Recipe | None, low: float, high: float
) -> Calibration:
    """Calibrate on a run's signals table (``output.signals``) instead of raw text.

    Every document of ``language`` that reached the filters counts, kept or dropped; FineWeb's
    statistics are those of the text after C4's line removal, as the run measured them.
    """
    table = read_signals(out, language)
    if table is None:
        raise FileNotFoundError(f"{out}: no signals for {language} (signals/{language}/*.parquet)")
    filters = recipe.filters if recipe else FiltersConfig()
    ctx = document_context(filters, language)
    return calibrate_distributions(signal_distributions(table), table.num_rows, ctx, low, high)


def run_calibration(
    paths: list[Path], language: str, recipe: Recipe | None, low: float, high: float, limit: int
) -> Calibration:
    filters = recipe.filters if recipe else FiltersConfig()
    read, extract = (recipe.read, recipe.extract) if recipe else (ReadConfig(), ExtractConfig())
    texts = sample_texts(paths, read, extract, limit)
    return calibrate(texts, document_context(filters, language), low, high)


def _number(value: Any) -> str:
    if value is None:
        return "off"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.3f}".rstrip("0").rstrip(".")
    return str(value)


def distribution_table(result: Calibration) -> Table:
    table = Table(title=f"Statistics of {result.documents} {result.language} documents")
    table.add_column("statistic")
    for q in DISTRIBUTION_QUANTILES:
        table.add_column(f"q{q:g}", justify="right")
    for name, values in result.distributions.items():
        finite = values[~np.isnan(values)]
        cells = [
            _number(float(np.quantile(finite, q))) if finite.size else "-"
            for q in DISTRIBUTION_QUANTILES
        ]
        table.add_row(name, *cells)
    return table


def threshold_table(result: Calibration, reference: dict | None) -> Table:
    title = f"Thresholds at quantiles {result.low:g} (min rules) / {result.high:g} (max rules)"
    table = Table(title=title)
    for column in ("threshold", "side", "recipe", "calibrated", "FineWeb-2"):
        table.add_column(column, justify="left" if column in ("threshold", "side") else "right")
    for threshold, current, value in result.thresholds:
        published = reference_value(reference, threshold) if reference else None
        table.add_row(
            threshold.label,
            threshold.side,
            _number(current),
            _number(value),
            "" if reference is None else _number(published),
        )
    return table


def load_reference(path: Path) -> dict[str, dict[str, Any]]:
    try:
        return fineweb2_values(load_yaml(path.read_text(encoding="utf-8")))
    except (yaml.YAMLError, ValueError, KeyError, TypeError) as error:
        reason = " ".join(str(error).split())  # one line: YAML errors span several
        message = f"{path}: not a FineWeb-2 config ({type(error).__name__}: {reason})"
        raise ValueError(message) from None


def overrides_yaml(
    result: Calibration, inputs: list[str], recipe_path: Path | None, out: Path
) -> str:
    header = (
        f"# curate calibrate: {result.documents} documents of {', '.join(inputs)} taken as "
        f"{result.language};\n# min rules at quantile {result.low:g}, max rules at "
        f"{result.high:g}. Rules the recipe disables stay disabled.\n"
    )
    document: dict[str, Any] = {}
    if recipe_path is not None:
        document["extends"] = os.path.relpath(recipe_path.resolve(), out.resolve().parent)
    document["filters"] = {"per_language": {result.language: result.overrides()}}
    return header + dump_recipe_yaml(document)


class _RecipeDumper(yaml.SafeDumper):
    """Mappings in block style, lists (stop words, n-gram pairs) in flow style."""


_RecipeDumper.add_representer(
    dict, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v, flow_style=False)
)
_RecipeDumper.add_representer(
    list, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True)
)


def dump_recipe_yaml(document: dict[str, Any]) -> str:
    return yaml.dump(document, Dumper=_RecipeDumper, allow_unicode=True, sort_keys=False, width=96)


def write_overrides(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))
