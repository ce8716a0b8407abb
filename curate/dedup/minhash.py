"""Vectorized normalisation, shingle hashing and MinHash signatures for a batch of texts.

Every step works on whole arrays of the batch: pyarrow kernels apply NFC and lowercase; numpy
folds numbers, punctuation and spaces in the UTF-8 bytes (decoding all characters at once),
splits the bytes into words, hashes all words, all word n-grams and all permutations at once,
and takes each document's minimum with a segmented reduction (``np.minimum.reduceat``).
Python loops run over the n-gram width, character widths and cache-sized chunks of bytes or
shingles, never per document, word or shingle.

The hashes are curate's own arithmetic (constants from SplitMix64, polynomial word hashing,
MurmurHash3's 64-bit finaliser) so signatures never change with a library version.
Permutations are ``h_i(x) = a_i * x + b_i mod 2**32`` with odd ``a_i``: each is a bijection of
the 32-bit values, applied to the top 32 bits of each 64-bit shingle hash.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

U64 = np.uint64
MASK64 = (1 << 64) - 1
EMPTY = np.uint32(0xFFFFFFFF)
_GOLDEN = 0x9E3779B97F4A7C15
_HASH_SEED = 0x6375726174652D31  # fixed: shingle hashes must not depend on the recipe seed
_KEEP, _FOLD, _NUMBER = 0, 1, 2
_CLASS_OF_CATEGORY = {"N": _NUMBER, "P": _FOLD, "S": _FOLD, "Z": _FOLD, "C": _FOLD}
_POSITIONS = 128
_CHUNK_SHINGLES = 8192
_CHUNK_BYTES = 1 << 18


def splitmix64(seed: int, count: int) -> np.ndarray:
    """``count`` pseudo-random 64-bit values from ``seed`` (SplitMix64, stable forever)."""
    z = U64(seed & MASK64) + np.arange(1, count + 1, dtype=U64) * U64(_GOLDEN)
    z = (z ^ (z >> U64(30))) * U64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> U64(27))) * U64(0x94D049BB133111EB)
    return z ^ (z >> U64(31))


def fmix64(x: np.ndarray) -> np.ndarray:
    """MurmurHash3's finaliser, in place: spreads every input bit over the whole word."""
    x ^= x >> U64(33)
    x *= U64(0xFF51AFD7ED558CCD)
    x ^= x >> U64(33)
    x *= U64(0xC4CEB9FE1A85EC53)
    x ^= x >> U64(33)
    return x


_SPACE = 0x20
_FILLER = 0xFF
_ASCII_CLASSES = np.array(  # by byte; bytes >= 0x80 are parts of multi-byte characters
    [_CLASS_OF_CATEGORY.get(unicodedata.category(chr(c))[0], _KEEP) for c in range(128)]
    + [_KEEP] * 128,
    np.uint8,
)
_TABLES = splitmix64(_HASH_SEED, 256 * _POSITIONS + 64 + 3)
_BYTE_AT_POSITION = _TABLES[: 256 * _POSITIONS].copy()
_BYTE_AT_POSITION[_SPACE::256] = 0  # spaces between words add nothing to a word's hash
_BYTE_AT_POSITION[_FILLER::256] = 0
_NGRAM_FACTORS = _TABLES[256 * _POSITIONS : 256 * _POSITIONS + 64] | U64(1)
_EXACT_LANE_1, _EXACT_LANE_2, _COUNT_FACTOR = (_TABLES[-3:] | U64(1)).tolist()


