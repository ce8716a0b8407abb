"""Progress: input bytes of the known total, per batch from every worker; one log format."""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.json as pa_json
import pyarrow.parquet as pq
import pytest

from curate.engine.local import LocalEngine
from curate.engine.unit import Advance, done_marker, plan_units
from curate.runner import Run

from .conftest import RECIPES, REPO, write_sentence_documents
from .helpers import recipe, without_dedup


class Recorder:
    """A RunProgress keeping every event."""

    def __init__(self) -> None:
        self.totals: tuple[int, int, int, int] | None = None
        self.events: list[Advance | str] = []
        self.stopped = False

    def start(self, total_bytes: int, done_bytes: int, total_files: int, done_files: int) -> None:
        self.totals = (total_bytes, done_bytes, total_files, done_files)

    def advance(self, step: Advance) -> None:
        self.events.append(step)

    def unit_done(self) -> None:
        self.events.append("unit")

    def stop(self) -> None:
        self.stopped = True

    @property
    def advances(self) -> list[Advance]:
        return [e for e in self.events if isinstance(e, Advance)]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("progress")
    plain = root / "a.jsonl"
    write_sentence_documents(plain, {"fr": range(400), "de": range(200)})
    packed = root / "b.jsonl.gz"
    write_sentence_documents(root / "b.jsonl", {"pl": range(300)})
    packed.write_bytes(gzip.compress((root / "b.jsonl").read_bytes()))
    (root / "b.jsonl").unlink()
    table = root / "c.parquet"
    write_sentence_documents(root / "c.jsonl", {"it": range(300)})
    pq.write_table(pa_json.read_json(root / "c.jsonl"), table, row_group_size=20)
    (root / "c.jsonl").unlink()
    return [plain, packed, table]


@pytest.mark.parametrize("workers", [1, 2])
def test_progress_counts_every_byte_and_document(
    inputs: list[Path], tmp_path: Path, workers: int
) -> None:
    recorder = Recorder()
    run = Run(without_dedup(recipe(batch_size=10)), inputs, tmp_path / "out")
    summary, _ = run.execute(LocalEngine(workers), recorder)
    sizes = sum(p.stat().st_size for p in inputs)
    assert recorder.totals == (sizes, 0, 3, 0) and recorder.stopped
    advances = recorder.advances
    assert sum(a.input_bytes for a in advances) == sizes
    assert sum(a.docs for a in advances) == summary["totals"]["docs_read"]
    assert recorder.events.count("unit") == 3
    # Per batch, not per file: the first file's bytes arrive in several steps before it ends.
    first_unit = recorder.events[: recorder.events.index("unit")]
    assert len([a for a in first_unit if a.input_bytes]) >= 3  # type: ignore[union-attr]


def test_resumed_run_starts_from_the_finished_files(inputs: list[Path], tmp_path: Path) -> None:
    out, run_recipe = tmp_path / "out", without_dedup(recipe(batch_size=10))
    Run(run_recipe, inputs, out).execute(LocalEngine(1), Recorder())
    for unit in plan_units(inputs)[1:]:
        done_marker(out, unit).unlink()  # as if the run had stopped after its first input
    recorder = Recorder()
    Run(run_recipe, inputs, out).execute(LocalEngine(1), recorder)
    done = inputs[0].stat().st_size
    assert recorder.totals == (sum(p.stat().st_size for p in inputs), done, 3, 1)
    assert sum(a.input_bytes for a in recorder.advances) == recorder.totals[0] - done


def _unit_log_lines(workers: int, inputs: list[Path], out: Path) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "curate.cli", "run", str(RECIPES / "base.yaml"), "--output",
         str(out), "--workers", str(workers), *[a for p in inputs for a in ("--input", str(p))]],
        capture_output=True, text=True, cwd=REPO, timeout=600,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [ln for ln in done.stderr.splitlines() if re.search(r"\bunit \S+: read", ln)]
    # The time column is printed when it changes; everything after it must be identical.
    return sorted(re.sub(r"^(\[[^\]]*\]|\s)*", "", ln).rstrip() for ln in lines)


def test_log_lines_look_the_same_with_one_worker_or_two(inputs: list[Path], tmp_path: Path) -> None:
    one = _unit_log_lines(1, inputs, tmp_path / "one")
    two = _unit_log_lines(2, inputs, tmp_path / "two")
    assert len(one) == 3 and one == two
    assert all(line.startswith("INFO ") for line in one), one
