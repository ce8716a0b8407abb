"""Training mixtures: budgets, strategies, epoch caps, materialised shards, determinism."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from curate.cli import app
from curate.io.indexed import IndexedDataset
from curate.mixture.plan import (
    MixError,
    MixtureConfig,
    Rehydration,
    allocate,
    build_mixture,
    language_rng,
    load_mixture,
    select_documents,
    strategy_weights,
)


def targets(available: dict[str, int], total: int, strategy: str, tau=1.0, cap=None):  # noqa: ANN001, ANN201
    return allocate(available, total, strategy_weights(available, strategy, tau), cap)


def test_proportional_shares_by_available_tokens() -> None:
    assert targets({"a": 1000, "b": 3000}, 2000, "proportional") == {"a": 500, "b": 1500}


def test_temperature_flattens_toward_uniform() -> None:
    available = {"big": 90_000, "small": 10_000}
    assert targets(available, 10_000, "temperature", tau=1.0) == {"big": 9000, "small": 1000}
    assert targets(available, 10_000, "temperature", tau=2.0) == {"big": 7500, "small": 2500}
    flat = targets(available, 10_000, "temperature", tau=1000.0)
    assert abs(flat["big"] - flat["small"]) < 50


def test_unimax_is_uniform_with_epoch_caps() -> None:
    available = {"a": 100, "b": 1000, "c": 10_000}
    # a is capped at 2 epochs (200); the remaining 2,800 are shared uniformly by b and c.
    assert targets(available, 3000, "unimax", cap=2.0) == {"a": 200, "b": 1400, "c": 1400}
    # A bigger budget caps b as well; c takes the rest.
    assert targets(available, 9000, "unimax", cap=2.0) == {"a": 200, "b": 2000, "c": 6800}
    with pytest.raises(MixError, match="max_epochs=2.0: 22,200 tokens"):
        targets(available, 30_000, "unimax", cap=2.0)


def test_caps_apply_to_temperature_too() -> None:
    got = targets({"a": 10, "b": 10_000}, 5000, "temperature", tau=5.0, cap=3.0)
    assert got["a"] == 30 and got["a"] + got["b"] == 5000


def test_unimax_needs_max_epochs() -> None:
    with pytest.raises(ValueError, match="max_epochs is required"):
        MixtureConfig(name="m", inputs=["x"], total_tokens=1, strategy="unimax")


@settings(max_examples=150, deadline=None)
@given(
    lengths=st.lists(
        st.lists(st.integers(1, 400), min_size=1, max_size=40), min_size=1, max_size=5
    ),
    strategy=st.sampled_from(["proportional", "temperature", "unimax"]),
    tau=st.floats(0.5, 10.0),
    cap=st.one_of(st.none(), st.floats(0.2, 6.0)),
    fraction=st.floats(0.01, 1.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_budgets_met_within_one_document_and_caps_respected(
    lengths: list[list[int]], strategy: str, tau: float, cap: float | None, fraction: float,
    seed: int,
) -> None:  # fmt: skip
    cap = cap if strategy != "unimax" or cap is not None else 2.0
    docs = {f"l{i}": np.array(ls, dtype=np.int64) for i, ls in enumerate(lengths)}
    available = {k: int(v.sum()) for k, v in docs.items()}
    unbounded = 10 * sum(available.values())
    ceiling = sum(math.floor(cap * n) for n in available.values()) if cap else unbounded
    if ceiling < 1:
        with pytest.raises(MixError, match="more than the inputs give"):
            targets(available, 1, strategy, tau, cap)
        return
    total = max(1, int(ceiling * fraction))
    got = targets(available, total, strategy, tau, cap)
    assert sum(got.values()) == total
    for language, target in got.items():
        if cap:
            assert target <= cap * available[language]
        chosen = select_documents(docs[language], target, language_rng(seed, language))
        written = int(docs[language][chosen].sum())
        assert abs(written - target) <= docs[language].max()  # within one document
        repeats = np.bincount(chosen, minlength=len(docs[language]))
        assert repeats.max() - repeats.min() <= 1  # whole epochs first, then a sample
        if cap:
            assert repeats.max() <= math.ceil(cap)


def write_mixture(path: Path, run: Path, **overrides) -> Path:  # noqa: ANN003
    mixture = {
        "name": "eu-test",
        "inputs": [str(run)],
        "total_tokens": 110_000,
        "strategy": "unimax",
        "max_epochs": 2,
        "seed": 11,
        "shard_tokens": 30_000,
        **overrides,
    }
    path.write_text(yaml.safe_dump(mixture))
    return path


@pytest.fixture(scope="module")
def mixed(tokenized_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mix")
    config = load_mixture(write_mixture(root / "mix.yaml", tokenized_run))
    build_mixture(config, root / "out")
    return root / "out"


def test_manifest_matches_shards_and_targets(mixed: Path, tokenized_run: Path) -> None:
    manifest = json.loads((mixed / "manifest.json").read_text())
    provenance = pq.read_table(mixed / "documents.parquet").to_pylist()
    sources: dict[str, IndexedDataset] = {}
    written: dict[str, int] = {}
    for shard in manifest["shards"]:
        dataset = IndexedDataset(mixed / shard["prefix"])
        rows = [r for r in provenance if r["shard"] == int(shard["prefix"][-5:])]
        assert len(dataset) == len(rows) == shard["documents"]
        assert dataset.num_tokens == shard["tokens"]
        for position, row in enumerate(rows):
            if row["source"] not in sources:
                sources[row["source"]] = IndexedDataset(tokenized_run / "tokens" / row["source"])
            original = sources[row["source"]][row["source_document"]]
            np.testing.assert_array_equal(dataset[position], original)
            written[row["language"]] = written.get(row["language"], 0) + len(original)
    assert sum(s["tokens"] for s in manifest["shards"]) == manifest["tokens"]
    assert sum(r["target_tokens"] for r in manifest["languages"].values()) == 110_000
    assert len(manifest["shards"]) >= 3
    summary = json.loads((tokenized_run / "tokens" / "tokens.json").read_text())
    for language, row in manifest["languages"].items():
        assert written[language] == row["tokens"]
        shards = summary["languages"][language]["shards"]
        longest = max(IndexedDataset(tokenized_run / "tokens" / s).lengths.max() for s in shards)
        assert abs(row["tokens"] - row["target_tokens"]) <= longest
        assert row["epochs"] <= 2
    capped = [k for k, r in manifest["languages"].items() if r["epochs"] == 2]
    assert capped and len(capped) < len(manifest["languages"])  # UniMax's cap binds for some
    assert "| fra_Latn |" in (mixed / "manifest.md").read_text()


def test_megatron_blend_weights(mixed: Path) -> None:
    manifest = json.loads((mixed / "manifest.json").read_text())
    pairs = [line.split() for line in (mixed / "megatron_blend.txt").read_text().splitlines()]
    assert math.isclose(sum(float(w) for w, _ in pairs), 1.0, abs_tol=1e-6)
    for language, row in manifest["languages"].items():
        share = sum(float(w) for w, p in pairs if Path(p).parent.name == language)
        assert math.isclose(share, row["weight"], abs_tol=1e-6)
        assert all(Path(p + ".idx").is_file() for w, p in pairs)


def files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_other_seed_other_order(
    mixed: Path, tokenized_run: Path, tmp_path: Path
) -> None:
    build_mixture(load_mixture(write_mixture(tmp_path / "a.yaml", tokenized_run)), tmp_path / "a")
    assert files(tmp_path / "a") == files(mixed)
    other = load_mixture(write_mixture(tmp_path / "b.yaml", tokenized_run, seed=12))
    build_mixture(other, tmp_path / "b")
    assert files(tmp_path / "b")["shards/mix-00000.bin"] != files(mixed)["shards/mix-00000.bin"]


def test_rerun_keeps_finished_shards(mixed: Path, tokenized_run: Path, tmp_path: Path) -> None:
    config = load_mixture(write_mixture(tmp_path / "m.yaml", tokenized_run))
    shard = mixed / "shards" / "mix-00001.bin"
    before, mtime = files(mixed), shard.stat().st_mtime_ns
    build_mixture(config, mixed)
    assert shard.stat().st_mtime_ns == mtime and files(mixed) == before


def test_cli_mix_and_its_errors(tokenized_run: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    mixture = write_mixture(tmp_path / "m.yaml", tokenized_run, strategy="temperature", tau=3.0)
    result = runner.invoke(app, ["mix", str(mixture), "--output", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["strategy"] == "temperature"
    bad = write_mixture(tmp_path / "bad.yaml", tokenized_run, strategy="zipf")
    result = runner.invoke(app, ["mix", str(bad), "-o", str(tmp_path / "x")])
    assert result.exit_code == 2 and "strategy" in result.output
    untokenized = write_mixture(tmp_path / "u.yaml", tmp_path)
    result = runner.invoke(app, ["mix", str(untokenized), "-o", str(tmp_path / "y")])
    assert result.exit_code == 2 and "tokenize enabled" in result.output


def test_mixture_error_names_the_field_on_one_line(tmp_path: Path) -> None:
    mixture = tmp_path / "m.yaml"
    mixture.write_text("name: x\ninputs: [a]\ntotal_tokens: 10\nstrategy: unimax\n")
    result = CliRunner().invoke(app, ["mix", str(mixture), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines == [
        f"error: {mixture}: invalid mixture: max_epochs is required by strategy unimax"
    ]


def test_rehydration_steps_are_fineweb2s() -> None:
    sizes = np.array([1, 2, 3, 4, 5, 99, 100, 999, 1000, 5000])
    copies = Rehydration().copies("fra_Latn", sizes)
    assert copies.tolist() == [1, 2, 3, 3, 5, 5, 8, 8, 1, 1]
    with pytest.raises(ValueError, match="rehydration"):
        Rehydration(weights={2: 2})


def test_rehydration_repeats_documents_by_cluster_size(tokenized_run: Path, tmp_path: Path) -> None:
    """Documents repeat by their shards' minhash_cluster_size; a language's own function."""
    rehydration = {"languages": {"fra_Latn": {1: 3}}}
    mixture = write_mixture(
        tmp_path / "m.yaml", tokenized_run, strategy="proportional", rehydration=rehydration
    )
    manifest = build_mixture(load_mixture(mixture), tmp_path / "out")
    report = manifest["rehydration"]["languages"]
    for language, row in report.items():
        sizes = np.concatenate(
            [
                pq.read_table(p)["minhash_cluster_size"].to_numpy()
                for p in sorted((tokenized_run / "data" / language).glob("*.parquet"))
            ]
        )
        expected = (
            3 * len(sizes) if language == "fra_Latn" else Rehydration().copies("", sizes).sum()
        )
        assert (
            row["rehydrated_documents"]
            == expected
            == manifest["languages"][language]["available_documents"]
        )
    french = report["fra_Latn"]
    assert french["rehydrated_tokens"] == 3 * french["tokens"]
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["rehydration"]
