"""`curate refilter` on real pages: the same output as a full run with the new recipe."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from curate.core.errors import RunError
from curate.engine.local import LocalEngine
from curate.erasure import state as erasure
from curate.recipe import RecipeError, deep_merge, load_raw, parse_recipe
from curate.runner import Run
from curate.testing.warc_writer import HttpResponse, warc_record, write_warc_gz
from curate.tools.refilter import refilter
from tests.conftest import RECIPES

PAGES = 100
BASE: dict[str, Any] = {
    "batch_size": 16,
    "preroute": {"enabled": False},
    "output": {"signals": True, "row_group_rows": 7},
}


def _recipe(**overrides: Any) -> Any:
    return parse_recipe(deep_merge(deep_merge(load_raw(RECIPES / "base.yaml"), BASE), overrides))


@pytest.fixture(scope="module")
def page_warcs(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two WARC files of real pages (trafilatura's evaluation set), several batches each."""
    pages = sorted((shared_data / "html-eval" / "pages").glob("*.html"))[:PAGES]
    root = tmp_path_factory.mktemp("pages")
    return [
        write_warc_gz(
            root / f"pages{part}.warc.gz",
            [
                warc_record(HttpResponse(f"https://pages.test/{p.stem}", p.read_bytes()))
                for p in pages[part::2]
            ],
        )
        for part in range(2)
    ]


@pytest.fixture(scope="module")
def kept_signals(page_warcs: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("signals") / "run"
    Run(_recipe(), page_warcs, out).execute(LocalEngine(1))
    return out


def _files(out: Path, part: str) -> dict[str, bytes]:
    return {
        str(p.relative_to(out)): p.read_bytes() for p in sorted((out / part).rglob("*.parquet"))
    }


def _ledger(out: Path) -> list[dict]:
    rows = []
    for path in sorted((out / "dropped").glob("*.parquet")):
        rows += pq.read_table(path).to_pylist()
    return rows


def _counts(out: Path) -> dict:
    return json.loads((out / "stats.json").read_text())


NEW_RECIPES = {
    "same": {},
    "tighter": {
        "filters": {
            "gopher_quality": {"min_alpha_words_ratio": 0.85, "min_doc_words": 80},
            "fineweb_quality": {"line_punct_thr": 0.3},
        },
        "langid": {"min_score": 0.8},
    },
    "looser": {
        "filters": {
            "gopher_repetition": {"top_n_grams": [[2, 0.3], [3, 0.25]]},
            "gopher_quality": {"min_alpha_words_ratio": 0.6, "min_stop_words": 0},
            "c4_quality": {"min_num_sentences": 2},
            "fineweb_quality": {"enabled": False},
        },
        "langid": {"min_score": 0.3},
    },
    "subset": {"languages": ["deu_Latn", "eng_Latn"], "output": {"signals": False}},
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(NEW_RECIPES))
def test_refilter_matches_a_full_run(
    name: str, kept_signals: Path, page_warcs: list[Path], tmp_path: Path
) -> None:
    new = _recipe(**NEW_RECIPES[name])
    full, refiltered = tmp_path / "full", tmp_path / "refiltered"
    Run(new, page_warcs, full).execute(LocalEngine(1))
    refilter(kept_signals, new, refiltered)
    assert _counts(refiltered) == _counts(full)
    assert _ledger(refiltered) == _ledger(full)
    assert _files(refiltered, "data") == _files(full, "data")
    assert _files(refiltered, "signals") == _files(full, "signals")
    assert _counts(full)["totals"]["docs_kept"] > 0


def test_refilter_refuses_what_signals_cannot_answer(kept_signals: Path, tmp_path: Path) -> None:
    for overrides, key in [
        ({"extract": {"favor": "precision"}}, "extract.favor"),
        ({"langid": {"top_k": 3}}, "langid.top_k"),
        ({"batch_size": 7}, "batch_size"),
        ({"filters": {"gopher_quality": {"stop_words": ["und"]}}}, "stop_words"),
        ({"filters": {"word_tokenizer": "xx"}}, "filters.word_tokenizer"),
        ({"filters": {"gopher_repetition": {"top_n_grams": [[5, 0.1]]}}}, "top_5_gram"),
    ]:
        with pytest.raises(RecipeError, match=key.replace(".", r"\.")):
            refilter(kept_signals, _recipe(**overrides), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_refilter_refuses_a_run_erased_from_afterwards(kept_signals: Path, tmp_path: Path) -> None:
    copy = tmp_path / "erased"
    shutil.copytree(kept_signals, copy)
    listed = erasure.list_path(copy)
    listed.parent.mkdir(parents=True, exist_ok=True)
    listed.write_text("https://pages.test/x\n")
    with pytest.raises(RunError, match="erased after the run"):
        refilter(copy, _recipe(), tmp_path / "out")
