"""Issue 8: memory is bounded by batch size, not input size.

Builds JSONL inputs of increasing size from the real labelled sentences in ../shared/data/langid,
runs `curate run` on each in a subprocess, samples the RSS of every process of the run every
0.2 s, and prints the peak per size. Flat peaks across sizes mean bounded memory.
Run: python benchmarks/bench_soak.py --gigabytes 0.25 1 5
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import REPO, SHARED_DATA, descendants, print_table

LANGUAGES = ("fr", "de", "it", "es", "pl", "nl", "cs", "sv", "pt", "el")


def build_jsonl(path: Path, gigabytes: float, files: int) -> list[Path]:
    rng = random.Random(0)
    sentences = {
        code: (SHARED_DATA / "langid" / f"{code}.txt").read_text("utf-8").splitlines()
        for code in LANGUAGES
    }
    target = int(gigabytes * 1e9 / files)
    paths = []
    for index in range(files):
        file = path / f"soak-{index}.jsonl"
        written, doc = 0, 0
        with open(file, "w", encoding="utf-8") as stream:
            while written < target:
                code = LANGUAGES[doc % len(LANGUAGES)]
                text = "\n".join(rng.choices(sentences[code], k=30))
                line = json.dumps({"id": f"{index}-{doc}", "text": text}, ensure_ascii=False) + "\n"
                stream.write(line)
                written += len(line.encode())
                doc += 1
        paths.append(file)
    return paths


def rss_kib(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next(
        (int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS")), 0
    )


def tree_rss_kib(root: int) -> dict[int, int]:
    """RSS of ``root`` and all its descendants, per pid."""
    return {pid: rss_kib(pid) for pid in [root, *descendants(root)]}


def run_and_sample(inputs: list[Path], out: Path, workers: int) -> tuple[float, float, float]:
    command = [
        sys.executable,
        "-m",
        "curate.cli",
        "run",
        str(REPO / "curate" / "recipes" / "base.yaml"),
        "--input",
        *map(str, inputs),
        "--output",
        str(out),
        "--workers",
        str(workers),
    ]
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peaks = {"worker": 0, "total": 0}

    def sample() -> None:
        while process.poll() is None:
            tree = tree_rss_kib(process.pid)
            children = [rss for pid, rss in tree.items() if pid != process.pid]
            peaks["worker"] = max([peaks["worker"], *children, tree.get(process.pid, 0)])
            peaks["total"] = max(peaks["total"], sum(tree.values()))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample)
    sampler.start()
    process.wait()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"curate run failed with {process.returncode}")
    return time.perf_counter() - start, peaks["worker"] / 1024, peaks["total"] / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gigabytes", type=float, nargs="+", default=[0.25, 1.0])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    rows = []
    for size in args.gigabytes:
        with tempfile.TemporaryDirectory() as tmp:
            inputs = build_jsonl(Path(tmp), size, files=args.workers)
            docs = sum(p.read_bytes().count(b"\n") for p in inputs)
            wall, worker_peak, total_peak = run_and_sample(inputs, Path(tmp) / "out", args.workers)
            rows.append(
                [f"{size:g} GB", docs, round(wall, 1), size * 1e3 / wall, worker_peak, total_peak]
            )
    print_table(
        f"soak: JSONL through read → langid → write, {args.workers} workers",
        ["input", "docs", "wall s", "MB/s", "peak RSS per process MiB", "peak RSS all MiB"],
        rows,
    )


if __name__ == "__main__":
    main()
