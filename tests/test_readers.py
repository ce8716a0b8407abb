import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

from curate.io.readers import read_batches
from curate.recipe import ReadConfig
from curate.stats import RunStats
from curate.testing.warc_writer import HttpResponse, warc_record, write_warc_gz


def read_all(path: Path, config: ReadConfig | None = None) -> tuple[pa.Table, RunStats]:
    stats = RunStats()
    batches = list(read_batches(path, config or ReadConfig(), 7, stats))
    return pa.concat_tables(batches) if batches else pa.table({}), stats


def test_real_common_crawl_warc(warc_files: list[Path]) -> None:
    path = next(p for p in warc_files if p.name == "warcfile.warc.gz")
    table, stats = read_all(path)
    assert table.num_rows == 16
    ids = table.column("id").to_pylist()
    assert all(i.startswith("urn:uuid:") for i in ids) and len(set(ids)) == 16
    assert table.column("url").null_count == 0
    # windows-1251 page decoded through its HTTP charset
    russian = table.filter(pa.compute.equal(table.column("url"), "http://01spb.ru/company/"))
    assert "ы" in russian.column("html")[0].as_py() or "о" in russian.column("html")[0].as_py()


def test_truncated_warc_is_counted_not_raised(warc_files: list[Path]) -> None:
    path = next(p for p in warc_files if p.name == "clipped.warc.gz")
    table, _ = read_all(path)
    assert table.column("drop_reason").to_pylist() == ["truncated_record"]


def test_awkward_records(tmp_path: Path) -> None:
    french = "<html><body><p>Café crème à volonté, très célèbre.</p></body></html>"
    records = [
        warc_record(HttpResponse("https://a.eu/cp1252", french.encode("cp1252"), "text/html")),
        warc_record(HttpResponse("https://a.eu/pdf", b"%PDF-1.7 ...", "application/pdf")),
        warc_record(HttpResponse("https://a.eu/bin", bytes(range(40)) * 4, "text/html")),
        warc_record(HttpResponse("https://a.eu/empty", b"   ")),
        warc_record(HttpResponse("https://a.eu/404", b"<p>gone</p>", status="404 Not Found")),
    ]
    path = write_warc_gz(tmp_path / "awkward.warc.gz", records)
    with open(path, "ab") as stream:
        stream.write(b"\x00 trailing garbage that is not gzip")
    table, stats = read_all(path)
    reasons = dict(
        zip(table.column("url").to_pylist(), table.column("drop_reason").to_pylist(), strict=True)
    )
    assert reasons == {
        "https://a.eu/cp1252": None,
        "https://a.eu/pdf": "non_html_content",
        "https://a.eu/bin": "binary_body",
        "https://a.eu/empty": "empty_body",
        "https://a.eu/404": "http_status_not_ok",
        None: "corrupt_record",  # the trailing garbage: counted, not an input error
    }
    assert "Café crème" in table.column("html")[0].as_py()
    assert stats.input_errors == {}


def test_wrong_content_length_keeps_earlier_records(tmp_path: Path) -> None:
    good = warc_record(HttpResponse("https://a.eu/ok", b"<p>fine</p>"))
    bad = warc_record(HttpResponse("https://a.eu/bad", b"<p>short</p>")).replace(
        b"Content-Length: ", b"Content-Length: 9", 1
    )
    path = tmp_path / "bad.warc"
    path.write_bytes(good + bad)
    table, stats = read_all(path)
    assert table.column("url").to_pylist()[0] == "https://a.eu/ok"
    assert table.column("drop_reason")[0].as_py() is None
    assert table.num_rows == 1 or table.column("drop_reason")[1].as_py() is not None


def jsonl_lines() -> list[bytes]:
    return [
        json.dumps({"id": "doc-1", "text": "Bonjour", "url": "u1", "lang_hint": "fr"}).encode(),
        b"{not json",
        b'{"id": "doc-3", "text": "caf\xe9 in latin-1"}',
        json.dumps({"text": "no id here", "metadata": {"crawl": "CC-2024"}}).encode(),
        json.dumps({"id": "doc-5", "text": ""}).encode(),
    ]


def test_jsonl_plain_gz_zst_keep_ids_and_metadata(tmp_path: Path) -> None:
    raw = b"\n".join(jsonl_lines()) + b"\n"
    files = {
        "a.jsonl": raw,
        "b.jsonl.gz": gzip.compress(raw),
        "c.jsonl.zst": zstandard.ZstdCompressor().compress(raw),
        # the other names the README lists for JSON lines
        "d.ndjson": raw,
        "e.ndjson.gz": gzip.compress(raw),
        "f.ndjson.zst": zstandard.ZstdCompressor().compress(raw),
        "g.json.gz": gzip.compress(raw),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        table, _ = read_all(tmp_path / name)
        rows = table.to_pylist()
        assert [r["id"] for r in rows] == ["doc-1", f"{name}/2", f"{name}/3", f"{name}/4", "doc-5"]
        assert [r["drop_reason"] for r in rows] == [
            None,
            "invalid_json",
            "invalid_utf8",
            None,
            "missing_text",
        ]
        assert json.loads(rows[0]["metadata"]) == {"lang_hint": "fr"}
        assert json.loads(rows[3]["metadata"]) == {"crawl": "CC-2024"}


def test_truncated_gzip_jsonl(tmp_path: Path) -> None:
    raw = b"\n".join(json.dumps({"text": f"line {i}"}).encode() for i in range(2000))
    packed = gzip.compress(raw)
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(packed[: len(packed) // 2])
    table, stats = read_all(path)
    assert 0 < table.num_rows < 2000
    assert stats.input_errors == {"corrupt_input": 1}


def test_parquet_text_column_and_wrong_types(tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    pq.write_table(pa.table({"doc_id": ["a", "b"], "body": ["hello", "world"], "n": [1, 2]}), path)
    config = ReadConfig(text_column="body", id_column="doc_id")
    table, _ = read_all(path, config)
    assert table.column("id").to_pylist() == ["a", "b"]
    assert table.column("text").to_pylist() == ["hello", "world"]
    assert json.loads(table.column("metadata")[0].as_py()) == {"n": 1}
    wrong = tmp_path / "wrong.parquet"
    pq.write_table(pa.table({"text": [1, 2]}), wrong)
    table, _ = read_all(wrong)
    assert table.column("drop_reason").to_pylist() == ["missing_text", "missing_text"]
    missing, stats = read_all(path)
    assert missing.num_rows == 0 and stats.input_errors == {"missing_text_column": 1}
