from pathlib import Path

import pytest

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
