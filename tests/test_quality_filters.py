"""Each quality rule with a document that trips it and one that does not; settings per language."""

from __future__ import annotations

from typing import Any

import pytest

from curate.recipe import RecipeError, load_raw, parse_recipe
from curate.schema import make_batch
from curate.stages.quality.config import FiltersConfig
from curate.stages.quality.text_filters import (
    C4Quality,
    FineWebQuality,
    GopherQuality,
    GopherRepetition,
)
from tests.conftest import RECIPES

PROSE = (
    "The river runs through the old town and the market square.\n"
    "Children play by the water while their parents talk with friends.\n"
    "In the evening the lights of the bridge shine on the calm surface.\n"
    "Tourists come to see the cathedral and to taste the local bread.\n"
    "Many shops sell cheese, wine and small souvenirs to the visitors.\n"
    "The mayor wants to build a new library near the station this year.\n"
    "Some people say that the town has changed a lot since the war.\n"
)
GREEK = (
    "Η Αθήνα είναι η πρωτεύουσα της Ελλάδας και μία από τις αρχαιότερες πόλεις του κόσμου.\n"
    "Στο κέντρο της πόλης βρίσκεται η Ακρόπολη με τον Παρθενώνα και πολλά άλλα μνημεία.\n"
    "Κάθε χρόνο χιλιάδες επισκέπτες έρχονται για να δουν τα μουσεία και τις αρχαιότητες.\n"
)
RUSSIAN = (
    "Москва является столицей России и крупнейшим городом страны по численности населения.\n"
    "В центре города находится Кремль, а рядом с ним расположена Красная площадь.\n"
    "Каждый год миллионы туристов приезжают сюда, чтобы увидеть музеи и театры.\n"
)


def run(stage_class: type, text: str, language: str = "eng_Latn", **section: Any) -> str | None:
    config = FiltersConfig.model_validate({stage_class.family: section})
    batch = make_batch([{"id": "d", "text": text, "language": language}])
    return stage_class(config)(batch).column("drop_reason")[0].as_py()


def rewritten(stage_class: type, text: str, **section: Any) -> str:
    config = FiltersConfig.model_validate({stage_class.family: section})
    batch = make_batch([{"id": "d", "text": text, "language": "eng_Latn"}])
    return stage_class(config)(batch).column("text")[0].as_py()


REPETITION_OFF = {
    "dup_line_frac": None,
    "dup_para_frac": None,
    "dup_line_char_frac": None,
    "dup_para_char_frac": None,
    "top_n_grams": [],
    "dup_n_grams": [],
}


@pytest.mark.parametrize(
    ("rule", "tripping", "reason"),
    [
        ({"dup_line_frac": 0.3}, PROSE + "Buy now!\n" * 5, "gopher_dup_line_frac"),
        (
            {"dup_para_frac": 0.3},
            "\n\n".join([PROSE, "Menu", "Menu", "Menu"]),
            "gopher_dup_para_frac",
        ),
        (
            {"dup_line_char_frac": 0.2},
            PROSE + PROSE,
            "gopher_dup_line_char_frac",
        ),
        ({"dup_para_char_frac": 0.2}, PROSE + "\n\n" + PROSE, "gopher_dup_para_char_frac"),
        ({"top_n_grams": [[2, 0.2]]}, PROSE + " cheap shoes" * 60, "gopher_top_2_gram"),
        ({"dup_n_grams": [[5, 0.15]]}, PROSE + " " + PROSE.replace("\n", " "), "gopher_dup_5_gram"),
    ],
)
def test_gopher_repetition_rules(rule: dict, tripping: str, reason: str) -> None:
    section = REPETITION_OFF | rule
    assert run(GopherRepetition, tripping, **section) == reason
    assert run(GopherRepetition, PROSE, **section) is None


QUALITY_OFF = {
    "min_doc_words": None,
    "max_doc_words": None,
    "min_avg_word_length": None,
    "max_avg_word_length": None,
    "max_symbol_word_ratio": None,
    "max_bullet_lines_ratio": None,
    "max_ellipsis_lines_ratio": None,
    "min_alpha_words_ratio": None,
    "min_stop_words": None,
}


