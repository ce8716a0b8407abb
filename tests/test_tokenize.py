"""Tokenization: real tokenizers, Megatron token shards, the tokenize pass over a real run."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from curate.io.indexed import IndexedDataset, IndexedDatasetWriter, idx_path
from curate.models.tokenizers import (
    TOKEN_COUNT,
    TOKENS,
    Tokenize,
    TokenizeConfig,
    TokenizerError,
    resolve_tokenizer,
    shipped_tokenizers,
)
from curate.recipe import OutputConfig, RecipeError, parse_recipe
from curate.stages.tokenize_pass import TokenizePass
from curate.stats import RunStats

from .conftest import TOKENIZED_LANGUAGES, require_shared_data
from .tokenizer_files import small_bpe_tokenizer_json, tekken_as_tokenizer_json

CODES = ["fr", "de", "pl", "el", "bg", "fi", "ja", "zh", "ar", "uk"]
TRICKY = [
    "",
    "   ",
    "Une page qui écrit </s> et <s> en clair, puis [INST] aussi.",
    "emoji 👩‍👩‍👧 and combining e\u0301 and a tab\tand CRLF\r\nend",
    "x" * 5000,
]


def sentences(code: str, count: int = 40) -> list[str]:
    return (
        (require_shared_data() / "langid" / f"{code}.txt")
        .read_text(encoding="utf-8")
        .splitlines()[:count]
    )


@pytest.fixture(scope="module")
def texts() -> list[str]:
    docs = ["\n".join(sentences(code)[i : i + 4]) for code in CODES for i in range(0, 40, 4)]
    return docs + TRICKY


@pytest.fixture(scope="module")
def tekken() -> Tokenize:
    return Tokenize(TokenizeConfig(enabled=True, bos=True, eos=True, batch_size=16))


@pytest.fixture(scope="module")
def mistral_tekkenizer(tekken: Tokenize):  # noqa: ANN201
    from mistral_common.tokens.tokenizers.tekken import Tekkenizer

    return Tekkenizer.from_file(tekken.tokenizer_file)


@pytest.fixture(scope="module")
def hf_tekken_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tekken = shipped_tokenizers()["tekken_240911"]
    return tekken_as_tokenizer_json(tekken, tmp_path_factory.mktemp("hf")).parent


def split(ids: np.ndarray, lengths: np.ndarray) -> list[list[int]]:
    return [part.tolist() for part in np.split(ids, np.cumsum(lengths)[:-1])]


def test_default_tokenizer_is_shipped_tekken(tekken: Tokenize) -> None:
    assert tekken.tokenizer_file.name == "tekken_240911.json"
    assert tekken.encoder.backend == "tekken"
    assert tekken.encoder.vocab_size == 131_072
    assert tekken.special_ids == (1, 2)


def test_batch_encoding_equals_mistral_tekkenizer(
    tekken: Tokenize, mistral_tekkenizer, texts: list[str]
) -> None:
    ids, lengths = tekken.encode(texts)
    expected = [mistral_tekkenizer.encode(t, bos=True, eos=True) for t in texts]
    assert split(ids, lengths) == expected
    assert lengths.tolist() == [len(e) for e in expected]


def test_literal_special_tokens_in_text_stay_text(tekken: Tokenize) -> None:
    ids, _ = tekken.encode(["a </s> b <s> c"])
    assert ids[0] == 1 and ids[-1] == 2
    assert 1 not in ids[1:-1] and 2 not in ids[1:-1]


def test_any_tokenizer_json_path_gives_the_same_ids(
    hf_tekken_dir: Path, tekken: Tokenize, texts: list[str]
) -> None:
    """The Tekken vocabulary as a tokenizers BPE: same ids, BOS/EOS from tokenizer_config.json."""
    hf = Tokenize(TokenizeConfig(tokenizer=str(hf_tekken_dir), bos=True, eos=True))
    assert hf.encoder.backend == "tokenizers"
    bos, eos = hf.special_ids
    ids, lengths = hf.encode(texts)
    reference, _ = tekken.encode(texts)
    reference[reference == 1], reference[reference == 2] = bos, eos
    np.testing.assert_array_equal(ids, reference)
    assert eos not in split(ids, lengths)[len(texts) - 3][1:-1]  # the literal "</s>"


def test_hub_cache_repo_id_resolves_offline(
    hf_tekken_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot = tmp_path / "models--acme--euro-lm" / "snapshots" / "0123abc"
    snapshot.mkdir(parents=True)
    shutil.copy(hf_tekken_dir / "tokenizer.json", snapshot / "tokenizer.json")
    (tmp_path / "models--acme--euro-lm" / "refs").mkdir()
    (tmp_path / "models--acme--euro-lm" / "refs" / "main").write_text("0123abc")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    assert resolve_tokenizer("acme/euro-lm") == snapshot / "tokenizer.json"
    with pytest.raises(TokenizerError, match="not in the local Hugging Face cache"):
        resolve_tokenizer("acme/not-there")


def test_unknown_tokenizer_and_missing_special_token_are_clear(hf_tekken_dir: Path) -> None:
    with pytest.raises(TokenizerError, match="tekken_240911"):
        resolve_tokenizer("no-such-tokenizer")
    no_bos = Tokenize(TokenizeConfig(tokenizer=str(hf_tekken_dir), bos=True, bos_token="<bos>"))
    with pytest.raises(TokenizerError, match="tokenize.bos_token"):
        no_bos.encode(["x"])


def test_recipe_tokenize_section_is_validated() -> None:
    with pytest.raises(RecipeError, match="tokenize.batch_size: must be > 0"):
        parse_recipe({"name": "x", "tokenize": {"batch_size": 0}})
    with pytest.raises(RecipeError, match="tokenize.bogus: unknown key"):
        parse_recipe({"name": "x", "tokenize": {"bogus": 1}})
    assert not parse_recipe({"name": "x"}).tokenize.enabled


def test_stage_adds_token_count_and_tokens(tekken: Tokenize, texts: list[str]) -> None:
    from curate.schema import make_batch

    batch = make_batch([{"id": str(i), "text": t} for i, t in enumerate(texts)])
    out = tekken(batch)
    assert out.column(TOKEN_COUNT).to_pylist() == [len(t) for t in out.column(TOKENS).to_pylist()]
    assert out.column("id").to_pylist() == batch.column("id").to_pylist()
    assert out.column(TOKEN_COUNT).to_pylist()[len(texts) - 5] == 2  # "" is BOS + EOS


def read_idx_by_layout(path: Path) -> dict:
    """Parse a .idx by the documented Megatron layout, independently of curate's reader."""
    raw = path.read_bytes()
    assert raw[:9] == b"MMIDIDX\x00\x00"
    version, code, count, doc_count = struct.unpack("<QBQQ", raw[9:34])
    lengths = np.frombuffer(raw, "<i4", count, 34)
    pointers = np.frombuffer(raw, "<i8", count, 34 + 4 * count)
    documents = np.frombuffer(raw, "<i8", doc_count, 34 + 12 * count)
    assert len(raw) == 34 + 12 * count + 8 * doc_count
    return {"version": version, "code": code, "lengths": lengths, "pointers": pointers,
            "documents": documents}  # fmt: skip


