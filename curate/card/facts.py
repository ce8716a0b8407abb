"""What a run's output says about itself: the facts a dataset card and the EU summary report.

Sources, in order of authority: ``stats.json`` (every count in the card), ``manifest.json``
(recipe, versions, checksums, inputs), one streaming pass over the kept shards (domains, crawl
dates, document lengths, token counts) and the ``warcinfo`` records of WARC inputs (crawler).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

log = logging.getLogger(__name__)
TOKEN_COLUMN = "token_count"
UNKNOWN_LANGUAGE = "und"
# Document lengths in characters are binned on a log10 scale: exact enough for quantiles
# (bins are 2.3 % wide), mergeable across shards, and bounded in memory at any corpus size.
LENGTH_BIN_WIDTH = 0.01
LENGTH_BINS = np.arange(0.0, 8.0 + LENGTH_BIN_WIDTH, LENGTH_BIN_WIDTH)
HOST_PATTERN = r"^[A-Za-z][A-Za-z0-9+.\-]*://(?:[^@/?#]*@)?(?P<host>\[[^\]]*\]|[^:/?#]+)"
# A date the card trusts: YYYY-MM-DD alone or before a time (ClueWeb's "2008-10-294T" is not).
ISO_DATE = r"^\d{4}-\d{2}-\d{2}(?:$|[T ])"
OPT_OUT_STAGE = "opt_out"
PII_STAGE = "pii"
OPT_OUT_REASON = re.compile(r"tdm|noai|opt_?out|robots", re.IGNORECASE)
WARCINFO_FIELDS = ("isPartOf", "publisher", "operator", "software", "robots", "description")
USER_AGENT = "user-agent"
SCAN_COLUMNS = ("url", "date", "text")


class CardError(Exception):
    """An output the card cannot describe; the message says why."""


@dataclass
class LanguageFacts:
    code: str
    docs: int
    text_bytes: int
    identified: int
    dropped_by_stage: dict[str, int]
    shard_files: list[Path] = field(default_factory=list)
    shard_rows: int = 0
    file_bytes: int = 0
    tokens: int | None = None
    length_counts: np.ndarray = field(default_factory=lambda: np.zeros(len(LENGTH_BINS) - 1))
    date_min: str | None = None
    date_max: str | None = None
    dated_docs: int = 0
    pii: dict[str, int] = field(default_factory=dict)

    def length_quantiles(self, qs: tuple[float, ...]) -> list[float]:
        """Characters per document at the quantiles ``qs``, read off the log-binned histogram."""
        total = self.length_counts.sum()
        if total == 0:
            return [0.0 for _ in qs]
        cumulative = np.cumsum(self.length_counts) / total
        edges = LENGTH_BINS[1:]
        return [float(10 ** edges[min(np.searchsorted(cumulative, q), len(edges) - 1)]) for q in qs]


@dataclass
class Crawl:
    """Provenance of WARC inputs: their ``warcinfo`` fields and crawler User-Agent, grouped.

    ``sources`` maps each distinct description (sorted ``(field, value)`` pairs) to the number
    of input files that carry it, so thousands of WARCs of one snapshot make one row.
    """

    sources: dict[tuple[tuple[str, str], ...], int] = field(default_factory=dict)
    warc_inputs: int = 0
    other_inputs: int = 0
    missing_inputs: int = 0

    def values(self, key: str) -> list[str]:
        found = [dict(source).get(key) for source in self.sources]
        return sorted({v for v in found if v})

    @property
    def common_crawl_snapshots(self) -> list[str]:
        return [v for v in self.values("isPartOf") if v.startswith("CC-MAIN")]


@dataclass
class Facts:
    out: Path
    stats: dict[str, Any]
    manifest: dict[str, Any]
    stats_sha256: str
    languages: dict[str, LanguageFacts]
    stages: list[str]
    domains: dict[str, list[int]]
    crawl: Crawl

    @property
    def recipe(self) -> dict[str, Any]:
        return self.manifest.get("recipe", {})

    @property
    def total_docs(self) -> int:
        return sum(lang.docs for lang in self.languages.values())

    @property
    def total_bytes(self) -> int:
        return sum(lang.text_bytes for lang in self.languages.values())

    @property
    def tokenized(self) -> bool:
        return bool(self.languages) and all(
            lang.tokens is not None for lang in self.languages.values()
        )

    @property
    def total_tokens(self) -> int | None:
        return sum(lang.tokens or 0 for lang in self.languages.values()) if self.tokenized else None

    @property
    def dated_docs(self) -> int:
        return sum(lang.dated_docs for lang in self.languages.values())

    @property
    def date_span(self) -> tuple[str | None, str | None]:
        mins = [lang.date_min for lang in self.languages.values() if lang.date_min]
        maxs = [lang.date_max for lang in self.languages.values() if lang.date_max]
        return (min(mins) if mins else None, max(maxs) if maxs else None)

    def stage_totals(self) -> list[dict[str, Any]]:
        """Per stage over all languages: documents in, kept, and dropped by reason."""
        rows = []
        for stage in self.stages:
            entries = self.stats["stages"][stage].values()
            reasons: Counter[str] = Counter()
            for entry in entries:
                reasons.update(entry["dropped"])
            rows.append(
                {
                    "stage": stage,
                    "docs_in": sum(e["docs_in"] for e in entries),
                    "docs_kept": sum(e["docs_kept"] for e in entries),
                    "dropped": dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
                }
            )
        return rows

    def filtering_stages(self) -> list[str]:
        """Stages that dropped documents of a kept language (the per-language table's columns)."""
        return [
            stage
            for stage in self.stages
            if any(lang.dropped_by_stage.get(stage) for lang in self.languages.values())
        ]

    @property
    def pii_ran(self) -> bool:
        return PII_STAGE in self.stages

    @property
    def opt_out_ran(self) -> bool:
        return OPT_OUT_STAGE in self.stages

    def opt_out_drops(self) -> dict[str, int]:
        return {
            r: n for r, n in self.stats["totals"]["dropped"].items() if OPT_OUT_REASON.search(r)
        }

    def pii_counts(self) -> dict[str, dict[str, int]]:
        return {code: lang.pii for code, lang in self.languages.items() if lang.pii}

    def top_domains(self, limit: int | None = None) -> list[tuple[str, int, int]]:
        """(domain, documents, text bytes), largest content first."""
        ranked = sorted(self.domains.items(), key=lambda kv: (-kv[1][1], -kv[1][0], kv[0]))
        return [(d, docs, size) for d, (docs, size) in ranked[:limit]]


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise CardError(f"{path} not found: is {path.parent} the output of `curate run`?")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise CardError(f"{path}: invalid JSON ({error})") from None


def gather(out: Path) -> Facts:
    """Read stats, manifest and shards of ``out`` into the facts a card reports."""
    stats = _read_json(out / "stats.json")
    manifest = _read_json(out / "manifest.json")
    stats_sha256 = hashlib.sha256((out / "stats.json").read_bytes()).hexdigest()
    stages = list(stats.get("stages", {}))
    if not stages:
        raise CardError(f"{out / 'stats.json'} records no stage: the run did not finish")
    languages = _languages_from_stats(stats, stages)
    domains: dict[str, list[int]] = {}
    for code, lang in languages.items():
        lang.shard_files = sorted((out / "data" / code).glob("*.parquet"))
        token_counts = [_scan_shard(shard, lang, domains) for shard in lang.shard_files]
        if token_counts and None not in token_counts:
            lang.tokens = sum(token_counts)  # type: ignore[arg-type]
        if lang.shard_rows != lang.docs:
            raise CardError(
                f"{out / 'data' / code} holds {lang.shard_rows} documents but stats.json says "
                f"{lang.docs}: shards and stats disagree (an interrupted or edited output?)"
            )
    _pii_from_stats(stats, languages)
    crawl = _crawl_provenance(manifest)
    registered = _registered_domains(domains)
    return Facts(out, stats, manifest, stats_sha256, languages, stages, registered, crawl)


def _languages_from_stats(stats: dict[str, Any], stages: list[str]) -> dict[str, LanguageFacts]:
    last = stats["stages"][stages[-1]]
    languages: dict[str, LanguageFacts] = {}
    for code in sorted(last):
        entry = last[code]
        if code == UNKNOWN_LANGUAGE or entry["docs_kept"] == 0:
            continue
        seen = [s for s in stages if code in stats["stages"][s]]
        dropped = {
            s: sum(stats["stages"][s][code]["dropped"].values())
            for s in seen
            if stats["stages"][s][code]["dropped"]
        }
        languages[code] = LanguageFacts(
            code=code,
            docs=entry["docs_kept"],
            text_bytes=entry["bytes_kept"],
            identified=stats["stages"][seen[0]][code]["docs_in"],
            dropped_by_stage=dropped,
        )
    return dict(sorted(languages.items(), key=lambda kv: (-kv[1].docs, kv[0])))


def _scan_shard(path: Path, lang: LanguageFacts, domains: dict[str, list[int]]) -> int | None:
    """Add one shard's rows, lengths, dates and hosts to ``lang`` and ``domains``.

    Returns the shard's token count, or None when it has no token column.
    """
    parquet = pq.ParquetFile(path)
    lang.file_bytes += path.stat().st_size
    has_tokens = TOKEN_COLUMN in parquet.schema_arrow.names
    columns = list(SCAN_COLUMNS) + ([TOKEN_COLUMN] if has_tokens else [])
    tokens = 0
    for batch in parquet.iter_batches(batch_size=65_536, columns=columns):
        table = pa.Table.from_batches([batch])
        lang.shard_rows += table.num_rows
        text = pc.fill_null(table.column("text"), "")
        chars = pc.utf8_length(text).to_numpy(zero_copy_only=False)
        counts, _ = np.histogram(np.log10(np.maximum(chars, 1)), bins=LENGTH_BINS)
        lang.length_counts = lang.length_counts + counts
        _add_dates(table.column("date"), lang)
        _add_hosts(table.column("url"), pc.binary_length(text), domains)
        if has_tokens:
            tokens += int(pc.sum(table.column(TOKEN_COLUMN)).as_py() or 0)
    return tokens if has_tokens else None


def _add_dates(dates: pa.ChunkedArray, lang: LanguageFacts) -> None:
    valid = dates.filter(pc.fill_null(pc.match_substring_regex(dates, ISO_DATE), False))
    lang.dated_docs += len(valid)
    if len(valid) == 0:
        return
    bounds = pc.min_max(valid).as_py()
    lang.date_min = min(filter(None, (lang.date_min, bounds["min"])))
    lang.date_max = max(filter(None, (lang.date_max, bounds["max"])))


def _add_hosts(
    urls: pa.ChunkedArray, sizes: pa.ChunkedArray, domains: dict[str, list[int]]
) -> None:
    hosts = pc.struct_field(pc.extract_regex(pc.fill_null(urls, ""), HOST_PATTERN), "host")
    table = pa.table({"host": pc.utf8_lower(hosts), "size": sizes})
    grouped = table.group_by("host", use_threads=False).aggregate(
        [("size", "count"), ("size", "sum")]
    )
    for host, docs, size in zip(
        grouped.column("host").to_pylist(),
        grouped.column("size_count").to_pylist(),
        grouped.column("size_sum").to_pylist(),
        strict=True,
    ):
        entry = domains.setdefault(host or "", [0, 0])
        entry[0] += docs
        entry[1] += size or 0


def _registered_domains(hosts: dict[str, list[int]]) -> dict[str, list[int]]:
    """Fold host names into registered domains (eTLD+1, Public Suffix List), once per host."""
    from tld import get_fld

    domains: dict[str, list[int]] = {}
    for host, (docs, size) in hosts.items():
        domain = get_fld(host, fix_protocol=True, fail_silently=True) if host else None
        key = domain or host or "(no URL)"
        entry = domains.setdefault(key, [0, 0])
        entry[0] += docs
        entry[1] += size
    return domains


def _pii_from_stats(stats: dict[str, Any], languages: dict[str, LanguageFacts]) -> None:
    """PII replacements per type, from the PII stage's counters (``counters.pii``)."""
    counted = stats.get("counters", {}).get("pii", {})
    for code, kinds in counted.items():
        if code in languages:
            for kind, n in kinds.items():
                if kind != "docs_with_pii":
                    languages[code].pii[kind] = languages[code].pii.get(kind, 0) + n


def _crawl_provenance(manifest: dict[str, Any]) -> Crawl:
    crawl = Crawl()
    for entry in manifest.get("inputs", []):
        path = Path(entry.get("path", ""))
        if not path.name.endswith((".warc", ".warc.gz")):
            crawl.other_inputs += 1
            continue
        crawl.warc_inputs += 1
        if not path.is_file():
            crawl.missing_inputs += 1
            continue
        source = tuple(sorted(_warc_provenance(path).items()))
        crawl.sources[source] = crawl.sources.get(source, 0) + 1
    return crawl


def _warc_provenance(path: Path, max_records: int = 8) -> dict[str, str]:
    """Fields of a WARC's warcinfo record and the User-Agent of its first request record."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    found: dict[str, str] = {}
    wanted = WarcRecordType.warcinfo | WarcRecordType.request
    try:
        with open(path, "rb") as stream:
            records = ArchiveIterator(stream, record_types=wanted, parse_http=False)
            for n, record in enumerate(records):
                if n >= max_records or USER_AGENT in found:
                    break
                body = record.reader.read().decode("utf-8", "replace")
                for line in body.splitlines():
                    key, _, value = line.partition(":")
                    key, value = key.strip(), value.strip()
                    if record.record_type == WarcRecordType.warcinfo and key in WARCINFO_FIELDS:
                        found.setdefault(key, value)
                    elif key.lower() == "user-agent" and value:
                        found.setdefault(USER_AGENT, value)
    except Exception:  # noqa: BLE001 - provenance is best effort; the run already read the file
        log.warning("could not read the crawl records of %s", path)
    return {k: v for k, v in found.items() if v}
