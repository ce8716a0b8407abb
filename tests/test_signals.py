"""Signals per document: ledger details, the signals table, calibrate and inspect on it."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from rich.console import Console

from curate.card import CardOptions, write_card
from curate.engine.local import LocalEngine
from curate.recipe import deep_merge, load_raw, parse_recipe
from curate.runner import Run
from curate.schema import DROP_DETAIL, DROP_REASON, make_batch
from curate.stages.compliance.optout import OptOut
from curate.stages.compliance.url import UrlFilter
from curate.stages.quality import rules
from curate.stages.quality.config import FiltersConfig, OptOutConfig, UrlFilterConfig
from curate.stages.quality.text_filters import document_context
from curate.tools.calibrate import calibrate_from_signals
from curate.tools.inspect_output import inspect_output
from curate.tools.near_threshold import near_threshold, read_signals
from tests.conftest import RECIPES, write_sentence_documents

FILTERS = ("gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality")
MEASURED = re.compile(r"^[a-z0-9_]+=-?[0-9.e-]+ [<>] -?[0-9.e-]+$")


def _recipe(**overrides: Any) -> Any:
    data = deep_merge(load_raw(RECIPES / "base.yaml"), {"batch_size": 20, **overrides})
    return parse_recipe(data)


@pytest.fixture(scope="module")
def prose(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real sentences: long documents most filters keep, short ones gopher drops."""
    root = tmp_path_factory.mktemp("prose")
    languages = {"de": range(0, 200), "fr": range(0, 120), "pl": range(0, 60), "el": range(0, 60)}
    write_sentence_documents(root / "long.jsonl", languages, per_doc=20)
    later = {code: range(lines.stop, lines.stop + 30) for code, lines in languages.items()}
    write_sentence_documents(root / "short.jsonl", later, per_doc=3)
    return root