@pytest.mark.parametrize("dtype,code", [(np.uint16, 8), (np.int32, 4)])
def test_indexed_dataset_layout(tmp_path: Path, dtype: type, code: int) -> None:
    docs = [np.array([5, 6, 7]), np.array([], dtype=np.int64), np.array([65_000, 1])]
    writer = IndexedDatasetWriter(tmp_path / "x", np.dtype(dtype))
    writer.write(np.concatenate(docs[:2]), np.array([3, 0]))
    writer.write(docs[2], np.array([2]))
    writer.close()
    index = read_idx_by_layout(tmp_path / "x.idx")
    assert (index["version"], index["code"]) == (1, code)
    assert index["lengths"].tolist() == [3, 0, 2]
    size = np.dtype(dtype).itemsize
    assert index["pointers"].tolist() == [0, 3 * size, 3 * size]
    assert index["documents"].tolist() == [0, 1, 2, 3]
    data = np.fromfile(tmp_path / "x.bin", dtype=np.dtype(dtype).newbyteorder("<"))
    assert data.tolist() == [5, 6, 7, 65_000, 1]
    dataset = IndexedDataset(tmp_path / "x")
    assert [dataset[i].tolist() for i in range(3)] == [d.tolist() for d in docs]


def test_truncated_bin_is_refused(tmp_path: Path) -> None:
    writer = IndexedDatasetWriter(tmp_path / "x", np.dtype(np.int32))
    writer.write(np.arange(10), np.array([4, 6]))
    writer.close()
    (tmp_path / "x.bin").write_bytes((tmp_path / "x.bin").read_bytes()[:-4])
    with pytest.raises(ValueError, match="the index needs 40"):
        IndexedDataset(tmp_path / "x")


