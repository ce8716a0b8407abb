"""The fast path (issue 10): pre-filters and pre-routing before trafilatura, on real pages."""

from __future__ import annotations

import importlib.util
import json
import random
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.engine.unit import plan_units, process_unit
from curate.pipeline import build_stages, stage_names
from curate.recipe import RecipeError, load_recipe, parse_recipe
from curate.schema import HTML, make_batch
from curate.stages.prefilter import HTML_TOO_SMALL, NO_HTML_MARKUP, Prefilter
from curate.stages.preroute import (
    PREROUTED,
    Preroute,
    PrerouteConfig,
    cheap_texts,
    longest_lines,
    with_confusable_groups,
)

REPO = Path(__file__).resolve().parents[1]
GERMAN = ("unzensuriert.at-Zeche.html", "7mind.de.grenzen.html")
ENGLISH = ("citylimits.org-Nycha.html", "jamaicaobserver.com-attacks.html")
OTHERS = ("francais.radio.cz-ministre.html", "ladiaria.com.uy-productor.html")
NO_VISIBLE_TEXT = "parcoabruzzo.it.58354.html"  # resiliparse sees no text; trafilatura does


def _crawl_module():
    """benchmarks/crawl.py: the benchmark's page rewriter and WARC writer."""
    name = "benchmarks_crawl"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / "crawl.py")
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


def _recipe(languages: list[str] | str, **preroute: object):
    return parse_recipe(
        {"name": "t", "languages": languages, "langid": {"min_score": 0.65}, "preroute": preroute}
    )


def _page(shared_data: Path, name: str) -> str:
    return (shared_data / "html-eval" / "pages" / name).read_text(
        encoding="utf-8", errors="replace"
    )


def _batch(shared_data: Path, names: tuple[str, ...]):
    rows = [{"id": name, "html": _page(shared_data, name)} for name in names]
    return make_batch(rows, with_html=True)


def test_preroute_is_on_by_default_only_for_a_language_subset():
    assert "preroute" in stage_names(load_recipe(REPO / "curate" / "recipes" / "deu_Latn.yaml"))
    assert "preroute" not in stage_names(load_recipe(REPO / "curate" / "recipes" / "base.yaml"))
    assert "preroute" not in stage_names(_recipe(["deu_Latn"], enabled=False))
    no_extraction = parse_recipe(
        {"name": "t", "languages": ["deu_Latn"], "extract": {"enabled": False}}
    )
    assert "preroute" not in stage_names(no_extraction)
    names = stage_names(_recipe(["deu_Latn"], min_html_bytes=500))
    assert names.index("prefilter") + 1 == names.index("preroute") < names.index("opt_out")
    assert names.index("opt_out") < names.index("extract")
    assert "preroute" in stage_names(load_recipe(REPO / "curate" / "recipes" / "eu_all.yaml"))


def test_preroute_section_is_validated_with_key_paths():
    with pytest.raises(RecipeError, match=r"preroute\.margin: must be <= 1"):
        _recipe(["deu_Latn"], margin=1.5)
    with pytest.raises(RecipeError, match=r"preroute\.enabled: must be one of"):
        _recipe(["deu_Latn"], enabled="sometimes")
    with pytest.raises(RecipeError, match=r"preroute\.max_chars: unknown key"):
        _recipe(["deu_Latn"], max_chars=10)


def test_preroute_drops_other_languages_and_records_the_guess(shared_data):
    recipe = _recipe(["deu_Latn"])
    stage = Preroute(recipe.preroute, recipe.langid, ["deu_Latn"])
    batch = _batch(shared_data, GERMAN + ENGLISH + OTHERS + (NO_VISIBLE_TEXT,))
    result = stage(batch)
    assert result.column("id").to_pylist() == batch.column("id").to_pylist()
    ids = result.column("id").to_pylist()
    reasons = dict(zip(ids, result.column("drop_reason").to_pylist(), strict=True))
    assert [reasons[name] for name in GERMAN] == [None, None]
    assert [reasons[name] for name in ENGLISH + OTHERS] == [PREROUTED] * 4
    assert reasons[NO_VISIBLE_TEXT] is None  # nothing to judge by: trafilatura decides
    languages = dict(zip(ids, result.column("language").to_pylist(), strict=True))
    assert [languages[name] for name in ENGLISH] == ["eng_Latn", "eng_Latn"]
    assert languages[GERMAN[0]] is None  # the judge of kept pages is the language ID stage
    assert result.column(HTML).equals(batch.column(HTML))


