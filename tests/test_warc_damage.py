"""Damaged WARC, ARC and WET inputs: one bad record costs only itself; every record is kept or
dropped with a reason; pages decode in their declared charset, encodings undone.

Inputs are built here from real pages (../shared/data/html-eval, langid sentences) and the
real Common Crawl excerpts in ../shared/data/warc.
"""

from __future__ import annotations

import gzip
import random
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path

import brotli
import polars as pl
import pyarrow as pa
import pytest

from curate.engine.local import LocalEngine
from curate.io.readers import read_batches
from curate.recipe import ReadConfig, RecipeError, load_recipe
from curate.runner import Run
from curate.stats import RunStats
from curate.testing.warc_writer import CRLF, HttpResponse, warc_record, write_warc_gz

from .conftest import RECIPES, SHARED_DATA
from .helpers import without_dedup, without_quality_filters

PAGE_NAMES = (
    "bafa.de-mineraloelabsatz.html",
    "bka.de-messengerdienste.html",
    "alacarte.at-purzelbaum.html",
    "literaturkritik.de-Ann-Cotten.html",
    "jungle.world-Imperialismus-Phantom.html",
    "bsi.de-ki.html",
)
DAMAGED = 2  # the record each damage hits; records after it must come out intact
# UTF-8 read as windows-1252: what a page decoded in the wrong charset shows
MOJIBAKE = ("Ã¤", "Ã¶", "Ã¼", "ÃŸ", "Ã©", "Ã¨", "Ã³", "Ã±", "Å‚", "Å›", "â€", "Ã„", "Ã–", "Ãœ")


def mojibake(text: str) -> int:
    return sum(text.count(sequence) for sequence in MOJIBAKE)


def real_pages() -> list[bytes]:
    return [(SHARED_DATA / "html-eval" / "pages" / name).read_bytes() for name in PAGE_NAMES]


def url(prefix: str, n: int) -> str:
    return f"https://{prefix}.eu/{n}"


def read_rows(path: Path, config: ReadConfig | None = None) -> tuple[list[dict], RunStats]:
    stats = RunStats()
    batches = list(read_batches(path, config or ReadConfig(), 4, stats))
    return (pa.concat_tables(batches).to_pylist() if batches else []), stats


def by_url(rows: list[dict]) -> dict[str | None, dict]:
    return {row["url"]: row for row in rows}


def http_response(body: bytes, *headers: str) -> bytes:
    head = ["HTTP/1.1 200 OK", *headers]
    return CRLF.join(h.encode("latin-1") for h in head) + CRLF + CRLF + body


def page_record(address: str, body: bytes, *headers: str) -> bytes:
    block = http_response(body, "Content-Type: text/html; charset=utf-8", *headers)
    return warc_record(HttpResponse(address, b""), block)


# --- damage: each takes the six record byte strings, returns them damaged (as members) --------


def _set_length(record: bytes, value: str) -> bytes:
    head, blank, rest = record.partition(CRLF + CRLF)
    lines = [
        f"Content-Length: {value}".encode() if line.startswith(b"Content-Length:") else line
        for line in head.split(CRLF)
    ]
    return CRLF.join(lines) + blank + rest


def _declared(record: bytes) -> int:
    return int(record.split(b"Content-Length: ")[1].split(CRLF)[0])


def too_short(records: list[bytes]) -> list[bytes]:
    records[DAMAGED] = _set_length(records[DAMAGED], str(_declared(records[DAMAGED]) - 100))
    return records


def too_long(records: list[bytes]) -> list[bytes]:
    records[DAMAGED] = _set_length(records[DAMAGED], str(_declared(records[DAMAGED]) + 500))
    return records


def far_too_long(records: list[bytes]) -> list[bytes]:
    records[DAMAGED] = _set_length(records[DAMAGED], str(10**12))
    return records


def not_a_number(records: list[bytes]) -> list[bytes]:
    records[DAMAGED] = _set_length(records[DAMAGED], "12x4")
    return records