def test_round_trip_through_the_pass(tokenized_run: Path, mistral_tekkenizer) -> None:
    """Each document read back from .bin/.idx decodes to what the tokenizer decodes."""
    summary = json.loads((tokenized_run / "tokens" / "tokens.json").read_text())
    assert summary["dtype"] == "int32" and summary["bos_id"] == 1 and summary["eos_id"] == 2
    assert set(summary["languages"]) == set(TOKENIZED_LANGUAGES.values())
    checked = 0
    for shard in sorted((tokenized_run / "data").glob("*/*.parquet")):
        table = pq.read_table(shard)
        dataset = IndexedDataset(tokenized_run / "tokens" / shard.parent.name / shard.stem)
        index = read_idx_by_layout(idx_path(dataset.prefix))
        assert index["code"] == 4 and len(dataset) == table.num_rows
        assert dataset.lengths.tolist() == table.column(TOKEN_COUNT).to_pylist()
        for row, text in enumerate(table.column("text").to_pylist()):
            ids = dataset[row].tolist()
            assert ids == mistral_tekkenizer.encode(text, bos=True, eos=True)
            assert mistral_tekkenizer.decode(ids) == mistral_tekkenizer.decode(
                mistral_tekkenizer.encode(text, bos=False, eos=False)
            )
            assert mistral_tekkenizer.decode(ids) == text
            checked += 1
    assert checked == sum(e["documents"] for e in summary["languages"].values())


def test_pass_accounts_every_document_and_tokens(tokenized_run: Path) -> None:
    stats = json.loads((tokenized_run / "stats.json").read_text())
    names = list(stats["stages"])
    assert names[-1] == "tokenize"  # after every other stage and pass (dedup)
    tokenize, before = stats["stages"]["tokenize"], stats["stages"][names[-2]]
    for language, entry in tokenize.items():
        assert entry["docs_in"] == entry["docs_kept"] == before[language]["docs_kept"]
    assert stats["totals"]["docs_kept"] == sum(e["docs_kept"] for e in tokenize.values())
    assert (
        stats["totals"]["docs_read"]
        == stats["totals"]["docs_kept"] + stats["totals"]["docs_dropped"]
    )
    summary = json.loads((tokenized_run / "tokens" / "tokens.json").read_text())
    per_language = {k: v["tokens"] for k, v in summary["languages"].items()}
    assert stats["tokenize"]["tokens_per_language"] == per_language
    assert stats["tokenize"]["tokens"] == sum(per_language.values())
    counted = {k: v["tokens"] for k, v in stats["counters"]["tokenize"].items()}
    assert counted == per_language
    fra = sorted((tokenized_run / "data" / "fra_Latn").glob("*.parquet"))
    assert len(fra) == 2 and summary["languages"]["fra_Latn"]["shards"] == [
        f"fra_Latn/{p.stem}" for p in fra
    ]
    assert "tokenize" in json.loads((tokenized_run / "timing.json").read_text())
    units = [json.loads(p.read_text()) for p in (tokenized_run / "work" / "done").glob("*.json")]
    # Each unit counts what its batch stages kept (the corpus passes run later, on all units).
    first_pass = next(name for name in ("dedup", "tokenize") if name in names)
    into_passes = sum(e["docs_in"] for e in stats["stages"][first_pass].values())
    assert sum(u["stats"]["totals"]["docs_kept"] for u in units) == into_passes
    manifest = json.loads((tokenized_run / "manifest.json").read_text())
    assert manifest["tokenizer"]["sha256"] == summary["sha256"]
    assert manifest["tokenizer"]["file"] == "tekken_240911.json"


def snapshot(out: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.parts[-3:-1] != ("work", "tokenize") and "work" not in p.parts
    }


