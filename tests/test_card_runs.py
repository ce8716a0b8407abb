"""Cards of whole runs a newcomer makes: one that kept nothing, one language, every EU
language in one pass (`eu_all`): they render, validate with huggingface_hub, stay small, and
say what each stage was set to."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from huggingface_hub import DatasetCard

from curate.card import README, CardOptions, write_card
from curate.card.facts import gather
from curate.card.plots import LENGTHS_PNG, lengths_plot
from curate.card.readme import RECIPE_YAML
from curate.engine.local import LocalEngine
from curate.recipe import load_recipe
from curate.runner import Run

from .conftest import RECIPES, write_sentence_documents
from .test_card import front_matter, section, table_rows

# ISO 639-1 file names of shared/data/langid for eu_all's languages.
EU_FILES = (
    "bg", "bs", "ca", "cs", "da", "de", "el", "en", "es", "et", "eu", "fi", "fr", "ga", "hr",
    "hu", "is", "it", "lt", "lv", "mk", "nb", "nl", "nn", "pl", "pt", "ro", "sk", "sl", "sq",
    "sr", "sv", "tr", "uk",
)  # fmt: skip
MAX_CARD_BYTES = 30_000


def run_and_card(recipe_name: str, codes: dict[str, range], root: Path) -> Path:
    sample = root / "sample.jsonl"
    write_sentence_documents(sample, codes, per_doc=12)
    out = root / "out"
    Run(load_recipe(RECIPES / f"{recipe_name}.yaml"), [sample], out).execute(LocalEngine(1))
    write_card(out, CardOptions(), eu_summary=True)
    return out


@pytest.fixture(scope="module")
def empty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """French text through the Icelandic recipe: every document dropped."""
    return run_and_card("isl_Latn", {"fr": range(60)}, tmp_path_factory.mktemp("empty"))


@pytest.fixture(scope="module")
def french(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_and_card("fra_Latn", {"fr": range(240)}, tmp_path_factory.mktemp("french"))


@pytest.fixture(scope="module")
def eu_all(tmp_path_factory: pytest.TempPathFactory) -> Path:
    codes = {code: range(48) for code in EU_FILES}
    return run_and_card("eu_all", codes, tmp_path_factory.mktemp("eu_all"))


def pipeline_rows(out: Path) -> dict[str, list[str]]:
    _, body = front_matter((out / README).read_text())
    stages = "| stage |" + section(body, "How it was made").split("| stage |", 1)[1]
    rows = table_rows(stages.split("\n\n", 1)[0])
    return {row[0].strip("`"): row for row in rows}


def test_a_run_that_kept_nothing_gets_a_card_saying_so(empty: Path) -> None:
    text = (empty / README).read_text()
    card = DatasetCard.load(empty / README)
    assert card.data.to_dict()["task_categories"] == ["text-generation"]
    assert "configs" not in card.data.to_dict() and "language" not in card.data.to_dict()
    assert "**This run kept no documents.**" in text and "## How to load it" not in text
    assert not (empty / LENGTHS_PNG).exists()
    rows = pipeline_rows(empty)
    assert rows["read"][3] == "5" and rows["dedup"][4] == "0"
    assert "min_score 0.3" in rows["langid"][2]  # isl_Latn's threshold


def test_single_language_card(french: Path) -> None:
    card = DatasetCard.load(french / README)
    assert card.data.to_dict()["language"] == ["fr"]
    text = (french / README).read_text()
    rows = pipeline_rows(french)
    assert "min_score 0.7" in rows["langid"][2]  # fra_Latn's own threshold
    for stage, row in rows.items():
        assert row[1] and row[2] and "see `" not in row[1], (stage, row)
    assert "dup_line_frac 0.264" in rows["gopher_repetition"][2]  # FineWeb-2's French value
    assert "{" not in rows["pii"][2] and "e-mail addresses → `<EMAIL>`" in rows["pii"][2]
    assert f"]({RECIPE_YAML})" in text and "```yaml" not in text
    recipe = yaml.safe_load((french / RECIPE_YAML).read_text())
    assert recipe["name"] == "fra_Latn" and recipe["langid"]["min_score"] == 0.7


def test_eu_all_card_is_small_with_one_language_by_rule_table(eu_all: Path) -> None:
    size = (eu_all / README).stat().st_size
    assert size < MAX_CARD_BYTES, size
    card = DatasetCard.load(eu_all / README)
    assert len(card.data.to_dict()["configs"]) >= 25
    _, body = front_matter((eu_all / README).read_text())
    made = section(body, "How it was made")
    per_language = made.split("Settings that differ between languages", 1)[1]
    header = next(ln for ln in per_language.splitlines() if ln.startswith("| language"))
    assert "langid: min_score" in header and "gopher_quality: stop_words" in header
    columns = [c.strip() for c in header.strip("|").split("|")]
    rows = {row[0].strip("`"): row for row in table_rows(per_language)}
    kept = sorted(p.name for p in (eu_all / "data").iterdir())
    assert sorted(rows) == kept
    for code in kept:
        own = load_recipe(RECIPES / f"{code}.yaml").langid.min_score
        assert float(rows[code][columns.index("langid: min_score")]) == own
    assert "per language: see the table below" in pipeline_rows(eu_all)["langid"][2]


def test_length_plot_has_readable_ticks(french: Path, eu_all: Path) -> None:
    for out in (french, eu_all):
        axis = lengths_plot(gather(out)).axes[0]
        low, high = axis.get_xlim()
        visible = [t for t in axis.get_xticks() if low <= t <= high]
        assert len(visible) >= 3, (out, visible)
