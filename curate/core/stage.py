"""What a stage declares, so that engines read declarations instead of guessing.

A stage is a small ``batch -> batch`` callable configured from its recipe section. Besides
``__call__`` it declares what an engine needs to place and run it:

- :meth:`Stage.models`: the model files it holds (an engine gives such stages a long-lived
  worker, e.g. a Ray actor, so a model loads once per process);
- :meth:`Stage.setup` / :meth:`Stage.teardown`: load and release them, once per process;
- ``output_fields``: the columns it adds to the output beyond the document schema;
- ``signal_fields``: the per-document signals it keeps for the signals table;
- :meth:`Stage.children`: the stages it wraps (e.g. one variant per language), whose
  declarations it reports as its own;
- :meth:`Stage.take_counts`: its own counters (e.g. PII replaced), added to the run's stats.

A corpus pass (:class:`CorpusPass`) works once over the whole output after every unit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

import pyarrow as pa

from curate.stats import RunStats

Counts = dict[str, dict[str, int]]
T = TypeVar("T")
R = TypeVar("R")
ParallelMap = Callable[[Callable[[T], R], list[T]], Iterable[R]]


@dataclass(frozen=True)
class ModelFile:
    """A model a stage loads: its registered name, its file, and the checksum it must have."""

    name: str
    path: Path
    sha256: str | None = None


class Stage:
    """Base of every batch stage; subclasses are dataclasses holding their config.

    Building a stage must stay cheap (an engine builds them in its driver to read their
    declarations); loading a model belongs in :meth:`setup`, which a stage also calls itself
    on first use, so a stage used directly (in a test, a tool) needs no engine.
    """

    name: str
    output_fields: ClassVar[tuple[pa.Field, ...]] = ()

    def __call__(self, batch: pa.Table) -> pa.Table:
        raise NotImplementedError

    @property
    def signal_fields(self) -> tuple[pa.Field, ...]:
        """The signals it keeps per document for the signals table (``output.signals``)."""
        found = {f.name: f for child in self.children() for f in child.signal_fields}
        return tuple(found.values())

    def children(self) -> tuple[Stage, ...]:
        return ()

    def models(self) -> tuple[ModelFile, ...]:
        found = {m.path: m for child in self.children() for m in child.models()}
        return tuple(found.values())

    def setup(self) -> None:
        for child in self.children():
            child.setup()

    def teardown(self) -> None:
        for child in self.children():
            child.teardown()

    def take_counts(self) -> Counts:
        """Counts since the last call as ``{language: {counter: n}}``; resets them."""
        merged: Counts = {}
        for child in self.children():
            merge_counts(merged, child.take_counts())
        return merged


def holds_model(stage: Stage) -> bool:
    return bool(stage.models())


class CorpusPass(Protocol):
    """Work over the whole output once every unit is done (e.g. dedup across shards).

    A pass rewrites shards atomically, records its drops in ``stats``, and must be safe to
    re-run after a crash.
    """

    name: str

    def run(self, out: Path, stats: RunStats) -> None: ...


def merge_counts(into: Counts, counts: Counts) -> None:
    for language, named in counts.items():
        entry = into.setdefault(language, {})
        for counter, n in named.items():
            entry[counter] = entry.get(counter, 0) + n


def describe(cls: type[Any]) -> str:
    """The first line of a class's docstring: its one-line description for cards and docs."""
    return (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
