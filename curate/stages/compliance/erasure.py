"""The erasure-list stage, and the hashed lists it reads: erased documents never come back.

Runs first, before any pre-filter or extraction: a document whose URL, domain or id is on one
of the run's erasure lists (the output's own ``OUT/erasure/list.txt``, written by
``curate erase``, and any ``erasure_list:`` of the recipe) is dropped with reason ``erased``.
The lists hold sha256 hashes only, so neither the stage nor the recipe carries the URLs.

What a list matches: URLs, domains and document ids. A request
names documents by URL (exact, after light normalisation: scheme and host lower-case,
fragment dropped, surrounding blanks stripped), by domain (the host equal to it or one of its
subdomains; Unicode names in their IDNA ``xn--`` form) or by document id (exact). Requests
and documents are normalised by the same functions and compared as sha256 hex digests, so
lists and logs can be kept and shared without the URLs themselves. A list file holds one
``<kind> <sha256>`` line per entry, sorted, ``#`` comments allowed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate.core.registry import register
from curate.core.stage import Stage
from curate.io.atomic import write_bytes
from curate.schema import set_drop_reason
from curate.stages.compliance.url import normalise_host
from curate.stages.quality.config import FiltersConfig

ERASED = "erased"
STAGE_NAME = "erasure_list"
KINDS = ("url", "domain", "id")
LIST_HEADER = "# curate erasure list: <kind> <sha256 of the normalised url, domain or id>\n"
URL_HEAD = r"^(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^/?#]*)(?P<rest>[^#]*)"
HOST = r"^[A-Za-z][A-Za-z0-9+.\-]*://(?:[^@/?#]*@)?(?P<host>\[[^\]]*\]|[^:/?#]+)"


class ErasureListError(ValueError):
    """An erasure list or request file that cannot be read; the message names it."""


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def normalise_urls(urls: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Scheme and authority lower-case, fragment dropped, blanks stripped (nulls stay null)."""
    stripped = pc.utf8_trim_whitespace(urls)
    parts = pc.extract_regex(stripped, URL_HEAD)
    head, rest = pc.struct_field(parts, "head"), pc.struct_field(parts, "rest")
    joined = pc.binary_join_element_wise(pc.utf8_lower(head), rest, "")
    no_fragment = pc.replace_substring_regex(stripped, r"#.*$", "")
    return pc.coalesce(joined, no_fragment)


