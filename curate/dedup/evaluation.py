"""A labelled near-duplicate set made from real text, and precision/recall of the dedup.

Each base document (real text: extracted web pages, or real sentences of one language) gets
one variant (so the set is of labelled pairs) made with the edits web duplicates show:
boilerplate added or changed (real boilerplate lines), sentences inserted from other
documents, sentences deleted, sentences reordered, words replaced. Each variant is edited
until its true Jaccard similarity with its base (exact, over curate's normalised word n-gram
shingles) falls to a target level, so the pairs cover known similarity levels. A pair is a
near duplicate when its true Jaccard is at least ``threshold``; the dedup's clusters are
scored on pairs.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from curate.dedup.lsh import Components, bucket_edges
from curate.dedup.minhash import MinHasher, band_hashes, shingle_batch

EDITS = ("boilerplate", "insert", "delete", "reorder", "replace_words")
TARGETS = (1.0, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.6, 0.5, 0.3)


@dataclass
class LabelledSet:
    """Documents, the base each derives from, the edit used, and the true Jaccard to it."""

    texts: list[str] = field(default_factory=list)
    base: list[int] = field(default_factory=list)
    edit: list[str] = field(default_factory=list)
    jaccard: list[float] = field(default_factory=list)


def shingle_sets(texts: Sequence[str], ngram: int = 5) -> list[set[int]]:
    batch = shingle_batch(pa.array(list(texts), pa.large_string()), ngram)
    offsets = batch.shingle_offsets
    return [set(batch.shingles[offsets[i] : offsets[i + 1]].tolist()) for i in range(len(texts))]


def jaccard(first: set[int], second: set[int]) -> float:
    union = len(first | second)
    return len(first & second) / union if union else 1.0


def _split_sentences(text: str) -> list[str]:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) >= 4:
        return lines
    parts = [p.strip() for p in text.replace("? ", "?\n").replace(". ", ".\n").splitlines()]
    return [p for p in parts if p]


def _edit_once(
    sentences: list[str], edit: str, rng: random.Random, donors: Sequence[str], noise: Sequence[str]
) -> list[str]:
    sentences = list(sentences)
    if edit == "boilerplate":
        line = rng.choice(noise)
        if rng.random() < 0.5:
            sentences.insert(0, line)
        else:
            sentences.append(line)
    elif edit == "insert":
        sentences.insert(rng.randrange(len(sentences) + 1), rng.choice(donors))
    elif edit == "delete" and len(sentences) > 1:
        del sentences[rng.randrange(len(sentences))]
    elif edit == "reorder" and len(sentences) > 2:
        i, j = rng.sample(range(len(sentences)), 2)
        sentences[i], sentences[j] = sentences[j], sentences[i]
    elif edit == "replace_words":
        index = rng.randrange(len(sentences))
        words = sentences[index].split()
        if words:
            words[rng.randrange(len(words))] = rng.choice(rng.choice(donors).split() or ["x"])
            sentences[index] = " ".join(words)
    return sentences


def build_labelled_set(
    bases: Sequence[str],
    donors: Sequence[str],
    noise: Sequence[str],
    seed: int = 0,
    max_rounds: int = 60,
) -> LabelledSet:
    """Each base and one variant: target level by turn, edit at random.

    Variants are edited in rounds until their true Jaccard with the base is at most the target;
    later rounds apply more edits (1, 1, 1, 1, 2, ...) so that long documents get there too,
    and an edit that cannot reach its target (reordering a short text) stops after
    ``max_rounds`` with the similarity it reached. The result records the reached similarity.
    """
    rng = random.Random(seed)
    base_sets = shingle_sets(bases)
    targets = [TARGETS[i % len(TARGETS)] for i in range(len(bases))]
    edits = [rng.choice(EDITS) if t < 1.0 else "line_breaks_only" for t in targets]
    sentences = [_split_sentences(base) for base in bases]
    texts = ["\n".join(parts) for parts in sentences]
    similarity = [1.0] * len(bases)
    for round_number in range(max_rounds):
        active = [i for i in range(len(bases)) if similarity[i] > targets[i]]
        if not active:
            break
        for i in active:
            for _ in range(1 + round_number // 4):
                sentences[i] = _edit_once(sentences[i], edits[i], rng, donors, noise)
            texts[i] = "\n".join(sentences[i])
        for i, variant in zip(active, shingle_sets([texts[i] for i in active]), strict=True):
            similarity[i] = jaccard(base_sets[i], variant)
    labelled = LabelledSet()
    for i, base in enumerate(bases):
        labelled.texts += [base, texts[i]]
        labelled.base += [i, i]
        labelled.edit += ["original", edits[i]]
        labelled.jaccard += [1.0, similarity[i]]
    return labelled


def cluster(
    texts: Sequence[str], ngram: int = 5, bands: int = 14, rows: int = 8, seed: int = 1
) -> np.ndarray:
    """The dedup's cluster of each text (its smallest member's index), as the pass finds them."""
    import polars as pl

    batch = shingle_batch(pa.array(list(texts), pa.large_string()), ngram)
    signatures = MinHasher(bands * rows, seed).signatures(batch.shingles, batch.shingle_offsets)
    signed = np.diff(batch.shingle_offsets) > 0
    keys = np.arange(len(texts), dtype=np.int64)
    components = Components()
    for values in band_hashes(signatures, bands, rows):
        band = pl.DataFrame({"doc": keys[signed], "key": values[signed]})
        components.add(*bucket_edges(band))
    result = keys.copy()
    result[components.members] = components.roots
    return result


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    true_pairs: int
    predicted_pairs: int


def score(labelled: LabelledSet, clusters: np.ndarray, threshold: float) -> Score:
    """Pair precision/recall: predicted = same cluster; true = Jaccard >= threshold."""
    sets = shingle_sets(labelled.texts)
    candidates: set[tuple[int, int]] = set()
    for members in _groups(np.asarray(labelled.base)) + _groups(clusters):
        candidates.update((a, b) for i, a in enumerate(members) for b in members[i + 1 :])
    true, predicted = set(), set()
    for a, b in candidates:
        if jaccard(sets[a], sets[b]) >= threshold:
            true.add((a, b))
        if clusters[a] == clusters[b]:
            predicted.add((a, b))
    hits = len(true & predicted)
    return Score(
        precision=hits / len(predicted) if predicted else 1.0,
        recall=hits / len(true) if true else 1.0,
        true_pairs=len(true),
        predicted_pairs=len(predicted),
    )


def _groups(labels: np.ndarray) -> list[list[int]]:
    order = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.diff(labels[order])) + 1
    return [group.tolist() for group in np.split(order, bounds) if len(group) > 1]


def recall_by_level(
    labelled: LabelledSet, clusters: np.ndarray, levels: Sequence[float]
) -> list[tuple[str, int, float]]:
    """Per Jaccard range of the variants: (range, pairs, share found in their base's cluster)."""
    similarity = np.asarray(labelled.jaccard)
    base_of = np.asarray(labelled.base)
    originals = {
        b: i
        for i, (b, e) in enumerate(zip(labelled.base, labelled.edit, strict=True))
        if e == "original"
    }
    base_cluster = np.array([clusters[originals[b]] for b in base_of])
    found = clusters == base_cluster
    variant = np.asarray(labelled.edit) != "original"
    rows = []
    edges = [*levels, 1.0001]
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        mask = variant & (similarity >= low) & (similarity < high)
        label = f"[{low:.2f}, {min(high, 1.0):.2f}{']' if high > 1 else ')'}"
        rows.append((label, int(mask.sum()), float(found[mask].mean()) if mask.any() else 0.0))
    return rows
