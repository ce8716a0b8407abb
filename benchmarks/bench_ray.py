"""Issue 6 figure: documents/s of the local engine vs the Ray engine on this machine.

The input is real: the 250 html-eval pages of the shared data (``html-eval/pages``), written as
``--units`` WARC files (each page once per file, under a URL naming the file). Both engines run
``recipes/base.yaml`` (trafilatura, then fastText language ID) with the same worker count; each
measurement is repeated ``--rounds`` times, alternating engines, and the best is kept (the
machine is shared). Ray is measured twice: the run alone on a Ray instance already up (its
steady-state overhead) and the run including starting and stopping a local Ray instance. The
outputs are compared byte for byte. Usage:

    PYTHONPATH=. python benchmarks/bench_ray.py [--units 4] [--workers 2] [--rounds 2]
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from curate.engine.local import LocalEngine
from curate.engine.ray_engine import RayEngine
from curate.io.warc_writer import HttpResponse, warc_record, write_warc_gz
from curate.recipe import load_recipe
from curate.runner import Run

REPO = Path(__file__).resolve().parents[1]
OBJECT_STORE_BYTES = 500_000_000


def shared_data() -> Path:
    for candidate in (os.environ.get("CURATE_SHARED_DATA"), REPO.parent / "shared" / "data"):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return Path("/work/shared/data")


def build_inputs(target: Path, units: int) -> list[Path]:
    pages = sorted((shared_data() / "html-eval" / "pages").glob("*.html"))
    paths = []
    for unit in range(units):
        records = [
            warc_record(HttpResponse(f"https://crawl-{unit}.example.eu/{p.stem}", p.read_bytes()))
            for p in pages
        ]
        paths.append(write_warc_gz(target / f"crawl-{unit:02d}.warc.gz", records))
    return paths


def timed_run(engine: object, inputs: list[Path], out: Path) -> tuple[float, int]:
    shutil.rmtree(out, ignore_errors=True)
    recipe = load_recipe(REPO / "recipes" / "base.yaml")
    start = time.perf_counter()
    summary, _ = Run(recipe, inputs, out).execute(engine)
    return time.perf_counter() - start, summary["totals"]["docs_read"]


def same_output(one: Path, two: Path) -> bool:
    files = sorted(p.relative_to(one) for p in one.rglob("*.parquet"))
    if files != sorted(p.relative_to(two) for p in two.rglob("*.parquet")):
        return False
    stats = (one / "stats.json").read_bytes() == (two / "stats.json").read_bytes()
    return stats and all((one / f).read_bytes() == (two / f).read_bytes() for f in files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    best: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as tmp:
        root = Path(tmp)
        inputs = build_inputs(root / "in", args.units)
        docs = 0
        for _ in range(args.rounds):
            seconds, docs = timed_run(LocalEngine(args.workers), inputs, root / "local")
            best["local"] = min(best.get("local", seconds), seconds)
            start = time.perf_counter()
            with RayEngine(workers=args.workers, object_store_bytes=OBJECT_STORE_BYTES) as ray:
                seconds, _ = timed_run(ray, inputs, root / "ray")
            best["ray"] = min(best.get("ray", seconds), seconds)
            total = time.perf_counter() - start
            best["ray+start"] = min(best.get("ray+start", total), total)
        identical = same_output(root / "local", root / "ray")
    print(
        f"{docs} documents in {args.units} WARC files, {args.workers} workers, "
        f"best of {args.rounds} rounds, {os.cpu_count()} cores"
    )
    print(f"{'engine':<26} {'seconds':>8} {'docs/s':>8} {'vs local':>9}")
    labels = {"local": "local", "ray": "ray (instance up)", "ray+start": "ray (incl. start/stop)"}
    for key, label in labels.items():
        ratio = best[key] / best["local"] - 1
        print(f"{label:<26} {best[key]:8.1f} {docs / best[key]:8.1f} {ratio:+9.1%}")
    print(f"outputs byte-identical: {identical}")
    sys.exit(0 if identical else 1)


if __name__ == "__main__":
    main()
