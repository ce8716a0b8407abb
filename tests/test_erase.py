"""Right to erasure: ``curate erase`` on a real tokenized run with a mixture, then proof that
nothing of the erased documents is left, that counts add up, that later runs keep them out,
that a SIGKILL mid-erasure resumes to the same bytes, and that the Hub copy follows.

Independent checks: the expected matches are computed here with plain Python (not curate's
matcher), every file under the output and the mixture is scanned (Parquet decoded column by
column, every other file as raw bytes), and token shards are compared with a fresh encoding of
their rows' text.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from curate.card import CardOptions, write_card
from curate.engine.local import LocalEngine
from curate.io.indexed import IndexedDataset
from curate.mixture.plan import MixError, build_mixture, load_mixture
from curate.models.tokenizers import Tokenize
from curate.recipe import load_recipe
from curate.runner import Run
from curate.schema import make_batch
from curate.stages.compliance.erasure import (
    ErasureFilter,
    Hashes,
    load_list,
    read_entries,
    request_hashes,
    save_list,
)
from curate.testing.warc_writer import HttpResponse, warc_record, write_warc_gz

from .conftest import RECIPES, REPO
from .fake_hub import FakeHub

TOKEN = "hf_fakeTOKENvalue0123456789abcdef"
REPO_ID = "curate-org/erased-corpus"
HOSTS = ("news.alpha.eu", "blog.beta.eu", "www.shop.gamma.eu", "www.person.delta.eu")
ERASED_DOMAIN = "delta.eu"
RECEIVED = "2026-11-30T09:00:00Z"
PAGES = 48


# --- unit checks of the matcher and the stage (no run needed) ---------------------------------


def test_urls_match_after_light_normalisation_and_domains_cover_subdomains() -> None:
    hashes = request_hashes(
        ["HTTPS://Example.ORG/Path/Page?q=A#section"], ["delta.eu"], ["urn:uuid:7"]
    )
    table = pa.table(
        {
            "url": [
                "https://example.org/Path/Page?q=A",  # same URL, fragment dropped
                "https://example.org/path/page?q=A",  # the path keeps its case: not the same
                "http://www.person.DELTA.eu/x",  # a subdomain of the listed domain
                "https://notdelta.eu/",  # not a subdomain
                None,
            ],
            "id": ["a", "b", "c", "d", "urn:uuid:7"],
        }
    )
    assert hashes.matches(table).tolist() == [True, False, True, False, True]


def test_the_list_keeps_hashes_only_and_the_stage_drops_with_reason_erased(tmp_path: Path) -> None:
    url = "https://private.example/alice"
    hashes = request_hashes([url], [], [])
    path = tmp_path / "list.txt"
    save_list(path, hashes)
    assert url not in path.read_text() and "private" not in path.read_text()
    assert load_list(path).url == hashes.url
    batch = make_batch([{"id": "1", "url": url}, {"id": "2", "url": "https://other.example/"}])
    after = ErasureFilter((str(path),))(batch)
    assert after.column("drop_reason").to_pylist() == ["erased", None]


def test_a_bad_list_line_is_one_line_error(tmp_path: Path) -> None:
    from curate.stages.compliance.erasure import ErasureListError

    path = tmp_path / "list.txt"
    path.write_text("url https://example.org/\n")
    with pytest.raises(ErasureListError, match="list.txt:1: not an erasure list line"):
        load_list(path)


# --- the real run ------------------------------------------------------------------------------


def build_inputs(shared_data: Path, root: Path) -> list[Path]:
    """Real pages (html-eval) under four hosts, and a real Common Crawl excerpt."""
    pages = sorted((shared_data / "html-eval" / "pages").glob("*.html"))[:PAGES]
    files = []
    for part in range(2):
        chunk = pages[part * PAGES // 2 : (part + 1) * PAGES // 2]
        records = [
            warc_record(HttpResponse(f"https://{HOSTS[i % 4]}/{p.stem}", p.read_bytes()))
            for i, p in enumerate(chunk)
        ]
        files.append(write_warc_gz(root / f"part-{part}.warc.gz", records))
    real = root / "commoncrawl.warc.gz"
    shutil.copyfile(shared_data / "warc" / "warcfile.warc.gz", real)
    return [*files, real]


@pytest.fixture(scope="module")
def world(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("erase")
    inputs = build_inputs(shared_data, root / "in")
    recipe_file = root / "recipe.yaml"
    recipe_file.write_text(
        yaml.safe_dump(
            {
                "extends": str(RECIPES / "base.yaml"),
                "name": "erase-proof",
                "batch_size": 16,
                "filters": {"write_rejected": True},
                "tokenize": {"enabled": True, "bos": True, "eos": True},
            }
        )
    )
    site = root / "site"
    out, mix = site / "out", site / "mix"
    Run(load_recipe(recipe_file), inputs, out).execute(LocalEngine(1))
    write_card(out, CardOptions(repo=REPO_ID), eu_summary=True)
    available = sum(
        v["tokens"]
        for v in json.loads((out / "tokens/tokens.json").read_text())["languages"].values()
    )
    mixture = site / "mixture.yaml"
    mixture.write_text(
        yaml.safe_dump(
            {
                "name": "proof",
                "inputs": ["out"],
                "total_tokens": int(available * 1.5),  # some documents go in twice
                "strategy": "proportional",
                "max_epochs": 2,
                "shard_tokens": max(available // 3, 1),
            }
        )
    )
    build_mixture(load_mixture(mixture), mix)
    shutil.copytree(site, root / "pristine")
    world = {"root": root, "site": site, "out": out, "mix": mix, "inputs": inputs}
    world["recipe"] = recipe_file
    world.update(choose_targets(root, out))
    return world


def rows_of(out: Path, part: str) -> list[dict]:
    rows = []
    for path in sorted((out / part).rglob("*.parquet")):
        table = pq.read_table(path)
        columns = [c for c in ("url", "id", "text") if c in table.column_names]
        for row in table.select(columns).to_pylist():
            rows.append({**row, "file": path.relative_to(out).as_posix()})
    return rows


def plain_normalised(url: str) -> str:
    """The test's own reading of 'light normalisation': lower scheme/host, no fragment."""
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path}" + (
        f"?{parts.query}" if parts.query else ""
    )


