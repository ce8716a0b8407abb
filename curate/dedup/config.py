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

    ``partitions`` (a power of two; default one per about half a million documents) splits the
    clustering into tasks that each hold one partition. ``index`` names a directory of earlier
    runs' kept documents: this run drops documents that duplicate one of them, then appends its
    own kept documents under ``index_run`` (default: a name derived from this run).
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
    partitions: int | None = Field(None, ge=1, le=1 << 16)
    index: str | None = None
    index_run: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")

    @field_validator("partitions")
    @classmethod
    def _power_of_two(cls, value: int | None) -> int | None:
        if value is not None and value & (value - 1):
            raise ValueError("partitions must be a power of two")
        return value

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
