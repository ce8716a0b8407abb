"""``curate card``: metadata the Hub and ``datasets`` accept, numbers equal to stats.json,
snippets that run, plots, and the EU summary with its provider-only fields marked."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from curate.card import EU_SUMMARY, README, CardError, CardOptions, write_card
from curate.card.eu_summary import PROVIDER_FIELD, TOP_DOMAINS_CSV
from curate.card.plots import LANGUAGES_PNG, LENGTHS_PNG, WATERFALL_PNG
from curate.engine.local import LocalEngine
from curate.recipe import load_recipe
from curate.runner import Run

from .conftest import RECIPES
from .helpers import labelled_jsonl, without_quality_filters

SITE_PACKAGES = Path(pytest.importorskip("datasets").__file__).parent
EU_SECTIONS = [
    "1. General information",
    "1.1 Provider identification",
    "1.2 Model identification",
    "1.3 Modalities, overall training data size and other characteristics",
    "2. List of data sources",
    "2.1 Publicly available datasets",
    "2.2 Private non-publicly available datasets obtained from third parties",
    "2.3 Data crawled and scraped from online sources",
    "2.4 User data",
    "2.5 Synthetic data",
    "2.6 Other sources of data",
    "3. Data processing aspects",
    "3.1 Respect of reservation of rights from the text and data mining exception",
    "3.2 Removal of illegal content",
    "3.3 Other information",
]


@pytest.fixture(scope="module")
def out(
    tmp_path_factory: pytest.TempPathFactory, warc_files: list[Path], shared_data: Path
) -> Path:
    """Real WARCs (Common Crawl, ClueWeb, a truncated file) and labelled sentences, with a
    strict language-ID threshold so that some documents of kept languages are dropped."""
    root = tmp_path_factory.mktemp("card")
    labelled_jsonl(shared_data, root / "labelled.jsonl")
    recipe = without_quality_filters(load_recipe(RECIPES / "base.yaml"))
    recipe = recipe.model_copy(
        update={
            "langid": recipe.langid.model_copy(update={"min_score": 0.9}),
            # The card of a run without PII scrubbing; with it: tests/test_pii_stage.py.
            "pii": recipe.pii.model_copy(update={"enabled": False}),
        }
    )
    Run(recipe, [*warc_files, root / "labelled.jsonl"], root / "out").execute(LocalEngine(1))
    write_card(root / "out", CardOptions(), eu_summary=True)
    return root / "out"


def stats(out: Path) -> dict:
    return json.loads((out / "stats.json").read_text())


def front_matter(text: str) -> tuple[dict, str]:
    import yaml

    _, header, body = text.split("---\n", 2)
    return yaml.safe_load(header), body


def section(body: str, title: str) -> str:
    return body.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def table_rows(markdown: str) -> list[list[str]]:
    lines = [line for line in markdown.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines[2:]]


def number(cell: str) -> int:
    return int(cell.strip("*`").replace(",", ""))


def test_metadata_validates_with_hub_card_utilities(out: Path) -> None:
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCard

    card = DatasetCard.load(out / README)
    data = card.data.to_dict()
    known = json.loads((SITE_PACKAGES / "utils/resources/languages.json").read_text())
    sizes = json.loads((SITE_PACKAGES / "utils/resources/size_categories.json").read_text())
    languages = sorted(p.name for p in (out / "data").iterdir())
    assert data["license"] == "odc-by" and data["pretty_name"]
    assert set(data["language"]) <= set(known) and {"de", "fr", "ja"} <= set(data["language"])
    assert data["size_categories"] == ["n<1K"] and set(data["size_categories"]) <= set(sizes)
    assert data["task_categories"] == ["text-generation"]
    configs = MetadataConfigs.from_dataset_card_data(card.data)
    assert sorted(configs) == languages
    for name, config in configs.items():
        assert config["data_files"] == [{"split": "train", "path": f"data/{name}/*.parquet"}]
    assert "common-crawl" in data["tags"]


def test_numbers_equal_stats_json(out: Path) -> None:
    summary = stats(out)
    _, body = front_matter((out / README).read_text())
    last = summary["stages"][list(summary["stages"])[-1]]  # dedup, when on
    langid = summary["stages"]["langid"]
    rows = {row[1].strip("`"): row for row in table_rows(section(body, "Languages"))}
    kept = {code: e for code, e in last.items() if e["docs_kept"] and code != "und"}
    assert set(rows) - {""} == set(kept)
    header = next(line for line in section(body, "Languages").splitlines() if line.startswith("|"))
    assert "dropped by `langid`" in header
    for code, entry in kept.items():
        assert number(rows[code][2]) == entry["docs_kept"]
        assert number(rows[code][4]) == entry["bytes_kept"]
        assert rows[code][3] == "not tokenized"
        share = 100 * sum(langid[code]["dropped"].values()) / langid[code]["docs_in"]
        assert rows[code][6] == f"{share:.1f} %"
    assert number(rows[""][2]) == sum(e["docs_kept"] for e in kept.values())
    assert any(sum(e["dropped"].values()) for e in kept.values()), "no langid drop to show"
    pipeline = {row[0].strip("`"): row for row in table_rows(section(body, "How it was made"))}
    for stage, languages in summary["stages"].items():
        assert number(pipeline[stage][3]) == sum(e["docs_in"] for e in languages.values())
        assert number(pipeline[stage][4]) == sum(e["docs_kept"] for e in languages.values())
    totals = summary["totals"]
    assert f"{totals['docs_read']:,} documents read, {totals['docs_kept']:,} kept" in body
    assert "`truncated_record` 1" in body


def python_snippets(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.DOTALL)


def test_snippets_run_against_the_output(out: Path, tmp_path: Path) -> None:
    text = (out / README).read_text()
    snippets = python_snippets(text)
    assert len(snippets) == 3
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1"}
    outputs = []
    for code in snippets:
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    stages = stats(out)["stages"]
    last = stages[list(stages)[-1]]  # dedup, when on
    example = re.search(r'load_dataset\("[^"]+", "([a-z]{3}_[A-Za-z]{4})"', text).group(1)
    assert outputs[0].split()[0] == str(last[example]["docs_kept"])
    assert str(last[example]["docs_kept"]) in outputs[1]
    for code, entry in last.items():
        if entry["docs_kept"] and code != "und":
            assert re.search(
                rf"{code}\s*│\s*{entry['docs_kept']}\s*│\s*{entry['bytes_kept']}\s", outputs[2]
            ), (code, outputs[2])


def test_snippets_for_a_hub_repo_are_the_local_ones_with_its_address(
    out: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    write_card(copy, CardOptions(repo="org/name"), force=True)
    hub = python_snippets((copy / README).read_text())
    local = python_snippets((out / README).read_text())
    root = str(out.resolve())
    expected = [
        s.replace(f'"{root}"', '"org/name"').replace(root, "hf://datasets/org/name") for s in local
    ]
    assert hub == expected


def test_rendered_html_embeds_plots_and_tables(out: Path) -> None:
    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark").enable("table").render((out / README).read_text())
    for png in (LANGUAGES_PNG, WATERFALL_PNG, LENGTHS_PNG):
        assert f'<img src="{png}"' in html
        data = (out / png).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 5000
    assert html.count("<table>") >= 7
    assert "<h2>Known limitations</h2>" in html and "<h2>Personal data</h2>" in html


def test_plots_and_card_are_deterministic(out: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    write_card(copy, CardOptions(), eu_summary=True, force=True)
    for name in (LANGUAGES_PNG, WATERFALL_PNG, LENGTHS_PNG, TOP_DOMAINS_CSV, EU_SUMMARY):
        assert (copy / name).read_bytes() == (out / name).read_bytes(), name
    strip = str(out.resolve()), str(copy.resolve())
    assert (copy / README).read_text().replace(strip[1], strip[0]).split("<!--")[0] == (
        (out / README).read_text().split("<!--")[0]
    )


def test_eu_summary_follows_the_template(out: Path) -> None:
    text = (out / EU_SUMMARY).read_text()
    headings = re.findall(r"^#{2,3} (.+)$", text, re.MULTILINE)
    assert headings == EU_SECTIONS
    assert text.count(PROVIDER_FIELD) >= 12
    for heading in ("1.1 Provider identification", "1.2 Model identification"):
        part = text.split(heading, 1)[1].split("###", 1)[0]
        assert all(PROVIDER_FIELD in line for line in part.splitlines() if line.startswith("- "))
    assert "CC-MAIN-2020-34" in text and "CCBot/2.0" in text and "crawler-commons" in text
    assert "Period of data collection: 2020-08-08 to 2020-08-08" in text
    assert "An opt-out filter (`tdm-reservation` header" in text
    assert "no** PII scrubbing" in text
    domains = (out / TOP_DOMAINS_CSV).read_text().splitlines()[1:]
    card = (out / README).read_text()
    total = int(re.search(r"([\d,]+) registered domains", card).group(1).replace(",", ""))
    assert len(domains) == math.ceil(total * 0.10)
    assert domains[0].split(",")[1] in text


def test_token_and_pii_counts_are_reported_when_present(out: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    expected = {}
    for shard in sorted((copy / "data").glob("*/*.parquet")):
        table = pq.read_table(shard)
        tokens = pc.cast(pc.divide(pc.utf8_length(table.column("text")), 4), pa.int64())
        pq.write_table(table.append_column("token_count", tokens), shard)
        expected[shard.parent.name] = expected.get(shard.parent.name, 0) + pc.sum(tokens).as_py()
    summary = stats(copy)
    summary["counters"] = {"pii": {"deu_Latn": {"docs_with_pii": 2, "email": 3, "phone": 1}}}
    (copy / "stats.json").write_text(json.dumps(summary))
    write_card(copy, CardOptions(), eu_summary=True, force=True)
    _, body = front_matter((copy / README).read_text())
    rows = {row[1].strip("`"): row for row in table_rows(section(body, "Languages"))}
    for code, tokens in expected.items():
        assert number(rows[code][3]) == tokens
    assert number(rows[""][3]) == sum(expected.values())
    pii = table_rows(section(body, "Personal data"))
    assert pii == [["`deu_Latn`", "3", "1"]]
    assert "email 3, phone 1" in (copy / EU_SUMMARY).read_text()
    assert "not tokenized" not in body


def test_edited_card_is_kept_unless_forced(out: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    edited = (copy / EU_SUMMARY).read_text().replace(PROVIDER_FIELD, "Example AI SE", 1)
    (copy / EU_SUMMARY).write_text(edited)
    with pytest.raises(CardError, match="edited by hand"):
        write_card(copy, CardOptions(), eu_summary=True)
    write_card(copy, CardOptions())  # the README alone was not edited
    assert (copy / EU_SUMMARY).read_text() == edited


def test_shards_that_disagree_with_stats_are_refused(out: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    next((copy / "data").glob("*/*.parquet")).unlink()
    with pytest.raises(CardError, match="disagree"):
        write_card(copy, CardOptions(), force=True)


def test_cli_card_errors_are_one_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from curate.cli import app

    result = CliRunner().invoke(app, ["card", str(tmp_path)])
    assert result.exit_code == 2 and "stats.json not found" in " ".join(result.output.split())
