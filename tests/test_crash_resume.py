import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from curate.testing.warc_writer import HttpResponse, warc_record, write_warc_gz

from .conftest import RECIPES, REPO

PAGES_PER_FILE = 12
FILES = 5


def build_inputs(shared_data: Path, root: Path) -> list[Path]:
    pages = sorted((shared_data / "html-eval" / "pages").glob("*.html"))
    files = []
    for index in range(FILES):
        chunk = pages[index * PAGES_PER_FILE : (index + 1) * PAGES_PER_FILE]
        records = [
            warc_record(HttpResponse(f"https://c.eu/{p.name}", p.read_bytes())) for p in chunk
        ]
        files.append(write_warc_gz(root / f"part-{index}.warc.gz", records))
    return files


def start_run(inputs: list[Path], out: Path) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "curate.cli",
        "run",
        str(RECIPES / "base.yaml"),
        "--input",
        *map(str, inputs),
        "--output",
        str(out),
        "--workers",
        "2",
    ]
    return subprocess.Popen(
        command,
        cwd=REPO,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def files_of(out: Path) -> dict[str, bytes]:
    found = {}
    for part in ("data", "dropped"):
        for path in sorted((out / part).rglob("*.parquet")):
            found[str(path.relative_to(out))] = path.read_bytes()
    found["stats.json"] = (out / "stats.json").read_bytes()
    return found


def test_sigkill_midway_then_rerun_equals_uninterrupted(shared_data: Path, tmp_path: Path) -> None:
    inputs = build_inputs(shared_data, tmp_path / "in")
    reference, crashed = tmp_path / "reference", tmp_path / "crashed"
    assert start_run(inputs, reference).wait(timeout=300) == 0
    victim = start_run(inputs, crashed)
    markers = crashed / "work" / "done"
    deadline = time.time() + 240
    while time.time() < deadline and len(list(markers.glob("*.json"))) < 2:
        time.sleep(0.05)
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    finished = len(list(markers.glob("*.json")))
    assert 0 < finished < FILES, "the kill should land midway"
    assert not (crashed / "stats.json").exists()
    assert start_run(inputs, crashed).wait(timeout=300) == 0
    assert files_of(crashed) == files_of(reference)
    assert not list(crashed.rglob("*.tmp"))
