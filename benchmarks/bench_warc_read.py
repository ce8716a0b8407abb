"""Issue 14: read speed of curate's WARC reader (own framing, resync after damage, decoding
to text) against fastwarc's iterator (framing and HTTP parsing only, no decoding) and
datatrove's WarcReader (fastwarc + decoding to text), on the same files.

Inputs: the 250 real pages of ../shared/data/html-eval as a per-record-gzip WARC.gz, repeated
``--copies`` times; and the real Common Crawl excerpt ``warc/warcfile.warc.gz`` (request,
response and metadata records) concatenated ``--copies`` times.
Run: python benchmarks/bench_warc_read.py [--copies 8] [--repeats 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from common import SHARED_DATA, build_warcs, print_table

from curate.io.warc import read_warc
from curate.recipe import ReadConfig
from curate.stats import RunStats


def curate_read(path: Path) -> int:
    return sum(1 for _ in read_warc(path, ReadConfig(), RunStats()))


def fastwarc_read(path: Path) -> int:
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    count = 0
    with open(path, "rb") as stream:
        for record in ArchiveIterator(stream, record_types=WarcRecordType.response):
            record.reader.read()
            count += 1
    return count


def datatrove_read(path: Path) -> int:
    from datatrove.pipeline.readers import WarcReader

    reader = WarcReader(str(path.parent), glob_pattern=path.name)
    return sum(1 for _ in reader.run(rank=0, world_size=1))


READERS: dict[str, Callable[[Path], int]] = {
    "curate read_warc": curate_read,
    "fastwarc iterator (no decoding)": fastwarc_read,
    "datatrove WarcReader": datatrove_read,
}


def best_seconds(reader: Callable[[Path], int], path: Path, repeats: int) -> tuple[float, int]:
    times, docs = [], 0
    for _ in range(repeats):
        start = time.perf_counter()
        docs = reader(path)
        times.append(time.perf_counter() - start)
    return min(times), docs


def common_crawl_copies(target: Path, copies: int) -> Path:
    path = target / "cc-excerpt.warc.gz"
    path.write_bytes((SHARED_DATA / "warc" / "warcfile.warc.gz").read_bytes() * copies)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3, help="best of N")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        inputs = {
            "html-eval pages": build_warcs(Path(tmp), files=1, copies=args.copies)[0],
            "Common Crawl excerpt": common_crawl_copies(Path(tmp), args.copies),
        }
        for name, path in inputs.items():
            megabytes = path.stat().st_size / 1e6
            results = {r: best_seconds(READERS[r], path, args.repeats) for r in READERS}
            anchor = results["datatrove WarcReader"][0]
            print_table(
                f"{name}: {megabytes:.1f} MB of WARC.gz, one core, best of {args.repeats} "
                "(ratio > 1: faster than datatrove)",
                ["reader", "docs", "seconds", "docs/s", "MB/s", "ratio vs datatrove"],
                [
                    [r, docs, round(s, 3), docs / s, megabytes / s, round(anchor / s, 2)]
                    for r, (s, docs) in results.items()
                ],
            )


if __name__ == "__main__":
    main()
