"""PII scrubbing: e-mail and IP addresses, phone numbers, IBANs and payment card numbers.

Rewrites ``text`` in place and drops nothing. Counts of what it replaced, per kind and
language, reach ``stats.json`` under ``counters.pii`` through :meth:`PiiScrub.take_counts`;
the personal data itself is never logged or counted by value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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
from curate.schema import replace_column
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


@dataclass
class PiiScrub:
    """Replaces the personal data the recipe's ``pii`` section names; keeps every row."""

    config: PiiConfig
    name: str = "pii"
    output_fields: tuple[pa.Field, ...] = ()
    _detectors: list[Detector] | None = field(default=None, init=False, repr=False)
    _counts: dict[str, dict[str, int]] = field(default_factory=dict, init=False, repr=False)

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
        if batch.num_rows == 0:
            return batch
        found = self.find(batch)
        if not found:
            return batch
        rows = sorted(found)
        texts = batch.column("text").combine_chunks()
        replacer = Replacer(self.config)
        originals = texts.take(pa.array(rows, pa.int64())).to_pylist()
        scrubbed = [
            replacer.apply(text, found[row]) for row, text in zip(rows, originals, strict=True)
        ]
        mask = np.zeros(batch.num_rows, dtype=bool)
        mask[rows] = True
        texts = pc.replace_with_mask(texts, pa.array(mask), pa.array(scrubbed, texts.type))
        self._count(found, batch.column("language").to_pylist())
        return replace_column(batch, "text", texts)

    def _count(self, found: dict[int, list[Found]], languages: list[str | None]) -> None:
        for row, spans in found.items():
            counts = self._counts.setdefault(languages[row] or UNKNOWN_LANGUAGE, {})
            counts[DOCS_WITH_PII] = counts.get(DOCS_WITH_PII, 0) + 1
            for span in spans:
                counts[span.kind] = counts.get(span.kind, 0) + 1

    def take_counts(self) -> dict[str, dict[str, int]]:
        """What was replaced since the last call, per language and kind; resets the counts."""
        counts, self._counts = self._counts, {}
        return counts