def test_pass_resumes_and_is_deterministic(tokenized_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(tokenized_run, out)
    before = snapshot(out)
    config = TokenizeConfig(enabled=True, bos=True, eos=True, batch_size=7)
    tokenize = TokenizePass(config, OutputConfig())
    # A crash mid-language: one shard's marker and token files gone, its Parquet rewritten.
    shard = sorted((out / "data" / "pol_Latn").glob("*.parquet"))[0]
    (out / "work" / "tokenize" / "pol_Latn" / f"{shard.stem}.json").unlink()
    (out / "tokens" / "pol_Latn" / f"{shard.stem}.bin").unlink()
    untouched = out / "tokens" / "ell_Grek"
    mtimes = {p: p.stat().st_mtime_ns for p in untouched.iterdir()}
    stats = RunStats(("tokenize",))
    tokenize.run(out, stats)
    assert snapshot(out).keys() == before.keys()
    assert snapshot(out) == before
    assert {p: p.stat().st_mtime_ns for p in untouched.iterdir()} == mtimes
    assert sum(e["docs_in"] for e in stats.stages["tokenize"].values()) == sum(
        pq.ParquetFile(p).metadata.num_rows for p in (out / "data").glob("*/*.parquet")
    )


def test_changed_specials_redo_every_shard(tokenized_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(tokenized_run, out)
    TokenizePass(TokenizeConfig(enabled=True, bos=False, eos=True), OutputConfig()).run(
        out, RunStats(("tokenize",))
    )
    for shard in (out / "data").glob("*/*.parquet"):
        before = pq.read_table(tokenized_run / "data" / shard.parent.name / shard.name)
        after = pq.read_table(shard)
        counts = np.array(after.column(TOKEN_COUNT).to_pylist())
        assert (counts == np.array(before.column(TOKEN_COUNT).to_pylist()) - 1).all()
        dataset = IndexedDataset(out / "tokens" / shard.parent.name / shard.stem)
        assert len(dataset) == after.num_rows > 0
        assert dataset[0][0] != 1 and dataset[0][-1] == 2


def test_small_vocabulary_writes_uint16(tmp_path: Path, tokenized_run: Path) -> None:
    corpus = [line for code in CODES for line in sentences(code, 200)]
    tokenizer = small_bpe_tokenizer_json(corpus, tmp_path / "bpe")
    out = tmp_path / "out"
    shutil.copytree(tokenized_run, out)
    config = TokenizeConfig(
        enabled=True, tokenizer=str(tokenizer), bos=True, bos_token="<bos>", eos_token="<eos>"
    )
    TokenizePass(config, OutputConfig()).run(out, RunStats(("tokenize",)))
    from tokenizers import Tokenizer

    reference = Tokenizer.from_file(str(tokenizer))
    shard = sorted((out / "data" / "bul_Cyrl").glob("*.parquet"))[0]
    dataset = IndexedDataset(out / "tokens" / "bul_Cyrl" / shard.stem)
    assert read_idx_by_layout(idx_path(dataset.prefix))["code"] == 8
    assert dataset.dtype == np.uint16
    bos, eos = reference.token_to_id("<bos>"), reference.token_to_id("<eos>")
    for row, text in enumerate(pq.read_table(shard).column("text").to_pylist()):
        ids = dataset[row].tolist()
        assert ids[0] == bos and ids[-1] == eos
        assert reference.decode(ids) == reference.decode(reference.encode(text).ids) == text


def test_cli_run_refuses_a_missing_tokenizer_before_running(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from curate.cli import app

    from .conftest import RECIPES

    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        f"extends: {RECIPES / 'base.yaml'}\nname: r\ntokenize:\n  enabled: true\n"
        "  tokenizer: /nowhere/tokenizer.json\n"
    )
    source = tmp_path / "in.jsonl"
    source.write_text('{"text": "Bonjour tout le monde, ceci est un texte."}\n')
    arguments = ["run", str(recipe), "-i", str(source), "-o", str(tmp_path / "o")]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 2 and "tokenize.tokenizer" in result.output
    assert not (tmp_path / "o" / "data").exists()


def test_empty_shard_and_orphan_token_files(tokenized_run: Path, tmp_path: Path) -> None:
    from curate.schema import DOCUMENT_SCHEMA

    out = tmp_path / "out"
    shutil.copytree(tokenized_run, out)
    empty = out / "data" / "fra_Latn" / "empty-00000.parquet"
    pq.write_table(DOCUMENT_SCHEMA.empty_table(), empty)
    orphan = out / "tokens" / "fra_Latn" / "gone-00000"
    shutil.copy(out / "tokens" / "ell_Grek" / "part-b.jsonl-00000.idx", orphan.with_suffix(".idx"))
    stats = RunStats(("tokenize",))
    TokenizePass(TokenizeConfig(enabled=True, bos=True, eos=True), OutputConfig()).run(out, stats)
    assert pq.read_table(empty).column_names[-1] == TOKEN_COUNT
    assert len(IndexedDataset(out / "tokens" / "fra_Latn" / "empty-00000")) == 0
    assert not orphan.with_suffix(".idx").exists()
    summary = json.loads((out / "tokens" / "tokens.json").read_text())
    assert "fra_Latn/empty-00000" in summary["languages"]["fra_Latn"]["shards"]
