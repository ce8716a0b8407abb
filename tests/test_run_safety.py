"""Run-level safety: unit names, ids, the output lock, signals, resume and re-runs, --force,
input expansion, disk errors and ``inspect`` on an unfinished run.

Inputs are JSONL files of real sentences built here, each with two damaged lines; each test
checks that every document read is kept or in the ledger with a reason, that ids are unique,
and the text of a few documents. The quality filters are off (they rewrite and drop texts,
which other tests cover) so that every valid document is kept with its text as written.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import string
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

from curate.engine.local import LocalEngine
from curate.engine.unit import unit_name
from curate.io.lock import LOCK_NAME
from curate.runner import Run, RunError, expand_inputs

from .conftest import RECIPES, REPO, SHARED_DATA
from .helpers import recipe, without_dedup, without_quality_filters

SENTENCES = (SHARED_DATA / "langid" / "fr.txt").read_text("utf-8").splitlines()
LINES_PER_DOC = 5
RECIPE = without_dedup(without_quality_filters(recipe("base")))
DAMAGED_LINES = 2  # per input: one without text, one not JSON


def write_docs(path: Path, first: int, count: int) -> list[str]:
    """``count`` JSONL documents without ids (ids come from the file), real French sentences,
    then the damaged lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    texts = []
    with open(path, "w", encoding="utf-8") as stream:
        for n in range(count):
            start = (first + n) * LINES_PER_DOC % (len(SENTENCES) - LINES_PER_DOC)
            text = "\n".join(SENTENCES[start : start + LINES_PER_DOC])
            texts.append(text)
            stream.write(json.dumps({"text": text, "url": f"https://p.eu/{first + n}"}) + "\n")
        stream.write('{"text": ""}\n{"text": "cut her\n')
    return texts


@pytest.fixture(scope="module")
def fast_recipe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``base`` with dedup and the quality filters off, as a file for the command line."""
    path = tmp_path_factory.mktemp("recipe") / "fast.yaml"
    off = {"enabled": False}
    filters = {name: off for name in ("gopher_repetition", "gopher_quality", "c4_quality")}
    path.write_text(
        json.dumps(
            {
                "extends": str(RECIPES / "base.yaml"),
                "name": "fast",
                "dedup": off,
                "filters": {**filters, "fineweb_quality": off},
            }
        )
    )
    return path


def run(inputs: list[Path], out: Path, workers: int = 1, force: bool = False) -> dict:
    paths = expand_inputs([str(p) for p in inputs], exclude=out)
    summary, _ = Run(RECIPE, paths, out, force).execute(LocalEngine(workers))
    return summary


def read_all(out: Path, part: str) -> pl.DataFrame:
    files = sorted((out / part).rglob("*.parquet"))
    return pl.concat([pl.read_parquet(f) for f in files], how="diagonal") if files else None


def check_accounting(out: Path, summary: dict) -> tuple[pl.DataFrame, pl.DataFrame]:
    """docs_read = kept + dropped, every drop in the ledger with a reason, ids unique."""
    totals = summary["totals"]
    kept, ledger = read_all(out, "data"), read_all(out, "dropped")
    assert totals["docs_read"] == totals["docs_kept"] + totals["docs_dropped"]
    assert kept.height == totals["docs_kept"]
    assert ledger.height == totals["docs_dropped"]
    assert ledger["reason"].null_count() == 0
    ids = kept["id"].to_list() + ledger["id"].to_list()
    assert len(ids) == len(set(ids))
    return kept, ledger


def sources(kept: pl.DataFrame, ledger: pl.DataFrame) -> Counter:
    return Counter(kept["source"].to_list() + ledger["source"].to_list())


def assert_texts(kept: pl.DataFrame, expected: dict[str, str], at_least: int = 2) -> None:
    """The kept documents among ``expected`` (id -> text) have exactly that text."""
    found = dict(zip(kept["id"], kept["text"], strict=True))
    checked = [doc_id for doc_id in expected if doc_id in found]
    assert len(checked) >= at_least
    for doc_id in checked:
        assert found[doc_id] == expected[doc_id], doc_id


def output_bytes(out: Path) -> dict[str, bytes]:
    files = {
        str(p.relative_to(out)): p.read_bytes()
        for part in ("data", "dropped")
        for p in sorted((out / part).rglob("*.parquet"))
    }
    return {**files, "stats.json": (out / "stats.json").read_bytes()}


def cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "curate.cli", *args], capture_output=True, text=True, cwd=cwd
    )


def error_line(result: subprocess.CompletedProcess) -> str:
    """The run failed with exit 2 and one error line (log lines may come before), no traceback."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


