"""Benchmark decontamination: the n-gram index, the stage on a batch, and runs on real text
(labelled sentences of ../shared/data) with benchmark items planted in some documents."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from curate.engine.local import LocalEngine
from curate.recipe import Recipe, RecipeError, parse_recipe
from curate.runner import Run
from curate.schema import make_batch
from curate.stages.decontaminate import CONTAMINATED, Decontaminate, DecontaminateConfig

from .helpers import recipe, without_dedup, without_quality_filters

LANGUAGES = {"en": "eng_Latn", "de": "deu_Latn", "fr": "fra_Latn", "pl": "pol_Latn"}
DOCS_PER_LANGUAGE = 12


def sentences(shared_data: Path, code: str) -> list[str]:
    return (shared_data / "langid" / f"{code}.txt").read_text("utf-8").splitlines()


def disguise(text: str, how: int) -> str:
    """The same words with other casing, punctuation or whitespace."""
    if how == 0:
        return text
    if how == 1:
        return text.upper()
    if how == 2:
        return re.sub(r"\s+", "  \n\t ", text)
    return " ; ".join(text.split()).replace(",", "!!").lower()


def benchmark_items(shared_data: Path) -> dict[str, list[dict[str, str]]]:
    """Two benchmarks of real sentences no clean document uses (lines 400 on)."""
    english = [s for s in sentences(shared_data, "en")[400:] if len(s.split()) >= 15][:10]
    german = [s for s in sentences(shared_data, "de")[400:] if 6 <= len(s.split()) < 13][:10]
    return {
        "bench_en": [{"id": f"q{n}", "text": t} for n, t in enumerate(english)],
        "bench_short": [{"id": str(n), "text": t} for n, t in enumerate(german)],
    }


def write_benchmarks(shared_data: Path, target: Path) -> tuple[list[dict[str, str]], Path, Path]:
    items = benchmark_items(shared_data)
    jsonl = target / "bench_en.jsonl"
    jsonl.write_text("".join(json.dumps(i) + "\n" for i in items["bench_en"]) + "not json\n")
    plain = target / "bench_short.txt"
    plain.write_text("".join(i["text"] + "\n" for i in items["bench_short"]))
    named = [{"name": name, **item} for name, rows in items.items() for item in rows]
    return named, jsonl, plain


def write_documents(
    shared_data: Path, target: Path, items: list[dict[str, str]]
) -> dict[str, str | None]:
    """Documents of ten real sentences each; every third one has an item planted in its
    middle (disguised). Returns each document's id -> the ``name:id`` planted in it."""
    planted: dict[str, str | None] = {}
    rows = []
    for code in LANGUAGES:
        lines = sentences(shared_data, code)
        for n in range(DOCS_PER_LANGUAGE):
            body = lines[n * 10 : n * 10 + 10]
            doc_id = f"{code}-{n}"
            planted[doc_id] = None
            if n % 3 == 0:
                item = items[len(rows) % len(items)]
                body.insert(5, disguise(item["text"], len(rows) % 4))
                planted[doc_id] = f"{item['name']}:{item['id']}"
            rows.append({"id": doc_id, "text": " ".join(body), "url": f"https://{code}.eu/{n}"})
    path = target / "docs.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return planted


def decontaminate_recipe(jsonl: Path, plain: Path) -> Recipe:
    base = without_dedup(without_quality_filters(recipe("base")))
    section = DecontaminateConfig.model_validate(
        {
            "benchmarks": [
                {"name": "bench_en", "path": str(jsonl)},
                {"name": "bench_short", "path": str(plain)},
            ]
        }
    )
    return base.model_copy(update={"decontaminate": section})


def stage_for(directory: Path, items: list[str], **config: object) -> Decontaminate:
    path = directory / f"items-{len(list(directory.iterdir()))}.txt"
    path.write_text("\n".join(items) + "\n")
    benchmarks = [{"name": "b", "path": str(path)}]
    return Decontaminate(DecontaminateConfig.model_validate({"benchmarks": benchmarks, **config}))


ITEM = "The quick brown fox jumps over the lazy dog while thirteen words make one full gram"


def batch(texts: list[str]) -> pa.Table:
    return make_batch(
        {"id": str(i), "text": t, "language": "eng_Latn"} for i, t in enumerate(texts)
    )


