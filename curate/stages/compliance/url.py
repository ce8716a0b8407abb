"""URL blocklists from files named in the recipe; each list counts under its own reason."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.compute as pc

from curate.core.registry import register
from curate.core.stage import Stage
from curate.schema import set_drop_reason
from curate.stages.quality.config import FiltersConfig, UrlBlocklist, UrlFilterConfig

log = logging.getLogger(__name__)


def normalise_host(host: str) -> str:
    """Lower-case ASCII form of a host name: Unicode (IDN) hosts become their ``xn--`` form."""
    host = host.strip().lower().rstrip(".")
    if host.startswith("*."):
        host = host[2:]
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def url_host(url: str) -> str | None:
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    return normalise_host(host) if host else None


def read_entries(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [s for s in (line.split("#", 1)[0].strip() for line in lines) if s]


@dataclass
class _Matcher:
    blocklist: UrlBlocklist
    entries: Any
    size: int

    def matches(self, url: str, host: str | None) -> bool:
        kind = self.blocklist.match
        if kind == "url":
            return url.strip() in self.entries
        if kind == "substring":
            return self.size > 0 and next(self.entries.iter(url.lower()), None) is not None
        if host is None:
            return False
        if kind == "host":
            return host in self.entries
        labels = host.split(".")
        return any(".".join(labels[i:]) in self.entries for i in range(len(labels)))


def _matcher(blocklist: UrlBlocklist) -> _Matcher:
    entries = read_entries(Path(blocklist.file))
    if blocklist.match == "substring":
        import ahocorasick

        automaton = ahocorasick.Automaton()
        for index, entry in enumerate(entries):
            automaton.add_word(entry.lower(), index)
        if entries:
            automaton.make_automaton()
        return _Matcher(blocklist, automaton, len(entries))
    if blocklist.match == "url":
        return _Matcher(blocklist, frozenset(entries), len(entries))
    return _Matcher(blocklist, frozenset(normalise_host(e) for e in entries), len(entries))


@register("url_filter", section="filters", config=FiltersConfig, phase="page", order=40)
@dataclass
class UrlFilter(Stage):
    """Drops documents whose URL is on a blocklist; documents without a URL pass."""

    config: UrlFilterConfig
    name: str = "url_filter"
    _matchers: list[_Matcher] | None = field(default=None, repr=False)

    @classmethod
    def from_recipe(cls, recipe: Any) -> UrlFilter | None:
        url = recipe.filters.url
        return cls(url) if url.enabled and url.blocklists else None

    def matchers(self) -> list[_Matcher]:
        if self._matchers is None:
            self._matchers = [_matcher(b) for b in self.config.blocklists]
            sizes = ", ".join(f"{m.blocklist.reason}: {m.size}" for m in self._matchers)
            log.debug("url_filter: lists loaded (%s)", sizes)
        return self._matchers

    def reason(self, url: str | None) -> str | None:
        if not url:
            return None
        host = url_host(url)
        for matcher in self.matchers():
            if matcher.matches(url, host):
                return matcher.blocklist.reason
        return None

    def __call__(self, batch: pa.Table) -> pa.Table:
        if batch.num_rows == 0:
            return batch
        urls = batch.column("url").to_pylist()
        found = [self.reason(u) for u in urls]
        reasons = pa.array(found, pa.string())
        details = [_evidence(u) if r else None for u, r in zip(urls, found, strict=True)]
        return set_drop_reason(batch, pc.is_valid(reasons), reasons, pa.array(details, pa.string()))


def _evidence(url: str) -> str:
    """What was matched against the list: the host (domain and host lists) and the URL."""
    return f"host={url_host(url)} url={url.strip()}"
