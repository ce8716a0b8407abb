"""Training mixtures: per-language token budgets from tokenized runs (``curate mix``).

A mixture file names run outputs (tokenized by the ``tokenize`` pass), a total token budget and
a strategy that shares the budget between languages with ``n`` tokens available each:

- ``proportional``: weight ``n``;
- ``temperature``: weight ``n ** (1 / tau)``; tau = 1 is proportional, larger tau flattens
  toward uniform (mT5 / XLM-R style up-sampling of small languages);
- ``unimax``: uniform, each language capped at ``max_epochs`` passes over its data, what a
  capped language cannot take shared uniformly among the others (Chung et al., 2023, UniMax).

``max_epochs`` caps every strategy; budget a capped language cannot take goes to the others in
proportion to their weights. Targets are whole tokens summing to the budget. Each language's
documents are then chosen: every document once per whole epoch, then a seeded random sample
of documents whose tokens come closest to the remainder, so a language's tokens are within
one document of its target.

``rehydration`` (optional) first repeats each document by a weight of its ``minhash_cluster_size``
(the dedup pass's count of the documents it stands for), FineWeb-2's rehydration: by default 1
copy of a unique document, 2 or 3 of a cluster of 2 or 3, 3 of 4, 5 of 5-99, 8 of 100-999 and 1
of a cluster of 1000 or more (taken as low quality). ``languages`` sets another function per
language (``{1: 1}`` leaves a language as it is). Strategies then share the rehydrated tokens.
"""

from __future__ import annotations

import json
import math
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from pydantic import Field, ValidationError, model_validator
from rich.table import Table

from curate.core.config import Section
from curate.erasure import state as erasure
from curate.io.indexed import IndexedDataset, IndexedDatasetError
from curate.mixture.write import Sources, blend_lines, write_reports, write_shards
from curate.recipe import format_validation_error
from curate.stages.tokenize_pass import SUMMARY_FILE, TOKENS_DIR
from curate.strict_yaml import YamlRefused, load_yaml

IDENTITY_KEYS = ("file", "sha256", "vocab_size", "bos_id", "eos_id", "dtype")
CLUSTER_SIZE = "minhash_cluster_size"
FINEWEB2_WEIGHTS = {1: 1, 2: 2, 3: 3, 5: 5, 100: 8, 1000: 1}


class MixError(ValueError):
    """A mixture that cannot be built; the message says why."""


