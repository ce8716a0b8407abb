"""Language coverage: recipes, label mapping, curate's langid decision, one-pass routing."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from curate.engine.local import LocalEngine
from curate.models.langid import label_map, normalise_label
from curate.recipe import LangIdConfig, RecipeError, load_recipe
from curate.runner import Run
from curate.schema import make_batch
from curate.stages.langid import LanguageId
from curate.stages.route import PerLanguage
from tests.conftest import RECIPES
from tests.helpers import without_quality_filters

LANGUAGE_RECIPES = sorted(p for p in RECIPES.glob("*_*.yaml") if p.stem != "eu_all")
EU_OFFICIAL = [
    "bul_Cyrl",
    "ces_Latn",
    "dan_Latn",
    "deu_Latn",
    "ell_Grek",
    "eng_Latn",
    "spa_Latn",
    "ekk_Latn",
    "fin_Latn",
    "fra_Latn",
    "gle_Latn",
    "hrv_Latn",
    "hun_Latn",
    "ita_Latn",
    "lit_Latn",
    "lvs_Latn",
    "mlt_Latn",
    "nld_Latn",
    "pol_Latn",
    "por_Latn",
    "ron_Latn",
    "slk_Latn",
    "slv_Latn",
    "swe_Latn",
]
NEIGHBOURS = [
    "cat_Latn",
    "eus_Latn",
    "glg_Latn",
    "nob_Latn",
    "nno_Latn",
    "isl_Latn",
    "ukr_Cyrl",
    "srp_Cyrl",
    "bos_Latn",
    "mkd_Cyrl",
    "als_Latn",
    "tur_Latn",
]


@pytest.mark.parametrize("path", sorted(RECIPES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_recipe_resolves_and_validates(path: Path) -> None:
    recipe = load_recipe(path)
    assert recipe.output.compression == "zstd"  # inherited from base.yaml
    if path in LANGUAGE_RECIPES:
        assert recipe.languages == [path.stem]
        assert 0.3 <= recipe.langid.min_score <= 0.9


def test_recipes_cover_every_official_eu_language_and_the_neighbours() -> None:
    assert {p.stem for p in LANGUAGE_RECIPES} >= set(EU_OFFICIAL + NEIGHBOURS)


def test_every_recipe_language_is_a_label_of_the_offline_model() -> None:
    produced = set(label_map("lid176").values())
    assert {p.stem for p in LANGUAGE_RECIPES} <= produced


@pytest.mark.parametrize(
    ("model", "label", "code"),
    [
        ("lid176", "et", "ekk_Latn"),
        ("lid176", "lv", "lvs_Latn"),
        ("lid176", "no", "nob_Latn"),
        ("lid176", "nn", "nno_Latn"),
        ("lid176", "sq", "als_Latn"),
        ("lid176", "als", "gsw_Latn"),
        ("lid176", "sr", "srp_Cyrl"),
        ("lid176", "sh", "hbs_Latn"),
        ("glotlid-v3", "ekk_Latn", "ekk_Latn"),
        ("glotlid-v3", "srp_Latn", "srp_Latn"),
        ("openlid-v2", "est_Latn", "ekk_Latn"),
        ("openlid-v2", "lav_Latn", "lvs_Latn"),
        ("openlid-v2", "nor_Latn", "nob_Latn"),
        ("openlid-v2", "sqi_Latn", "als_Latn"),
        ("openlid-v2", "hrv_Latn", "hrv_Latn"),
    ],
)
def test_labels_map_to_fineweb2_codes(model: str, label: str, code: str) -> None:
    assert normalise_label(model, f"__label__{label}") == code


def _languages(texts: list[str], decision: str = "evidence") -> list[str]:
    stage = LanguageId(LangIdConfig(decision=decision))  # type: ignore[arg-type]
    return stage.predict(pa.array(texts))[0]


def test_script_decides_serbian_cyrillic_vs_latin() -> None:
    cyrillic = "Налази се на средњој надморској висини од 185 метара."
    latin = "Uvek je govorio da je vreme da deca nauče lepo da pevaju tu pesmu."
    assert _languages([cyrillic, latin]) == ["srp_Cyrl", "srp_Latn"]


def test_confusable_groups_are_decided_by_markers() -> None:
    texts = [
        "Nokrekorps har faste plassar i bydelen der stiftarane budde og dei stoppr ved huset.",
        "Hun tålte ikke at noen rørte henne, og hun gikk hjem.",
        "Hiljadu ljudi je učestvovalo u fudbalskoj utakmici tokom sedmice u Sarajevu.",
        "Tisuću ljudi je sudjelovalo na nogometnoj utakmici tijekom tjedna u Zagrebu.",
    ]
    assert _languages(texts) == ["nno_Latn", "nob_Latn", "bos_Latn", "hrv_Latn"]
    assert _languages(texts, "top1") != ["nno_Latn", "nob_Latn", "bos_Latn", "hrv_Latn"]


def test_letters_outside_an_alphabet_count_against_it() -> None:
    irish = "Bhí Gaeil Bhrian eagraithe beagnach mar an gcéanna."
    assert _languages([irish], "top1") == ["eng_Latn"]
    assert _languages([irish]) == ["gle_Latn"]


def test_empty_and_missing_text_get_a_language_and_a_low_score() -> None:
    stage = LanguageId(LangIdConfig())
    batch = stage(make_batch([{"id": "a", "text": ""}, {"id": "b", "text": None}]))
    assert batch.column("drop_reason").to_pylist() == ["low_language_score"] * 2


class _Tagger:
    """A stand-in downstream stage: tags rows, drops those whose text says so."""

    output_fields = (pa.field("tag", pa.string()),)

    def __init__(self, tag: str) -> None:
        self.name, self.tag = "tagger", tag

    def __call__(self, batch: pa.Table) -> pa.Table:
        from curate.schema import replace_column, set_drop_reason

        batch = replace_column(batch, "tag", pa.array([self.tag] * batch.num_rows))
        dropped = pa.array(["drop" in t for t in batch.column("text").to_pylist()])
        return set_drop_reason(batch, dropped, f"{self.tag}_rejected")


def test_per_language_stage_routes_rows_and_keeps_order() -> None:
    rows = [
        {"id": "1", "text": "a", "language": "fra_Latn"},
        {"id": "2", "text": "b drop", "language": "deu_Latn"},
        {"id": "3", "text": "c", "language": "ita_Latn"},
        {"id": "4", "text": "d drop", "language": "fra_Latn"},
    ]
    stage = PerLanguage("tagger", {"fra_Latn": _Tagger("fr"), "deu_Latn": _Tagger("de")})
    out = stage(make_batch(rows))
    assert out.column("id").to_pylist() == ["1", "2", "3", "4"]
    assert out.column("tag").to_pylist() == ["fr", "de", None, "fr"]
    assert out.column("drop_reason").to_pylist() == [None, "de_rejected", None, "fr_rejected"]


def test_route_rejects_recipes_with_another_langid_model(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text((RECIPES / "base.yaml").read_text())
    (tmp_path / "fra_Latn.yaml").write_text((RECIPES / "fra_Latn.yaml").read_text())
    (tmp_path / "other.yaml").write_text(
        "extends: base\nname: other\nlanguages: [deu_Latn]\nlangid: {model: glotlid-v3}\n"
    )
    (tmp_path / "all.yaml").write_text("extends: base\nname: all\nroute: [fra_Latn, other]\n")
    with pytest.raises(RecipeError, match="other uses other langid settings"):
        load_recipe(tmp_path / "all.yaml")


def test_one_pass_equals_one_run_per_language(tmp_path: Path, warc_files: list[Path]) -> None:
    inputs = [p for p in warc_files if p.name != "clipped.warc.gz"]
    one_pass_recipe = without_quality_filters(load_recipe(RECIPES / "eu_all.yaml"))
    Run(one_pass_recipe, inputs, tmp_path / "all").execute(LocalEngine(1))
    languages = sorted(p.name for p in (tmp_path / "all" / "data").iterdir())
    assert len(languages) >= 2
    for language in languages:
        alone = tmp_path / language
        recipe = without_quality_filters(load_recipe(RECIPES / f"{language}.yaml"))
        Run(recipe, inputs, alone).execute(LocalEngine(1))
        assert sorted(p.name for p in (alone / "data").iterdir()) == [language]
        one_pass = sorted((tmp_path / "all" / "data" / language).glob("*.parquet"))
        separate = sorted((alone / "data" / language).glob("*.parquet"))
        assert [p.name for p in one_pass] == [p.name for p in separate]
        assert all(
            a.read_bytes() == b.read_bytes() for a, b in zip(one_pass, separate, strict=True)
        )
