"""Text-and-data-mining opt-outs: pages whose publisher reserved TDM rights are dropped.

Signals (each its own reason, each switchable in ``filters.opt_out``):

- ``optout_tdm_header``: HTTP response header ``tdm-reservation: 1`` (W3C TDMRep), recorded by
  the WARC reader in ``metadata.http_headers``;
- ``optout_tdm_meta``: ``<meta name="tdm-reservation" content="1">`` in the page;
- ``optout_robots_noai`` / ``optout_robots_noimageai``: a ``noai`` / ``noimageai`` directive
  in ``<meta name="robots">`` or in the ``X-Robots-Tag`` header.

The page must still carry its HTML, so this stage runs before extraction.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from curate.core.registry import register
from curate.core.stage import Stage
from curate.io.warc import HTTP_HEADERS_KEY
from curate.schema import HTML, set_drop_reason
from curate.stages.quality.config import FiltersConfig, OptOutConfig

# The evidence each reason stands for, as the drop ledger's detail shows it.
EVIDENCE = {
    "optout_tdm_header": "HTTP header tdm-reservation: 1",
    "optout_tdm_meta": '<meta name="tdm-reservation" content="1">',
    "optout_robots_noai": "robots directive noai (meta robots or X-Robots-Tag)",
    "optout_robots_noimageai": "robots directive noimageai (meta robots or X-Robots-Tag)",
}
MENTIONS = re.compile(r"tdm-reservation|noai|noimageai", re.IGNORECASE)
META_TAG = re.compile(r"<meta\b[^>]*>", re.IGNORECASE)
ATTRIBUTE = re.compile(r"""([a-zA-Z_:.-]+)\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+)""")
DIRECTIVE_SPLIT = re.compile(r"[\s,]+")


def meta_tags(html: str) -> list[dict[str, str]]:
    """``name`` / ``content`` attributes of the page's meta tags (lower-cased, unquoted)."""
    tags = []
    for tag in META_TAG.findall(html):
        attributes = {k.lower(): v.strip("\"'").strip() for k, v in ATTRIBUTE.findall(tag)}
        if "name" in attributes:
            name = attributes["name"].lower()
            tags.append({"name": name, "content": attributes.get("content", "")})
    return tags


def robots_directives(value: str) -> set[str]:
    return {d for d in DIRECTIVE_SPLIT.split(value.lower()) if d}


def _headers(metadata: str | None) -> dict[str, str]:
    if not metadata or HTTP_HEADERS_KEY not in metadata:
        return {}
    try:
        headers = json.loads(metadata).get(HTTP_HEADERS_KEY) or {}
    except (ValueError, AttributeError):
        return {}
    return {str(k).lower(): str(v) for k, v in headers.items()} if isinstance(headers, dict) else {}


@register("opt_out", section="filters", config=FiltersConfig, phase="page", order=30)
@dataclass
class OptOut(Stage):
    """Drops pages whose publisher reserved text-and-data-mining rights (TDMRep, noai)."""

    config: OptOutConfig
    name: str = "opt_out"

    @classmethod
    def from_recipe(cls, recipe: Any) -> OptOut | None:
        opt_out = recipe.filters.opt_out
        return cls(opt_out) if opt_out.enabled else None

    def reason(self, html: str | None, metadata: str | None) -> str | None:
        headers = _headers(metadata)
        robots = robots_directives(headers.get("x-robots-tag", ""))
        tdm_meta = False
        if html and MENTIONS.search(html):
            for tag in meta_tags(html):
                if tag["name"] == "tdm-reservation":
                    tdm_meta = tdm_meta or tag["content"] == "1"
                elif tag["name"] == "robots":
                    robots |= robots_directives(tag["content"])
        cfg = self.config
        signals: list[tuple[bool, Any, str]] = [
            (
                cfg.tdm_reservation_header,
                headers.get("tdm-reservation", "").strip() == "1",
                "optout_tdm_header",
            ),
            (cfg.tdm_reservation_meta, tdm_meta, "optout_tdm_meta"),
            (cfg.robots_noai, "noai" in robots, "optout_robots_noai"),
            (cfg.robots_noimageai, "noimageai" in robots, "optout_robots_noimageai"),
        ]
        return next((reason for on, found, reason in signals if on and found), None)

    def __call__(self, batch: pa.Table) -> pa.Table:
        if batch.num_rows == 0:
            return batch
        pages = (
            batch.column(HTML).to_pylist()
            if HTML in batch.column_names
            else [None] * batch.num_rows
        )
        metadata = batch.column("metadata").to_pylist()
        found = [self.reason(h, m) for h, m in zip(pages, metadata, strict=True)]
        reasons = pa.array(found, pa.string())
        details = pa.array([EVIDENCE.get(r) if r else None for r in found], pa.string())
        return set_drop_reason(batch, pc.is_valid(reasons), reasons, details)