class Rehydration(Section):
    """Copies of a document by its cluster size: ``{smallest size: copies}``, step-wise."""

    weights: dict[int, int] = Field(default_factory=lambda: dict(FINEWEB2_WEIGHTS))
    languages: dict[str, dict[int, int]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _steps(self) -> Rehydration:
        for steps in [self.weights, *self.languages.values()]:
            if 1 not in steps or min(steps) < 1 or min(steps.values()) < 1:
                raise ValueError("rehydration weights map sizes >= 1 (1 included) to copies >= 1")
        return self

    def copies(self, language: str, sizes: np.ndarray) -> np.ndarray:
        """Each document's copies, from its cluster size."""
        steps = self.languages.get(language, self.weights)
        bounds = np.array(sorted(steps), np.int64)
        copies = np.array([steps[b] for b in sorted(steps)], np.int64)
        return copies[np.searchsorted(bounds, np.maximum(sizes, 1), side="right") - 1]


class MixtureConfig(Section):
    name: str
    description: str = ""
    inputs: list[str] = Field(min_length=1)
    languages: Literal["all"] | list[str] = "all"
    total_tokens: int = Field(gt=0)
    strategy: Literal["proportional", "temperature", "unimax"]
    tau: float = Field(1.0, gt=0)
    max_epochs: float | None = Field(None, gt=0)
    seed: int = 0
    shard_tokens: int = Field(500_000_000, gt=0)
    output: str | None = None
    rehydration: Rehydration | None = None

    @model_validator(mode="after")
    def _unimax_needs_cap(self) -> MixtureConfig:
        if self.strategy == "unimax" and self.max_epochs is None:
            raise ValueError("max_epochs is required by strategy unimax")
        return self


def load_mixture(path: Path) -> MixtureConfig:
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MixError(f"mixture not found: {path}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError, YamlRefused) as error:
        reason = " ".join(str(error).split())  # one line: PyYAML's messages span several
        raise MixError(f"cannot read mixture {path}: {reason}") from None
    if not isinstance(data, dict):
        raise MixError(f"{path}: a mixture must be a mapping of keys")
    try:
        config = MixtureConfig.model_validate(data)
    except ValidationError as error:
        raise MixError(format_validation_error(error, str(path), "mixture")) from None
    base = path.parent
    inputs = [str((base / p).resolve()) for p in config.inputs]
    output = str((base / config.output).resolve()) if config.output else None
    return config.model_copy(update={"inputs": inputs, "output": output})


@dataclass
class LanguageData:
    """One language's token shards, over all inputs, in a fixed order."""

    language: str
    datasets: list[IndexedDataset] = field(default_factory=list)

    @property
    def lengths(self) -> np.ndarray:
        return np.concatenate([d.lengths for d in self.datasets]).astype(np.int64)

    @property
    def tokens(self) -> int:
        return sum(d.num_tokens for d in self.datasets)

    def cluster_sizes(self) -> np.ndarray:
        """Each document's ``minhash_cluster_size``: row k of the shard a token file came from."""
        sizes = []
        for dataset in self.datasets:
            shard = (
                dataset.prefix.parents[2]
                / "data"
                / self.language
                / f"{dataset.prefix.name}.parquet"
            )
            try:
                column = pq.read_table(shard, columns=[CLUSTER_SIZE])[CLUSTER_SIZE]
            except (OSError, KeyError, pa.ArrowInvalid) as error:
                raise MixError(f"rehydration: no {CLUSTER_SIZE} in {shard} ({error})") from None
            if len(column) != len(dataset):
                raise MixError(
                    f"rehydration: {shard} has {len(column)} rows, its tokens {len(dataset)}"
                )
            sizes.append(column.to_numpy())
        return np.concatenate(sizes).astype(np.int64)

    @property
    def documents(self) -> int:
        return sum(len(d) for d in self.datasets)


def read_inputs(config: MixtureConfig) -> tuple[dict[str, Any], dict[str, LanguageData]]:
    """The tokenizer identity shared by all inputs, and each selected language's shards."""
    identity: dict[str, Any] | None = None
    languages: dict[str, LanguageData] = {}
    for run in config.inputs:
        _refuse_erased(Path(run))
        summary_file = Path(run) / TOKENS_DIR / SUMMARY_FILE
        if not summary_file.is_file():
            raise MixError(f"{run}: no {TOKENS_DIR}/{SUMMARY_FILE}; run it with tokenize enabled")
        try:
            summary = json.loads(summary_file.read_text())
            per_language = dict(summary["languages"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise MixError(f"{summary_file}: not a token summary ({error!r})") from None
        found = {key: summary.get(key) for key in IDENTITY_KEYS}
        if identity is not None and found != identity:
            raise MixError(f"{run}: tokenized differently from the first input ({found})")
        identity = found
        for language, entry in sorted(per_language.items()):
            if config.languages != "all" and language not in config.languages:
                continue
            data = languages.setdefault(language, LanguageData(language))
            for shard in entry["shards"]:
                try:
                    data.datasets.append(IndexedDataset(Path(run) / TOKENS_DIR / shard))
                except (IndexedDatasetError, OSError) as error:
                    raise MixError(str(error)) from None
    missing = [] if config.languages == "all" else sorted(set(config.languages) - set(languages))
    if missing:
        raise MixError(f"languages: no tokens for {', '.join(missing)} in the inputs")
    languages = {k: v for k, v in sorted(languages.items()) if v.tokens > 0}
    if not languages:
        raise MixError("the inputs hold no tokens for the selected languages")
    assert identity is not None
    return identity, languages


def _refuse_erased(run: Path) -> None:
    """An input must hold nothing its erasure lists name (an erasure half done, or a list
    that grew since the run)."""
    try:
        erasure.refuse_pending(run, "mixing it")
    except erasure.ErasurePending as error:
        raise MixError(str(error)) from None
    listed = erasure.listed_documents(run)
    if listed:
        lists = " ".join(f"--list {p}" for p in erasure.lists_in_force(run))
        raise MixError(
            f"{run}: {listed} kept documents are on its erasure list; erase them first: "
            f"`curate erase {run} {lists}`"
        )


def strategy_weights(available: dict[str, int], strategy: str, tau: float) -> dict[str, float]:
    if strategy == "proportional":
        return {k: float(n) for k, n in available.items()}
    if strategy == "temperature":
        return {k: float(n) ** (1.0 / tau) for k, n in available.items()}
    return {k: 1.0 for k in available}


def allocate(
    available: dict[str, int], total: int, weights: dict[str, float], max_epochs: float | None
) -> dict[str, int]:
    """Whole-token targets summing to ``total``, shared by ``weights``, capped by epochs."""
    caps = {k: math.floor(max_epochs * n) if max_epochs else math.inf for k, n in available.items()}
    if sum(caps.values()) < total:
        raise MixError(
            f"total_tokens {total:,} is more than the inputs give at max_epochs={max_epochs}: "
            f"{int(sum(caps.values())):,} tokens"
        )
    shares: dict[str, float] = {}
    open_languages = set(available)
    remaining = float(total)
    while open_languages:
        weight_sum = sum(weights[k] for k in open_languages)
        proposal = {k: remaining * weights[k] / weight_sum for k in open_languages}
        capped = {k for k in open_languages if proposal[k] >= caps[k]}
        if not capped:
            shares.update(proposal)
            break
        for language in capped:
            shares[language] = caps[language]
            remaining -= caps[language]
        open_languages -= capped
    return _whole_tokens(shares, total)


def _whole_tokens(shares: dict[str, float], total: int) -> dict[str, int]:
    """Largest-remainder rounding: floors, then +1 to the largest fractions until ``total``."""
    targets = {k: math.floor(v) for k, v in shares.items()}
    by_fraction = sorted(shares, key=lambda k: (-(shares[k] - targets[k]), k))
    for language in by_fraction[: total - sum(targets.values())]:
        targets[language] += 1
    return targets


def language_rng(seed: int, language: str) -> np.random.Generator:
    """A generator per (seed, language): adding a language leaves the others' samples alone."""
    return np.random.default_rng([seed, zlib.crc32(language.encode())])


def select_documents(lengths: np.ndarray, target: int, rng: np.random.Generator) -> np.ndarray:
    """Document indices, whole epochs first, whose lengths sum closest to ``target``."""
    available = int(lengths.sum())
    epochs, remainder = divmod(target, available)
    order = rng.permutation(len(lengths))
    cumulative = np.cumsum(lengths[order])
    past = int(np.searchsorted(cumulative, remainder))  # first prefix reaching the remainder
    reached = int(cumulative[past]) if past < len(cumulative) else available
    before = int(cumulative[past - 1]) if past > 0 else 0
    take = past + 1 if reached - remainder < remainder - before else past
    whole = np.tile(np.arange(len(lengths)), epochs)
    return np.concatenate([whole, order[:take]])


@dataclass
class LanguagePlan:
    language: str
    available_tokens: int
    available_documents: int
    weight: float
    target_tokens: int
    documents: np.ndarray  # indices into the language's concatenated shards
    tokens: int

    def row(self) -> dict[str, Any]:
        return {
            "available_tokens": self.available_tokens,
            "available_documents": self.available_documents,
            "weight": round(self.weight, 8),
            "target_tokens": self.target_tokens,
            "epochs": round(self.target_tokens / self.available_tokens, 6),
            "tokens": self.tokens,
            "documents": int(len(self.documents)),
        }


def plan_mixture(config: MixtureConfig, languages: dict[str, LanguageData]) -> list[LanguagePlan]:
    pools = {k: _pool(config.rehydration, v) for k, v in languages.items()}
    lengths = {k: v.lengths[pools[k]] for k, v in languages.items()}
    available = {k: int(v.sum()) for k, v in lengths.items()}
    weights = strategy_weights(available, config.strategy, config.tau)
    targets = allocate(available, config.total_tokens, weights, config.max_epochs)
    plans = []
    for language, pool in pools.items():
        rng = language_rng(config.seed, language)
        chosen = select_documents(lengths[language], targets[language], rng)
        plans.append(
            LanguagePlan(
                language=language,
                available_tokens=available[language],
                available_documents=len(pool),
                weight=targets[language] / config.total_tokens,
                target_tokens=targets[language],
                documents=pool[chosen],
                tokens=int(lengths[language][chosen].sum()),
            )
        )
    return plans


def _pool(rehydration: Rehydration | None, data: LanguageData) -> np.ndarray:
    """The documents a language offers: each once, or repeated by rehydration."""
    documents = np.arange(data.documents)
    if rehydration is None:
        return documents
    return np.repeat(documents, rehydration.copies(data.language, data.cluster_sizes()))


def build_mixture(config: MixtureConfig, out: Path) -> dict[str, Any]:
    """Plan the mixture, write its shards and reports under ``out``; returns the manifest."""
    identity, languages = read_inputs(config)
    plans = plan_mixture(config, languages)
    datasets = [d for data in languages.values() for d in data.datasets]
    sources = Sources(
        datasets=datasets,
        names=[f"{d.prefix.parent.name}/{d.prefix.name}" for d in datasets],
        languages=[data.language for data in languages.values() for _ in data.datasets],
    )
    first_dataset = np.cumsum([0] + [len(data.datasets) for data in languages.values()])
    order = np.concatenate(
        [sources.bases[first_dataset[i]] + plan.documents for i, plan in enumerate(plans)]
    )
    order = order[np.random.default_rng(config.seed).permutation(len(order))]
    dtype = np.dtype(identity["dtype"])
    shards = write_shards(out, order, sources, dtype, config.shard_tokens)
    manifest = {
        "name": config.name,
        "description": config.description,
        "strategy": config.strategy,
        "tau": config.tau,
        "max_epochs": config.max_epochs,
        "seed": config.seed,
        "total_tokens": config.total_tokens,
        "tokens": sum(p.tokens for p in plans),
        "documents": int(len(order)),
        "tokenizer": identity,
        "inputs": config.inputs,
        "languages": {p.language: p.row() for p in plans},
        "shards": shards,
        "megatron_blend": "megatron_blend.txt",
    }
    if config.rehydration is not None:
        manifest["rehydration"] = _rehydration_report(config.rehydration, languages)
    weights = {p.language: p.weight for p in plans}
    write_reports(out, manifest, blend_lines(weights, sources))
    return manifest


def _rehydration_report(
    rehydration: Rehydration, languages: dict[str, LanguageData]
) -> dict[str, Any]:
    """The weights used, and per language documents and tokens before and after."""
    report: dict[str, Any] = {"weights": rehydration.weights, "languages": {}}
    for language, data in languages.items():
        copies = rehydration.copies(language, data.cluster_sizes())
        report["languages"][language] = {
            "weights": rehydration.languages.get(language, rehydration.weights),
            "documents": data.documents,
            "rehydrated_documents": int(copies.sum()),
            "tokens": data.tokens,
            "rehydrated_tokens": int((copies * data.lengths).sum()),
        }
    return report


def render_mixture(manifest: dict[str, Any]) -> Table:
    """The per-language table ``curate mix`` prints."""
    table = Table(title=f"Mixture {manifest['name']}: {manifest['tokens']:,} tokens")
    columns = ("language", "available", "weight", "target", "epochs", "tokens", "documents")
    for column in columns:
        table.add_column(column, justify="left" if column == "language" else "right")
    for language, row in manifest["languages"].items():
        table.add_row(
            language,
            f"{row['available_tokens']:,}",
            f"{row['weight']:.4f}",
            f"{row['target_tokens']:,}",
            f"{row['epochs']:.3f}",
            f"{row['tokens']:,}",
            f"{row['documents']:,}",
        )
    return table
