"""`make lint` fails on merge-conflict markers left in any tracked file."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .conftest import REPO


def _conflicts(repo: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "-f", str(REPO / "Makefile"), "conflicts"],
        cwd=repo,
        capture_output=True,
        text=True,
    )


def test_conflict_markers_in_a_tracked_file_fail_the_lint(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    notes = tmp_path / "README.md"
    notes.write_text("# Title\n\n<<<<<<< HEAD\nours\n=======\ntheirs\n>>>>>>> main\n")
    subprocess.run(["git", "add", "README.md"], cwd=tmp_path, check=True)
    found = _conflicts(tmp_path)
    assert found.returncode != 0 and "README.md:3:<<<<<<< HEAD" in found.stdout
    notes.write_text("# Title\n\nours and theirs, merged\n")
    assert _conflicts(tmp_path).returncode == 0


def test_this_checkout_has_none() -> None:
    assert _conflicts(REPO).returncode == 0