@pytest.fixture(scope="module")
def kept(prose: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run") / "out"
    recipe = _recipe(output={"signals": True}, languages=["deu_Latn", "fra_Latn", "pol_Latn"])
    Run(recipe, sorted(prose.glob("*.jsonl")), out).execute(LocalEngine(1))
    return out


def _ledger(out: Path) -> list[dict]:
    return [
        row
        for p in sorted((out / "dropped").glob("*.parquet"))
        for row in pq.read_table(p).to_pylist()
    ]


def test_every_filter_drop_names_the_value_and_the_threshold(kept: Path) -> None:
    drops = [row for row in _ledger(kept) if row["stage"] in (*FILTERS, "langid")]
    assert {row["reason"] for row in drops} >= {"gopher_short_doc", "language_not_selected"}
    for row in drops:
        if row["reason"] == "language_not_selected":
            assert row["detail"] == f"language={row['language']} not selected"
        elif row["reason"] not in ("c4_lorem_ipsum", "c4_curly_bracket", "c4_no_lines_left"):
            assert MEASURED.match(row["detail"]), row
    short = next(row for row in drops if row["reason"] == "gopher_short_doc")
    assert short["detail"].startswith("doc_words=") and short["detail"].endswith(" < 50")


def test_the_signals_table_holds_every_document_that_reached_language_id(kept: Path) -> None:
    stats = json.loads((kept / "stats.json").read_text())
    reached = sum(e["docs_in"] for e in stats["stages"]["langid"].values())
    tables = [pq.read_table(p) for p in sorted((kept / "signals").rglob("*.parquet"))]
    ids = [i for t in tables for i in t.column("id").to_pylist()]
    assert len(ids) == len(set(ids)) == reached
    kept_ids = {
        i
        for p in (kept / "data").rglob("*.parquet")
        for i in pq.read_table(p).column("id").to_pylist()
    }
    assert kept_ids < set(ids)
    greek = read_signals(kept, "ell_Grek")
    assert greek is not None and greek.num_rows > 0  # dropped as not selected, still measured
    names = set(tables[0].column_names)
    assert {"id", "text", "url", "language", "language_score", "batch", "row"} <= names
    assert {
        "langid.top_labels",
        "gopher_quality.alpha_words_ratio",
        "c4_quality.sentences",
    } <= names
    assert {"fineweb_quality.line_punct_ratio", "gopher_repetition.top_2_gram"} <= names
    assert all(t.column("langid.top_labels").null_count == 0 for t in tables)
    assert "pii.email" in names and greek.column("pii.email").null_count == greek.num_rows


def test_stored_signals_decide_as_the_filters_do(kept: Path) -> None:
    """Each family's decision from a stored row equals its reason in the ledger."""
    reasons = {row["id"]: row["reason"] for row in _ledger(kept) if row["stage"] in FILTERS}
    table = read_signals(kept, "deu_Latn")
    assert table is not None
    ctx = document_context(FiltersConfig(**load_raw(RECIPES / "base.yaml")["filters"]), "deu_Latn")
    deciders = {
        "gopher_repetition": rules.decide_gopher_repetition,
        "gopher_quality": rules.decide_gopher_quality,
        "c4_quality": rules.decide_c4,
        "fineweb_quality": rules.decide_fineweb_quality,
    }
    for row in table.to_pylist():
        decision = None
        for family, decide in deciders.items():
            signals = {k.split(".", 1)[1]: v for k, v in row.items() if k.startswith(family + ".")}
            decision = decide(signals, getattr(ctx.settings, family))
            if decision:
                break
        assert (decision[0] if decision else None) == reasons.get(row["id"])


def test_signals_output_is_deterministic(prose: Path, kept: Path, tmp_path: Path) -> None:
    recipe = _recipe(output={"signals": True}, languages=["deu_Latn", "fra_Latn", "pol_Latn"])
    Run(recipe, sorted(prose.glob("*.jsonl")), tmp_path / "again").execute(LocalEngine(2))
    for path in sorted((kept / "signals").rglob("*")):
        if path.is_file():
            assert (tmp_path / "again" / path.relative_to(kept)).read_bytes() == path.read_bytes()


def test_calibrate_reads_the_signals_table(kept: Path) -> None:
    result = calibrate_from_signals(kept, "deu_Latn", None, 0.05, 0.95)
    table = read_signals(kept, "deu_Latn")
    assert table is not None and result.documents == table.num_rows
    chosen = {t.label: value for t, _, value in result.thresholds}
    assert 0 < chosen["gopher_quality.min_alpha_words_ratio"] <= 1
    assert chosen["gopher_quality.min_doc_words"] >= 1


def test_near_threshold_counts_documents_within_five_percent(kept: Path) -> None:
    rows = {(r.language, r.rule): r for r in near_threshold(kept)}
    row = rows[("deu_Latn", "gopher_quality.min_doc_words")]
    table = read_signals(kept, "deu_Latn")
    assert table is not None
    words = table.column("gopher_quality.doc_words").to_pylist()
    assert row.near == sum(abs(w - 50) <= 2.5 for w in words)
    assert row.measured == len(words)
    assert ("deu_Latn", "gopher_quality.min_alpha_words_ratio") in rows
    assert all(r.near <= r.measured for r in rows.values())


@pytest.mark.parametrize(
    ("value", "limit", "shown"),
    [
        (0.77, 0.774, "alpha_words_ratio=0.770 < 0.774"),
        (0.7738, 0.774, "alpha_words_ratio=0.7738 < 0.7740"),
        (12, 50, "alpha_words_ratio=12 < 50"),
    ],
)
def test_details_show_the_value_and_the_threshold(value: float, limit: float, shown: str) -> None:
    assert rules.below("alpha_words_ratio", value, limit) == shown
    assert rules.below("alpha_words_ratio", limit, limit) is None


def test_opt_out_and_url_drops_name_their_evidence(tmp_path: Path) -> None:
    blocklist = tmp_path / "adult.txt"
    blocklist.write_text("blocked.example\n")
    page = '<html><head><meta name="tdm-reservation" content="1"></head><body>x</body></html>'
    rows = [
        {"id": "a", "url": "https://free.example/", "html": "<html><body>x</body></html>"},
        {"id": "b", "url": "https://free.example/b", "html": page},
        {"id": "c", "url": "https://www.blocked.example/x", "html": "<p>x</p>"},
    ]
    batch = make_batch(rows, with_html=True)
    batch = OptOut(OptOutConfig())(batch)
    lists = UrlFilterConfig(blocklists=[{"file": str(blocklist), "match": "domain"}])
    batch = UrlFilter(lists)(batch)
    assert batch.column(DROP_DETAIL).to_pylist() == [
        None,
        '<meta name="tdm-reservation" content="1">',
        "host=www.blocked.example url=https://www.blocked.example/x",
    ]
    assert batch.column(DROP_REASON).to_pylist()[1:] == ["optout_tdm_meta", "url_blocked_adult"]


def test_inspect_and_the_card_show_borderline_rules(kept: Path, tmp_path: Path) -> None:
    console = Console(record=True, width=200)
    inspect_output(kept, console)
    assert "within 5% of a threshold" in console.export_text()
    card = tmp_path / "card"
    shutil.copytree(kept, card)
    write_card(card, CardOptions())
    text = (card / "README.md").read_text()
    assert "## Borderline rules" in text and "gopher_quality.min_doc_words" in text
