"""The vectorized MinHash kernel: normalisation, hashing, signatures vs exact and datasketch."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from curate.dedup import minhash
from curate.dedup.evaluation import build_labelled_set, jaccard, shingle_sets
from curate.dedup.minhash import (
    EMPTY,
    MinHasher,
    band_hashes,
    estimate_jaccard,
    normalise,
    shingle_batch,
    to_nfc,
)

LANGUAGES = ("fr", "de", "pl", "el", "bg", "fi", "hu", "vi", "hi", "ja")


@pytest.fixture(scope="module")
def sentences(shared_data: Path) -> dict[str, list[str]]:
    return {
        code: (shared_data / "langid" / f"{code}.txt").read_text("utf-8").splitlines()
        for code in LANGUAGES
    }


@pytest.fixture(scope="module")
def documents(sentences: dict[str, list[str]]) -> list[str]:
    """Real sentences, 12 to a document, several languages and scripts."""
    return [" ".join(lines[i : i + 12]) for lines in sentences.values() for i in range(0, 120, 12)]


def signatures(texts: list[str], permutations: int = 112) -> np.ndarray:
    batch = shingle_batch(pa.array(texts), 5)
    return MinHasher(permutations, 1).signatures(batch.shingles, batch.shingle_offsets)


def test_normalise_folds_case_punctuation_digits_and_whitespace() -> None:
    texts = pa.array(["Hello,  WORLD!! 2024\u00a0ok\u200b…", "  ", None, "Café déjà-vu"])
    words = [text.split(" ") for text in normalise(texts).to_pylist()]
    assert [[w for w in text if w] for text in words] == [
        ["hello", "world", "0", "ok"],
        [],
        [],
        ["café", "déjà", "vu"],
    ]


def test_normalise_composes_decomposed_accents() -> None:
    composed = "Ça déjà été où ẞ Ångström"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    assert normalise(pa.array([decomposed])).equals(normalise(pa.array([composed])))


def test_partial_nfc_equals_full_nfc_on_real_text(sentences: dict[str, list[str]]) -> None:
    lines = [line for lines in sentences.values() for line in lines]
    lines += [unicodedata.normalize("NFD", line) for line in lines[::7]]
    texts = pa.array(lines, pa.large_string())
    assert to_nfc(texts).equals(pc.utf8_normalize(texts, "NFC"))


def test_fold_equals_the_regex_definition_on_real_text(sentences: dict[str, list[str]]) -> None:
    """Numbers (\\p{N}+) to 0; punctuation, symbols, separators, controls to spaces."""
    lines = [line for lines in sentences.values() for line in lines]
    lines += ["Price: 1.234,56 € — ٣٤٥ and ²³ «quoted» ‘x’ ok\u200b\u00a0x\tz\n", "x\U0001f600y"]
    lines += ["gsoc-2018", "0.091 GB/s", "R23 miljoen, 150 000km", "\x00\x7f€"]
    texts = pa.array(lines, pa.large_string())
    lowered = pc.utf8_lower(to_nfc(texts))
    numbers = pc.replace_substring_regex(lowered, r"\p{N}+", "0")
    expected = pc.replace_substring_regex(numbers, r"[\p{P}\p{S}\p{Z}\p{C}\s]+", " ")
    ours = normalise(texts).to_pylist()
    assert [t.split() for t in ours] == [t.split() for t in expected.to_pylist()]


def test_shingle_counts_short_and_empty_documents() -> None:
    batch = shingle_batch(pa.array(["a b c d e f g", "a b", "", "!!! ...", None]), 5)
    assert np.diff(batch.shingle_offsets).tolist() == [3, 1, 0, 0, 0]
    assert batch.has_words.tolist() == [True, True, False, False, False]
    sig = MinHasher(16, 1).signatures(batch.shingles, batch.shingle_offsets)
    assert (sig[:, 2:] == EMPTY).all() and (sig[:, :2] != EMPTY).all()


def test_exact_hash_ignores_only_what_normalisation_folds() -> None:
    batch = shingle_batch(
        pa.array(["The cat, the hat.", "the CAT the   hat", "the hat the cat", "the cat the"]), 5
    )
    exact = [tuple(row) for row in batch.exact.tolist()]
    assert exact[0] == exact[1]
    assert len({exact[1], exact[2], exact[3]}) == 3


def test_signatures_do_not_depend_on_batch_or_chunking(
    documents: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    together = signatures(documents)
    alone = np.concatenate([signatures([doc]) for doc in documents[:20]], axis=1)
    assert (together[:, :20] == alone).all()
    monkeypatch.setattr(minhash, "_CHUNK_SHINGLES", 37)  # documents now span chunks
    monkeypatch.setattr(minhash, "_CHUNK_BYTES", 50)  # and words are hashed in small pieces
    assert (signatures(documents) == together).all()


def test_permutations_are_bijections() -> None:
    a, _ = MinHasher(112, 7).parameters
    assert (a % 2 == 1).all()
    assert len(set(a.ravel().tolist())) == 112


def test_estimate_tracks_exact_jaccard_and_datasketch(
    sentences: dict[str, list[str]], shared_data: Path
) -> None:
    """Same shingles, same number of permutations: curate's estimate vs datasketch's."""
    from datasketch import MinHash

    bases = [" ".join(lines[i : i + 12]) for lines in sentences.values() for i in (0, 12, 24)]
    donors = [line for lines in sentences.values() for line in lines[300:]]
    gold = (shared_data / "html-eval" / "gold.jsonl").read_text("utf-8").splitlines()
    noise = [line for row in gold for line in json.loads(row)["without"]]
    labelled = build_labelled_set(bases, donors, noise, seed=3)
    sets = shingle_sets(labelled.texts)
    sig = signatures(labelled.texts)
    curate_error, datasketch_gap = [], []
    for i in range(0, len(labelled.texts), 2):
        exact = jaccard(sets[i], sets[i + 1])
        ours = estimate_jaccard(sig[:, i], sig[:, i + 1])
        theirs = []
        for members in (sets[i], sets[i + 1]):
            sketch = MinHash(num_perm=112, seed=1)
            sketch.update_batch([h.to_bytes(8, "little") for h in members])
            theirs.append(sketch)
        curate_error.append(abs(ours - exact))
        datasketch_gap.append(abs(ours - theirs[0].jaccard(theirs[1])))
    assert np.mean(datasketch_gap) < 0.05
    assert np.mean(curate_error) < 0.04
    assert max(curate_error) < 0.2


def test_band_hashes_change_only_with_their_band() -> None:
    rng = np.random.default_rng(0)
    sig = rng.integers(0, 2**32, size=(112, 3), dtype=np.uint64).astype(np.uint32)
    sig[:, 1] = sig[:, 0]
    sig[:, 2] = sig[:, 0]
    sig[17, 2] ^= 1  # band 2 of 14 x 8
    keys = band_hashes(sig, 14, 8)
    assert (keys[:, 0] == keys[:, 1]).all()
    assert (keys[:, 0] != keys[:, 2]).tolist() == [b == 2 for b in range(14)]
    assert len(set(keys[:, 0].tolist())) == 14
