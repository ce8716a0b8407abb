"""What a newcomer reads: help texts, one-line errors, the demo's output."""

from __future__ import annotations

import subprocess

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
