"""Token shards in Megatron-LM's indexed-dataset format (``PREFIX.bin`` + ``PREFIX.idx``).

Megatron-LM (``megatron/core/datasets/indexed_dataset.py``) reads a dataset from a path prefix:

``PREFIX.bin``: the token ids of every document, concatenated, no separators or header, in the
dtype the index names (little-endian). BOS/EOS, when the recipe asks for them, are part of each
document's ids.

``PREFIX.idx``, all integers little-endian:

====== ============================ =====================================================
offset field                        value
====== ============================ =====================================================
0      magic, 9 bytes               ``b"MMIDIDX\\x00\\x00"``
9      version, uint64              ``1``
17     dtype code, uint8            ``8`` = uint16, ``4`` = int32 (Megatron's ``DType``)
18     sequence count N, uint64     documents in the shard (one sequence per document)
26     document count D, uint64     ``N + 1``
34     sequence lengths, int32[N]   tokens per document
.      sequence pointers, int64[N]  byte offset of each document in ``.bin``
.      document indices, int64[D]   ``0, 1, ..., N``: document k is sequences [k, k+1)
====== ============================ =====================================================

The dtype follows Megatron's own rule (``DType.optimal_dtype``): uint16 when the vocabulary has
fewer than 65,500 ids, else int32. Megatron's dtype table has no uint32 code, so ids of a large
vocabulary (e.g. Tekken's 131,072) are stored as int32, which holds any id below 2**31 in the
same 4 bytes.
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from curate.io.atomic import commit, temp_path

MAGIC = b"MMIDIDX\x00\x00"
VERSION = 1
DTYPE_CODES: dict[np.dtype, int] = {np.dtype(np.uint16): 8, np.dtype(np.int32): 4}
UINT16_VOCAB_LIMIT = 65_500
HEADER_BYTES = len(MAGIC) + 8 + 1 + 8 + 8


class IndexedDatasetError(ValueError):
    """A ``.bin``/``.idx`` pair that is not a readable indexed dataset."""


def dtype_for_vocab(vocab_size: int) -> np.dtype:
    return np.dtype(np.uint16 if vocab_size < UINT16_VOCAB_LIMIT else np.int32)


def bin_path(prefix: Path) -> Path:
    return prefix.with_name(prefix.name + ".bin")


def idx_path(prefix: Path) -> Path:
    return prefix.with_name(prefix.name + ".idx")


def encode_index(lengths: np.ndarray, dtype: np.dtype) -> bytes:
    """The ``.idx`` bytes for documents of ``lengths`` tokens stored as ``dtype``."""
    lengths = np.asarray(lengths, dtype=np.int64)
    pointers = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1] * dtype.itemsize, out=pointers[1:])
    count = len(lengths)
    header = MAGIC + struct.pack("<QBQQ", VERSION, DTYPE_CODES[dtype], count, count + 1)
    return b"".join(
        (
            header,
            lengths.astype("<i4").tobytes(),
            pointers.astype("<i8").tobytes(),
            np.arange(len(lengths) + 1, dtype="<i8").tobytes(),
        )
    )


@dataclass
class IndexedDatasetWriter:
    """Streams documents into ``PREFIX.bin`` and writes ``PREFIX.idx`` on close, atomically.

    Only the per-document lengths stay in memory (4 bytes a document); tokens go to disk as they
    come.
    """

    prefix: Path
    dtype: np.dtype
    _stream: BinaryIO | None = None
    _lengths: list[np.ndarray] = field(default_factory=list)
    tokens_written: int = 0

    def _open(self) -> BinaryIO:
        if self._stream is None:
            self.prefix.parent.mkdir(parents=True, exist_ok=True)
            self._stream = open(temp_path(bin_path(self.prefix)), "wb")  # noqa: SIM115
        return self._stream

    def write(self, tokens: np.ndarray, lengths: np.ndarray) -> None:
        """Append documents: ``tokens`` concatenated, ``lengths`` tokens each."""
        self._open().write(np.ascontiguousarray(tokens, dtype=self.dtype.newbyteorder("<")).data)
        self._lengths.append(np.asarray(lengths, dtype=np.int32))
        self.tokens_written += int(tokens.size)

    def close(self) -> np.ndarray:
        """Commit both files; returns the document lengths."""
        self._open().close()
        lengths = np.concatenate(self._lengths) if self._lengths else np.zeros(0, np.int32)
        index_temp = temp_path(idx_path(self.prefix))
        index_temp.write_bytes(encode_index(lengths, self.dtype))
        commit(temp_path(bin_path(self.prefix)), bin_path(self.prefix))
        commit(index_temp, idx_path(self.prefix))
        self._stream = None
        return lengths


def read_index(prefix: Path) -> tuple[np.dtype, np.ndarray, np.ndarray]:
    """The dtype, document lengths and pointers of ``PREFIX.idx``, checked against each other
    (not against ``PREFIX.bin``, which :class:`IndexedDataset` checks)."""
    index = idx_path(prefix)
    try:
        raw = index.read_bytes()
    except OSError as error:
        raise IndexedDatasetError(f"{index}: cannot read: {error}") from None
    if len(raw) < HEADER_BYTES or raw[: len(MAGIC)] != MAGIC:
        raise IndexedDatasetError(f"{index}: not a Megatron indexed dataset (bad header)")
    version, code, count, doc_count = struct.unpack_from("<QBQQ", raw, len(MAGIC))
    codes = {c: d for d, c in DTYPE_CODES.items()}
    if version != VERSION or code not in codes:
        raise IndexedDatasetError(f"{index}: unsupported version {version} or dtype {code}")
    dtype = codes[code].newbyteorder("<")
    expected = HEADER_BYTES + count * 12 + doc_count * 8
    if len(raw) < expected:
        raise IndexedDatasetError(f"{index}: truncated ({len(raw)} of {expected} bytes)")
    lengths = np.frombuffer(raw, "<i4", count, HEADER_BYTES)
    pointers = np.frombuffer(raw, "<i8", count, HEADER_BYTES + count * 4)
    starts = np.cumsum(lengths, dtype=np.int64) - lengths
    if (lengths < 0).any() or (pointers != starts * dtype.itemsize).any():
        # a damaged index would point reads outside the .bin or at other documents
        raise IndexedDatasetError(f"{index}: document lengths and pointers disagree")
    return dtype, lengths, pointers


class IndexedDataset:
    """Reads a ``.bin``/``.idx`` pair: ``dataset[i]`` is document i's token ids.

    The index is read into memory (16 bytes a document); the data file is opened only while
    tokens are read, so a mixture over thousands of shards holds no file open.
    """

    def __init__(self, prefix: Path) -> None:
        self.prefix = Path(prefix)
        self.dtype, self.lengths, self.pointers = read_index(self.prefix)
        data = bin_path(self.prefix)
        size = data.stat().st_size if data.exists() else -1
        if size != self.num_tokens * self.dtype.itemsize:
            needed = self.num_tokens * self.dtype.itemsize
            raise IndexedDatasetError(f"{data}: {size} bytes, the index needs {needed}")

    def __len__(self) -> int:
        return len(self.lengths)

    @property
    def num_tokens(self) -> int:
        return int(self.lengths.sum(dtype=np.int64))

    @functools.cached_property
    def offsets(self) -> np.ndarray:
        """Token offset of each document in ``.bin`` (pointers divided by the item size)."""
        return self.pointers // self.dtype.itemsize

    def open_tokens(self) -> np.ndarray:
        """All token ids as a read-only memory map (closed when the array is dropped)."""
        if self.num_tokens == 0:
            return np.zeros(0, self.dtype)
        return np.memmap(bin_path(self.prefix), dtype=self.dtype, mode="r")

    def __getitem__(self, index: int) -> np.ndarray:
        return np.fromfile(
            bin_path(self.prefix),
            dtype=self.dtype,
            count=int(self.lengths[index]),
            offset=int(self.pointers[index]),
        )