def choose_targets(root: Path, out: Path) -> dict:
    """Erase every kept document of the smallest shard, one more URL (given in upper case with
    a fragment), a domain, and one id; compute what that must remove."""
    kept = rows_of(out, "data")
    by_file: dict[str, list[dict]] = {}
    for row in kept:
        by_file.setdefault(row["file"], []).append(row)
    smallest = min(by_file, key=lambda f: (len(by_file[f]), f))
    others = [r for r in kept if r["file"] != smallest and ERASED_DOMAIN not in r["url"]]
    extra, by_id = others[0], others[-1]
    urls = [r["url"] for r in by_file[smallest]]
    shouted = extra["url"].replace("https://", "HTTPS://").replace(".eu/", ".EU/") + "#top"
    (root / "urls.txt").write_text("# takedown 2026-118\n" + "\n".join([*urls, shouted]) + "\n")
    (root / "domains.txt").write_text(ERASED_DOMAIN + "\n")
    (root / "ids.txt").write_text(by_id["id"] + "\n")
    wanted = {plain_normalised(u) for u in [*urls, extra["url"]]}

    def erased(row: dict) -> bool:
        host = urlsplit(row["url"] or "").hostname or ""
        return (
            plain_normalised(row["url"] or "") in wanted
            or host == ERASED_DOMAIN
            or host.endswith("." + ERASED_DOMAIN)
            or row["id"] == by_id["id"]
        )

    every = kept + rows_of(out, "rejected") + rows_of(out, "dropped")
    gone = [r for r in every if erased(r)]
    staying_text = "\n".join(
        r["text"] or "" for r in kept + rows_of(out, "rejected") if not erased(r)
    )
    snippets = {s for s in (_snippet(r.get("text")) for r in gone) if s and s not in staying_text}
    erased_kept = [r for r in kept if erased(r)]
    return {
        "secrets": sorted({r["url"] for r in gone} | {r["id"] for r in gone} | snippets),
        "snippets": snippets,
        "erased_kept": erased_kept,
        "emptied": smallest,
        "kept_before": len(kept),
    }


