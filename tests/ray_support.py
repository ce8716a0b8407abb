"""Inputs, output comparison and process handling for the Ray engine tests."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
from pathlib import Path

from curate.testing.warc_writer import HttpResponse, warc_record, write_warc_gz

from .conftest import RECIPES


def html_eval_warcs(
    shared_data: Path, target: Path, sizes: tuple[int, ...], repeated: int = 0
) -> list[Path]:
    """WARC files of real pages (html-eval), ``sizes[i]`` pages in file ``i``; the last file
    also holds the first ``repeated`` pages of the one before, under other URLs (duplicates)."""
    pages = sorted((shared_data / "html-eval" / "pages").glob("*.html"))
    paths, start = [], 0
    for number, size in enumerate(sizes):
        chosen = pages[start : start + size]
        if number == len(sizes) - 1 and number:
            chosen += pages[start - sizes[-2] : start - sizes[-2] + repeated]
        start += size
        records = [
            warc_record(HttpResponse(f"https://crawl-{number}.example.eu/{p.stem}", p.read_bytes()))
            for p in chosen
        ]
        paths.append(write_warc_gz(target / f"crawl-{number}.warc.gz", records))
    return paths


def small_batch_recipe(target: Path, batch_size: int = 5) -> Path:
    """The base recipe with small batches (every input spans several), rejected documents
    written out too (every output file the pipeline can make)."""
    base = (RECIPES / "base.yaml").resolve()
    target.write_text(
        f"extends: {base}\nname: ray-test\nbatch_size: {batch_size}\n"
        "filters: {write_rejected: true}\n"
    )
    return target


def output_files(out: Path) -> list[Path]:
    return sorted(p.relative_to(out) for p in out.rglob("*.parquet"))


def assert_same_output(expected: Path, actual: Path) -> None:
    """Same shards and ledgers byte for byte, same stats, same per-unit counts."""
    files = output_files(expected)
    assert files and files == output_files(actual)
    for name in files:
        assert (expected / name).read_bytes() == (actual / name).read_bytes(), name
    assert (expected / "stats.json").read_bytes() == (actual / "stats.json").read_bytes()
    for marker in sorted((expected / "work" / "done").glob("*.json")):
        theirs = actual / "work" / "done" / marker.name
        assert _without_seconds(marker) == _without_seconds(theirs)


def _without_seconds(marker: Path) -> dict:
    data = json.loads(marker.read_text())
    data["stats"].pop("seconds")
    return data


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc), nearest first."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(0), []):
            found.append(child)
            todo.append(child)
    return found


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def kill_group(pgid: int) -> None:
    """End a process group this test started (a CLI run or a fake srun step)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
