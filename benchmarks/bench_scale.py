"""Issue 16 figure: the Ray driver's CPU per 1,000 documents, driver writes vs workers write,
and how many 128-core nodes each design keeps busy.

Input: the real html-eval pages of the shared data written as ``--units`` WARC files, at two
sizes (``--pages`` pages per file, then twice that), run with ``recipes/base.yaml`` (the full
path: extraction, language ID, quality filters, PII) on a local Ray instance.

- **workers write** (this engine): the driver's own CPU (``getrusage`` of this process, Ray
  Data's executor thread included) over ``RayEngine.run``, against the CPU of every process
  below it (the Ray workers);
- **driver writes** (the engine before issue 16): what its driver did per unit, replayed in
  this process: unpickle each batch record the workers sent (``BatchRecord.from_bytes``) and
  assemble and write it (``UnitAssembler``). Only that part is timed; Ray Data's executor
  overhead, which both designs have, is not added to it, so this side is a lower bound.

With workers writing, what is left in the driver is Ray's own machinery (Ray Data's executor
thread, the core worker's threads): it runs at a fixed rate, so it grows with the run's wall
time, not with its documents; on a loaded machine the same run takes longer and costs more.

The projection divides the workers' CPU per page by the driver's CPU per page (before) or per
unit (after, at a Common Crawl WARC of ``--cc-pages`` pages): the cores one driver keeps busy.
Usage:

    PYTHONPATH=. python benchmarks/bench_scale.py [--units 4] [--pages 40] [--workers 2]
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from bench_ray import CpuMeter
from common import html_eval_pages, print_table

from curate.engine.ray_engine import RayEngine
from curate.engine.unit import SetAside, UnitAssembler, apply_stage, plan_units, read_unit
from curate.pipeline import build_stages, output_schema
from curate.recipe import Recipe, load_recipe
from curate.testing.warc_writer import HttpResponse, warc_record, write_warc_gz

REPO = Path(__file__).resolve().parents[1]
OBJECT_STORE_BYTES = 500_000_000
NODE_CORES = 128
CC_PAGES_PER_WARC = 33_000  # ~3 billion pages in ~90,000 WARC files


def build_inputs(target: Path, units: int, pages: int) -> list[Path]:
    """``units`` WARC files of ``pages`` real pages each (pages repeat under other URLs)."""
    sources = html_eval_pages()
    paths = []
    for unit in range(units):
        records = []
        for number in range(pages):
            page = sources[(unit * pages + number) % len(sources)]
            url = f"https://bench.example/{unit}/{number}/{page.name}"
            records.append(warc_record(HttpResponse(url, page.read_bytes())))
        paths.append(write_warc_gz(target / f"scale-{unit:02d}.warc.gz", records))
    return paths


class DriverMeter(CpuMeter):
    """CpuMeter that also counts its own sampling thread's CPU, which runs in the driver
    process and is not the driver's work."""

    own = 0.0

    def _watch(self) -> None:
        while not self._stop.wait(0.2):
            self._last.update(self._sample())
            self.own = time.thread_time()


def driver_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def workers_write(inputs: list[Path], recipe: Recipe, out: Path, workers: int) -> dict:
    """Driver and worker CPU seconds of one Ray run where the workers write."""
    units = plan_units(inputs)
    with RayEngine(workers=workers, object_store_bytes=OBJECT_STORE_BYTES) as engine:
        engine.map(len, ["warm-up"])  # Ray's start-up is not the run's cost
        results: list[dict] = []
        meter, start, wall = DriverMeter(), driver_seconds(), time.perf_counter()
        engine.run(units, recipe, out, lambda _: None, results.append)
        wall = time.perf_counter() - wall
        total = meter.stop()
        driver = driver_seconds() - start - meter.own
    docs = sum(r["stats"]["totals"]["docs_read"] for r in results)
    workers = total - driver - meter.own
    return {"docs": docs, "units": len(units), "driver": driver, "workers": workers, "wall": wall}


def driver_writes(inputs: list[Path], recipe: Recipe, out: Path) -> dict:
    """The driver's share of the earlier design: unpickle every record, assemble, write.
    The workers' share (read and stages) runs here too but is not timed."""
    stages, aside = build_stages(recipe), SetAside.of(recipe)
    for stage in stages:
        stage.setup()
    driver, docs = 0.0, 0
    for number, unit in enumerate(plan_units(inputs)):
        sent = []
        for record in read_unit(unit, number, recipe):
            for stage in stages:
                record = apply_stage(record, stage, aside)
            sent.append(record.to_bytes())
        start = time.process_time()
        assembler = UnitAssembler(unit, recipe, out, output_schema(stages))
        for data in sent:
            docs += assembler.add(type(record).from_bytes(data)).docs
        assembler.finish()
        driver += time.process_time() - start
    return {"docs": docs, "units": len(inputs), "driver": driver}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=4)
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cc-pages", type=int, default=CC_PAGES_PER_WARC)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    recipe = load_recipe(REPO / "curate" / "recipes" / "base.yaml")
    rows, projection = [], []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        root = Path(tmp)
        for pages in (args.pages, 2 * args.pages):
            inputs = build_inputs(root / f"in-{pages}", args.units, pages)
            after = workers_write(inputs, recipe, root / f"after-{pages}", args.workers)
            before = driver_writes(inputs, recipe, root / f"before-{pages}")
            shutil.rmtree(root / f"in-{pages}")
            worker_per_page = after["workers"] / after["docs"]
            for label, run in (("driver writes", before), ("workers write", after)):
                per_k = 1000 * run["driver"] / run["docs"]
                share = run["driver"] / after["workers"]
                rows.append(
                    [label, pages, run["docs"], run["driver"], per_k, f"{share:.2%}", after["wall"]]
                )
            before_cores = worker_per_page / (before["driver"] / before["docs"])
            after_cores = worker_per_page * args.cc_pages / (after["driver"] / after["units"])
            projection.append([pages, 1000 * worker_per_page, before_cores, after_cores])
    load = os.getloadavg()[0]
    print(
        f"recipes/base.yaml on real html-eval pages, {args.units} WARC files, Ray with "
        f"{args.workers} workers on {os.cpu_count()} cores (load average {load:.1f})"
    )
    print_table(
        "Driver CPU",
        [
            "design",
            "pages/unit",
            "docs",
            "driver CPU s",
            "driver CPU s / 1k docs",
            "of workers' CPU",
            "Ray run wall s",
        ],
        rows,
        digits=3,
    )
    print_table(
        f"Projection: cores one driver keeps busy (Common Crawl: {args.cc_pages:,} pages/WARC)",
        [
            "pages/unit measured",
            "worker CPU ms/page",
            "nodes, driver writes",
            "nodes, workers write",
        ],
        [[p, w, b / NODE_CORES, a / NODE_CORES] for p, w, b, a in projection],
    )


if __name__ == "__main__":
    main()