def negative(records: list[bytes]) -> list[bytes]:
    records[DAMAGED] = _set_length(records[DAMAGED], "-5")
    return records


def huge_header_line(records: list[bytes]) -> list[bytes]:
    records[DAMAGED] = records[DAMAGED].replace(
        b"WARC-Type: response", b"WARC-Type: response\r\nWARC-Padding: " + b"x" * 300_000, 1
    )
    return records


def garbage_between(records: list[bytes]) -> list[bytes]:
    """Bytes that start no record after the damaged one (in a .gz, a gzip member of them)."""
    records.insert(DAMAGED + 1, b"\x00\xffnot a record at all\r\n" * 40)
    return records


Damage = Callable[[list[bytes]], list[bytes]]
# damage -> reason of the damaged record (None: it is intact) and whether a garbage row is added
DAMAGES: dict[str, tuple[Damage, str | None, bool]] = {
    "too_short": (too_short, "corrupt_record", False),
    "too_long": (too_long, "corrupt_record", False),
    "far_too_long": (far_too_long, "corrupt_record", False),
    "not_a_number": (not_a_number, "corrupt_record", False),
    "negative": (negative, "corrupt_record", False),
    "huge_header_line": (huge_header_line, "corrupt_record", False),
    "garbage_between": (garbage_between, None, True),
}


def damaged_file(target: Path, damage: str, packing: str, pages: list[bytes]) -> Path:
    """``packing``: gz (a gzip member per record, as Common Crawl), whole-gz (one member for
    the file, as ``gzip x.warc`` makes) or plain."""
    prefix = f"{damage}-{packing}"
    records = [page_record(url(prefix, n), page) for n, page in enumerate(pages)]
    records = DAMAGES[damage][0](records)
    path = target / f"{prefix}.warc{'' if packing == 'plain' else '.gz'}"
    if packing == "gz":
        return write_warc_gz(path, records)
    data = b"".join(records)
    path.write_bytes(gzip.compress(data, mtime=0) if packing == "whole-gz" else data)
    return path


@pytest.mark.parametrize("packing", ["gz", "whole-gz", "plain"])
@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_one_bad_record_costs_only_itself(tmp_path: Path, damage: str, packing: str) -> None:
    pages = real_pages()
    path = damaged_file(tmp_path, damage, packing, pages)
    rows, stats = read_rows(path)
    _, reason, garbage = DAMAGES[damage]
    prefix = path.name.split(".")[0]
    expected = {url(prefix, n): None for n in range(len(pages))}
    expected[url(prefix, DAMAGED)] = reason
    if garbage:
        expected[None] = "corrupt_record"
    got = {row["url"]: row["drop_reason"] for row in rows}
    if damage == "huge_header_line":  # the header is unreadable: the URL is not known
        expected[None] = expected.pop(url(prefix, DAMAGED))
    assert got == expected and len(rows) == len(expected)
    assert stats.input_errors == {}
    rows_by_url = by_url(rows)
    for n in range(DAMAGED + 1, len(pages)):
        assert rows_by_url[url(prefix, n)]["html"] == pages[n].decode("utf-8")


def test_damaged_gzip_member_and_http_head_over_32k(tmp_path: Path) -> None:
    pages = real_pages()
    cookie = "Set-Cookie: session=" + "c" * 40_000
    records = [page_record(url("member", n), page, cookie) for n, page in enumerate(pages)]
    members = [gzip.compress(record, mtime=0) for record in records]
    middle = len(members[DAMAGED]) // 2
    members[DAMAGED] = members[DAMAGED][:middle] + b"\xff" * 64 + members[DAMAGED][middle + 64 :]
    path = tmp_path / "member.warc.gz"
    path.write_bytes(b"".join(members))
    rows, _ = read_rows(path)
    reasons = {row["url"]: row["drop_reason"] for row in rows}
    # nothing of the damaged member is read (its URL neither): it is counted by position
    expected = {url("member", n): None for n in range(6) if n != DAMAGED}
    assert reasons == expected | {None: "corrupt_record"}
    assert by_url(rows)[None]["id"].startswith("member.warc.gz/")
    assert by_url(rows)[url("member", 5)]["html"] == pages[5].decode("utf-8")


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "plain"])
def test_truncated_last_record(tmp_path: Path, gz: bool) -> None:
    pages = real_pages()
    records = [page_record(url("cut", n), page) for n, page in enumerate(pages)]
    data = b"".join(gzip.compress(r, mtime=0) for r in records) if gz else b"".join(records)
    path = tmp_path / f"cut.warc{'.gz' if gz else ''}"
    path.write_bytes(data[: len(data) - 2000])
    rows, stats = read_rows(path)
    reasons = {row["url"]: row["drop_reason"] for row in rows}
    assert reasons == {url("cut", n): None for n in range(5)} | {url("cut", 5): "truncated_record"}
    assert stats.input_errors == {}


