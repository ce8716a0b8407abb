"""Small builders shared by tests."""

from __future__ import annotations

import json
from pathlib import Path

from curate.recipe import Recipe, load_recipe

from .conftest import RECIPES

LABELLED = {
    "fr": "fra_Latn",
    "de": "deu_Latn",
    "it": "ita_Latn",
    "es": "spa_Latn",
    "pl": "pol_Latn",
    "nl": "nld_Latn",
}


def labelled_jsonl(shared_data: Path, target: Path, docs_per_language: int = 8) -> dict[str, str]:
    """Documents of five sentences each from the labelled sentences; returns id -> language."""
    truth: dict[str, str] = {}
    with open(target, "w", encoding="utf-8") as stream:
        for code, language in LABELLED.items():
            lines = (shared_data / "langid" / f"{code}.txt").read_text("utf-8").splitlines()
            for n in range(docs_per_language):
                doc_id = f"{code}-{n}"
                text = "\n".join(lines[n * 5 : n * 5 + 5])
                stream.write(
                    json.dumps({"id": doc_id, "text": text, "url": f"https://{code}.eu/{n}"}) + "\n"
                )
                truth[doc_id] = language
    return truth


def recipe(name: str = "base", **overrides: object) -> Recipe:
    loaded = load_recipe(RECIPES / f"{name}.yaml")
    return loaded.model_copy(update=overrides)


def without_dedup(recipe: Recipe) -> Recipe:
    """``recipe`` with the dedup pass off: for tests whose synthetic pages share one text."""
    return recipe.model_copy(update={"dedup": recipe.dedup.model_copy(update={"enabled": False})})


def without_quality_filters(recipe: Recipe) -> Recipe:
    """``recipe`` with its text quality filters off, routed recipes included: for tests of
    other stages, whose short synthetic documents those filters would drop."""
    from curate.stages.quality.config import TEXT_FILTERS

    off = {
        f: getattr(recipe.filters, f).model_copy(update={"enabled": False}) for f in TEXT_FILTERS
    }
    filters = recipe.filters.model_copy(update={**off, "per_language": {}})
    route = {name: without_quality_filters(sub) for name, sub in recipe.route.items()}
    return recipe.model_copy(update={"filters": filters, "route": route})