@lru_cache(maxsize=1)
def _unicode_tables() -> tuple[str, np.ndarray]:
    """A regex class of the characters NFC may change, and each code point's fold class.

    NFC may change marks, Hangul jamo and unstable singletons; text without any of them is
    already in NFC, so only the few documents with one pay for it. Fold classes: numbers
    (``\\p{N}``) become ``0``, punctuation, symbols, separators and controls a space.
    """
    ranges: list[list[int]] = []
    classes = np.zeros(0x110000, np.uint8)
    for code in range(0x110000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        category = unicodedata.category(char)
        classes[code] = _CLASS_OF_CATEGORY.get(category[0], _KEEP)
        if (
            unicodedata.combining(char)
            or category.startswith("M")
            or 0x1100 <= code <= 0x11FF
            or unicodedata.normalize("NFC", char) != char
        ):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    parts = (f"\\x{{{a:x}}}" if a == b else f"\\x{{{a:x}}}-\\x{{{b:x}}}" for a, b in ranges)
    return "[" + "".join(parts) + "]", classes


def to_nfc(texts: pa.Array) -> pa.Array:
    """Unicode NFC, applied only to the texts that contain a character NFC may change."""
    sensitive = pc.match_substring_regex(texts, _unicode_tables()[0])
    if not pc.any(sensitive).as_py():
        return texts
    changed = pc.utf8_normalize(texts.filter(sensitive), "NFC")
    return pc.replace_with_mask(texts, sensitive, changed)


def normalise(texts: pa.Array | pa.ChunkedArray) -> pa.Array:
    """NFC, lowercase, number runs to ``0``, punctuation, symbols, controls and whitespace to
    spaces: the words of the result are its runs of non-space characters (for reading; the
    hashing works on :func:`normalised_bytes`)."""
    offsets, data = normalised_bytes(texts)
    kept = data != _FILLER
    counts = np.concatenate([[0], np.cumsum(kept)])
    return pa.LargeStringArray.from_buffers(
        len(offsets) - 1, pa.py_buffer(counts[offsets]), pa.py_buffer(data[kept])
    )


def normalised_bytes(texts: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Each text's byte offsets and the normalised UTF-8 bytes of the batch.

    NFC and lowercasing are pyarrow kernels; folding is one numpy pass that keeps every byte
    in place: a folded character becomes as many spaces as it has bytes, a run of number
    characters becomes ``0`` and filler bytes (0xFF, never part of UTF-8) that words skip.
    """
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    texts = pc.fill_null(texts.cast(pa.large_string()), "")
    offsets, data = _offsets_and_bytes(pc.utf8_lower(to_nfc(texts)))
    return offsets, fold(data, offsets)


def fold(data: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """UTF-8 bytes with numbers, punctuation, symbols, separators and controls folded.

    ``offsets`` are the texts' byte offsets: a number run never spans two texts. Malformed
    UTF-8 is read leniently, never refused.
    """
    per_byte = _ASCII_CLASSES[data]  # continuation bytes: class of their lead, set below
    leads = np.flatnonzero(data >= 0xC0)
    if len(leads):
        _classify_multibyte(data, leads, per_byte)
    number = per_byte == _NUMBER
    run_start = number.copy()
    run_start[1:] &= ~number[:-1]
    firsts = offsets[:-1][np.diff(offsets) > 0]
    run_start[firsts] = number[firsts]
    result = np.where(per_byte == _FOLD, np.uint8(_SPACE), data)
    result[number] = _FILLER
    result[run_start] = ord("0")
    return result


def _classify_multibyte(data: np.ndarray, leads: np.ndarray, per_byte: np.ndarray) -> None:
    """Sets the class of every byte of the multi-byte characters starting at ``leads``.

    Characters are decoded by width (2, 3, 4 bytes); only the ones whose class is not "keep"
    are written back.
    """
    classes = _unicode_tables()[1]
    padded = np.concatenate([data, np.zeros(3, np.uint8)])  # a cut-off last character
    first = data[leads]
    for width, low, high in ((2, 0xC0, 0xE0), (3, 0xE0, 0xF0), (4, 0xF0, 0x100)):
        starts = leads[(first >= low) & (first < high)]
        if len(starts) == 0:
            continue
        code = padded[starts].astype(np.int32) & (0x7F >> width)
        for k in range(1, width):
            code <<= 6
            code |= padded[starts + k] & 0x3F
        found = classes[np.minimum(code, 0x10FFFF)]
        marked = np.flatnonzero(found != _KEEP)
        for k in range(width):
            per_byte[np.minimum(starts[marked] + k, len(data) - 1)] = found[marked]


def _offsets_and_bytes(strings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Zero-based int64 offsets and the UTF-8 bytes of a (large) string array, without copies."""
    _, offsets_buffer, data_buffer = strings.buffers()
    dtype = np.int64 if pa.types.is_large_string(strings.type) else np.int32
    offsets = np.frombuffer(offsets_buffer, dtype=dtype)[
        strings.offset : strings.offset + len(strings) + 1
    ].astype(np.int64)
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer else np.zeros(0, np.uint8)
    return offsets - offsets[0], data[offsets[0] : offsets[-1]]


def split_words(byte_offsets: np.ndarray, data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The byte offset where each word starts, and each document's word offsets.

    Words are the runs of bytes other than the ASCII space; a document's first byte starts a
    word unless it is a space.
    """
    is_space = data == _SPACE
    begins = ~is_space
    begins[1:] &= is_space[:-1]
    firsts = byte_offsets[:-1][np.diff(byte_offsets) > 0]
    begins[firsts] = ~is_space[firsts]
    starts = np.flatnonzero(begins)
    return starts, np.searchsorted(starts, byte_offsets)


def hash_words(data: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """A 64-bit hash per word: a random value per (position, byte) summed, then finalised.

    A word runs from its start to the next word's start; the spaces in between add nothing
    (their table values are 0). Positions wrap every ``_POSITIONS`` bytes, so only words
    longer than that can collide. Works through the bytes in cache-sized pieces.
    """
    hashes = np.zeros(len(starts), U64)
    first = 0
    while first < len(starts):
        last = int(np.searchsorted(starts, starts[first] + _CHUNK_BYTES, side="left"))
        last = max(last, first + 1)
        end = int(starts[last]) if last < len(starts) else len(data)
        begin = int(starts[first])
        hashes[first:last] = _word_sums(data[begin:end], starts[first:last] - begin)
        first = last
    return fmix64(hashes)


def _word_sums(data: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Sums of the (position, byte) values of each word; ``starts[0]`` is 0.

    Filler bytes take no position and add nothing, so ``0`` + fillers hashes as ``0``.
    """
    counted = np.cumsum(data != _FILLER, dtype=np.int32)
    restart = np.zeros(len(data), np.int32)  # positions restart at 0 on each word
    restart[starts] = np.diff(counted[starts], prepend=0)
    position = counted - np.cumsum(restart, dtype=np.int32)
    position &= _POSITIONS - 1
    position <<= 8
    position |= data
    running = np.cumsum(np.take(_BYTE_AT_POSITION, position))  # wraps: differences stay exact
    sums = running[np.append(starts[1:], len(data)) - 1]
    sums[1:] -= running[starts[1:] - 1]
    return sums


def hash_shingles(
    word_hashes: np.ndarray, doc_offsets: np.ndarray, ngram: int
) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of every word n-gram of every document, and each document's offsets.

    A document shorter than ``ngram`` words (but not empty) has one shingle of all its words.
    """
    counts = np.diff(doc_offsets)
    per_doc = np.where(counts >= ngram, counts - ngram + 1, (counts > 0).astype(np.int64))
    shingle_offsets = np.concatenate([[0], np.cumsum(per_doc)])
    total = int(shingle_offsets[-1])
    first_word = np.repeat(doc_offsets[:-1] - shingle_offsets[:-1], per_doc)
    first_word += np.arange(total, dtype=np.int64)
    padded = np.concatenate([word_hashes, np.zeros(ngram - 1, U64)])
    windows = np.zeros(len(word_hashes), U64)  # the n-gram starting at every word
    for k in range(ngram):
        windows += padded[k : k + len(word_hashes)] * _NGRAM_FACTORS[k]
    hashes = windows[first_word]
    short = np.flatnonzero((counts > 0) & (counts < ngram))
    if len(short):
        hashes[shingle_offsets[short]] = _short_shingles(word_hashes, doc_offsets, short, counts)
    return fmix64(hashes), shingle_offsets


def _short_shingles(
    word_hashes: np.ndarray, doc_offsets: np.ndarray, short: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    sums = np.zeros(len(short), U64)
    for k in range(int(counts[short].max())):
        present = k < counts[short]
        index = np.where(present, doc_offsets[short] + k, 0)
        sums += np.where(present, word_hashes[index] * _NGRAM_FACTORS[k], U64(0))
    return sums


def exact_hashes(word_hashes: np.ndarray, doc_offsets: np.ndarray) -> np.ndarray:
    """A 128-bit hash (two uint64 lanes) of each document's normalised word sequence.

    Documents without words get zeros; callers exclude them with ``np.diff(doc_offsets) > 0``.
    """
    counts = np.diff(doc_offsets)
    result = np.zeros((len(counts), 2), U64)
    has_words = counts > 0
    if not has_words.any():
        return result
    position = np.arange(len(word_hashes), dtype=np.int64) - np.repeat(doc_offsets[:-1], counts)
    for lane, factor in enumerate((_EXACT_LANE_1, _EXACT_LANE_2)):
        mixed = fmix64(word_hashes + position.astype(U64) * U64(factor))
        sums = np.add.reduceat(mixed, doc_offsets[:-1][has_words])
        sums ^= counts[has_words].astype(U64) * U64(_COUNT_FACTOR)
        result[has_words, lane] = fmix64(sums + U64(factor))
    return result


@dataclass(frozen=True)
class ShingledBatch:
    """A batch reduced to hashes: per-document shingle hashes and exact-text hashes."""

    shingles: np.ndarray
    shingle_offsets: np.ndarray
    exact: np.ndarray
    has_words: np.ndarray

    @property
    def num_docs(self) -> int:
        return len(self.shingle_offsets) - 1


def shingle_batch(texts: pa.Array | pa.ChunkedArray, ngram: int) -> ShingledBatch:
    """Normalise, split and hash a batch of texts."""
    byte_offsets, data = normalised_bytes(texts)
    starts, doc_offsets = split_words(byte_offsets, data)
    word_hashes = hash_words(data, starts)
    shingles, shingle_offsets = hash_shingles(word_hashes, doc_offsets, ngram)
    exact = exact_hashes(word_hashes, doc_offsets)
    return ShingledBatch(shingles, shingle_offsets, exact, np.diff(doc_offsets) > 0)


@dataclass(frozen=True)
class MinHasher:
    """MinHash signatures with ``num_permutations`` 32-bit permutations seeded by ``seed``."""

    num_permutations: int
    seed: int = 1

    @property
    def parameters(self) -> tuple[np.ndarray, np.ndarray]:
        raw = splitmix64(self.seed, 2 * self.num_permutations)
        a = (raw[: self.num_permutations] | U64(1)).astype(np.uint32)
        b = raw[self.num_permutations :].astype(np.uint32)
        return a[:, None], b[:, None]

    def signatures(self, shingles: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Signatures as a (permutations, documents) uint32 array; no shingles -> all EMPTY.

        Shingles are processed in chunks that fit the CPU cache; a chunk's segment minima are
        folded into the documents it overlaps, so a document may span chunks.
        """
        a, b = self.parameters
        num_docs = len(offsets) - 1
        result = np.full((self.num_permutations, num_docs), EMPTY, np.uint32)
        keys = (shingles >> U64(32)).astype(np.uint32)
        doc_starts = offsets[:-1]
        for begin in range(0, len(keys), _CHUNK_SHINGLES):
            end = min(begin + _CHUNK_SHINGLES, len(keys))
            first = int(np.searchsorted(offsets, begin, side="right")) - 1
            last = int(np.searchsorted(offsets, end, side="left"))
            starts = np.maximum(doc_starts[first:last], begin) - begin
            starts, docs = _non_empty_segments(starts, end - begin, first)
            permuted = a * keys[None, begin:end]
            permuted += b
            minima = np.minimum.reduceat(permuted, starts, axis=1)
            np.minimum(result[:, docs], minima, out=minima)
            result[:, docs] = minima
        return result


def _non_empty_segments(
    starts: np.ndarray, length: int, first_doc: int
) -> tuple[np.ndarray, np.ndarray]:
    """Segment starts of the documents that own at least one shingle of the chunk."""
    ends = np.append(starts[1:], length)
    owns = ends > starts
    return starts[owns], first_doc + np.flatnonzero(owns)


def band_hashes(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """A 64-bit hash of each band of each signature: shape (bands, documents)."""
    grouped = signatures[: bands * rows].reshape(bands, rows, -1)
    factors = splitmix64(_HASH_SEED ^ 0xBA, rows) | U64(1)
    result = np.zeros((bands, signatures.shape[1]), U64)
    for row in range(rows):
        result += grouped[:, row, :].astype(U64) * factors[row]
    result += (np.arange(bands, dtype=U64) * U64(_GOLDEN))[:, None]
    return fmix64(result)


def estimate_jaccard(first: np.ndarray, second: np.ndarray) -> float:
    """The share of permutations whose minima agree: MinHash's Jaccard estimate."""
    return float(np.mean(first == second))
