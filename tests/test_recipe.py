import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.recipe import RecipeError, load_recipe, parse_recipe

from .conftest import RECIPES


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_every_shipped_recipe_validates() -> None:
    recipes = sorted(RECIPES.glob("*.yaml"))
    assert len(recipes) >= 8
    for recipe in recipes:
        load_recipe(recipe)


def test_extends_merges_mappings_and_child_wins(tmp_path: Path) -> None:
    write(tmp_path / "parent.yaml", "name: p\nlangid: {min_score: 0.3, top_k: 5}\nbatch_size: 7\n")
    child = write(tmp_path / "child.yaml", "extends: parent\nname: c\nlangid: {min_score: 0.9}\n")
    recipe = load_recipe(child)
    assert (recipe.name, recipe.batch_size) == ("c", 7)
    assert (recipe.langid.min_score, recipe.langid.top_k) == (0.9, 5)


def test_errors_name_the_key_and_why(tmp_path: Path) -> None:
    bad = write(
        tmp_path / "bad.yaml",
        "name: x\nread: {max_document_bytes: lots}\nfiltres: {}\nlangid: {min_score: 2}\n",
    )
    with pytest.raises(RecipeError) as error:
        load_recipe(bad)
    message = str(error.value)
    assert "read.max_document_bytes: must be an integer" in message
    assert "filtres: unknown key" in message
    assert "langid.min_score: must be <= 1.0" in message


def test_language_codes_are_checked() -> None:
    with pytest.raises(RecipeError, match="'fr' is not a language code"):
        parse_recipe({"name": "x", "languages": ["fr"]})
    assert parse_recipe({"name": "x", "languages": ["fra_Latn"]}).selects("fra_Latn")


def test_missing_and_cyclic_recipes(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match="recipe not found"):
        load_recipe(tmp_path / "nope.yaml")
    write(tmp_path / "a.yaml", "extends: b\nname: a\n")
    write(tmp_path / "b.yaml", "extends: a\nname: b\n")
    with pytest.raises(RecipeError, match="cycle"):
        load_recipe(tmp_path / "a.yaml")
    write(tmp_path / "list.yaml", "- 1\n- 2\n")
    with pytest.raises(RecipeError, match="must be a mapping"):
        load_recipe(tmp_path / "list.yaml")


def test_fingerprint_changes_with_values() -> None:
    a = parse_recipe({"name": "x"})
    b = parse_recipe({"name": "x", "batch_size": 1})
    assert a.fingerprint() != b.fingerprint()
    assert a.fingerprint() == parse_recipe({"name": "x"}).fingerprint()


@pytest.mark.parametrize(
    ("code", "suggestion"),
    [("fre_Latn", "fra_Latn"), ("pol_Latm", "pol_Latn"), ("deu_Cyrl", "deu_Latn"),
     ("est_Latn", "ekk_Latn")],
)  # fmt: skip
def test_unknown_language_codes_are_refused_with_the_nearest(
    tmp_path: Path, code: str, suggestion: str
) -> None:
    recipe = write(tmp_path / "x.yaml", f"name: x\nlanguages: [{code}]\n")
    with pytest.raises(RecipeError) as error:
        load_recipe(recipe)
    message = str(error.value)
    assert "\n" not in message and f"'{code}' is not a language lid176" in message
    assert message.endswith(f"did you mean '{suggestion}'?")
    thresholds = write(
        tmp_path / "y.yaml", f"name: y\nlangid: {{min_score_per_language: {{{code}: 0.5}}}}\n"
    )
    with pytest.raises(RecipeError, match=r"langid.min_score_per_language: '"):
        load_recipe(thresholds)


def test_calibrate_refuses_an_unknown_language(tmp_path: Path) -> None:
    sample = write(tmp_path / "s.jsonl", '{"text": "Bonjour tout le monde."}\n')
    args = ["calibrate", "--input", str(sample), "--language", "fre_Latn"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: --language: 'fre_Latn' is not a language lid176 can identify; "
        "did you mean 'fra_Latn'?"
    ]


def test_routes_resolve_beside_the_recipe_declaring_them(tmp_path: Path) -> None:
    elsewhere = tmp_path / "mine"
    elsewhere.mkdir()
    parent = os.path.relpath(RECIPES / "eu_all.yaml", elsewhere)
    child = write(elsewhere / "child.yaml", f"extends: {parent}\nname: mine\nbatch_size: 3\n")
    recipe = load_recipe(child)
    assert (recipe.name, recipe.batch_size) == ("mine", 3)
    assert recipe.route == load_recipe(RECIPES / "eu_all.yaml").route
    local = f"extends: {RECIPES / 'pol_Latn.yaml'}\nlangid: {{min_score: 0.31}}\n"
    (elsewhere / "pol_Latn.yaml").write_text(local)
    own = write(elsewhere / "own.yaml", f"extends: {parent}\nname: own\nroute: [pol_Latn]\n")
    routed = load_recipe(own).route
    assert list(routed) == ["pol_Latn"] and routed["pol_Latn"].langid.min_score == 0.31
