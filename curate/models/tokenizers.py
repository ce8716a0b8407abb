"""Tokenization: documents to token ids in batches with a real tokenizer, BOS/EOS from the recipe.

``tokenize.tokenizer`` names the tokenizer:

- a tokenizer shipped by mistral-common (offline, the default ``tekken_240911``: Mistral's
  multilingual Tekken vocabulary, 131,072 ids);
- a path to a Hugging Face ``tokenizer.json``, to a Tekken ``tekken*.json``, or to a directory
  holding either;
- a Hub repo id (``owner/name``) already in the local Hugging Face cache (never downloaded).

Two backends, both batched Rust encoders running on threads:

- Tekken files are loaded with mistral-common's ``Tekkenizer`` and encoded by its tiktoken core
  (``encode_ordinary``) on ``threads`` threads, contiguous slices of the batch each (tiktoken
  releases the GIL while it encodes). The same vocabulary as a ``tokenizers`` BPE gives
  identical ids but encodes about 3x slower on this corpus, so Tekken files do not go through
  ``tokenizers``.
- ``tokenizer.json`` files go through ``tokenizers.Tokenizer.encode_batch_fast`` (Rust threads,
  ``RAYON_NUM_THREADS``). Special-token text inside a document (a literal ``</s>`` on a web
  page) is encoded as text, never as a control token.

BOS/EOS come from the recipe: ``bos``/``eos`` switch them on, ``bos_token``/``eos_token`` name
them where the tokenizer does not (a ``tokenizer_config.json`` beside a ``tokenizer.json`` is read
for its ``bos_token``/``eos_token``). ``token_count`` counts a document's ids including them.
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from curate.core.config import Section
from curate.core.hashing import sha256_of
from curate.schema import replace_column

DEFAULT_TOKENIZER = "tekken_240911"
TOKEN_COUNT = "token_count"
TOKENS = "tokens"
TOKEN_COUNT_FIELD = pa.field(TOKEN_COUNT, pa.int32())
CHUNKS_PER_THREAD = 4


class TokenizeConfig(Section):
    enabled: bool = False
    tokenizer: str = DEFAULT_TOKENIZER
    bos: bool = False
    eos: bool = True
    bos_token: str | None = None
    eos_token: str | None = None
    batch_size: int = Field(1024, gt=0)
    threads: int = Field(0, ge=0)


class TokenizerError(ValueError):
    """A tokenizer that cannot be found or used; the message says what to set."""


class TokenEncoder(Protocol):
    """A loaded tokenizer: batched encoding to flat ids, decoding, and its identity."""

    backend: str
    vocab_size: int

    def encode(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids of all ``texts`` concatenated (int32), and each text's id count."""
        ...

    def decode(self, ids: np.ndarray) -> str: ...

    def token_id(self, token: str) -> int | None: ...


def thread_count(threads: int) -> int:
    return threads or len(os.sched_getaffinity(0))


def shipped_tokenizers() -> dict[str, Path]:
    """Tekken tokenizers in the installed mistral-common package, by name."""
    import mistral_common

    data = Path(mistral_common.__file__).parent / "data"
    return {p.stem: p for p in sorted(data.glob("tekken*.json"))}


def resolve_tokenizer(spec: str) -> Path:
    """The tokenizer file ``spec`` names: a path, a shipped name, or a cached Hub repo id."""
    path = Path(spec).expanduser()
    if path.is_dir():
        for name in ("tokenizer.json", "tekken.json"):
            if (path / name).is_file():
                return path / name
        raise TokenizerError(f"tokenize.tokenizer: {path} holds no tokenizer.json or tekken.json")
    if path.is_file():
        return path
    shipped = shipped_tokenizers()
    if spec in shipped:
        return shipped[spec]
    if spec.count("/") == 1 and not spec.startswith((".", "/", "~")):
        return _from_hub_cache(spec)
    raise TokenizerError(
        f"tokenize.tokenizer: {spec!r} is not a file, a directory, a cached Hub repo, "
        f"or a shipped tokenizer ({', '.join(shipped)})"
    )


def _from_hub_cache(repo_id: str) -> Path:
    from huggingface_hub import try_to_load_from_cache

    for name in ("tokenizer.json", "tekken.json"):
        cached = try_to_load_from_cache(repo_id, name)
        if isinstance(cached, str):
            return Path(cached)
    raise TokenizerError(
        f"tokenize.tokenizer: {repo_id} is not in the local Hugging Face cache and curate does "
        f"not download at run time; fetch it first (`hf download {repo_id} tokenizer.json`) "
        "or give a path"
    )


