"""PII scrubbing: e-mail and IP addresses, phone numbers, IBANs and payment card numbers.

Rewrites ``text`` in place and drops nothing. Counts of what it replaced, per kind and
language, reach ``stats.json`` under ``counters.pii`` through :meth:`PiiScrub.take_counts`;
the personal data itself is never logged or counted by value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate.core.registry import register
from curate.core.stage import Stage
from curate.pii.config import PiiConfig
from curate.pii.detectors import (
    CardDetector,
    Detector,
    EmailDetector,
    Found,
    IbanDetector,
    IpDetector,
    PhoneDetector,
)
from curate.pii.replace import Replacer
from curate.pii.scan import find_pii
from curate.schema import SIGNALS_ROW, replace_column
from curate.stats import UNKNOWN_LANGUAGE

DOCS_WITH_PII = "docs_with_pii"


def build_detectors(config: PiiConfig) -> list[Detector]:
    """Enabled detectors, in the order that settles overlaps (an e-mail beats a phone)."""
    detectors: list[Detector] = []
    if config.email.enabled:
        detectors.append(EmailDetector())
    if config.iban.enabled:
        detectors.append(IbanDetector())
    if config.card.enabled:
        detectors.append(CardDetector())
    if config.ip.enabled:
        detectors.append(IpDetector(include_private=config.ip.include_private))
    if config.phone.enabled:
        detectors.append(
            PhoneDetector(config.phone.regions_per_language, tuple(config.phone.default_regions))
        )
    return detectors


MAX_PASSES = 4


@register("pii", section="pii", config=PiiConfig, phase="document", order=50)
@dataclass
class PiiScrub(Stage):
    """Replaces the personal data the recipe's ``pii`` section names; keeps every row."""

    config: PiiConfig
    name: str = "pii"
    _detectors: list[Detector] | None = field(default=None, init=False, repr=False)
    _counts: dict[str, dict[str, int]] = field(default_factory=dict, init=False, repr=False)

    @classmethod
    def from_recipe(cls, recipe: Any) -> PiiScrub | None:
        return cls(recipe.pii) if recipe.pii.enabled else None

    @property
    def signal_fields(self) -> tuple[pa.Field, ...]:
        """Per kind, how many spans it replaced in each kept document (``pii.<kind>``)."""
        return tuple(pa.field(f"pii.{d.kind}", pa.int32()) for d in self.detectors())

    def detectors(self) -> list[Detector]:
        if self._detectors is None:
            self._detectors = build_detectors(self.config)
        return self._detectors

    def find(self, batch: pa.Table) -> dict[int, list[Found]]:
        """Validated spans per row index of ``batch``."""
        return find_pii(
            batch.column("text"),
            self.detectors(),
            batch.column("language").to_pylist(),
            batch.column("url").to_pylist(),
        )

    def __call__(self, batch: pa.Table) -> pa.Table:
        """Scrub to a fixed point: a replacement changes its neighbours' context (a number
        next to a placeholder may read as a phone number), so changed rows are scanned again
        until nothing more is found; scrubbing a scrubbed batch then changes nothing."""
        rows = np.arange(batch.num_rows)
        languages = batch.column("language").to_pylist()
        per_row: dict[int, list[Found]] = {}
        seen: set[int] = set()
        texts = batch.column("text").combine_chunks()
        for _ in range(MAX_PASSES):
            if rows.size == 0:
                break
            subset = batch if rows.size == batch.num_rows else batch.take(pa.array(rows))
            found = self.find(replace_column(subset, "text", texts.take(pa.array(rows))))
            if not found:
                break
            changed = rows[sorted(found)]
            scrubbed = self._replace(
                texts.take(pa.array(changed)), [found[i] for i in sorted(found)]
            )
            mask = np.zeros(batch.num_rows, dtype=bool)
            mask[changed] = True
            texts = pc.replace_with_mask(texts, pa.array(mask), pa.array(scrubbed, texts.type))
            spans_by_row = {int(rows[i]): spans for i, spans in found.items()}
            self._count(spans_by_row, languages, seen)
            for row, spans in spans_by_row.items():
                per_row.setdefault(row, []).extend(spans)
            rows = changed
        if SIGNALS_ROW in batch.column_names:
            batch = self._signals(batch, per_row)
        return replace_column(batch, "text", texts) if seen else batch

    def _signals(self, batch: pa.Table, per_row: dict[int, list[Found]]) -> pa.Table:
        for f in self.signal_fields:
            kind = f.name.removeprefix("pii.")
            counts = [
                sum(s.kind == kind for s in per_row.get(i, ())) for i in range(batch.num_rows)
            ]
            batch = replace_column(batch, f.name, pa.array(counts, f.type))
        return batch

    def _replace(self, originals: pa.Array, spans: list[list[Found]]) -> list[str]:
        replacer = Replacer(self.config)
        return [
            replacer.apply(text, found)
            for text, found in zip(originals.to_pylist(), spans, strict=True)
        ]

    def _count(
        self, found: dict[int, list[Found]], languages: list[str | None], seen: set[int]
    ) -> None:
        for row, spans in found.items():
            counts = self._counts.setdefault(languages[row] or UNKNOWN_LANGUAGE, {})
            if row not in seen:
                seen.add(row)
                counts[DOCS_WITH_PII] = counts.get(DOCS_WITH_PII, 0) + 1
            for span in spans:
                counts[span.kind] = counts.get(span.kind, 0) + 1

    def take_counts(self) -> dict[str, dict[str, int]]:
        """What was replaced since the last call, per language and kind; resets the counts."""
        counts, self._counts = self._counts, {}
        return counts
