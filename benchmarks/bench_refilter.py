"""Issue 19: `curate refilter` against a full re-run, and what keeping signals costs.

Input: the 250 real pages of ../shared/data/html-eval, repeated, as WARC.gz files.
Four runs of the CLI, each in its own process, one worker, measured in the same session:

- full run of the base recipe (anchor), and the same with `output.signals: true`;
- a tighter recipe (NEW): full run on the inputs, and `curate refilter` of the signals run.

CPU is user + system seconds of the process and its workers.
Run: python benchmarks/bench_refilter.py [--copies 2]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, build_warcs, print_table

BASE = REPO / "curate" / "recipes" / "base.yaml"
TIGHTER = {
    "filters": {
        "gopher_quality": {"min_alpha_words_ratio": 0.85},
        "fineweb_quality": {"line_punct_thr": 0.2},
    },
    "langid": {"min_score": 0.8},
}


def write_recipe(path: Path, signals: bool, overrides: dict) -> Path:
    data = {"extends": str(BASE), "name": path.stem, "output": {"signals": signals}, **overrides}
    path.write_text(json.dumps(data))  # JSON is YAML
    return path


def cli(args: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and everything it waited for)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "curate.cli", *args], capture_output=True)
    wall = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"curate {args[0]} failed: {done.stderr.decode()[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def kept(out: Path) -> int:
    return json.loads((out / "stats.json").read_text())["totals"]["docs_kept"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=1, help="times the 250 pages repeat")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        inputs = [str(p) for p in build_warcs(root, files=2, copies=args.copies)]
        plain = write_recipe(root / "plain.yaml", False, {})
        signals = write_recipe(root / "signals.yaml", True, {})
        tighter = write_recipe(root / "tighter.yaml", False, TIGHTER)

        def run(recipe: Path, out: str) -> tuple[float, float]:
            return cli(["run", str(recipe), "-i", *inputs, "-o", str(root / out), "--workers", "1"])

        base_wall, base_cpu = run(plain, "plain")
        sig_wall, sig_cpu = run(signals, "signals")
        full_wall, full_cpu = run(tighter, "full")
        re_wall, re_cpu = cli(
            ["refilter", str(root / "signals"), "--recipe", str(tighter), "-o", str(root / "re")]
        )
        same = kept(root / "re") == kept(root / "full")
        docs = json.loads((root / "plain" / "stats.json").read_text())["totals"]["docs_read"]
    print_table(
        f"Refilter vs full re-run: {docs} real pages, 1 worker (same kept: {same})",
        ["run", "wall s", "CPU s", "vs full re-run (wall)", "vs full re-run (CPU)"],
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
