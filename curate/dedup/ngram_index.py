"""An index of benchmark word n-grams, and the lookup of a batch of documents in it.

Texts are normalised and hashed exactly as dedup does (:mod:`curate.dedup.minhash`): NFC,
lowercase, numbers to ``0``, punctuation, symbols and whitespace to spaces, then 64-bit hashes
of word n-grams. So a benchmark item copied with other casing, punctuation or spacing has the
same n-grams as the original (sharp s counts as ``ss``, as upper case writes it).

An item of at least ``n`` words contributes its n-grams; a shorter one (of at least
``min_item_words``) contributes one hash of all its words, which equals the hash of the same
words as a window of that length in a document, so it matches only as a whole. Items shorter
than ``min_item_words`` are left out (a two-word item would match half the web).

The index is two sorted arrays (n-gram hash, item number); a batch's n-grams are looked up with
one ``np.searchsorted``. Everything runs on whole arrays, never per document or n-gram.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate.dedup.minhash import hash_shingles, hash_words, normalised_bytes, split_words

U64 = np.uint64
_NONE = np.zeros(0, np.int64)


@dataclass(frozen=True)
class Words:
    """A batch of texts as word hashes and each text's word offsets."""

    hashes: np.ndarray
    offsets: np.ndarray

    @classmethod
    def of(cls, texts: pa.Array | pa.ChunkedArray) -> Words:
        """Words as dedup normalises them, with sharp s as ``ss`` (what upper case makes
        of it: ``Rotguß`` -> ``ROTGUSS``)."""
        for sharp in ("ß", "ẞ"):
            texts = pc.replace_substring(texts, sharp, "ss")
        byte_offsets, data = normalised_bytes(texts)
        starts, offsets = split_words(byte_offsets, data)
        return cls(hash_words(data, starts), offsets)

    @property
    def counts(self) -> np.ndarray:
        return np.diff(self.offsets)

    def subset(self, rows: np.ndarray) -> Words:
        """The texts ``rows`` only (as a new batch of words)."""
        counts = self.counts[rows]
        offsets = np.concatenate([[0], np.cumsum(counts)])
        index = np.repeat(self.offsets[rows] - offsets[:-1], counts) + np.arange(offsets[-1])
        return Words(self.hashes[index], offsets)


@dataclass
class NGramIndex:
    """Benchmark n-grams (``hashes``, sorted) and the item each belongs to (``items``).

    ``item_ngrams[i]`` is how many distinct n-grams item ``i`` has (0 if left out);
    ``lengths`` the window lengths to look up: ``n`` and the word counts of short items.
    """

    ngram_size: int
    hashes: np.ndarray
    items: np.ndarray
    item_ngrams: np.ndarray
    lengths: tuple[int, ...]
    skipped: int = 0

    @classmethod
    def build(
        cls, texts: pa.Array | pa.ChunkedArray, ngram_size: int, min_item_words: int
    ) -> NGramIndex:
        words = Words.of(texts)
        counts = words.counts
        used = np.flatnonzero(counts >= max(min_item_words, 1))
        shingles, offsets = hash_shingles(
            words.subset(used).hashes, np.concatenate([[0], np.cumsum(counts[used])]), ngram_size
        )
        items = np.repeat(used, np.diff(offsets))
        pairs = np.unique(np.stack([shingles, items.astype(U64)]), axis=1)
        item_ngrams = np.bincount(pairs[1].astype(np.int64), minlength=len(counts))
        short = sorted({int(c) for c in counts[used] if c < ngram_size})
        return cls(
            ngram_size,
            pairs[0].copy(),
            pairs[1].astype(np.int64),
            item_ngrams,
            (ngram_size, *short),
            skipped=len(counts) - len(used),
        )

    def matches(self, words: Words) -> tuple[np.ndarray, np.ndarray]:
        """Each document's matches as (document, item) pairs, one per distinct n-gram found."""
        docs: list[np.ndarray] = []
        items: list[np.ndarray] = []
        for length in self.lengths:
            shingles, offsets = _windows(words, length)
            left = np.searchsorted(self.hashes, shingles, side="left")
            right = np.searchsorted(self.hashes, shingles, side="right")
            found = np.flatnonzero(right > left)
            if not len(found):
                continue
            doc_of = np.searchsorted(offsets, found, side="right") - 1
            spans = right[found] - left[found]
            position = np.repeat(left[found], spans) + _ranges(spans)
            docs.append(np.repeat(doc_of, spans))
            items.append(position)
        if not docs:
            return _NONE, _NONE
        doc, position = np.unique(
            np.stack([np.concatenate(docs), np.concatenate(items)]), axis=1
        )  # a document repeating one n-gram counts it once
        return doc, self.items[position]

    def contaminated(
        self, words: Words, item_fraction: float | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Contaminated documents and, for each, the lowest-numbered item it matches.

        Without ``item_fraction`` one shared n-gram is enough; with it, a document must hold
        more than that fraction of one item's n-grams.
        """
        doc, item = self.matches(words)
        if not len(doc):
            return _NONE, _NONE
        pairs, shared = np.unique(np.stack([doc, item]), axis=1, return_counts=True)
        if item_fraction is not None:
            enough = shared > item_fraction * self.item_ngrams[pairs[1]]
            pairs = pairs[:, enough]
        docs, first = np.unique(pairs[0], return_index=True)  # pairs sorted by doc, then item
        return docs, pairs[1][first]


def _windows(words: Words, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of every window of ``length`` words in documents of at least that many words."""
    counts = words.counts
    long_enough = counts >= length
    per_doc = np.where(long_enough, counts - length + 1, 0)
    # hash_shingles gives one all-words shingle to shorter documents: give it none instead
    shingles, offsets = hash_shingles(words.hashes, words.offsets, length)
    keep = np.repeat(long_enough, np.diff(offsets))
    return shingles[keep], np.concatenate([[0], np.cumsum(per_doc)])


def _ranges(spans: np.ndarray) -> np.ndarray:
    """``[0..s0), [0..s1), ...`` concatenated."""
    ends = np.cumsum(spans)
    return np.arange(int(ends[-1]) if len(ends) else 0) - np.repeat(ends - spans, spans)
