"""The compliance stages: publishers' text-and-data-mining opt-outs and URL blocklists."""

from __future__ import annotations

from pathlib import Path

from curate.engine.local import LocalEngine
from curate.recipe import load_raw, load_recipe, parse_recipe
from curate.runner import Run
from curate.schema import make_batch
from curate.stages.compliance.optout import OptOut
from curate.stages.compliance.url import UrlFilter
from curate.stages.quality.config import FiltersConfig, UrlFilterConfig
from curate.testing.warc_writer import HttpResponse, http_block, warc_record, write_warc_gz
from tests.conftest import RECIPES
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
