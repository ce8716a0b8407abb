"""Without ../shared/data, unit tests still run and integration tests skip, saying why."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .conftest import REPO


def test_integration_tests_skip_with_a_reason_when_the_data_is_absent(tmp_path: Path) -> None:
    env = {**os.environ, "CURATE_SHARED_DATA": str(tmp_path / "absent")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", "-q",
         "tests/test_engine_flow.py", "tests/test_layers.py::test_no_import_cycles"],
        capture_output=True, text=True, cwd=REPO, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    progress = done.stdout.splitlines()[0]
    assert progress.startswith("ss..")  # engine flow: 2 integration tests skip, 1 unit test runs
    assert "../shared/data not found (set CURATE_SHARED_DATA)" in done.stdout