def test_real_clipped_warc_alone_and_followed_by_a_whole_one(tmp_path: Path) -> None:
    clipped = (SHARED_DATA / "warc" / "clipped.warc.gz").read_bytes()
    whole_path = SHARED_DATA / "warc" / "warcfile.warc.gz"
    rows, _ = read_rows(SHARED_DATA / "warc" / "clipped.warc.gz")
    assert [r["drop_reason"] for r in rows] == ["truncated_record"]
    assert rows[0]["url"].startswith("http://www.houstonpress.com/music/")
    # the clipped member's inflater runs into the next file's first member before failing
    joined = tmp_path / "joined.warc.gz"
    joined.write_bytes(clipped + whole_path.read_bytes())
    rows, _ = read_rows(joined)
    whole, _ = read_rows(whole_path)
    assert [r["drop_reason"] for r in rows] == ["corrupt_record"] + [None] * 16
    assert [{**r, "source": None} for r in rows[1:]] == [{**r, "source": None} for r in whole]


def test_unreadable_file_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "noise.warc.gz"
    path.write_bytes(b"this is no archive\n" * 100)
    rows, stats = read_rows(path)
    assert rows == [] and stats.input_errors == {"corrupt_warc": 1}


def test_records_of_other_types_and_protocols(tmp_path: Path) -> None:
    """Request, metadata and revisit records are no documents; a dns: response is one that
    is dropped; a record without URI or date is still read."""
    page = real_pages()[0]
    dns = warc_record(
        HttpResponse("dns:example.eu", b""), b"20240501120000\nexample.eu. 60 IN A 192.0.2.1"
    )
    dns = dns.replace(b"application/http; msgtype=response", b"text/dns")
    request = page_record(url("types", 1), b"").replace(
        b"WARC-Type: response", b"WARC-Type: request"
    )
    revisit = page_record(url("types", 2), b"").replace(
        b"WARC-Type: response", b"WARC-Type: revisit"
    )
    bare = page_record(url("types", 3), page)
    bare = bare.replace(f"WARC-Target-URI: {url('types', 3)}\r\n".encode(), b"")
    bare = bare.replace(b"WARC-Date: 2024-05-01T12:00:00Z\r\n", b"")
    rows, _ = read_rows(write_warc_gz(tmp_path / "types.warc.gz", [dns, request, revisit, bare]))
    assert [(r["url"], r["date"], r["drop_reason"]) for r in rows] == [
        ("dns:example.eu", "2024-05-01T12:00:00Z", "non_http_record"),
        (None, None, None),
    ]
    assert rows[1]["html"] == page.decode("utf-8")


# --- charsets -------------------------------------------------------------------------------


