"""Issue 2: docs/s and MB/s per stage (read, extract, langid, write), one core and all cores,
peak RSS; datatrove's WarcReader and Trafilatura extractor on the same WARCs as anchors.

Input: the 250 real pages of ../shared/data/html-eval, repeated, as WARC.gz files.
Run: python benchmarks/bench_pipeline.py [--copies 4]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, build_warcs, print_table

STAGES = ("read", "extract", "langid", "write")


def run_curate(inputs: list[Path], out: Path, workers: int) -> tuple[float, dict, float]:
    """Run the CLI in a subprocess so peak RSS is the run's own."""
    script = (
        "import resource, sys; from curate.cli import main; sys.argv = sys.argv[1:]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print('PEAK_RSS_KIB', max(own, kids), file=sys.stderr)\n"
    )
    args = [
        "curate",
        "run",
        str(REPO / "curate" / "recipes" / "base.yaml"),
        "--input",
        *map(str, inputs),
        "--output",
        str(out),
        "--workers",
        str(workers),
        "--force",
    ]
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True)
    wall = time.perf_counter() - start
    peak = next(int(line.split()[1]) for line in done.stderr.splitlines() if "PEAK_RSS" in line)
    return wall, json.loads((out / "timing.json").read_text()), peak / 1024


def datatrove_anchor(inputs: list[Path]) -> tuple[float, float, int]:
    """Seconds datatrove's WarcReader and Trafilatura extractor take on the same inputs."""
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.readers import WarcReader

    reader = WarcReader(str(inputs[0].parent), glob_pattern="*.warc.gz")
    start = time.perf_counter()
    documents = [doc for rank in range(1) for doc in reader.run(rank=rank, world_size=1)]
    read_seconds = time.perf_counter() - start
    extractor = Trafilatura(favour_precision=False, deduplicate=False, timeout=30)
    start = time.perf_counter()
    for doc in documents:
        extractor.extract(doc.text)
    return read_seconds, time.perf_counter() - start, len(documents)


def curate_in_process(inputs: list[Path], out: Path) -> dict[str, float]:
    """Seconds per stage of one in-process run (one core), beside the anchor in this process."""
    from curate.engine.local import LocalEngine
    from curate.recipe import load_recipe
    from curate.runner import Run

    recipe = load_recipe(REPO / "curate" / "recipes" / "base.yaml")
    _, timing = Run(recipe, inputs, out, force=True).execute(LocalEngine(1))
    return timing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2, help="best of N for the one-core table")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        inputs = build_warcs(Path(tmp) / "in", files=4, copies=args.copies)
        megabytes = sum(p.stat().st_size for p in inputs) / 1e6
        runs = {w: run_curate(inputs, Path(tmp) / f"out{w}", w) for w in (1, os.cpu_count() or 2)}
        docs = json.loads((Path(tmp) / "out1" / "stats.json").read_text())["totals"]["docs_read"]
        timings, anchors = [], []
        for repeat in range(args.repeats):
            timings.append(curate_in_process(inputs, Path(tmp) / f"inproc{repeat}"))
            anchors.append(datatrove_anchor(inputs))
    timing = {stage: min(t[stage] for t in timings) for stage in STAGES}
    dt_read, dt_extract = min(a[0] for a in anchors), min(a[1] for a in anchors)
    dt_docs = anchors[0][2]
    rows = []
    for stage in STAGES:
        seconds = timing.get(stage, 0.0)
        rows.append([stage, round(seconds, 2), docs / seconds, megabytes / seconds])
    print_table(
        f"curate per stage, one core ({docs} docs, {megabytes:.1f} MB of WARC.gz)",
        ["stage", "seconds", "docs/s", "MB/s (input)"],
        rows,
    )
    print_table(
        "whole run (CLI, incl. start-up and manifest checksums)",
        ["workers", "wall s", "docs/s", "MB/s", "peak RSS MiB"],
        [
            [w, round(wall, 2), docs / wall, megabytes / wall, rss]
            for w, (wall, _, rss) in runs.items()
        ],
    )
    print_table(
        "vs datatrove on the same WARCs (one core; ratio > 1 means curate is faster)",
        ["stage", "curate docs/s", "datatrove docs/s", "ratio"],
        [
            ["read", docs / timing["read"], dt_docs / dt_read, dt_read / timing["read"]],
            [
                "extract",
                docs / timing["extract"],
                dt_docs / dt_extract,
                dt_extract / timing["extract"],
            ],
        ],
    )


if __name__ == "__main__":
    main()
