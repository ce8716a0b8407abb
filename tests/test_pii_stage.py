"""The PII stage in a batch, in a run (stats.json counters, no PII in logs or stats), and on
the labelled evaluation set that benchmarks/bench_pii.py measures."""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import logging
import sys
from pathlib import Path

import phonenumbers
import polars as pl
import pyarrow as pa
import pytest
from stdnum import iban as stdnum_iban
from stdnum import luhn

from curate.card import README, CardOptions, write_card
from curate.engine.local import LocalEngine
from curate.pii.config import PiiConfig
from curate.pipeline import build_stages
from curate.recipe import Recipe, RecipeError, load_recipe, parse_recipe
from curate.runner import Run
from curate.schema import make_batch
from curate.stages.pii import PiiScrub
from curate.stages.quality.config import TEXT_FILTERS
from curate.stats import RunStats

from .conftest import RECIPES, REPO
from .helpers import recipe

PII = {
    "email": "anna.nowak@poczta.example.pl",
    "ip": "93.184.216.34",
    "phone": "+48 22 596 43 18",
    "iban": "DE89 3704 0044 0532 0130 00",
    "card": "4012 8888 8888 1881",
}
TEXT = (
    f"Napisz do {PII['email']} albo zadzwoń: {PII['phone']}. Serwer {PII['ip']} odpowiada. "
    f"Przelew na IBAN {PII['iban']}, karta {PII['card']}. Spotkanie 12.05.2023 o 10:30."
)


def batch(texts: list[str | None], languages: list[str | None] | None = None) -> pa.Table:
    languages = languages or ["pol_Latn"] * len(texts)
    return make_batch(
        {"id": str(i), "text": t, "language": lang}
        for i, (t, lang) in enumerate(zip(texts, languages, strict=True))
    )


def test_placeholders_and_counts_per_language() -> None:
    stage = PiiScrub(PiiConfig())
    out = stage(
        batch([TEXT, TEXT, "Bez danych osobowych, 12.05.2023."], ["pol_Latn"] * 2 + ["deu_Latn"])
    )
    text = out.column("text")[0].as_py()
    for kind, value in PII.items():
        assert value not in text and f"<{kind.upper()}>" in text
    assert "12.05.2023 o 10:30" in text
    assert out.column("text")[2].as_py() == "Bez danych osobowych, 12.05.2023."
    assert out.column("drop_reason").null_count == 3
    counts = stage.take_counts()
    assert counts == {
        "pol_Latn": {"docs_with_pii": 2, "email": 2, "ip": 2, "phone": 2, "iban": 2, "card": 2}
    }
    assert stage.take_counts() == {}


def test_realistic_stand_ins_point_at_nobody_and_keep_the_layout() -> None:
    config = PiiConfig.model_validate(
        {kind: {"replace_with": "stand_in"} for kind in ("email", "ip", "phone", "iban", "card")}
    )
    stage = PiiScrub(config)
    text = TEXT + " Zapasowy: 2a00:1450:4001:82a::200e."
    out = stage(batch([text])).column("text")[0].as_py()
    for value in PII.values():
        assert value not in out
    assert "email@example.com" in out
    assert "192.0.2.1" in out and "Zapasowy: 2001:db8:" in out
    iban = next(w for w in out.split("IBAN ")[1:])[:27]
    assert iban.startswith("DE") and iban.count(" ") == 5
    assert stdnum_iban.is_valid(iban.replace(" ", ""), check_country=False)
    card = out.split("karta ")[1][:19]
    assert card.startswith("4") and card.count(" ") == 3 and luhn.is_valid(card.replace(" ", ""))
    number = out.split("zadzwoń: ")[1].split(".")[0]
    parsed = phonenumbers.parse(number)
    assert (
        phonenumbers.is_valid_number(parsed) and phonenumbers.region_code_for_number(parsed) == "PL"
    )
    again = PiiScrub(PiiConfig()).find(batch([out]))
    assert {span.kind for span in again.get(0, [])} == {"phone", "iban", "card"}


