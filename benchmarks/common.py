"""Helpers shared by benchmark scripts: real input corpora and table printing."""

from __future__ import annotations

import os
from pathlib import Path

from curate.testing.warc_writer import HttpResponse, warc_record, write_warc_gz

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CURATE_SHARED_DATA", REPO.parent / "shared" / "data"))
if not SHARED_DATA.is_dir():
    SHARED_DATA = Path("/work/shared/data")


def html_eval_pages() -> list[Path]:
    return sorted((SHARED_DATA / "html-eval" / "pages").glob("*.html"))


def build_warcs(target: Path, files: int, copies: int) -> list[Path]:
    """WARC files made of the real html-eval pages, ``copies`` times each, over ``files`` files."""
    records = [
        warc_record(HttpResponse(f"https://bench.example/{copy}/{page.name}", page.read_bytes()))
        for copy in range(copies)
        for page in html_eval_pages()
    ]
    per_file = -(-len(records) // files)
    return [
        write_warc_gz(target / f"bench-{i:02d}.warc.gz", records[i * per_file : (i + 1) * per_file])
        for i in range(files)
    ]


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc), nearest first."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(0), []):
            found.append(child)
            todo.append(child)
    return found


def print_table(title: str, header: list[str], rows: list[list[object]], digits: int = 1) -> None:
    cells = [header] + [
        [f"{c:,.{digits}f}" if isinstance(c, float) else str(c) for c in r] for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(f"\n{title}")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells[1:]:
        print("| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |")
