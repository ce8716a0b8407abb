"""What a newcomer reads: help texts, one-line errors, the demo's output."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from curate.cli import app

from .conftest import REPO


def test_workers_help_shows_its_default() -> None:
    result = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "[default: cores; Ray: cluster CPUs]" in result.output
    assert "\\[" not in result.output


def test_top_level_help_reads_naturally() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "``" not in result.output and "command line." not in result.output
    assert "per-language training data" in result.output


def test_make_demo_prints_the_run_summary_once() -> None:
    commands = subprocess.run(
        ["make", "-n", "demo"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert commands.count("curate run ") == 1
    assert "curate inspect" not in commands  # `curate run` already printed the summary


FILTERED_WRITER = """
import os, time
from curate.engine.ray_logs import StderrFilter
with StderrFilter():
    os.write(2, b"before\\n[2026-12-02 01:52:50,892 E 1 1] core_worker.cc:2465: Actor with ")
    time.sleep(0.2)  # the harmless line arrives in two pieces, as from another thread
    os.write(2, b"class name: 'MapWorker(X)' and ID: 'ab' has constructor arguments in the ")
    os.write(2, b"object store and max_restarts > 0. If the arguments go out of scope...\\n")
    os.write(2, b"[2026-12-02 01:52:51,000 E 1 1] core_worker.cc:10: a real error\\n")
    os.write(2, b"progress 3/5\\r")
os.write(2, b"after\\n")
"""


def test_ray_harmless_restart_line_is_dropped_from_stderr() -> None:
    done = subprocess.run(
        [sys.executable, "-c", FILTERED_WRITER], capture_output=True, cwd=REPO, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.decode() == (
        "before\n[2026-12-02 01:52:51,000 E 1 1] core_worker.cc:10: a real error\n"
        "progress 3/5\rafter\n"
    )