def test_declared_utf8_with_a_stray_byte_is_read_as_utf8(tmp_path: Path) -> None:
    """Every real UTF-8 page, declared so, with one stray byte: one replacement character,
    no mojibake (a fallback to cp1252 for the whole page gave ``grÃ¶ÃŸten``)."""
    records, expected = [], {}
    pages = sorted((SHARED_DATA / "html-eval" / "pages").glob("*.html"))
    for n, page in enumerate(pages):
        body = page.read_bytes()
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            continue  # the five legacy pages: test_legacy_pages_by_meta_charset
        cut = body.index(b">", body.lower().index(b"<body")) + 1
        records.append(page_record(url("stray", n), body[:cut] + b"\xff" + body[cut:]))
        position = len(body[:cut].decode("utf-8"))
        expected[url("stray", n)] = text[:position] + "\ufffd" + text[position:]
    path = write_warc_gz(tmp_path / "stray.warc.gz", records)
    rows, _ = read_rows(path)
    assert len(rows) == len(expected) == 245
    for row in rows:
        assert row["html"].replace("\x00", "") == expected[row["url"]].replace("\x00", "")
        assert mojibake(row["html"]) == mojibake(expected[row["url"]])  # 0 but on 3 pages
    assert sum(mojibake(row["html"]) == 0 for row in rows) == 242


def test_real_crawls_decode_without_mojibake(warc_files: list[Path]) -> None:
    for path in warc_files:
        rows, _ = read_rows(path)
        assert all(mojibake(row["html"] or "") == 0 for row in rows), path.name
    clueweb, _ = read_rows(SHARED_DATA / "warc" / "clueweb-quirk.warc.gz")
    # ClueWeb keeps "Content-Encoding: gzip" over a decoded body, and ends HTTP heads in LF
    assert clueweb[0]["html"].startswith("<html>\n<head>\n<title>ブラウニー ブリーフケース")


def test_legacy_pages_by_meta_charset(tmp_path: Path) -> None:
    """Real pages in gb2312, windows-1252 and ISO-8859-1 declared only in ``<meta>``."""
    names = {
        "archive.org.he.xinhuanet.com.25340717.html": "gb18030",
        "automobilwoche.de-VW-Betriebsversammlung.html": "cp1252",
        "next2games.de.anno.html": "cp1252",
        "nnz-online.de-Quantensprung.html": "cp1252",
    }
    pages = {name: (SHARED_DATA / "html-eval" / "pages" / name).read_bytes() for name in names}
    records = [
        warc_record(HttpResponse(url("meta", n), body, "text/html"))
        for n, body in enumerate(pages.values())
    ]
    rows, _ = read_rows(write_warc_gz(tmp_path / "meta.warc.gz", records))
    for n, (name, codec) in enumerate(names.items()):
        html = by_url(rows)[url("meta", n)]["html"]
        assert html == pages[name].decode(codec), name
        assert "\ufffd" not in html and mojibake(html) == 0


def sentences(code: str, count: int = 12) -> str:
    lines = (SHARED_DATA / "langid" / f"{code}.txt").read_text("utf-8").splitlines()
    return " ".join(lines[:count])


LABELS = [
    # (declared label, the text's language, how it is encoded, how it must be read)
    ("utf8mb4", "de", "utf-8"),
    ("windows-31j", "ja", "cp932"),
    ("iso-8859-8-i", "he", "iso-8859-8"),
    ("x-user-defined", "pl", "utf-8"),
    ("none", "fr", "utf-8"),
    ("", "cs", "utf-8"),
    ("undefined", "de", "utf-8"),
    ("unicode-escape", "de", "utf-8"),
    ("zlib", "de", "utf-8"),
    ("no-such-charset-at-all", "ru", "utf-8"),
    ('"UTF-8"', "el", "utf-8"),
    ("iso-8859-1", "fr", "utf-8"),  # a stale label on a UTF-8 page
    ("ks_c_5601-1987", "ko", "cp949"),
    ("windows-1251", "ru", "cp1251"),
]


def test_charset_labels_never_raise(tmp_path: Path) -> None:
    records, expected = [], {}
    for n, (label, code, codec) in enumerate(LABELS):
        text = f"<html><body><p>{sentences(code)}</p></body></html>"
        text = text.encode(codec).decode(codec)  # cp932 reads 〜 (U+301C) back as ～ (U+FF5E)
        records.append(
            warc_record(
                HttpResponse(url("label", n), text.encode(codec), f"text/html; charset={label}")
            )
        )
        expected[url("label", n)] = text
    rows, stats = read_rows(write_warc_gz(tmp_path / "labels.warc.gz", records))
    assert {row["url"]: row["html"] for row in rows} == expected
    assert stats.input_errors == {}


