"""The card's figures as PNG files: deterministic bytes (Agg backend, no timestamp metadata)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from curate.card.facts import Facts
from curate.io.atomic import write_bytes

if TYPE_CHECKING:
    from matplotlib.figure import Figure

LANGUAGES_PNG = "assets/languages.png"
WATERFALL_PNG = "assets/drops_waterfall.png"
LENGTHS_PNG = "assets/document_lengths.png"
KEPT, DROPPED, TOTAL = "#3b7dd8", "#d9534f", "#4a4a4a"
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
LOG_SPAN = 30  # lengths spanning less than this ratio get a linear axis


def _short(value: float, _position: object = None) -> str:
    """Axis labels that stay narrow: 950, 12k, 3.4M, 1.2G."""
    for bound, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= bound:
            return f"{value / bound:.3g}{suffix}"
    return f"{value:.0f}"


SHORT = FuncFormatter(_short)


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _save(figure: Figure, path: Path) -> None:
    import io

    buffer = io.BytesIO()
    # No "Software" / date metadata, so the same facts give byte-identical PNG files.
    figure.savefig(buffer, format="png", metadata={"Software": None})
    write_bytes(path, buffer.getvalue())


def _row_height(n: int) -> float:
    return max(2.2, 0.9 + 0.32 * n)


def languages_plot(facts: Facts) -> Figure:
    """Documents and tokens per language (bytes of text when the run was not tokenized)."""
    codes = list(facts.languages)[::-1]
    figure = _figure(10, _row_height(len(codes)))
    docs_axis, size_axis = figure.subplots(1, 2, sharey=True)
    docs = [facts.languages[c].docs for c in codes]
    docs_axis.barh(codes, docs, color=KEPT)
    docs_axis.set_title("Documents")
    if facts.tokenized:
        sizes = [facts.languages[c].tokens or 0 for c in codes]
        size_axis.set_title("Tokens")
    else:
        sizes = [facts.languages[c].text_bytes for c in codes]
        size_axis.set_title("UTF-8 bytes of text (not tokenized)")
    size_axis.barh(codes, sizes, color="#5cb85c")
    for axis, values in ((docs_axis, docs), (size_axis, sizes)):
        axis.bar_label(axis.containers[0], labels=[f"{v:,}" for v in values], padding=3, fontsize=8)
        axis.margins(x=0.25)
        axis.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        axis.xaxis.set_major_formatter(SHORT)
        axis.grid(axis="x", alpha=0.3)
    return figure


def waterfall_plot(facts: Facts) -> Figure:
    """Documents read, then what each stage dropped, down to the documents kept."""
    rows = facts.stage_totals()
    labels = ["input"] + [r["stage"] for r in rows] + ["kept"]
    read = rows[0]["docs_in"]
    figure = _figure(max(6.0, 1.1 * len(labels)), 4.2)
    axis = figure.subplots()
    axis.bar(0, read, color=TOTAL)
    tops, texts = [read], [f"{read:,}"]
    level = read
    for n, row in enumerate(rows, start=1):
        dropped = row["docs_in"] - row["docs_kept"]
        axis.bar(n, dropped, bottom=level - dropped, color=DROPPED)
        share = f" ({100 * dropped / read:.1f} %)" if read and dropped else ""
        tops.append(level)
        texts.append(f"−{dropped:,}{share}" if dropped else "0")
        level -= dropped
    axis.bar(len(labels) - 1, level, color=KEPT)
    tops.append(level)
    texts.append(f"{level:,}")
    for x, (top, text) in enumerate(zip(tops, texts, strict=True)):
        axis.annotate(
            text, (x, top), xytext=(0, 3), textcoords="offset points", ha="center", fontsize=9
        )
    axis.set_xticks(range(len(labels)), labels, rotation=30 if len(labels) > 6 else 0)
    axis.yaxis.set_major_locator(MaxNLocator(integer=True))
    axis.yaxis.set_major_formatter(SHORT)
    axis.set_ylabel("documents")
    axis.set_ylim(0, read * 1.12 if read else 1)
    axis.set_title("Documents dropped per stage (% = share of all documents read)")
    axis.grid(axis="y", alpha=0.3)
    return figure


def lengths_plot(facts: Facts) -> Figure:
    """Characters per document per language: 5-25-50-75-95th percentiles on a log scale."""
    codes = list(facts.languages)[::-1]
    figure = _figure(8, _row_height(len(codes)))
    axis = figure.subplots()
    boxes = []
    for code in codes:
        p5, p25, p50, p75, p95 = facts.languages[code].length_quantiles(QUANTILES)
        label = f"{code} ({facts.languages[code].docs:,})"
        boxes.append(
            {"label": label, "whislo": p5, "q1": p25, "med": p50, "q3": p75, "whishi": p95}
        )
    axis.bxp(
        boxes,
        orientation="horizontal",
        showfliers=False,
        patch_artist=True,
        boxprops={"facecolor": "#cfe0f7", "edgecolor": KEPT},
    )
    low = min(box["whislo"] for box in boxes)
    high = max(box["whishi"] for box in boxes)
    scale = "log" if low > 0 and high / low >= LOG_SPAN else "linear"
    if scale == "log":  # long and short documents both readable
        axis.set_xscale("log")
        axis.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.xaxis.set_minor_formatter(NullFormatter())
    else:  # under a decade and a half, a log axis would show one tick or none
        axis.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
        axis.set_xlim(0, high * 1.05 if high else 1)
    axis.xaxis.set_major_formatter(SHORT)
    axis.set_xlabel(
        f"characters per document, {scale} scale (box: quartiles; whiskers: 5th and 95th "
        "percentiles)"
    )
    axis.set_ylabel("language (documents)")
    axis.set_title("Document length per language")
    axis.grid(axis="x", which="both", alpha=0.3)
    return figure


def write_plots(facts: Facts) -> list[str]:
    """Render the figures the facts give into ``OUT/assets/``; returns their paths relative to
    OUT. A run that kept nothing has no language or length figure (and read nothing, no
    waterfall): the card says so in words."""
    figures = []
    if facts.stats["totals"]["docs_read"]:
        figures.append((WATERFALL_PNG, waterfall_plot))
    if facts.languages:
        figures += [(LANGUAGES_PNG, languages_plot), (LENGTHS_PNG, lengths_plot)]
    for relative, make in figures:
        _save(make(facts), facts.out / relative)
    return [relative for relative, _ in figures]