@dataclass
class TekkenEncoder:
    """Mistral's Tekken vocabulary through its tiktoken core, numpy out, on threads."""

    path: Path
    threads: int
    backend: str = "tekken"
    _tekkenizer: Any = field(init=False, repr=False)
    _bpe: Any = field(init=False, repr=False)
    _pool: ThreadPoolExecutor = field(init=False, repr=False)

    def __post_init__(self) -> None:
        import tiktoken
        from mistral_common.tokens.tokenizers.tekken import Tekkenizer

        quiet = logging.getLogger("mistral_common")  # its INFO lines describe the vocabulary
        level = quiet.level
        quiet.setLevel(logging.WARNING)
        try:
            self._tekkenizer = Tekkenizer.from_file(self.path)
        finally:
            quiet.setLevel(level)
        # Tekkenizer.encode takes one string at a time; its tiktoken Encoding releases the GIL
        # while it encodes, which is what batching over threads needs.
        encoding = getattr(self._tekkenizer, "_model", None)
        if not isinstance(encoding, tiktoken.Encoding):
            raise TokenizerError(f"{self.path}: this mistral-common's Tekkenizer lacks tiktoken")
        self._encoding = encoding
        self._offset = self._tekkenizer.num_special_tokens
        self.vocab_size = self._tekkenizer.n_words
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="tekken")

    def _encode_chunk(self, texts: list[str]) -> list[np.ndarray]:
        # encode_ordinary measured ~20% faster than encode/encode_to_numpy, whose scan for
        # special tokens is wasted work here: Tekken's specials never come from text.
        encode = self._encoding.encode_ordinary
        return [np.array(encode(t), dtype=np.int32) for t in texts]

    def encode(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        if self.threads == 1:
            arrays = self._encode_chunk(texts)
        else:
            size = max(1, -(-len(texts) // (self.threads * CHUNKS_PER_THREAD)))
            chunks = [texts[i : i + size] for i in range(0, len(texts), size)]
            arrays = list(itertools.chain.from_iterable(self._pool.map(self._encode_chunk, chunks)))
        lengths = np.fromiter(map(len, arrays), dtype=np.int64, count=len(arrays))
        if not arrays:
            return np.zeros(0, np.int32), lengths
        ids = np.concatenate(arrays)
        ids += self._offset
        return ids, lengths

    def decode(self, ids: np.ndarray) -> str:
        return self._tekkenizer.decode([int(i) for i in ids])

    def token_id(self, token: str) -> int | None:
        try:
            return self._tekkenizer.get_special_token(token)
        except ValueError:
            return None


@dataclass
class HFEncoder:
    """Any Hugging Face ``tokenizer.json`` through ``tokenizers``' batched Rust encoder."""

    path: Path
    backend: str = "tokenizers"
    _tokenizer: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        from tokenizers import Tokenizer

        try:
            self._tokenizer = Tokenizer.from_file(str(self.path))
        except Exception as error:  # tokenizers raises a bare Exception on a bad file
            raise TokenizerError(f"{self.path}: not a tokenizer.json: {error}") from None
        self._tokenizer.encode_special_tokens = True
        self.vocab_size = self._tokenizer.get_vocab_size(with_added_tokens=True)

    def encode(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        encodings = self._tokenizer.encode_batch_fast(texts, add_special_tokens=False)
        per_text = [e.ids for e in encodings]
        lengths = np.fromiter(map(len, per_text), dtype=np.int64, count=len(per_text))
        ids = np.fromiter(
            itertools.chain.from_iterable(per_text), dtype=np.int32, count=int(lengths.sum())
        )
        return ids, lengths

    def decode(self, ids: np.ndarray) -> str:
        return self._tokenizer.decode([int(i) for i in ids], skip_special_tokens=True)

    def token_id(self, token: str) -> int | None:
        return self._tokenizer.token_to_id(token)

    def configured_token(self, key: str) -> str | None:
        """``bos_token``/``eos_token`` from a ``tokenizer_config.json`` beside the file."""
        config_file = self.path.parent / "tokenizer_config.json"
        if not config_file.is_file():
            return None
        value = json.loads(config_file.read_text(encoding="utf-8")).get(key)
        return value.get("content") if isinstance(value, dict) else value


@functools.cache
def _file_sha256(path: Path, mtime_ns: int) -> str:
    """Hashed once per process and file version: a tokenizer file is tens of MB."""
    del mtime_ns
    return sha256_of(path)


@functools.cache
def load_encoder(path: Path, threads: int) -> TokenEncoder:
    """The encoder for a tokenizer file, loaded once per process."""
    from mistral_common.tokens.tokenizers.tekken import is_tekken

    if is_tekken(path):
        return TekkenEncoder(path, threads)
    os.environ.setdefault("RAYON_NUM_THREADS", str(threads))
    return HFEncoder(path)


def _special_id(encoder: TokenEncoder, which: str, token: str | None) -> int:
    default = {"bos": "<s>", "eos": "</s>"}[which]
    configured = getattr(encoder, "configured_token", lambda _key: None)(f"{which}_token")
    name = token or configured or default
    token_id = encoder.token_id(name)
    if token_id is None:
        raise TokenizerError(
            f"tokenize.{which}_token: {name!r} is not a token of this tokenizer; "
            f"set tokenize.{which}_token or tokenize.{which}: false"
        )
    return token_id


def add_specials(
    ids: np.ndarray, lengths: np.ndarray, bos_id: int | None, eos_id: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Put ``bos_id`` before and ``eos_id`` after each document's ids (None: leave out)."""
    extra = (bos_id is not None) + (eos_id is not None)
    if not extra:
        return ids, lengths
    new_lengths = lengths + extra
    ends = np.cumsum(new_lengths)
    starts = ends - new_lengths
    out = np.empty(int(ends[-1]) if len(ends) else 0, dtype=np.int32)
    is_text = np.ones(len(out), dtype=bool)
    if bos_id is not None:
        out[starts] = bos_id
        is_text[starts] = False
    if eos_id is not None:
        out[ends - 1] = eos_id
        is_text[ends - 1] = False
    out[is_text] = ids
    return out, new_lengths


@dataclass
class Tokenize:
    """Adds ``token_count`` and the working column ``tokens`` (list<int32>) to a batch.

    The pass that writes token shards takes ``tokens`` off before the Parquet is rewritten.
    """

    config: TokenizeConfig
    name: str = "tokenize"
    output_fields: tuple[pa.Field, ...] = (TOKEN_COUNT_FIELD,)

    @functools.cached_property
    def tokenizer_file(self) -> Path:
        return resolve_tokenizer(self.config.tokenizer)

    @functools.cached_property
    def encoder(self) -> TokenEncoder:
        return load_encoder(self.tokenizer_file, thread_count(self.config.threads))

    @functools.cached_property
    def special_ids(self) -> tuple[int | None, int | None]:
        bos = _special_id(self.encoder, "bos", self.config.bos_token) if self.config.bos else None
        eos = _special_id(self.encoder, "eos", self.config.eos_token) if self.config.eos else None
        return bos, eos

    def check(self) -> None:
        """Load the tokenizer and find BOS/EOS now; a :class:`TokenizerError` says what is wrong."""
        _ = self.special_ids

    def identity(self) -> dict[str, Any]:
        """What makes token ids reproducible: tokenizer file and hash, specials, vocabulary."""
        bos, eos = self.special_ids
        return {
            "tokenizer": self.config.tokenizer,
            "file": self.tokenizer_file.name,
            "sha256": _file_sha256(self.tokenizer_file, self.tokenizer_file.stat().st_mtime_ns),
            "backend": self.encoder.backend,
            "vocab_size": self.encoder.vocab_size,
            "bos_id": bos,
            "eos_id": eos,
        }

    def encode(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Ids with BOS/EOS of all ``texts``, in ``batch_size`` slices, and per-text counts."""
        step = self.config.batch_size
        parts = [self.encoder.encode(texts[i : i + step]) for i in range(0, len(texts), step)]
        if not parts:
            return np.zeros(0, np.int32), np.zeros(0, np.int64)
        ids = np.concatenate([p[0] for p in parts]) if len(parts) > 1 else parts[0][0]
        lengths = np.concatenate([p[1] for p in parts]) if len(parts) > 1 else parts[0][1]
        return add_specials(ids, lengths, *self.special_ids)

    def __call__(self, batch: pa.Table) -> pa.Table:
        texts = pc.fill_null(batch.column("text"), "").to_pylist()
        ids, lengths = self.encode(texts)
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        tokens = pa.LargeListArray.from_arrays(pa.array(offsets), pa.array(ids))
        batch = replace_column(batch, TOKEN_COUNT, pa.array(lengths.astype(np.int32)))
        return replace_column(batch, TOKENS, tokens)
