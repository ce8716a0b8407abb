"""Quality filtering inside real runs: opt-outs, URL lists, routing, audit output, calibrate."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import yaml

from curate.engine.local import LocalEngine
from curate.recipe import load_raw, load_recipe, parse_recipe
from curate.runner import Run
from curate.schema import make_batch
from curate.stages.compliance.optout import OptOut
from curate.stages.compliance.url import UrlFilter
from curate.stages.quality.config import FiltersConfig, UrlFilterConfig
from curate.testing.warc_writer import HttpResponse, http_block, warc_record, write_warc_gz
from tests.conftest import RECIPES, REPO
from tests.helpers import without_dedup, without_quality_filters

ARTICLE = (
    "Le conseil municipal a voté hier soir le budget de la ville pour l'année prochaine. "
    "Les élus de l'opposition ont critiqué la hausse des impôts locaux et la baisse des aides. "
    "Le maire a répondu que les travaux de la nouvelle école devaient commencer au printemps. "
)


def _page(head: str = "") -> bytes:
    body = f"<html><head>{head}<title>t</title></head><body><article>"
    body += "".join(f"<p>{ARTICLE}</p>" for _ in range(4)) + "</article></body></html>"
    return body.encode()


def _record(url: str, head: str = "", header: str = "") -> bytes:
    response = HttpResponse(url, _page(head))
    block = http_block(response)
    if header:
        block = block.replace(b"Content-Type:", header.encode() + b"\r\nContent-Type:", 1)
    return warc_record(response, block)


def _run(recipe_data: dict, inputs: list[Path], out: Path) -> dict:
    summary, _ = Run(parse_recipe(recipe_data), inputs, out).execute(LocalEngine(1))
    return summary


def test_opt_out_signals_are_dropped_and_counted_separately(tmp_path: Path) -> None:
    warc = write_warc_gz(
        tmp_path / "optout.warc.gz",
        [
            _record("https://free.fr/a"),
            _record("https://free.fr/b", '<meta name="tdm-reservation" content="0">'),
            _record("https://tdm.fr/meta", "<META content='1' NAME='TDM-Reservation'>"),
            _record("https://tdm.fr/header", header="tdm-reservation: 1"),
            _record("https://ai.fr/noai", '<meta name="robots" content="index, follow, noai">'),
            _record("https://ai.fr/img", '<meta name="robots" content="noimageai">'),
            _record("https://ai.fr/tag", header="X-Robots-Tag: noai, noimageai"),
        ],
    )
    recipe = without_dedup(without_quality_filters(load_recipe(RECIPES / "fra_Latn.yaml")))
    summary, _ = Run(recipe, [warc], tmp_path / "out").execute(LocalEngine(1))
    assert summary["stages"]["opt_out"]["und"]["dropped"] == {
        "optout_robots_noai": 2,
        "optout_robots_noimageai": 1,
        "optout_tdm_header": 1,
        "optout_tdm_meta": 1,
    }
    assert summary["totals"]["docs_kept"] == 2


def test_opt_out_switches() -> None:
    page = '<meta name="robots" content="noimageai">'
    batch = make_batch([{"id": "1", "html": page}], with_html=True)
    config = FiltersConfig().opt_out
    assert OptOut(config)(batch).column("drop_reason").to_pylist() == ["optout_robots_noimageai"]
    off = config.model_copy(update={"robots_noimageai": False})
    assert OptOut(off)(batch).column("drop_reason").to_pylist() == [None]


def test_url_blocklists_by_kind_each_counted(tmp_path: Path) -> None:
    (tmp_path / "adult.txt").write_text("# domains\nbad.example\nпример.рф\n")
    (tmp_path / "hosts.txt").write_text("ads.shop.example\n")
    (tmp_path / "urls.txt").write_text("https://ok.example/one-bad-page\n")
    (tmp_path / "words.txt").write_text("casino\n")
    config = UrlFilterConfig.model_validate(
        {
            "blocklists": [
                {"file": str(tmp_path / "adult.txt"), "match": "domain", "name": "adult"},
                {"file": str(tmp_path / "hosts.txt"), "match": "host"},
                {"file": str(tmp_path / "urls.txt"), "match": "url"},
                {"file": str(tmp_path / "words.txt"), "match": "substring", "name": "Gambling"},
            ]
        }
    )
    urls = {
        "https://bad.example/x": "url_blocked_adult",
        "http://www.bad.example:8080/x": "url_blocked_adult",
        "https://notbad.example/": None,
        "https://xn--e1afmkfd.xn--p1ai/page": "url_blocked_adult",
        "https://ads.shop.example/": "url_blocked_hosts",
        "https://shop.example/": None,
        "https://ok.example/one-bad-page": "url_blocked_urls",
        "https://ok.example/one-bad-page-not": None,
        "https://ok.example/CASINO-night": "url_blocked_gambling",
        None: None,
    }
    batch = make_batch([{"id": str(i), "url": u} for i, u in enumerate(urls)])
    reasons = UrlFilter(config)(batch).column("drop_reason").to_pylist()
    assert reasons == list(urls.values())


def test_missing_blocklist_is_a_recipe_error(tmp_path: Path) -> None:
    data = load_raw(RECIPES / "fra_Latn.yaml")
    data["filters"]["url"] = {"blocklists": [{"file": str(tmp_path / "no.txt"), "match": "url"}]}
    try:
        parse_recipe(data)
    except ValueError as error:
        assert "filters.url.blocklists.0.file" in str(error) and "not found" in str(error)
    else:
        raise AssertionError("a missing blocklist file must fail the recipe")


def _labelled_jsonl(shared_data: Path, path: Path) -> Path:
    """Clean prose in three languages and a few junk documents the filters must drop."""
    with open(path, "w", encoding="utf-8") as stream:
        for iso in ("fr", "de", "el"):
            lines = (shared_data / "langid" / f"{iso}.txt").read_text().splitlines()
            for n in range(4):
                text = "\n".join(lines[n * 20 : n * 20 + 20])
                stream.write(json.dumps({"id": f"{iso}-{n}", "text": text}) + "\n")
            junk = "\n".join(lines[:3] * 6)  # the same lines again and again
            stream.write(json.dumps({"id": f"{iso}-junk", "text": junk}) + "\n")
    return path


def test_routed_run_applies_each_languages_filters_as_alone(
    shared_data: Path, tmp_path: Path
) -> None:
    sample = _labelled_jsonl(shared_data, tmp_path / "in.jsonl")
    routes = [str(RECIPES / code) for code in ("fra_Latn", "deu_Latn", "ell_Grek")]
    all_path = tmp_path / "all.yaml"
    all_path.write_text(
        yaml.safe_dump({"extends": str(RECIPES / "base.yaml"), "name": "three", "route": routes})
    )
    summary, _ = Run(load_recipe(all_path), [sample], tmp_path / "all").execute(LocalEngine(1))
    assert summary["stages"]["gopher_repetition"]["fra_Latn"]["dropped"]
    for code in ("fra_Latn", "deu_Latn", "ell_Grek"):
        alone = tmp_path / code
        Run(load_recipe(RECIPES / f"{code}.yaml"), [sample], alone).execute(LocalEngine(1))
        one_pass = pq.read_table(tmp_path / "all" / "data" / code / "in-00000.parquet")
        separate = pq.read_table(alone / "data" / code / "in-00000.parquet")
        assert one_pass.equals(separate)
        assert one_pass.num_rows >= 2


def test_rejected_documents_written_for_audit_and_inspect_rates(
    shared_data: Path, tmp_path: Path
) -> None:
    sample = _labelled_jsonl(shared_data, tmp_path / "in.jsonl")
    data = load_raw(RECIPES / "fra_Latn.yaml")
    data["filters"]["write_rejected"] = True
    out = tmp_path / "out"
    summary = _run(data, [sample], out)
    rejected = pq.read_table(out / "rejected" / "fra_Latn" / "in.parquet").to_pylist()
    by_id = {row["id"]: row for row in rejected}
    assert by_id["fr-junk"]["stage"] == "gopher_repetition"
    assert by_id["fr-junk"]["reason"] == "gopher_dup_line_frac"
    assert by_id["fr-junk"]["text"].startswith(
        (shared_data / "langid" / "fr.txt").read_text().splitlines()[0]
    )
    assert (out / "rejected" / "deu_Latn" / "in.parquet").is_file()  # language_not_selected
    assert summary["totals"]["docs_dropped"] == len(pq.read_table(out / "dropped" / "in.parquet"))
    shown = subprocess.run(
        [sys.executable, "-m", "curate.cli", "inspect", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    ).stdout
    assert "Drop rates per stage and language" in shown and "gopher_dup_line_frac" in shown


def test_calibrate_writes_overrides_that_keep_the_reference_sample(
    shared_data: Path, tmp_path: Path
) -> None:
    lines = (shared_data / "langid" / "fr.txt").read_text().splitlines()
    sample = tmp_path / "fr.jsonl"
    with open(sample, "w", encoding="utf-8") as stream:
        for n in range(0, 500, 10):
            stream.write(json.dumps({"id": str(n), "text": "\n".join(lines[n : n + 10])}) + "\n")
    out = tmp_path / "calibrated.yaml"
    shown = subprocess.run(
        [
            sys.executable,
            "-m",
            "curate.cli",
            "calibrate",
            "--input",
            str(sample),
            "--language",
            "fra_Latn",
            "--quantiles",
            "0.02,0.98",
            "--recipe",
            str(RECIPES / "fra_Latn.yaml"),
            "--output",
            str(out),
            "--reference",
            str(shared_data / "fineweb2-configs" / "fra_Latn.yml"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    ).stdout
    assert "avg_word_length" in shown and "FineWeb-2" in shown
    calibrated = load_recipe(out)
    settings = calibrated.filters.for_language("fra_Latn")
    assert settings.gopher_quality.min_stop_words > 2  # real French has many stop words
    assert not settings.c4_quality.enabled  # the recipe's disabled family stays disabled
    summary = _run(calibrated.model_dump(), [sample], tmp_path / "run")
    assert summary["totals"]["docs_kept"] >= 0.8 * 50
