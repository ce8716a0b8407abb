"""Main-text extraction from HTML with trafilatura; a thin adapter over ``trafilatura.extract``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from curate.core.config import Section
from curate.core.registry import register
from curate.core.stage import Stage
from curate.schema import DROP_REASON, HTML, replace_column

log = logging.getLogger(__name__)


class ExtractConfig(Section):
    enabled: bool = True
    favor: Literal["balanced", "precision", "recall"] = "balanced"
    include_tables: bool = True
    include_comments: bool = False
    include_links: bool = False
    deduplicate: bool = False
    min_text_chars: int = Field(1, ge=0)


@register("extract", section="extract", config=ExtractConfig, phase="text", order=10)
@dataclass
class Extract(Stage):
    """Replaces ``html`` with the extracted main text; batches without HTML pass through, and
    so do rows whose reader found the text extracted already (WET: ``text`` set, no ``html``)."""

    config: ExtractConfig
    name: str = "extract"

    @classmethod
    def from_recipe(cls, recipe: Any) -> Extract:
        return cls(recipe.extract)

    def _extract_one(self, html: str, url: str | None) -> tuple[str | None, str | None]:
        import trafilatura

        try:
            text = trafilatura.extract(
                html,
                url=url,
                favor_precision=self.config.favor == "precision",
                favor_recall=self.config.favor == "recall",
                include_tables=self.config.include_tables,
                include_comments=self.config.include_comments,
                include_links=self.config.include_links,
                deduplicate=self.config.deduplicate,
                with_metadata=False,
            )
        except (ValueError, TypeError, RecursionError, MemoryError) as error:
            log.debug("extract: %s failed: %s", url, error)
            return None, "extraction_error"
        if text is None or len(text.strip()) < max(self.config.min_text_chars, 1):
            return None, "no_extracted_text"
        return text, None

    def __call__(self, batch: pa.Table) -> pa.Table:
        if HTML not in batch.column_names:
            return batch
        if not self.config.enabled:
            texts = pc.coalesce(batch.column(HTML), batch.column("text"))
            return replace_column(batch, "text", texts).drop_columns([HTML])
        texts, reasons = [], []
        columns = (batch.column(c).to_pylist() for c in (HTML, "text", "url", DROP_REASON))
        for html, given, url, reason in zip(*columns, strict=True):
            text, new_reason = given, None
            if not reason and html is not None:
                text, new_reason = self._extract_one(html, url)
            texts.append(text)
            reasons.append(reason or new_reason)
        batch = replace_column(batch, "text", pa.array(texts, pa.string()))
        batch = replace_column(batch, DROP_REASON, pa.array(reasons, pa.string()))
        return batch.drop_columns([HTML])