def _snippet(text: str | None) -> str | None:
    if not text:
        return None
    line = max(text.splitlines(), key=len)
    middle = len(line) // 2
    return line[max(0, middle - 25) : middle + 25] if len(line) >= 30 else None


def restore(world: dict) -> None:
    shutil.rmtree(world["site"])
    shutil.copytree(world["root"] / "pristine", world["site"])


def erase_cmd(world: dict) -> list[str]:
    root = world["root"]
    return [
        sys.executable,
        "-m",
        "curate.cli",
        "erase",
        str(world["out"]),
        "--urls",
        str(root / "urls.txt"),
        "--domains",
        str(root / "domains.txt"),
        "--ids",
        str(root / "ids.txt"),
        "--reason",
        "GDPR Art. 17 request 2026-118",
        "--received",
        RECEIVED,
        "--mix",
        str(world["mix"]),
    ]


def run_erase(world: dict, kill_after: int | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    if kill_after is not None:
        env["CURATE_TEST_KILL_AFTER_STEPS"] = str(kill_after)
    return subprocess.run(erase_cmd(world), env=env, capture_output=True, text=True, timeout=300)


def every_file(*roots: Path) -> list[Path]:
    return sorted(p for root in roots for p in root.rglob("*") if p.is_file())


def leftovers(world: dict) -> list[str]:
    """Every erased URL, id or text found in any file of the output or the mixture."""
    found = []
    secrets = [*world["secrets"], ERASED_DOMAIN]
    for path in every_file(world["out"], world["mix"]):
        raw = path.read_bytes()
        texts = [raw.decode("utf-8", "replace")]
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            for column in table.columns:
                if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
                    texts.append("\n".join(v for v in column.to_pylist() if v))
        found += [f"{path}: {s[:40]}" for s in secrets if any(s in text for text in texts)]
    return found


def test_erasure_leaves_no_trace_and_the_counts_add_up(world: dict) -> None:
    restore(world)
    done = run_erase(world)
    assert done.returncode == 0, done.stderr
    out, erased = world["out"], world["erased_kept"]
    assert f"erased {len(erased)} document(s)" in " ".join(done.stderr.split())
    assert leftovers(world) == []
    assert not (out / "work" / "erase").exists() or not list((out / "work/erase").glob("*/"))
    assert not (out / world["emptied"]).exists()

    # what is left: nothing more than the erased documents went
    assert len(rows_of(out, "data")) == world["kept_before"] - len(erased)

    # token shards still decode to their rows, and hold no erased document's tokens
    recipe = load_recipe(world["recipe"])
    tokenizer = Tokenize(recipe.tokenize)
    for shard in sorted((out / "data").glob("*/*.parquet")):
        table = pq.read_table(shard, columns=["text", "token_count"])
        dataset = IndexedDataset(out / "tokens" / shard.parent.name / shard.stem)
        ids, lengths = tokenizer.encode(table.column("text").to_pylist())
        assert len(dataset) == table.num_rows
        assert (
            dataset.lengths.tolist() == lengths.tolist() == table.column("token_count").to_pylist()
        )
        assert np.array_equal(np.concatenate([dataset[k] for k in range(len(dataset))]), ids)
    bins = [p.read_bytes() for p in every_file(out, world["mix"]) if p.suffix == ".bin"]
    dtype = json.loads((out / "tokens/tokens.json").read_text())["dtype"]
    erased_ids, erased_lengths = tokenizer.encode([r["text"] for r in erased])
    starts = np.cumsum(erased_lengths) - erased_lengths
    for start, length in zip(starts.tolist(), erased_lengths.tolist(), strict=True):
        middle = start + length // 2
        needle = erased_ids[middle : middle + 24].astype(dtype).tobytes()
        assert length < 60 or not any(needle in data for data in bins)

    # stats add up: read = kept + dropped; kept = previously kept - erased, per language
    stats = json.loads((out / "stats.json").read_text())
    totals = stats["totals"]
    assert totals["docs_read"] == totals["docs_kept"] + totals["docs_dropped"]
    assert totals["dropped"]["erased"] == len(erased) == stats["erase"]["documents"]
    for language, entry in stats["stages"]["erase"].items():
        rows = sum(
            pq.read_metadata(p).num_rows for p in (out / "data" / language).glob("*.parquet")
        )
        assert entry["docs_kept"] == entry["docs_in"] - entry["dropped"].get("erased", 0) == rows
    tokens = json.loads((out / "tokens/tokens.json").read_text())["languages"]
    for language, counted in stats["counters"]["tokenize"].items():
        erased_tokens = stats["counters"].get("erase", {}).get(language, {}).get("tokens", 0)
        on_disk = tokens.get(language, {}).get("tokens", 0)
        assert counted["tokens"] - erased_tokens == on_disk
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["erasure"]["documents_erased"] == len(erased)

    # the card says so, and still matches the shards (curate card refuses otherwise)
    card = (out / "README.md").read_text()
    assert f"{len(erased)} documents were erased on request" in card

    # the log: hashes, counts, reason, no raw value
    entries = [json.loads(line) for line in (out / "erasure/log.jsonl").read_text().splitlines()]
    assert len(entries) == 1 and entries[0]["received"] == RECEIVED
    assert entries[0]["documents_erased"] == len(erased)
    requested = read_entries(world["root"] / "urls.txt")
    assert len(entries[0]["requested_sha256"]["url"]) == len(set(map(plain_normalised, requested)))
    mixture = json.loads((world["mix"] / "manifest.json").read_text())
    assert mixture["erasure"]["documents_erased"] == entries[0]["mixtures"][0]["documents_removed"]
    provenance = pq.read_table(world["mix"] / "documents.parquet")
    assert (
        provenance.num_rows
        == mixture["documents"]
        == sum(s["documents"] for s in mixture["shards"])
    )

    # the same request again changes nothing
    again = run_erase(world)
    assert again.returncode == 0 and "carried out already" in again.stderr


def snapshot(world: dict) -> dict[str, bytes]:
    """Every file of the output (but its work/ scratch) and of the mixture."""
    scratch = world["out"] / "work"
    return {
        str(p.relative_to(world["site"])): p.read_bytes()
        for p in every_file(world["out"], world["mix"])
        if not p.is_relative_to(scratch) and p.name != "timing.json"
    }


def test_rerun_and_later_runs_keep_erased_documents_out(world: dict, tmp_path: Path) -> None:
    restore(world)
    assert run_erase(world).returncode == 0
    out = world["out"]
    before = snapshot(world)
    recipe = load_recipe(world["recipe"])
    Run(recipe, world["inputs"], out).execute(LocalEngine(1))
    assert snapshot(world) == before, "a re-run of the same recipe changed the output"

    # a fresh run whose recipe names the erasure list drops them before extraction
    fresh = tmp_path / "fresh"
    listed = recipe.model_copy(update={"erasure_list": str(out / "erasure" / "list.txt")})
    summary, _ = Run(listed, world["inputs"], fresh).execute(LocalEngine(1))
    hashes = load_list(out / "erasure" / "list.txt")
    assert summary["stages"]["erasure_list"]
    assert summary["totals"]["dropped"]["erased"] >= len(world["erased_kept"])
    for shard in (fresh / "data").glob("*/*.parquet"):
        assert not hashes.matches(pq.read_table(shard, columns=["url", "id"])).any()

    # mix: an erased output mixes; one that still holds listed documents is refused
    small = load_mixture(world["site"] / "mixture.yaml").model_copy(update={"total_tokens": 1000})
    build_mixture(small, tmp_path / "mix-again")
    stale = tmp_path / "stale" / "out"
    shutil.copytree(world["root"] / "pristine" / "out", stale)
    shutil.copytree(out / "erasure", stale / "erasure")
    config = small.model_copy(update={"inputs": [str(stale)]})
    with pytest.raises(MixError, match="on its erasure list; erase them first"):
        build_mixture(config, tmp_path / "mix-stale")


@pytest.mark.slow
def test_sigkill_midway_then_rerun_gives_the_same_bytes(world: dict) -> None:
    """Killed after the list, in the shard rewrites, in the other files, in the mixture and
    in the records (counts, card, log): a re-run ends with the bytes of an uninterrupted one."""
    restore(world)
    assert run_erase(world).returncode == 0
    reference = snapshot(world)
    killed_at = []
    for kill_after in (1, 6, 14, 26, 40):
        restore(world)
        killed = run_erase(world, kill_after)
        if killed.returncode == 0:
            break  # fewer steps than that: the erasure finished
        assert killed.returncode == -9, killed.stderr
        killed_at.append(kill_after)
        assert list((world["out"] / "work" / "erase").glob("*.json")), "the plan should remain"
        for shard in sorted((world["out"] / "data").glob("*/*.parquet")):
            pq.read_metadata(shard)  # old or new, never half written
        if kill_after == 1:
            with pytest.raises(MixError, match="erasure was interrupted"):
                build_mixture(load_mixture(world["site"] / "mixture.yaml"), world["root"] / "x")
        resumed = run_erase(world)
        assert resumed.returncode == 0, resumed.stderr
        got = snapshot(world)
        assert sorted(got) == sorted(reference), kill_after
        assert [k for k in got if got[k] != reference[k]] == [], kill_after
    assert len(killed_at) >= 4, killed_at


def test_publish_after_erasure_updates_the_hub_in_one_commit(world: dict, tmp_path: Path) -> None:
    restore(world)
    out = world["out"]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HF_")},
        "HF_HOME": str(tmp_path),
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "HF_TOKEN": TOKEN,
        "PYTHONPATH": str(REPO),
        "COLUMNS": "200",
    }
    publish = [sys.executable, "-m", "curate.cli", "publish", str(out), "--repo", REPO_ID]
    with FakeHub(TOKEN) as hub:
        env["HF_ENDPOINT"] = hub.endpoint
        first = subprocess.run(publish, env=env, capture_output=True, text=True, timeout=300)
        assert first.returncode == 0, first.stderr
        assert world["emptied"] in hub.state.files(REPO_ID)
        assert run_erase(world).returncode == 0
        commits = hub.state.commits
        second = subprocess.run(publish, env=env, capture_output=True, text=True, timeout=300)
        assert second.returncode == 0, second.stderr
        assert hub.state.commits == commits + 1, "the update should be one commit"
        from curate.publish import local_files

        files = hub.state.files(REPO_ID)
        assert sorted(files) == sorted(f.path_in_repo for f in local_files(out))
        for path, data in files.items():
            assert data == (out / path).read_bytes(), path
        assert world["emptied"] not in files
        assert re.search(r"\d+ deleted\)$", hub.state.repos[REPO_ID].commit_messages[-1])


