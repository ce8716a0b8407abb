"""A corpus of hostile inputs, built on the fly: every kind of damage real crawls contain."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from curate.testing.warc_writer import HttpResponse, http_block, warc_record, write_warc_gz

FRENCH = "Le château médiéval où l'été dernier des élèves ont étudié l'économie régionale. " * 8
POLISH = "Żółta łódź płynęła po jeziorze, a dzieci śpiewały piosenki o słońcu i wietrze. " * 8
RUSSIAN = "Вчера вечером в городской библиотеке прошла встреча с известным писателем. " * 8


def page(text: str, charset_meta: str = "") -> str:
    return (
        f"<html><head>{charset_meta}<title>t</title></head><body><article><p>{text}</p>"
        f"<p>{text}</p></article></body></html>"
    )


def _ok(url: str, body: bytes, content_type: str | None = "text/html") -> bytes:
    return warc_record(HttpResponse(url, body, content_type))


def _warc_files(root: Path) -> None:
    good = [_ok(f"https://ok.eu/{i}", page(FRENCH).encode()) for i in range(3)]
    truncated = b"".join(gzip.compress(r, mtime=0) for r in good)
    (root / "truncated.warc.gz").write_bytes(truncated[: len(truncated) - 300])
    (root / "garbage-after.warc.gz").write_bytes(truncated + b"\x00\xffNOT GZIP AT ALL" * 50)
    long_block = http_block(HttpResponse("https://len.eu/long", page(FRENCH).encode()))
    wrong_length = warc_record(HttpResponse("https://len.eu/long", b""), long_block).replace(
        f"Content-Length: {len(long_block)}".encode(),
        f"Content-Length: {len(long_block) * 3}".encode(),
    )
    (root / "wrong-length.warc").write_bytes(good[0] + wrong_length + good[1])
    no_headers = (
        good[2]
        .replace(b"WARC-Target-URI: https://ok.eu/2\r\n", b"")
        .replace(b"WARC-Date: 2024-05-01T12:00:00Z\r\n", b"")
    )
    write_warc_gz(root / "missing-headers.warc.gz", [no_headers])
    write_warc_gz(
        root / "bodies.warc.gz",
        [
            _ok("https://b.eu/pdf", b"%PDF-1.5\n" + bytes(range(256)) * 20, "application/pdf"),
            _ok("https://b.eu/img", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20, "image/png"),
            _ok("https://b.eu/pdf-as-html", b"%PDF-1.5\n" + bytes(range(256)) * 20),
            _ok("https://b.eu/cp1252", page(FRENCH).encode("cp1252"), "text/html"),
            _ok("https://b.eu/latin2", page(POLISH).encode("iso-8859-2"), "text/html"),
            _ok("https://b.eu/cp1251", page(RUSSIAN).encode("windows-1251"), "text/html"),
            _ok("https://b.eu/nul", page(FRENCH).replace("é", "é\x00").encode(), "text/html"),
            _ok("https://b.eu/nested", (b"<div>" * 20000) + FRENCH.encode() + b"</div>" * 20000),
            _ok("https://b.eu/giant", page(FRENCH * 800).encode() * 10),
            _ok("https://b.eu/empty", b""),
        ],
    )
    (root / "empty.warc.gz").write_bytes(b"")
    (root / "not-gzip.warc.gz").write_bytes(b"this is not a gzip file at all\n" * 10)


def _table_files(root: Path) -> None:
    lines = [
        json.dumps({"id": "j1", "text": FRENCH}).encode(),
        b'{"id": "j2", "text": "caf\xe9 \xff\xfe invalid utf-8"}',
        b'{"id": "j3", "text": "unterminated',
        json.dumps({"id": "j4", "text": FRENCH + "\u0000 with a NUL"}).encode(),
        json.dumps({"id": "j5", "text": 42}).encode(),
        json.dumps(["not", "an", "object"]).encode(),
    ]
    (root / "hostile.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    pq.write_table(pa.table({"id": ["p1", "p2"], "text": [1, 2]}), root / "wrong-type.parquet")
    (root / "corrupt.parquet").write_bytes(b"PAR1 not really parquet PAR1")


def build_hostile_corpus(root: Path) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    _warc_files(root)
    _table_files(root)
    return sorted(p for p in root.iterdir() if p.is_file())