def test_preroute_keeps_every_selected_language_and_leaves_dropped_rows_alone(shared_data):
    recipe = _recipe(["deu_Latn", "eng_Latn"])
    stage = Preroute(recipe.preroute, recipe.langid, ["deu_Latn", "eng_Latn"])
    rows = [{"id": n, "html": _page(shared_data, n)} for n in GERMAN + ENGLISH + OTHERS]
    rows[-1]["drop_reason"] = "too_large"
    result = stage(make_batch(rows, with_html=True))
    assert result.column("drop_reason").to_pylist() == [None] * 4 + [PREROUTED, "too_large"]
    text_only = make_batch([{"id": "a", "text": "Ein Satz."}])
    assert stage(text_only).equals(text_only)


def test_cheap_texts_views(shared_data):
    html = _page(shared_data, GERMAN[1]).encode()
    texts = cheap_texts(html)
    main = cheap_texts(html, main_content=True)
    assert texts is not None and main is not None
    assert 0 < len(texts.start) <= 3000 and 0 < len(texts.longest) < 3000
    assert texts.start != main.start and texts.longest == main.longest
    assert cheap_texts(b"<html><body><script>var a = 1;</script></body></html>") is None
    assert longest_lines("Menu\nA long line of prose.\n\nShort one\nHome", 25) == (
        "A long line of prose. Short one"
    )


def test_prefilters_drop_small_and_markup_free_bodies_with_their_reasons(shared_data):
    config = PrerouteConfig(min_html_bytes=200, require_markup=True)
    rows = [
        {"id": "page", "html": _page(shared_data, GERMAN[0])},
        {"id": "tiny", "html": "<p>Hallo</p>"},
        {"id": "json", "html": '{"items": [' + '"<b>x</b>", ' * 40 + '"y"]}'},
        {"id": "plain", "html": "Nur Text ohne jede Auszeichnung. " * 20},
    ]
    result = Prefilter(config)(make_batch(rows, with_html=True))
    assert result.column("drop_reason").to_pylist() == [
        None,
        HTML_TOO_SMALL,
        NO_HTML_MARKUP,
        NO_HTML_MARKUP,
    ]
    assert not any(isinstance(s, Prefilter) for s in build_stages(_recipe(["deu_Latn"])))


@pytest.fixture(scope="module")
def mixed_warc(shared_data, tmp_path_factory):
    """Real pages of several languages and real pages rewritten in others: 64 records."""
    crawl = _crawl_module()
    names = GERMAN + ENGLISH + OTHERS + (NO_VISIBLE_TEXT,)
    pages = [crawl.Page(f"https://{n}/", _page(shared_data, n).encode(), "real") for n in names]
    pages += crawl.rewritten_pages(shared_data, 57, seed=3)
    return crawl.write_warc(pages, tmp_path_factory.mktemp("warc") / "mixed.warc.gz")


def _kept(out: Path, language: str) -> dict[str, str]:
    kept = {}
    for file in sorted(out.glob(f"data/{language}/*.parquet")):
        table = pq.read_table(file)
        ids, texts = table.column("id").to_pylist(), table.column("text").to_pylist()
        kept.update(zip(ids, texts, strict=True))
    return kept


