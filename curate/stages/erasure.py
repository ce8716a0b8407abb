"""The erasure-list stage: documents erased from an output never come back.

Runs first, before any pre-filter or extraction: a document whose URL, domain or id is on one
of the run's erasure lists (the output's own ``OUT/erasure/list.txt``, written by
``curate erase``, and any ``erasure_list:`` of the recipe) is dropped with reason ``erased``.
The lists hold sha256 hashes only (:mod:`curate.erasure.match`), so neither the stage nor the
recipe carries the URLs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from curate.erasure.match import Hashes, load_lists
from curate.schema import set_drop_reason

ERASED = "erased"
STAGE_NAME = "erasure_list"


@dataclass
class ErasureFilter:
    """Drop documents named on an erasure list (right to erasure), before extraction."""

    lists: tuple[str, ...]
    name: str = STAGE_NAME
    output_fields: tuple[pa.Field, ...] = ()
    _hashes: Hashes | None = field(default=None, repr=False)

    def hashes(self) -> Hashes:
        if self._hashes is None:
            self._hashes = load_lists(Path(p) for p in self.lists)
        return self._hashes

    def __call__(self, batch: pa.Table) -> pa.Table:
        listed = self.hashes()
        if batch.num_rows == 0 or not listed:
            return batch
        return set_drop_reason(batch, pa.array(listed.matches(batch)), ERASED)