def test_one_shared_ngram_drops_and_disguises_do_not_hide_it(tmp_path: Path) -> None:
    stage = stage_for(tmp_path, [ITEM])
    thirteen = " ".join(ITEM.split()[2:15])
    texts = [
        f"Intro. {ITEM.upper()} outro.",
        f"Before {thirteen.replace(' ', ' ,; ')} after",
        " ".join(ITEM.split()[:12]) + " and then something else entirely different",
        "Nothing to see here at all.",
    ]
    out = stage(batch(texts))
    assert out.column("drop_reason").to_pylist() == [CONTAMINATED, CONTAMINATED, None, None]
    rows, items = stage.find(pa.array(texts))
    assert rows.tolist() == [0, 1] and [stage.describe(i) for i in items] == ["b:0", "b:0"]
    assert stage.take_counts() == {"eng_Latn": {"b": 2}} and stage.take_counts() == {}


def test_short_items_match_whole_and_tiny_ones_are_left_out(tmp_path: Path) -> None:
    stage = stage_for(
        tmp_path, ["Who wrote the epic Odyssey?", "yes", "Name the capital of France"]
    )
    texts = [
        "A quiz: who wrote the EPIC odyssey - Homer did.",
        "Who wrote the famous epic Odyssey? Nobody knows.",
        "Please name the capital of France now",
        "yes yes yes",
    ]
    rows, items = stage.find(pa.array(texts))
    assert rows.tolist() == [0, 2] and items.tolist() == [0, 2]
    assert stage._index is not None and stage._index.skipped == 1


def test_item_fraction_needs_that_share_of_one_item(tmp_path: Path) -> None:
    long_item = " ".join(f"w{chr(97 + n // 26)}{chr(97 + n % 26)}" for n in range(40))
    words = long_item.split()
    half = " ".join(words[:20])  # 8 of the item's 28 n-grams
    most = " ".join(words[:36])  # 24 of 28
    stage = stage_for(tmp_path, [long_item], item_fraction=0.5)
    rows, _ = stage.find(pa.array([half, most]))
    assert rows.tolist() == [1]
    assert stage_for(tmp_path, [long_item]).find(pa.array([half, most]))[0].tolist() == [0, 1]


def test_recipe_section_is_strict() -> None:
    with pytest.raises(RecipeError, match="decontaminate.ngram"):
        parse_recipe({"name": "x", "decontaminate": {"ngram": 12}})
    parsed = parse_recipe(
        {"name": "x", "decontaminate": {"benchmarks": [{"name": "a", "path": "f"}]}}
    )
    assert parsed.decontaminate.ngram_size == 13


def run_decontamination(
    shared_data: Path, tmp_path: Path, engines: dict[str, object]
) -> tuple[dict[str, Path], dict[str, str | None]]:
    """The same inputs run on each engine, into ``tmp_path/<engine name>``."""
    items, jsonl, plain = write_benchmarks(shared_data, tmp_path)
    planted = write_documents(shared_data, tmp_path, items)
    outs = {}
    for name, engine in engines.items():
        outs[name] = tmp_path / name
        Run(decontaminate_recipe(jsonl, plain), [tmp_path / "docs.jsonl"], outs[name]).execute(
            engine
        )
    return outs, planted


def test_run_finds_every_planted_item_and_no_clean_document(
    shared_data: Path, tmp_path: Path
) -> None:
    outs, planted = run_decontamination(shared_data, tmp_path, {"local": LocalEngine(1)})
    out = outs["local"]
    ledger = pl.read_parquet(sorted((out / "dropped").glob("*.parquet")))
    dropped = ledger.filter(pl.col("stage") == "decontaminate")
    assert set(dropped["reason"]) == {CONTAMINATED}
    expected = {doc for doc, item in planted.items() if item}
    assert set(dropped["id"]) == expected
    assert dict(zip(dropped["id"], dropped["detail"], strict=True)) == {
        doc: planted[doc] for doc in expected
    }
    kept = pl.read_parquet(sorted((out / "data").glob("*/*.parquet")))
    assert set(kept["id"]) == set(planted) - expected
    stats = json.loads((out / "stats.json").read_text())
    counters = stats["counters"]["decontaminate"]
    assert sum(n for language in counters.values() for n in language.values()) == len(expected)
    assert set().union(*counters.values()) == {"bench_en", "bench_short"}
    totals = stats["totals"]
    assert totals["docs_read"] == len(planted) == totals["docs_kept"] + totals["docs_dropped"]
    assert stats["stages"]["decontaminate"]["deu_Latn"]["dropped"] == {CONTAMINATED: 4}


@pytest.mark.slow
def test_ray_and_local_drop_the_same_documents(shared_data: Path, tmp_path: Path) -> None:
    from curate.engine.ray_engine import RayEngine

    from .ray_support import assert_same_output

    with RayEngine(workers=2) as ray_engine:
        outs, _ = run_decontamination(
            shared_data, tmp_path, {"local": LocalEngine(2), "ray": ray_engine}
        )
    assert_same_output(outs["local"], outs["ray"])