def test_custom_stand_ins_and_placeholders_cycle_per_document() -> None:
    config = PiiConfig.model_validate(
        {
            "email": {"replace_with": "stand_in", "stand_ins": ["a@example.org", "b@example.org"]},
            "phone": {"placeholder": "[TEL]"},
            "ip": {"enabled": False},
        }
    )
    text = "x@firma.de, y@firma.de, z@firma.de, Tel. 030 1234567, IP 93.184.216.34"
    out = PiiScrub(config)(batch([text], ["deu_Latn"])).column("text")[0].as_py()
    assert out == "a@example.org, b@example.org, a@example.org, Tel. [TEL], IP 93.184.216.34"


def test_null_empty_and_clean_batches_pass_through() -> None:
    stage = PiiScrub(PiiConfig())
    empty = batch([])
    assert stage(empty) is empty
    clean = batch([None, "", "Nichts zu sehen, Version 1.2.3.4, 192.168.0.1."])
    assert stage(clean).equals(clean)
    assert stage.take_counts() == {}


def test_same_output_whatever_the_batching() -> None:
    texts = [TEXT.replace("anna", f"anna{i}") for i in range(7)]
    whole = PiiScrub(PiiConfig())(batch(texts)).column("text").to_pylist()
    stage = PiiScrub(PiiConfig())
    parts = [stage(batch(texts[i : i + 3])).column("text").to_pylist() for i in range(0, 7, 3)]
    assert whole == [t for part in parts for t in part]


def test_marks_in_the_text_do_not_confuse_offsets() -> None:
    text = "a\x01b\x02 x@firma.de \x01"
    out = PiiScrub(PiiConfig())(batch([text])).column("text")[0].as_py()
    assert out == "a\x01b\x02 <EMAIL> \x01"


def test_recipe_section_and_pipeline_position() -> None:
    assert isinstance(build_stages(recipe())[-1], PiiScrub)
    assert not any(
        isinstance(s, PiiScrub) for s in build_stages(recipe(pii=PiiConfig(enabled=False)))
    )
    with pytest.raises(RecipeError) as error:
        parse_recipe({"name": "x", "pii": {"emails": {}, "phone": {"default_regions": ["XX"]}}})
    message = str(error.value)
    assert "pii.emails: unknown key" in message
    assert "pii.phone.default_regions: unknown phone regions ['XX']" in message
    with pytest.raises(RecipeError, match="pii.card.replace_with: must be one of"):
        parse_recipe({"name": "x", "pii": {"card": {"replace_with": "mask"}}})


def test_routed_runs_scrub_each_language_and_count() -> None:
    stages = build_stages(load_recipe(RECIPES / "eu_all.yaml"))
    routed = next(stage for stage in stages if stage.name == "pii")
    assert isinstance(routed.stages["deu_Latn"], PiiScrub)
    out = routed(batch([TEXT, "Tel. 030 1234567"], ["pol_Latn", "deu_Latn"]))
    assert out.column("text")[1].as_py() == "Tel. <PHONE>"
    counts = routed.take_counts()
    assert counts["deu_Latn"] == {"docs_with_pii": 1, "phone": 1}
    assert counts["pol_Latn"]["email"] == 1 and routed.take_counts() == {}


def test_counters_merge_and_round_trip() -> None:
    one, two = RunStats(), RunStats()
    one.count("pii", {"deu_Latn": {"email": 2, "docs_with_pii": 1}})
    two.count("pii", {"deu_Latn": {"email": 1}, "fra_Latn": {"phone": 3}})
    one.merge(RunStats.from_dict(two.to_dict()))
    assert one.to_dict()["counters"] == {
        "pii": {"deu_Latn": {"docs_with_pii": 1, "email": 3}, "fra_Latn": {"phone": 3}}
    }
    assert RunStats.from_dict(one.to_dict()).to_dict() == one.to_dict()