def test_latin1_label_reads_windows_1252_as_browsers_do(tmp_path: Path) -> None:
    text = "<p>„Anführungszeichen“ – 20 € pro Stück</p>"
    record = warc_record(
        HttpResponse(url("latin", 0), text.encode("cp1252"), "text/html; charset=ISO-8859-1")
    )
    rows, _ = read_rows(write_warc_gz(tmp_path / "latin.warc.gz", [record]))
    assert rows[0]["html"] == text


# --- transfer and content encodings -----------------------------------------------------------


def chunked(body: bytes, size: int = 1000) -> bytes:
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


def raw_deflate(body: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-15)
    return compressor.compress(body) + compressor.flush()


ENCODED: dict[str, tuple[Callable[[bytes], bytes], tuple[str, ...]]] = {
    "chunked": (chunked, ("Transfer-Encoding: chunked",)),
    "gzip": (lambda b: gzip.compress(b, mtime=0), ("Content-Encoding: gzip",)),
    "chunked-gzip": (
        lambda b: chunked(gzip.compress(b, mtime=0)),
        ("Transfer-Encoding: chunked", "Content-Encoding: gzip"),
    ),
    "deflate-zlib": (zlib.compress, ("Content-Encoding: deflate",)),
    "deflate-raw": (raw_deflate, ("Content-Encoding: deflate",)),
    "br": (brotli.compress, ("Content-Encoding: br",)),
    "gzip-then-br": (
        lambda b: brotli.compress(gzip.compress(b, mtime=0)),
        ("Content-Encoding: gzip, br",),
    ),
    # Common Crawl: decoded body stored, the original headers renamed; nothing to undo
    "common-crawl": (
        lambda b: b,
        ("X-Crawler-Transfer-Encoding: chunked", "X-Crawler-Content-Encoding: gzip"),
    ),
    # a server (or ClueWeb) that declares gzip over a plain body
    "gzip-declared-plain": (lambda b: b, ("Content-Encoding: gzip",)),
}


def test_transfer_and_content_encodings_are_undone(tmp_path: Path) -> None:
    page = real_pages()[0]
    records = [
        page_record(url("enc", n), encode(page), *headers)
        for n, (encode, headers) in enumerate(ENCODED.values())
    ]
    rows, _ = read_rows(write_warc_gz(tmp_path / "encodings.warc.gz", records))
    htmls = {row["url"]: row["html"] for row in rows}
    assert htmls == {url("enc", n): page.decode("utf-8") for n in range(len(ENCODED))}


def test_compressed_bomb_is_too_large_in_bounded_memory(tmp_path: Path) -> None:
    bomb = gzip.compress(b"<p>" + b" " * 50_000_000, mtime=0)
    record = page_record(url("bomb", 0), bomb, "Content-Encoding: gzip")
    config = ReadConfig(max_document_bytes=1_000_000)
    rows, _ = read_rows(write_warc_gz(tmp_path / "bomb.warc.gz", [record]), config)
    assert [row["drop_reason"] for row in rows] == ["too_large"]


def test_max_document_bytes_is_bounded(tmp_path: Path) -> None:
    for value in (10**12, 2**64, 2**64 + 5):
        path = tmp_path / "huge.yaml"
        path.write_text(f"extends: {RECIPES / 'base.yaml'}\nread:\n  max_document_bytes: {value}\n")
        with pytest.raises(RecipeError, match=r"read\.max_document_bytes: must be <= 1073741824"):
            load_recipe(path)


# --- ARC and WET ------------------------------------------------------------------------------


def arc_record(address: str, block: bytes, stamp: str = "20240501120000") -> bytes:
    return f"{address} 192.0.2.7 {stamp} text/html {len(block)}\n".encode() + block + b"\n"


