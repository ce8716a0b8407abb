"""Issue 6 figure: documents/s of the local engine vs the Ray engine on this machine.

The input is real: the 250 html-eval pages of the shared data (``html-eval/pages``), written as
``--units`` WARC files (each page once per file, under a URL naming the file). Both engines run
``recipes/base.yaml`` (trafilatura, then fastText language ID) with the same worker count. Ray
is measured twice: the run alone on a Ray instance already up (its steady-state overhead) and
the run including starting and stopping a local Ray instance. Each measurement is repeated
``--rounds`` times, alternating which engine goes first, and the median is printed, with each
round's wall time: the machine is shared, so CPU seconds (counted over every process of the
run, Ray's daemons included) are the stable figure. The outputs are compared byte for byte.
Usage:

    PYTHONPATH=. python benchmarks/bench_ray.py [--units 6] [--workers 2] [--rounds 4]
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from statistics import median

from common import build_warcs, descendants  # noqa: E402

from curate.engine.local import LocalEngine
from curate.engine.ray_engine import RayEngine
from curate.recipe import load_recipe
from curate.runner import Run

REPO = Path(__file__).resolve().parents[1]
OBJECT_STORE_BYTES = 500_000_000


class CpuMeter:
    """CPU seconds of this process and everything below it (Ray's processes included).

    Samples /proc every 0.2 s and keeps each process's latest figure, so processes that end
    during the run (pool workers, Ray actors) still count; processes already running when the
    meter starts (a Ray instance's daemons) count only what they use after.
    """

    def __init__(self) -> None:
        self._start = self._sample()
        self._last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    @staticmethod
    def _sample() -> dict[int, float]:
        pids, ticks = [os.getpid(), *descendants(os.getpid())], os.sysconf("SC_CLK_TCK")
        seconds = {}
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            seconds[pid] = (int(fields[11]) + int(fields[12])) / ticks
        return seconds

    def _watch(self) -> None:
        while not self._stop.wait(0.2):
            self._last.update(self._sample())

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        self._last.update(self._sample())
        return sum(s - self._start.get(pid, 0.0) for pid, s in self._last.items())


def timed_run(engine: object, inputs: list[Path], out: Path) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and documents of one run of the base recipe."""
    shutil.rmtree(out, ignore_errors=True)
    recipe = load_recipe(REPO / "curate" / "recipes" / "base.yaml")
    meter = CpuMeter()
    start = time.perf_counter()
    summary, _ = Run(recipe, inputs, out).execute(engine)
    wall = time.perf_counter() - start
    return wall, meter.stop(), summary["totals"]["docs_read"]


def same_output(one: Path, two: Path) -> bool:
    files = sorted(p.relative_to(one) for p in one.rglob("*.parquet"))
    if files != sorted(p.relative_to(two) for p in two.rglob("*.parquet")):
        return False
    stats = (one / "stats.json").read_bytes() == (two / "stats.json").read_bytes()
    return stats and all((one / f).read_bytes() == (two / f).read_bytes() for f in files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    wall: dict[str, list[float]] = {"local": [], "ray": [], "ray+start": []}
    cpu: dict[str, list[float]] = {"local": [], "ray": [], "ray+start": []}
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as tmp:
        root = Path(tmp)
        inputs = build_warcs(root / "in", files=args.units, copies=args.units)
        docs = 0
        for round_number in range(args.rounds):
            # Alternate which engine goes first: the machine's load drifts.
            for engine in ("local", "ray") if round_number % 2 == 0 else ("ray", "local"):
                if engine == "local":
                    seconds, cpu_seconds, docs = timed_run(
                        LocalEngine(args.workers), inputs, root / "a"
                    )
                    wall["local"].append(seconds)
                    cpu["local"].append(cpu_seconds)
                    continue
                meter, start = CpuMeter(), time.perf_counter()
                with RayEngine(workers=args.workers, object_store_bytes=OBJECT_STORE_BYTES) as ray:
                    seconds, cpu_seconds, _ = timed_run(ray, inputs, root / "b")
                wall["ray"].append(seconds)
                cpu["ray"].append(cpu_seconds)
                wall["ray+start"].append(time.perf_counter() - start)
                cpu["ray+start"].append(meter.stop())
        identical = same_output(root / "a", root / "b")
    load = os.getloadavg()[0]
    print(
        f"{docs} documents (real html-eval pages) in {args.units} WARC files, "
        f"recipes/base.yaml, {args.workers} workers on {os.cpu_count()} cores, "
        f"median of {args.rounds} rounds (load average at the end: {load:.1f})"
    )
    header = f"{'engine':<24} {'wall s':>7} {'docs/s':>7} {'vs local':>9}"
    print(f"{header} {'CPU s':>7} {'docs/CPU s':>10} {'vs local':>9}")
    labels = {"local": "local", "ray": "ray (instance up)", "ray+start": "ray (with start/stop)"}
    local_wall, local_cpu = median(wall["local"]), median(cpu["local"])
    for key, label in labels.items():
        w, c = median(wall[key]), median(cpu[key])
        print(
            f"{label:<24} {w:7.1f} {docs / w:7.1f} {w / local_wall - 1:+9.1%} "
            f"{c:7.1f} {docs / c:10.1f} {c / local_cpu - 1:+9.1%}"
        )
    for key in labels:
        print(f"  {key} wall per round: {' '.join(f'{w:.1f}' for w in wall[key])}")
    print(f"outputs byte-identical (shards, ledgers, stats.json): {identical}")
    sys.exit(0 if identical else 1)


if __name__ == "__main__":
    main()