def test_run_counts_pii_per_language_and_never_records_it(
    shared_data: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lines = {
        code: (shared_data / "langid" / f"{code}.txt").read_text("utf-8").splitlines()
        for code in ("pl", "de")
    }
    german = f"Telefon: 030 1234567, E-Mail: max.mustermann@example.de, IBAN {PII['iban']}."
    documents = [
        {"id": "pl", "text": " ".join(lines["pl"][:5]) + " " + TEXT, "url": "https://x.pl/1"},
        {"id": "de", "text": " ".join(lines["de"][:5]) + " " + german, "url": "https://x.de/2"},
        {"id": "clean", "text": " ".join(lines["de"][5:10]), "url": "https://x.de/3"},
    ]
    source = tmp_path / "docs.jsonl"
    source.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in documents) + "\n")
    out = tmp_path / "out"
    with caplog.at_level(logging.DEBUG):
        summary, _ = Run(_without_text_filters(), [source], out).execute(LocalEngine(1))
    assert summary["counters"]["pii"] == {
        "deu_Latn": {"docs_with_pii": 1, "email": 1, "iban": 1, "phone": 1},
        "pol_Latn": {"card": 1, "docs_with_pii": 1, "email": 1, "iban": 1, "ip": 1, "phone": 1},
    }
    assert summary["stages"]["pii"]["deu_Latn"]["docs_kept"] == 2
    kept = pl.read_parquet(sorted((out / "data").glob("*/*.parquet")))
    written = "\n".join(kept["text"])
    recorded = [p.read_text("utf-8") for p in out.rglob("*.json")]
    recorded += [record.getMessage() for record in caplog.records]
    for value in [*PII.values(), "030 1234567", "max.mustermann@example.de"]:
        assert value not in written
        assert not any(value in text for text in recorded), value
    assert written.count("<EMAIL>") == 2 and written.count("<PHONE>") == 2
    write_card(out, CardOptions())
    card = (out / README).read_text("utf-8").split("## Personal data", 1)[1].split("\n## ")[0]
    assert "| `pol_Latn` |" in card and "docs_with_pii" not in card
    assert not any(value in card for value in PII.values())


def _without_text_filters() -> Recipe:
    """The base recipe minus the quality filters: these short documents are about PII."""
    base = recipe()
    off = {
        name: getattr(base.filters, name).model_copy(update={"enabled": False})
        for name in TEXT_FILTERS
    }
    return base.model_copy(update={"filters": base.filters.model_copy(update=off)})


def _evalset():
    path = REPO / "benchmarks" / "pii_evalset.py"
    spec = importlib.util.spec_from_file_location("pii_evalset", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["pii_evalset"] = module
    spec.loader.exec_module(module)
    return module


def test_labelled_evaluation_set_scores(shared_data: Path) -> None:
    """A small draw of the benchmark's evaluation set, scored as the benchmark does."""
    evalset = _evalset()
    documents = evalset.natural_documents(shared_data) + evalset.synthetic_documents(
        shared_data, docs_per_language=4, seed=11
    )
    gold = {(i, g.start, g.end, g.kind) for i, d in enumerate(documents) for g in d.gold}
    assert any(d.gold for d in documents[:100]) or len(gold) > 300
    rows = [{"id": d.id, "text": d.text, "language": d.language, "url": d.url} for d in documents]
    stage = PiiScrub(PiiConfig())
    predicted = {
        (row, s.start, s.end, s.kind)
        for row, spans in stage.find(make_batch(rows)).items()
        for s in spans
    }
    for kind, floor in (
        ("email", 0.95),
        ("ip", 0.95),
        ("iban", 0.95),
        ("card", 0.95),
        ("phone", 0.9),
    ):
        g = {s for s in gold if s[3] == kind}
        p = {s for s in predicted if s[3] == kind}
        assert len(g) >= 20, kind
        assert len(g & p) / len(p) >= floor and len(g & p) / len(g) >= floor, kind
    for address in (s for s in gold if s[3] == "ip"):
        text = documents[address[0]].text[address[1] : address[2]]
        assert ipaddress.ip_address(text).is_global