def arc_file(pages: list[bytes]) -> list[bytes]:
    """An ARC v1 file: its ``filedesc`` version block, then one record per page."""
    version = b"1 0 curate-tests\nURL IP-address Archive-date Content-type Archive-length\n"
    desc = f"filedesc://test.arc 0.0.0.0 20240501120000 text/plain {len(version)}\n".encode()
    records = [desc + version + b"\n"]
    for n, page in enumerate(pages):
        block = http_response(page, "Content-Type: text/html; charset=utf-8")
        records.append(arc_record(url("arc", n), block))
    return records


@pytest.mark.parametrize("gz", [True, False], ids=["arc.gz", "arc"])
def test_arc_files_are_read(tmp_path: Path, gz: bool) -> None:
    pages = real_pages()
    records = arc_file(pages)
    records[3] = records[3].replace(b" text/html ", b" text/html 9", 1)  # length too long
    path = tmp_path / f"test.arc{'.gz' if gz else ''}"
    data = b"".join(gzip.compress(r, mtime=0) for r in records) if gz else b"".join(records)
    path.write_bytes(data)
    rows, stats = read_rows(path)
    assert {row["url"]: row["drop_reason"] for row in rows} == {
        url("arc", n): "corrupt_record" if n == DAMAGED else None for n in range(6)
    }
    assert len({row["id"] for row in rows}) == 6 and stats.input_errors == {}
    assert by_url(rows)[url("arc", 4)]["html"] == pages[4].decode("utf-8")
    assert rows[0]["date"] == "2024-05-01T12:00:00Z"


def wet_record(address: str, text: str) -> bytes:
    body = text.encode("utf-8")
    record_id = uuid.uuid5(uuid.NAMESPACE_URL, "wet:" + address)
    head = [
        "WARC/1.0",
        "WARC-Type: conversion",
        f"WARC-Target-URI: {address}",
        "WARC-Date: 2024-05-01T12:00:00Z",
        f"WARC-Record-ID: <urn:uuid:{record_id}>",
        "Content-Type: text/plain",
        f"Content-Length: {len(body)}",
    ]
    return CRLF.join(h.encode() for h in head) + CRLF + CRLF + body + CRLF + CRLF


def wet_texts() -> dict[str, str]:
    codes = ("de", "pl", "fr", "it")
    return {
        url("wet", n): "\n".join(sentences(code, 20).split(". ")) for n, code in enumerate(codes)
    }


def write_wet(path: Path) -> Path:
    info = b"WARC/1.0\r\nWARC-Type: warcinfo\r\nContent-Type: application/warc-fields\r\n"
    info += b"Content-Length: 18\r\n\r\nsoftware: curate\r\n\r\n\r\n"
    records = [info] + [wet_record(u, t) for u, t in wet_texts().items()]
    return write_warc_gz(path, records)


@pytest.mark.parametrize("name", ["crawl.warc.wet.gz", "named-like-warc.warc.gz"])
def test_wet_files_keep_their_text(tmp_path: Path, name: str) -> None:
    rows, _ = read_rows(write_wet(tmp_path / name))
    assert {row["url"]: row["text"] for row in rows} == wet_texts()
    assert all(row["html"] is None and row["drop_reason"] is None for row in rows)


# --- a whole run over damaged inputs ----------------------------------------------------------