@pytest.mark.parametrize("language", ["deu_Latn", "fra_Latn"])
def test_fast_path_keeps_what_the_full_path_keeps(mixed_warc, tmp_path, language):
    unit = plan_units([mixed_warc])[0]
    process_unit(unit, _recipe([language], enabled=False), tmp_path / "full")
    fast = process_unit(unit, _recipe([language]), tmp_path / "fast")
    expected, kept = _kept(tmp_path / "full", language), _kept(tmp_path / "fast", language)
    assert len(expected) >= 3
    assert kept == expected  # the same documents, texts identical
    stages = fast["stats"]["stages"]
    prerouted = sum(e["dropped"].get(PREROUTED, 0) for e in stages["preroute"].values())
    extracted = sum(e["docs_in"] for e in stages["extract"].values())
    assert prerouted >= 40 and extracted == 64 - prerouted
    assert stages["preroute"]["eng_Latn"]["dropped"][PREROUTED] >= 10  # counted per language
    assert fast["stats"]["totals"]["docs_read"] == 64
    ledger = pq.read_table(tmp_path / "fast" / "dropped" / f"{unit.name}.parquet").to_pylist()
    routed = [row for row in ledger if row["stage"] == "preroute"]
    assert len(routed) == prerouted
    assert all(r["reason"] == PREROUTED and r["language"] != language for r in routed)


def test_inspect_shows_pre_stage_drops_and_seconds(mixed_warc, tmp_path):
    recipe = tmp_path / "pol.yaml"
    recipe.write_text(
        f"extends: {REPO / 'curate' / 'recipes' / 'pol_Latn.yaml'}\n"
        "preroute:\n  min_html_bytes: 2000\n"
    )
    out = tmp_path / "out"
    runner = CliRunner()
    result = runner.invoke(app, ["run", str(recipe), "-i", str(mixed_warc), "-o", str(out)])
    assert result.exit_code == 0, result.output
    timing = json.loads((out / "timing.json").read_text())
    assert {"prefilter", "preroute", "extract"} <= set(timing)
    shown = runner.invoke(app, ["inspect", str(out)])
    assert shown.exit_code == 0
    rows = [line.split("│")[1:-1] for line in shown.output.splitlines() if "│ pre" in line]
    per_stage = {cells[0].strip(): [c.strip() for c in cells] for cells in reversed(rows)}
    assert per_stage["prefilter"][1:3] == ["64", "64"]  # the first table: in, kept
    assert per_stage["preroute"][3].startswith("prerouted: ")
    assert per_stage["preroute"][4] == f"{timing['preroute']:.2f}"
    guessed = [cells for cells in rows if cells[1].strip() == "eng_Latn"]  # drop rates table
    assert guessed and "prerouted 100.0%" in guessed[0][4]


def test_languages_the_model_does_not_know_are_left_to_the_language_id(shared_data, caplog):
    recipe = _recipe(["xxx_Latn"])
    batch = _batch(shared_data, ENGLISH)
    assert Preroute(recipe.preroute, recipe.langid, ["xxx_Latn"])(batch).equals(batch)
    assert "knows none of" in caplog.text


def test_a_confusable_neighbour_is_left_to_the_language_id(shared_data):
    """A Croatian page may still end as Bosnian (the language ID weighs the group as one)."""
    crawl = _crawl_module()
    template = crawl.Page("https://t/", _page(shared_data, ENGLISH[0]).encode(), "real")
    writer = crawl._Writer(crawl._sentences(shared_data, "hr"), random.Random(0), spaced=True)
    page = crawl.rewritten_page(template, "hr", writer, 0)
    batch = make_batch([{"id": "hr", "html": page.body.decode()}], with_html=True)
    assert {"hrv_Latn", "srp_Latn"} <= with_confusable_groups(["bos_Latn"])
    bosnian = _recipe(["bos_Latn"])
    assert Preroute(bosnian.preroute, bosnian.langid, ["bos_Latn"])(batch).equals(batch)
    polish = _recipe(["pol_Latn"])
    routed = Preroute(polish.preroute, polish.langid, ["pol_Latn"])(batch)
    assert routed.column("drop_reason").to_pylist() == [PREROUTED]