def url_hosts(urls: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The host of each URL as matched against domains (null when the URL has none)."""
    found = pc.struct_field(pc.extract_regex(pc.utf8_trim_whitespace(urls), HOST), "host")
    return pc.utf8_lower(found)


def domain_suffixes(host: str) -> list[str]:
    """``a.b.example.com`` -> itself, ``b.example.com``, ``example.com``, ``com``."""
    labels = normalise_host(host).split(".")
    return [".".join(labels[i:]) for i in range(len(labels)) if labels[i]]


def _hashes(values: Iterable[str | None]) -> list[str | None]:
    return [sha256_hex(v) if v else None for v in values]


def _as_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks() if values.num_chunks else pa.array([], values.type)
    return values


@dataclass
class Hashes:
    """Hashes of URLs, domains and ids; ``matches`` finds the rows of a table they name."""

    url: set[str] = field(default_factory=set)
    domain: set[str] = field(default_factory=set)
    id: set[str] = field(default_factory=set)
    # The normalised values behind the hashes, when the request gave them (never saved): a
    # kind whose every hash is known is matched by value, without hashing each document.
    plain: dict[str, set[str]] = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.url) + len(self.domain) + len(self.id)

    def kind(self, name: str) -> set[str]:
        return {"url": self.url, "domain": self.domain, "id": self.id}[name]

    def update(self, other: Hashes) -> None:
        for name in KINDS:
            self.kind(name).update(other.kind(name))
            self.plain.setdefault(name, set()).update(other.plain.get(name, set()))

    def entries(self) -> list[tuple[str, str]]:
        return sorted((name, h) for name in KINDS for h in self.kind(name))

    def matches(self, table: pa.Table) -> np.ndarray:
        """A boolean mask: rows whose URL, host (or a parent domain) or id is listed."""
        hit = np.zeros(table.num_rows, dtype=bool)
        if table.num_rows == 0:
            return hit
        if self.id and "id" in table.column_names:
            hit |= self._listed(table.column("id"), "id")
        if "url" not in table.column_names:
            return hit
        urls = table.column("url")
        if self.url:
            hit |= self._url_listed(urls)
        if self.domain:
            hit |= self._domain_listed(urls)
        return hit

    def _url_listed(self, urls: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """By value when every URL is known: a cheap case-folded pass finds candidates (a
        superset), which alone are normalised and compared."""
        plain = self.plain.get("url", set())
        if len(plain) != len(self.url):
            return self._listed(normalise_urls(urls), "url")
        urls = _as_array(urls)
        head = pc.list_element(
            pc.split_pattern(pc.utf8_trim_whitespace(urls), pattern="#", max_splits=1), 0
        )
        folded = pa.array(sorted({u.lower() for u in plain}), pa.string())
        found = pc.fill_null(pc.is_in(pc.utf8_lower(head), value_set=folded), False)
        candidates = np.flatnonzero(found.to_numpy(zero_copy_only=False))
        hit = np.zeros(len(urls), dtype=bool)
        if len(candidates):
            hit[candidates] = self._listed(normalise_urls(urls.take(candidates)), "url")
        return hit

    def _listed(self, values: pa.Array | pa.ChunkedArray, kind: str) -> np.ndarray:
        wanted, plain = self.kind(kind), self.plain.get(kind, set())
        if len(plain) == len(wanted):
            found = pc.is_in(values, value_set=pa.array(sorted(plain), pa.string()))
            return pc.fill_null(found, False).to_numpy(zero_copy_only=False)
        return np.array([h in wanted for h in _hashes(_as_array(values).to_pylist())], dtype=bool)

    def _domain_listed(self, urls: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """Hosts repeat: each distinct host's suffixes are hashed once."""
        encoded = _as_array(url_hosts(urls)).dictionary_encode()
        hosts = encoded.dictionary.to_pylist()
        listed = [any(sha256_hex(s) in self.domain for s in domain_suffixes(h)) for h in hosts]
        listed_or_no_host = np.array([*listed, False], dtype=bool)
        indices = pc.fill_null(encoded.indices, len(hosts)).to_numpy(zero_copy_only=False)
        return listed_or_no_host[indices]


def request_hashes(urls: list[str], domains: list[str], ids: list[str]) -> Hashes:
    """The hashes of a request's entries, normalised as documents are."""
    normalised = {u for u in normalise_urls(pa.array(urls, pa.string())).to_pylist() if u}
    hosts = {h for h in (_domain_entry(d) for d in domains) if h}
    plain = {"url": normalised, "domain": hosts, "id": {i for i in ids if i}}
    return Hashes(
        url={sha256_hex(u) for u in plain["url"]},
        domain={sha256_hex(h) for h in plain["domain"]},
        id={sha256_hex(i) for i in plain["id"]},
        plain=plain,
    )


def _domain_entry(entry: str) -> str:
    """A listed domain: a bare name (``*.`` allowed) or a URL, whose host is taken."""
    if "://" in entry:
        host = url_hosts(pa.array([entry])).to_pylist()[0]
        entry = host or ""
    return normalise_host(entry) if entry else ""


def read_entries(path: Path) -> list[str]:
    """Non-blank lines of a request file, ``#`` comment lines skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ErasureListError(f"cannot read {path}: {error}") from None
    return [s for s in (line.strip() for line in lines) if s and not s.startswith("#")]


def load_list(path: Path) -> Hashes:
    """An erasure list file: ``<kind> <sha256>`` lines."""
    hashes = Hashes()
    for number, line in enumerate(read_entries(path), start=1):
        parts = line.split()
        if len(parts) != 2 or parts[0] not in KINDS or not _is_sha256(parts[1]):
            raise ErasureListError(
                f"{path}:{number}: not an erasure list line (want '<url|domain|id> <sha256>')"
            )
        hashes.kind(parts[0]).add(parts[1].lower())
    return hashes


def load_lists(paths: Iterable[Path]) -> Hashes:
    merged = Hashes()
    for path in paths:
        merged.update(load_list(path))
    return merged


def save_list(path: Path, hashes: Hashes) -> None:
    body = "".join(f"{kind} {digest}\n" for kind, digest in hashes.entries())
    write_bytes(path, (LIST_HEADER + body).encode())


def _is_sha256(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdefABCDEF" for c in value)


# The lists are the recipe's top-level ``erasure_list`` (a path or a list of paths); the stage
# registers under ``filters`` only because the registry wants a section.
@register(STAGE_NAME, section="filters", config=FiltersConfig, phase="page", order=0)
@dataclass
class ErasureFilter(Stage):
    """Drop documents named on an erasure list (right to erasure), before extraction."""

    lists: tuple[str, ...]
    name: str = STAGE_NAME
    _hashes: Hashes | None = field(default=None, repr=False)

    @classmethod
    def from_recipe(cls, recipe: Any) -> ErasureFilter | None:
        lists = recipe.erasure_lists()
        return cls(tuple(lists)) if lists else None

    def hashes(self) -> Hashes:
        if self._hashes is None:
            self._hashes = load_lists(Path(p) for p in self.lists)
        return self._hashes

    def __call__(self, batch: pa.Table) -> pa.Table:
        listed = self.hashes()
        if batch.num_rows == 0 or not listed:
            return batch
        return set_drop_reason(batch, pa.array(listed.matches(batch)), ERASED)
