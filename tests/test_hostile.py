from pathlib import Path

import polars as pl

from curate.engine.local import LocalEngine
from curate.recipe import load_recipe
from curate.runner import Run

from .conftest import RECIPES
from .helpers import without_dedup, without_quality_filters
from .hostile import build_hostile_corpus


def test_hostile_corpus_completes_with_every_document_accounted(tmp_path: Path) -> None:
    inputs = build_hostile_corpus(tmp_path / "in")
    out = tmp_path / "out"
    # The corpus repeats one French text in several encodings on purpose: dedup would keep one.
    recipe = without_dedup(without_quality_filters(load_recipe(RECIPES / "base.yaml")))
    summary, _ = Run(recipe, inputs, out).execute(LocalEngine(2))
    totals = summary["totals"]
    assert totals["docs_read"] == totals["docs_kept"] + totals["docs_dropped"]
    kept = pl.read_parquet(sorted((out / "data").glob("*/*.parquet")))
    ledger = pl.read_parquet(sorted((out / "dropped").glob("*.parquet")))
    assert (kept.height, ledger.height) == (totals["docs_kept"], totals["docs_dropped"])
    reasons = dict(zip(ledger["url"].fill_null(ledger["id"]), ledger["reason"], strict=True))
    assert reasons["https://b.eu/pdf"] == "non_html_content"
    assert reasons["https://b.eu/img"] == "non_html_content"
    assert reasons["https://b.eu/pdf-as-html"] == "binary_body"
    assert reasons["https://b.eu/giant"] == "too_large"
    assert reasons["https://b.eu/empty"] == "empty_body"
    assert reasons["hostile.jsonl/2"] == "invalid_utf8"
    assert reasons["hostile.jsonl/3"] == "invalid_json"
    assert reasons["j5"] == "missing_text"
    assert reasons["p1"] == "missing_text"
    texts = dict(zip(kept["url"].fill_null(kept["id"]), kept["text"], strict=True))
    assert "château médiéval" in texts["https://b.eu/cp1252"]
    assert "Żółta łódź" in texts["https://b.eu/latin2"]
    assert "библиотеке" in texts["https://b.eu/cp1251"]
    assert "\x00" not in "".join(kept["text"])
    assert "https://b.eu/nul" in texts and "j4" in texts
    # damaged records are ledger rows; only a file with no record at all is an input error
    assert reasons["https://len.eu/long"] == "corrupt_record"
    # truncated.warc.gz: the file ends in the gzip header of its last record
    assert ledger.filter(pl.col("reason") == "truncated_record").height == 1
    assert ledger.filter(pl.col("reason") == "corrupt_record").height == 2  # + garbage-after
    assert summary["input_errors"]["corrupt_warc"] == 1  # not-gzip.warc.gz
    assert summary["input_errors"]["corrupt_input"] >= 1
