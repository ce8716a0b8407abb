"""Issue 19: `curate refilter` against a full re-run, and what keeping signals costs.

Input: the 250 real pages of ../shared/data/html-eval, repeated, as WARC.gz files. Four runs
in this process, one worker, CPU as user + system seconds, wall as elapsed; all after the
imports and a warm-up run on 40 pages (models and word tables loaded):

- full run of the base recipe, then the same with `output.signals: true` (the anchor for
  what signals cost);
- a tighter recipe (NEW): a full run on the inputs (the anchor), and `refilter` of the
  signals run.

Run: python benchmarks/bench_refilter.py [--copies 1]
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from common import REPO, build_warcs, html_eval_pages, print_table

from curate.engine.local import LocalEngine
from curate.recipe import deep_merge, load_raw, parse_recipe
from curate.runner import Run
from curate.testing.warc_writer import HttpResponse, warc_record, write_warc_gz
from curate.tools.refilter import refilter

TIGHTER = {
    "filters": {
        "gopher_quality": {"min_alpha_words_ratio": 0.85},
        "fineweb_quality": {"line_punct_thr": 0.2},
    },
    "langid": {"min_score": 0.8},
}


def recipe(**overrides: object):  # noqa: ANN201 - a Recipe
    base = load_raw(REPO / "curate" / "recipes" / "base.yaml")
    return parse_recipe(deep_merge(base, overrides))


def measured(work: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process and its children) of ``work()``."""

    def cpu() -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    start_cpu, start = cpu(), time.perf_counter()
    work()
    return time.perf_counter() - start, cpu() - start_cpu


def kept(out: Path) -> list[str]:
    return sorted(p.name for p in (out / "data").rglob("*.parquet"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=1, help="times the 250 pages repeat")
    args = parser.parse_args()
    plain, signals = recipe(), recipe(output={"signals": True})
    tighter = recipe(**TIGHTER)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        inputs = build_warcs(root, files=2, copies=args.copies)

        def run(which, out: str) -> tuple[float, float]:  # noqa: ANN001
            return measured(lambda: Run(which, inputs, root / out).execute(LocalEngine(1)))

        # Warm-up: models, spaCy tables and caches loaded before any measured run.
        warm = [
            warc_record(HttpResponse(f"https://warm.example/{p.name}", p.read_bytes()))
            for p in html_eval_pages()[:40]
        ]
        warm_input = write_warc_gz(root / "warm.warc.gz", warm)
        Run(signals, [warm_input], root / "warm").execute(LocalEngine(1))

        base_wall, base_cpu = run(plain, "plain")
        sig_wall, sig_cpu = run(signals, "signals")
        full_wall, full_cpu = run(tighter, "full")
        re_wall, re_cpu = measured(lambda: refilter(root / "signals", tighter, root / "re"))
        stats = [json.loads((root / o / "stats.json").read_text()) for o in ("full", "re")]
        same = stats[0] == stats[1] and kept(root / "full") == kept(root / "re")
        docs = stats[0]["totals"]["docs_read"]
    print_table(
        f"Refilter vs full re-run: {docs} real pages, 1 worker (same stats and shards: {same})",
        ["run", "wall s", "CPU s", "wall vs anchor", "CPU vs anchor"],
        [
            ["full run, tighter recipe (anchor)", full_wall, full_cpu, "1.0x", "1.0x"],
            [
                "refilter of the signals run, tighter recipe",
                re_wall,
                re_cpu,
                f"{full_wall / re_wall:.1f}x faster",
                f"{full_cpu / re_cpu:.1f}x less",
            ],
        ],
        digits=2,
    )
    print_table(
        "What keeping signals costs (same inputs, base recipe)",
        ["run", "wall s", "CPU s", "CPU vs anchor"],
        [
            ["full run, signals off (anchor)", base_wall, base_cpu, "1.00"],
            ["full run, output.signals: true", sig_wall, sig_cpu, f"{sig_cpu / base_cpu:.2f}"],
        ],
        digits=2,
    )


if __name__ == "__main__":
    main()