# 1. Shard names: a unit's name may be the start of another's.


def test_prefix_names_lose_nothing_any_worker_count_and_on_resume(tmp_path: Path) -> None:
    crawl = write_docs(tmp_path / "in" / "crawl.jsonl", 0, 10)
    write_docs(tmp_path / "in" / "crawl-2.jsonl", 100, 10)
    inputs = sorted((tmp_path / "in").iterdir())
    one, two = tmp_path / "one", tmp_path / "two"
    summary = run(inputs, one, workers=1)
    kept, ledger = check_accounting(one, summary)
    assert summary["totals"]["docs_read"] == 20 + 2 * DAMAGED_LINES
    assert sources(kept, ledger) == {"crawl.jsonl": 12, "crawl-2.jsonl": 12}
    assert_texts(kept, {f"crawl.jsonl/{n + 1}": text for n, text in enumerate(crawl)})
    run(inputs, two, workers=2)
    assert output_bytes(one) == output_bytes(two)
    # A crash inside unit `crawl.jsonl`: its marker gone, its shards left; the re-run clears
    # exactly that unit's files, never those of `crawl-2.jsonl`.
    neighbour = one / "data" / "fra_Latn" / "crawl-2.jsonl-00000.parquet"
    assert neighbour.is_file()
    (one / "work" / "done" / "crawl.jsonl.json").unlink()
    (one / "stats.json").unlink()
    check_accounting(one, run(inputs, one, workers=1))
    assert output_bytes(one) == output_bytes(two)


# 2 and 3. Unit names unique by construction; ids and sources unique within a run.


def test_unit_names_are_unique_safe_and_reversible() -> None:
    sources_ = [
        "x.jsonl",
        "x.jsonl.gz",
        "x_1.jsonl",
        "a/x.jsonl",
        "a+x.jsonl",
        "a~2bx.jsonl",
        ".x.jsonl",
        "~2ex.jsonl",
        "dé jà/ü.jsonl",
        "a/b/c.parquet",
        "a+b/c.parquet",
    ]
    names = [unit_name(s) for s in sources_]
    assert len(set(names)) == len(names)
    assert unit_name("a/x.jsonl") == "a+x.jsonl" and unit_name(".x.jsonl") == "~2ex.jsonl"
    for name in names:
        assert not name.startswith(".") and "/" not in name
        assert set(name) <= set(string.ascii_letters + string.digits + "._-+~")


def test_same_file_names_in_folders_keep_all_documents_with_unique_ids(tmp_path: Path) -> None:
    texts = {
        "a/x.jsonl": write_docs(tmp_path / "in" / "a" / "x.jsonl", 0, 8),
        "b/x.jsonl": write_docs(tmp_path / "in" / "b" / "x.jsonl", 50, 8),
        "c/x_1.jsonl": write_docs(tmp_path / "in" / "c" / "x_1.jsonl", 100, 8),
        "x.jsonl": write_docs(tmp_path / "in" / "x.jsonl", 150, 8),
        "x.jsonl.gz": [],
    }
    import gzip

    gz = tmp_path / "in" / "x.jsonl.gz"
    gz.write_bytes(gzip.compress((tmp_path / "in" / "a" / "x.jsonl").read_bytes(), mtime=0))
    texts["x.jsonl.gz"] = texts["a/x.jsonl"]
    out = tmp_path / "out"
    summary = run([tmp_path / "in"], out, workers=2)
    kept, ledger = check_accounting(out, summary)
    assert sources(kept, ledger) == {source: 8 + DAMAGED_LINES for source in texts}
    expected = {f"{s}/{n + 1}": t for s, docs in texts.items() for n, t in enumerate(docs)}
    assert_texts(kept, expected, at_least=5)
    units = sorted(p.name for p in (out / "work" / "done").iterdir())
    assert units == sorted(
        ["a+x.jsonl.json", "b+x.jsonl.json", "c+x_1.jsonl.json", "x.jsonl.json", "x.jsonl.gz.json"]
    )