def test_refusals_are_one_line_errors(world: dict, tmp_path: Path) -> None:
    restore(world)
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    base = [sys.executable, "-m", "curate.cli", "erase"]
    urls = str(world["root"] / "urls.txt")
    cases = [
        ([str(tmp_path), "--urls", urls], "erase works on the output of a finished run"),
        ([str(world["out"]), "--urls", str(tmp_path / "none.txt")], "cannot read"),
        ([str(world["out"]), "--urls", urls, "--mix", str(tmp_path)], "not a mixture"),
        ([str(world["out"]), "--urls", urls, "--received", "last week"], "not an ISO 8601"),
    ]
    for args, message in cases:
        result = subprocess.run(base + args, env=env, capture_output=True, text=True)
        assert result.returncode == 2 and message in " ".join(result.stderr.split()), result.stderr
    assert not (world["out"] / "erasure").exists(), "a refused request must change nothing"
    next(iter(sorted((world["out"] / "work" / "done").glob("*.json")))).unlink()
    unfinished = subprocess.run(
        base + [str(world["out"]), "--urls", urls], env=env, capture_output=True, text=True
    )
    assert unfinished.returncode == 2 and "the run is not finished" in " ".join(
        unfinished.stderr.split()
    )


def test_hashes_of_an_empty_request_match_nothing() -> None:
    assert not Hashes().matches(pa.table({"url": ["https://a.eu/"], "id": ["x"]})).any()