@pytest.mark.parametrize(
    ("rule", "tripping", "reason"),
    [
        ({"min_doc_words": 50}, "Too short to be an article.", "gopher_short_doc"),
        ({"max_doc_words": 100}, PROSE * 2, "gopher_long_doc"),
        ({"min_avg_word_length": 3}, "a b c d e f g h i j k l m n o p", "gopher_short_words"),
        (
            {"max_avg_word_length": 10},
            "Donaudampfschifffahrtsgesellschaft " * 9,
            "gopher_long_words",
        ),
        ({"max_symbol_word_ratio": 0.1}, PROSE + " #tag" * 20, "gopher_too_many_hashes"),
        ({"max_symbol_word_ratio": 0.1}, PROSE + " wait…" * 20, "gopher_too_many_ellipsis"),
        (
            {"max_bullet_lines_ratio": 0.9},
            "\n".join(f"- item {i}" for i in range(9)),
            "gopher_too_many_bullets",
        ),
        (
            {"max_ellipsis_lines_ratio": 0.3},
            "Read more...\n" * 3 + PROSE[:100],
            "gopher_too_many_end_ellipsis",
        ),
        ({"min_alpha_words_ratio": 0.8}, PROSE + " 12 34 56 78 90" * 20, "gopher_few_alpha_words"),
        (
            {"min_stop_words": 2, "stop_words": ["the", "and"]},
            "Cats sleep. Dogs run fast.",
            "gopher_few_stop_words",
        ),
    ],
)
def test_gopher_quality_rules(rule: dict, tripping: str, reason: str) -> None:
    section = QUALITY_OFF | rule
    assert run(GopherQuality, tripping, **section) == reason
    assert run(GopherQuality, PROSE, **section) is None


@pytest.mark.parametrize(("text", "language"), [(GREEK, "ell_Grek"), (RUSSIAN, "rus_Cyrl")])
def test_alphabetic_check_is_unicode_aware(text: str, language: str) -> None:
    section = QUALITY_OFF | {"min_alpha_words_ratio": 0.8}
    assert run(GopherQuality, text, language, **section) is None
    digits = text + " 2024 10,5 € 3.14 42 ·" * 30
    assert run(GopherQuality, digits, language, **section) == "gopher_few_alpha_words"


def test_stop_words_default_to_spacys_list_for_the_language() -> None:
    section = QUALITY_OFF | {"min_stop_words": 2}
    assert run(GopherQuality, GREEK, "ell_Grek", **section) is None
    assert run(GopherQuality, RUSSIAN, "rus_Cyrl", **section) is None
    # English stop words do not make a Greek document pass.
    english = section | {"stop_words": ["the", "and", "of"]}
    assert run(GopherQuality, GREEK, "ell_Grek", **english) == "gopher_few_stop_words"


def test_word_splitting_is_language_aware() -> None:
    from curate.stages.quality.words import WORDS, spacy_code

    assert spacy_code("fra_Latn") == "fr" and spacy_code("bos_Latn") == "sr"
    assert spacy_code("glg_Latn") == "xx"  # datatrove uses Stanza there: spaCy's generic rules
    assert WORDS.words("fr", "l'homme d'État") == ["l'", "homme", "d'", "État"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (PROSE + "Lorem ipsum dolor sit amet, consectetur.\n", "c4_lorem_ipsum"),
        (PROSE + "function f() { return 1; } is code.\n", "c4_curly_bracket"),
        ("One sentence only here.\nAnd another one here.", "c4_too_few_sentences"),
    ],
)
def test_c4_document_rules(text: str, reason: str) -> None:
    assert run(C4Quality, text) == reason
    assert run(C4Quality, PROSE) is None


def test_c4_removes_lines_as_datatrove_does() -> None:
    noisy = (
        PROSE
        + "Enable JavaScript to see this page properly.\n"
        + "This site uses cookies to improve your visit.\n"
        + "Home\n"
        + "Wikipedia says so.[1]\n"
    )
    cleaned = rewritten(C4Quality, noisy)
    assert "JavaScript" not in cleaned and "cookies" not in cleaned and "Home" not in cleaned
    assert "Wikipedia says so." in cleaned and "[1]" not in cleaned
    assert rewritten(C4Quality, PROSE) == PROSE.strip()


