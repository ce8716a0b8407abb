"""The ``dedup:`` recipe section (kept apart from curate.recipe, which imports it)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from curate.core.config import Section


class DedupConfig(Section):
    """Exact and MinHash near-duplicate removal over the whole output.

    Both work on normalised text (NFC, lowercase, numbers to ``0``, punctuation and spaces
    folded): ``exact`` drops documents with the same normalised words (``exact_dup``), ``near``
    those whose word ``ngram_size``-grams MinHash-LSH (``bands`` x ``rows_per_band``) puts in
    one cluster (``near_dup``).

    ``scope``: ``language`` deduplicates each language on its own; ``all`` deduplicates across
    every language; a list of languages deduplicates those together (each other language on its
    own). ``keep`` picks the one document kept per cluster: ``first`` in corpus order (language,
    shard, row) or ``longest`` text (ties to the first).
    """

    enabled: bool = True
    exact: bool = True
    near: bool = True
    ngram_size: int = Field(5, ge=1, le=32)
    bands: int = Field(14, ge=1, le=512)
    rows_per_band: int = Field(8, ge=1, le=64)
    seed: int = Field(1, ge=0)
    scope: Literal["language", "all"] | list[str] = "language"
    keep: Literal["first", "longest"] = "first"
    batch_size: int = Field(2048, gt=0)

    @field_validator("scope")
    @classmethod
    def _scope_languages(cls, value: object) -> object:
        if isinstance(value, list) and len(value) < 2:
            raise ValueError("a list scope names at least two languages deduplicated together")
        return value

    @model_validator(mode="after")
    def _permutations(self) -> DedupConfig:
        if self.num_permutations > 4096:
            raise ValueError("bands x rows_per_band must be <= 4096 permutations")
        return self

    @property
    def num_permutations(self) -> int:
        return self.bands * self.rows_per_band

    def group_of(self, language: str) -> str:
        """The dedup group a language belongs to: documents are compared only within a group."""
        if self.scope == "all":
            return "all"
        if isinstance(self.scope, list) and language in self.scope:
            return "+".join(sorted(self.scope))
        return language
