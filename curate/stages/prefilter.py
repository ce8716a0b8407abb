"""Cheap pre-filters that spare trafilatura clearly useless pages; vectorised over the batch.

Both are off by default (``preroute.min_html_bytes: 0``, ``preroute.require_markup: false``)
because trafilatura can still find a sentence in a tiny page or in text without markup; turn
them on when such pages are not wanted anyway. Each has its own drop reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from curate.core.registry import register
from curate.core.stage import Stage
from curate.schema import HTML, set_drop_reason
from curate.stages.preroute import PrerouteConfig

HTML_TOO_SMALL = "html_too_small"
NO_HTML_MARKUP = "no_html_markup"
# a tag that only HTML has; plain text, JSON or a feed served as text/html has none of these
HTML_MARKUP = r"<(!doctype\s+html|html|head|body|div|p|br|span|table|article|main|section)[\s>/]"


@register("prefilter", section="preroute", config=PrerouteConfig, phase="page", order=10)
@dataclass
class Prefilter(Stage):
    """Drops pages under ``min_html_bytes`` and, if ``require_markup``, bodies without HTML."""

    config: PrerouteConfig
    name: str = "prefilter"

    @classmethod
    def from_recipe(cls, recipe: Any) -> Prefilter | None:
        config = recipe.preroute
        return cls(config) if config.min_html_bytes or config.require_markup else None

    def __call__(self, batch: pa.Table) -> pa.Table:
        if HTML not in batch.column_names or batch.num_rows == 0:
            return batch
        html = batch.column(HTML)
        if self.config.min_html_bytes:
            small = pc.less(pc.binary_length(html), self.config.min_html_bytes)
            batch = set_drop_reason(batch, small, HTML_TOO_SMALL)
        if self.config.require_markup:
            markup = pc.match_substring_regex(html, HTML_MARKUP, ignore_case=True)
            batch = set_drop_reason(batch, pc.invert(markup), NO_HTML_MARKUP)
        return batch