@pytest.mark.parametrize(
    ("rule", "tripping", "reason"),
    [
        (
            {"line_punct_thr": 0.12},
            "Home\nNews\nSports\nWeather\nContact",
            "fineweb_line_punct_ratio",
        ),
        (
            {"short_line_thr": 0.67},
            "Home.\nNews.\nSports.\n" + PROSE[:70],
            "fineweb_short_line_ratio",
        ),
        (
            {"char_duplicates_ratio": 0.01},
            PROSE + PROSE.splitlines()[1] + "\n",
            "fineweb_char_dup_ratio",
        ),
        ({"new_line_ratio": 0.3}, "\n".join(["Yes."] * 3 + ["No."] * 3), "fineweb_list_ratio"),
    ],
)
def test_fineweb_quality_rules(rule: dict, tripping: str, reason: str) -> None:
    off = {
        "line_punct_thr": None,
        "short_line_thr": None,
        "char_duplicates_ratio": None,
        "new_line_ratio": None,
    }
    assert run(FineWebQuality, tripping, **(off | rule)) == reason
    assert run(FineWebQuality, PROSE, **(off | rule)) is None


def test_per_language_overrides_apply_to_that_language_only() -> None:
    config = FiltersConfig.model_validate(
        {
            "gopher_quality": {"min_doc_words": 5},
            "per_language": {"fra_Latn": {"gopher_quality": {"min_doc_words": 500}}},
        }
    )
    assert config.for_language("fra_Latn").gopher_quality.min_doc_words == 500
    assert config.for_language("fra_Latn").gopher_quality.max_doc_words == 100_000
    assert config.for_language("deu_Latn").gopher_quality.min_doc_words == 5
    stage = GopherQuality(config)
    rows = [
        {"id": str(i), "text": PROSE, "language": lang}
        for i, lang in enumerate(["fra_Latn", "deu_Latn"])
    ]
    reasons = stage(make_batch(rows)).column("drop_reason").to_pylist()
    assert reasons[0] == "gopher_short_doc"
    assert reasons[1] in (None, "gopher_few_stop_words")


def test_disabled_family_passes_everything() -> None:
    config = FiltersConfig.model_validate({"c4_quality": {"enabled": False}})
    stage = C4Quality(config)
    batch = make_batch([{"id": "1", "text": "lorem ipsum {", "language": "eng_Latn"}])
    assert stage(batch).column("drop_reason").to_pylist() == [None]


def test_recipe_errors_name_the_key() -> None:
    data = load_raw(RECIPES / "fra_Latn.yaml")
    data["filters"]["gopher_quality"]["min_alpha_words_ratio"] = 2
    with pytest.raises(RecipeError, match=r"filters\.gopher_quality\.min_alpha_words_ratio"):
        parse_recipe(data)
    data = load_raw(RECIPES / "fra_Latn.yaml")
    data["filters"]["per_language"] = {"deu_Latn": {"fineweb_quality": {"new_line_ration": 1}}}
    with pytest.raises(
        RecipeError, match=r"per_language\.deu_Latn\.fineweb_quality\.new_line_ration"
    ):
        parse_recipe(data)


def test_shipped_recipes_carry_fineweb2_values(shared_data) -> None:
    import yaml

    from curate.recipe import load_recipe

    for published in sorted((shared_data / "fineweb2-configs").glob("*.yml")):
        values = yaml.safe_load(published.read_text(encoding="utf-8"))
        recipe = load_recipe(RECIPES / f"{published.stem}.yaml")
        settings = recipe.filters.for_language(published.stem)
        assert settings.gopher_quality.stop_words == values["stopwords"]
        assert settings.gopher_repetition.dup_line_frac == values["dup_line_frac"]
        assert settings.fineweb_quality.new_line_ratio == values["new_line_ratio"]
        assert settings.gopher_quality.min_alpha_words_ratio == values["max_non_alpha_words_ratio"]
        assert not settings.c4_quality.enabled
