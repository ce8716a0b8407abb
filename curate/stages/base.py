"""The contract every stage follows."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import pyarrow as pa


@runtime_checkable
class Stage(Protocol):
    """A pipeline step over a batch of kept documents.

    ``name`` labels the stage in stats and logs. ``output_fields`` lists the columns the stage
    adds to the final output beyond :data:`curate.schema.DOCUMENT_SCHEMA`.
    """

    name: str
    output_fields: tuple[pa.Field, ...]

    def __call__(self, batch: pa.Table) -> pa.Table: ...


@runtime_checkable
class CountingStage(Protocol):
    """A stage that also counts things per language (e.g. PII replaced); the engine calls
    ``take_counts`` after each batch and adds the counts to the run's stats."""

    def take_counts(self) -> dict[str, dict[str, int]]:
        """Counts since the last call as ``{language: {counter: n}}``; resets them."""
        ...