def test_single_input_keeps_its_bare_file_name_in_ids(tmp_path: Path) -> None:
    texts = write_docs(tmp_path / "deep" / "folder" / "train.jsonl", 0, 6)
    out = tmp_path / "out"
    kept, ledger = check_accounting(out, run([tmp_path / "deep" / "folder" / "train.jsonl"], out))
    assert set(sources(kept, ledger)) == {"train.jsonl"}
    assert_texts(kept, {f"train.jsonl/{n + 1}": t for n, t in enumerate(texts)})


# 4. The output lock.


def test_second_run_on_a_locked_output_is_refused(tmp_path: Path) -> None:
    write_docs(tmp_path / "in" / "a.jsonl", 0, 4)
    out = tmp_path / "out"
    out.mkdir()
    owner = {"host": socket.gethostname(), "pid": os.getpid(), "started": "2026-12-02T01:00:00Z"}
    (out / LOCK_NAME).write_text(json.dumps(owner))
    refused = cli("run", "base", "-i", str(tmp_path / "in"), "-o", str(out))
    line = error_line(refused)
    assert f"pid {os.getpid()}" in line and "in use by another curate run" in line
    assert not (out / "work").exists()
    other = {**owner, "host": "another-node"}
    (out / LOCK_NAME).write_text(json.dumps(other))
    assert "on another-node" in error_line(
        cli("run", "base", "-i", str(tmp_path / "in"), "-o", str(out))
    )


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path: Path, fast_recipe: Path) -> None:
    write_docs(tmp_path / "in" / "a.jsonl", 0, 4)
    out = tmp_path / "out"
    out.mkdir()
    gone = subprocess.Popen(["true"])  # a pid surely not running any more
    gone.wait()
    owner = {"host": socket.gethostname(), "pid": gone.pid, "started": "2026-12-02T01:00:00Z"}
    (out / LOCK_NAME).write_text(json.dumps(owner))
    done = cli("run", str(fast_recipe), "-i", str(tmp_path / "in"), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "taking over the lock" in done.stderr
    assert not (out / LOCK_NAME).exists()


def test_two_runs_at_once_one_is_refused(tmp_path: Path) -> None:
    for n in range(4):
        write_docs(tmp_path / "in" / f"part-{n}.jsonl", n * 100, 60)
    out = tmp_path / "out"
    args = ["run", "base", "-i", str(tmp_path / "in"), "-o", str(out)]
    first = subprocess.Popen(
        [sys.executable, "-m", "curate.cli", *args, "--workers", "1"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while not (out / "work" / "run.json").exists() and time.time() < deadline:
        time.sleep(0.05)
    second = cli(*args)
    assert "in use by another curate run" in error_line(second)
    assert first.wait(timeout=300) == 0
    docs_read = json.loads((out / "stats.json").read_text())["totals"]["docs_read"]
    assert docs_read == 4 * (60 + DAMAGED_LINES)


# 5 and 10. SIGINT / SIGTERM, then inspect and resume.


def start(recipe_file: Path, inputs: Path, out: Path, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "curate.cli", "run", str(recipe_file), "-i", str(inputs)]
    return subprocess.Popen(
        [*command, "-o", str(out), "--workers", "2", *extra],
        cwd=REPO,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_units(out: Path, count: int, process: subprocess.Popen) -> None:
    deadline = time.time() + 240
    while len(list((out / "work" / "done").glob("*.json"))) < count:
        assert process.poll() is None and time.time() < deadline, "the run ended too early"
        time.sleep(0.02)


def group_gone(pgid: int, seconds: float = 10.0) -> bool:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


@pytest.fixture(scope="module")
def many_inputs(tmp_path_factory: pytest.TempPathFactory, fast_recipe: Path) -> tuple[Path, Path]:
    """Ten inputs of 200 documents, and the output of an uninterrupted run over them."""
    root = tmp_path_factory.mktemp("signals")
    for n in range(10):
        write_docs(root / "in" / f"part-{n:02d}.jsonl", n * 200, 200)
    reference = root / "reference"
    finished = start(fast_recipe, root / "in", reference)
    assert finished.wait(timeout=600) == 0, finished.communicate()[1]
    return root / "in", reference


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "whole_group", "status"),
    [(signal.SIGINT, True, 130), (signal.SIGTERM, False, 143)],
    ids=["ctrl-c", "sigterm"],
)
def test_signal_stops_workers_then_resume_equals_uninterrupted(
    many_inputs: tuple[Path, Path],
    fast_recipe: Path,
    tmp_path: Path,
    signum: int,
    whole_group: bool,
    status: int,
) -> None:
    inputs, reference = many_inputs
    out = tmp_path / "out"
    victim = start(fast_recipe, inputs, out)
    wait_for_units(out, 1, victim)
    if whole_group:  # a terminal's Ctrl-C reaches every process of the foreground group
        os.killpg(victim.pid, signum)
    else:
        victim.send_signal(signum)
    _, stderr = victim.communicate(timeout=60)
    assert victim.returncode == status, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    assert group_gone(victim.pid), "a worker outlived the run"
    done = len(list((out / "work" / "done").glob("*.json")))
    assert 1 <= done < 10
    assert f"interrupted: {done} of 10 inputs done; run the same command to resume" in stderr
    assert not list(out.rglob("*.tmp")) and not (out / LOCK_NAME).exists()
    assert not (out / "stats.json").exists()
    shown = cli("inspect", str(out))
    assert f"incomplete run: {done} of 10 inputs done" in error_line(shown)
    resumed = start(fast_recipe, inputs, out)
    assert resumed.wait(timeout=600) == 0
    assert output_bytes(out) == output_bytes(reference)


# 6. --force clears the previous run first.


def test_force_clears_previous_run_before_anything_else(
    many_inputs: tuple[Path, Path], fast_recipe: Path, tmp_path: Path
) -> None:
    inputs, reference = many_inputs
    out = tmp_path / "out"
    for path in sorted(reference.rglob("*")):
        target = out / path.relative_to(reference)
        if path.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    (out / "README.md").write_text("---\nlicense: odc-by\n---\n# the old card\n")
    (out / "assets").mkdir()
    (out / "assets" / "languages.png").write_bytes(b"\x89PNG old")
    (out / "notes.txt").write_text("mine")
    victim = start(fast_recipe, inputs, out, "--force")
    deadline = time.time() + 240
    while (out / "stats.json").exists() or not list((out / "work" / "done").glob("*.json")):
        assert victim.poll() is None and time.time() < deadline, "the run ended too early"
        time.sleep(0.02)
    victim.send_signal(signal.SIGTERM)
    assert victim.wait(timeout=60) == 143
    for name in ("stats.json", "manifest.json", "timing.json", "README.md", "assets"):
        assert not (out / name).exists(), name
    assert (out / "notes.txt").read_text() == "mine"
    done = {p.name.removesuffix(".json") for p in (out / "work" / "done").glob("*.json")}
    with_shards = {p.name.removesuffix("-00000.parquet") for p in out.rglob("*-00000.parquet")}
    assert len(done) < 10 and len(with_shards - done) <= 2  # at most the units in progress


# 7. Run identity: resolved paths, changed inputs, added inputs.


def test_resume_from_another_directory_with_absolute_paths(
    tmp_path: Path, fast_recipe: Path
) -> None:
    write_docs(tmp_path / "in" / "a.jsonl", 0, 6)
    write_docs(tmp_path / "in" / "b.jsonl", 30, 6)
    out = tmp_path / "out"
    first = cli("run", str(fast_recipe), "-i", "in", "-o", "out", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    before = output_bytes(out)
    markers = {p: p.stat().st_mtime_ns for p in (out / "work" / "done").iterdir()}
    again = cli(
        "run",
        str(fast_recipe),
        "-i",
        str(tmp_path / "in" / "b.jsonl"),
        str(tmp_path / "in" / "a.jsonl"),
        "-o",
        str(out),
    )
    assert again.returncode == 0, again.stderr
    assert output_bytes(out) == before
    assert {p: p.stat().st_mtime_ns for p in markers} == markers


def test_changed_input_is_refused_touched_input_is_not(tmp_path: Path) -> None:
    write_docs(tmp_path / "in" / "a.jsonl", 0, 6)
    changed = tmp_path / "in" / "b.jsonl"
    write_docs(changed, 30, 6)
    out = tmp_path / "out"
    run([tmp_path / "in"], out)
    before = output_bytes(out)
    os.utime(changed)  # touched only: same bytes
    check_accounting(out, run([tmp_path / "in"], out))
    assert output_bytes(out) == before
    write_docs(changed, 31, 6)
    with pytest.raises(RunError) as refused:
        run([tmp_path / "in"], out)
    message = str(refused.value)
    assert f"input {changed} changed" in message and "sha256" in message
    assert "a different" not in message


def test_added_inputs_become_new_units_without_redoing_finished_ones(tmp_path: Path) -> None:
    write_docs(tmp_path / "in" / "a.jsonl", 0, 6)
    out, fresh = tmp_path / "out", tmp_path / "fresh"
    run([tmp_path / "in" / "a.jsonl"], out)
    marker = out / "work" / "done" / "a.jsonl.json"
    stamp = marker.stat().st_mtime_ns
    added = write_docs(tmp_path / "in" / "more" / "b.jsonl", 30, 6)
    summary = run([tmp_path / "in"], out)
    kept, ledger = check_accounting(out, summary)
    assert marker.stat().st_mtime_ns == stamp
    assert sources(kept, ledger) == {"a.jsonl": 8, "more/b.jsonl": 8}
    assert_texts(kept, {f"more/b.jsonl/{n + 1}": t for n, t in enumerate(added)})
    run([tmp_path / "in"], fresh)
    assert output_bytes(out) == output_bytes(fresh)
    with pytest.raises(RunError, match="not among the inputs given"):
        run([tmp_path / "in" / "a.jsonl"], out)


def test_adding_inputs_after_dedup_ran_is_refused(tmp_path: Path) -> None:
    write_docs(tmp_path / "in" / "a.jsonl", 0, 6)
    out = tmp_path / "out"
    Run(recipe("base"), [tmp_path / "in" / "a.jsonl"], out).execute(LocalEngine(1))
    write_docs(tmp_path / "in" / "b.jsonl", 30, 6)
    with pytest.raises(RunError, match=r"cannot add .*b\.jsonl.*dedup already ran"):
        Run(recipe("base"), expand_inputs([str(tmp_path / "in")]), out).execute(LocalEngine(1))


# 8. Input expansion: the output, hidden files and unknown formats.


def test_output_inside_input_hidden_and_unknown_files(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    texts = write_docs(data / "a.jsonl", 0, 6)
    write_docs(data / ".hidden.jsonl", 30, 6)
    write_docs(data / ".cache" / "b.jsonl", 60, 6)
    for name in ("notes.txt", "table.csv", "page.html", "x.pdf", "y.doc", "z.md"):
        (data / name).write_text("not an input")
    out = data / "out"
    with caplog.at_level(logging.WARNING):
        first = run(expand_inputs([str(data)], exclude=out), out)
    assert "skipped 6 files of unknown format: notes.txt" in caplog.text
    again = run(expand_inputs([str(data)], exclude=out), out)
    assert first == again
    kept, ledger = check_accounting(out, again)
    assert set(sources(kept, ledger)) == {"a.jsonl"} and again["totals"]["docs_read"] == 8
    assert_texts(kept, {f"a.jsonl/{n + 1}": t for n, t in enumerate(texts)})


# 9. A full disk or a read-only output.


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Path:
    mount = tmp_path / "disk"
    mount.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=32k", "tmpfs", str(mount)],  # noqa: S607
        capture_output=True,
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)  # noqa: S607


def test_disk_full_is_one_line_and_leaves_no_temporaries(
    tmp_path: Path, tiny_disk: Path, fast_recipe: Path
) -> None:
    write_docs(tmp_path / "in" / "big.jsonl", 0, 1500)
    out = tiny_disk / "out"
    failed = cli("run", str(fast_recipe), "-i", str(tmp_path / "in"), "-o", str(out))
    line = error_line(failed)
    assert "cannot write" in line and "No space left on device" in line
    assert not list(out.rglob("*.tmp")) and not (out / LOCK_NAME).exists()


def test_read_only_output_is_one_line(tmp_path: Path, tiny_disk: Path) -> None:
    write_docs(tmp_path / "in" / "a.jsonl", 0, 4)
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_disk)], check=True)  # noqa: S607
    failed = cli("run", "base", "-i", str(tmp_path / "in"), "-o", str(tiny_disk))
    line = error_line(failed)
    assert str(tiny_disk) in line and "Read-only file system" in line


# 11. --workers.


@pytest.mark.parametrize("workers", ["0", "-3"])
def test_workers_below_one_are_refused(tmp_path: Path, workers: str) -> None:
    write_docs(tmp_path / "in" / "a.jsonl", 0, 2)
    args = ["-i", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--workers", workers]
    line = error_line(cli("run", "base", *args))
    assert f"--workers must be 1 or more, not {workers}" in line
    assert not (tmp_path / "out").exists()