def test_run_over_damaged_archives_accounts_for_every_record(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    pages = real_pages()
    write_warc_gz(
        inputs / "clean.warc.gz", [page_record(url("clean", n), p) for n, p in enumerate(pages)]
    )
    for damage in ("too_short", "too_long", "garbage_between", "far_too_long"):
        damaged_file(inputs, damage, "plain" if damage == "too_long" else "gz", pages)
    (inputs / "test.arc.gz").write_bytes(
        b"".join(gzip.compress(r, mtime=0) for r in arc_file(pages))
    )
    write_wet(inputs / "crawl.warc.wet.gz")
    expected_reasons: dict[str | None, str] = {}
    read_total = 0
    for path in sorted(inputs.iterdir()):
        rows, _ = read_rows(path)
        read_total += len(rows)
        for row in rows:
            if row["drop_reason"]:
                expected_reasons[row["url"] or row["id"]] = row["drop_reason"]
    recipe = without_dedup(without_quality_filters(load_recipe(RECIPES / "base.yaml")))
    out = tmp_path / "out"
    summary, _ = Run(recipe, sorted(inputs.iterdir()), out).execute(LocalEngine(1))
    totals = summary["totals"]
    assert totals["docs_read"] == read_total == totals["docs_kept"] + totals["docs_dropped"]
    kept = pl.read_parquet(sorted((out / "data").glob("*/*.parquet")))
    ledger = pl.read_parquet(sorted((out / "dropped").glob("*.parquet")))
    assert (kept.height, ledger.height) == (totals["docs_kept"], totals["docs_dropped"])
    read_drops = ledger.filter(pl.col("stage") == "read")
    assert (
        dict(zip(read_drops["url"].fill_null(read_drops["id"]), read_drops["reason"], strict=True))
        == expected_reasons
    )
    assert sorted(read_drops["reason"]) == ["corrupt_record"] * 4
    texts = dict(zip(kept["url"], kept["text"], strict=True))
    for prefix in (
        "too_short-gz",
        "too_long-plain",
        "garbage_between-gz",
        "far_too_long-gz",
        "arc",
    ):
        for n in (3, 5):
            assert texts[url(prefix, n)] == texts[url("clean", n)], (prefix, n)
    for address, text in wet_texts().items():  # WET text is kept as it is, not extracted again
        assert texts[address] == text
    assert sum(mojibake(text) for text in texts.values()) == 0
    assert kept["id"].n_unique() == kept.height


# --- random damage ----------------------------------------------------------------------------


def _damage_at_random(data: bytes, start: int, stop: int, rng: random.Random) -> bytes:
    """One random change inside ``data[start:stop]``: a byte flipped, a span cut out, or
    bytes put in."""
    at = rng.randrange(start, stop)
    kind = rng.choice(("flip", "cut", "insert"))
    if kind == "flip":
        return data[:at] + bytes([data[at] ^ (1 << rng.randrange(8))]) + data[at + 1 :]
    if kind == "cut":
        return data[:at] + data[min(at + rng.randint(1, 400), stop) :]
    return data[:at] + rng.randbytes(rng.randint(1, 400)) + data[at:]


@pytest.mark.parametrize("packing", ["gz", "whole-gz", "plain"])
def test_random_damage_to_one_record_spares_the_others(tmp_path: Path, packing: str) -> None:
    """Random damage anywhere in one record (its WARC header, HTTP head, body, trailer or gzip
    member): the reader never raises, the other records come out intact, and the damaged one
    is read, dropped with a reason, or counted as damage: never lost without a trace."""
    pages = [page[:6000] for page in real_pages()]  # short pages: more damage lands on heads
    rng = random.Random(14)
    for case in range(100):
        prefix = f"random{case}"
        records = [page_record(url(prefix, n), page) for n, page in enumerate(pages)]
        pieces = [gzip.compress(r, mtime=0) for r in records] if packing == "gz" else records
        hit = rng.randrange(len(pieces))
        start = sum(len(p) for p in pieces[:hit])
        data = _damage_at_random(b"".join(pieces), start, start + len(pieces[hit]), rng)
        path = tmp_path / f"{prefix}.warc{'' if packing == 'plain' else '.gz'}"
        path.write_bytes(gzip.compress(data, mtime=0) if packing == "whole-gz" else data)
        rows, stats = read_rows(path)
        spared = {url(prefix, n) for n in range(len(pages)) if n != hit}
        intact = {row["url"]: row["html"] for row in rows if row["url"] in spared}
        assert intact == {
            url(prefix, n): pages[n].decode("utf-8") for n in range(len(pages)) if n != hit
        }, case
        assert 1 <= len(rows) - len(spared) <= 2, (
            case,
            [(r["url"], r["drop_reason"]) for r in rows],
        )
        assert stats.input_errors == {}, case
