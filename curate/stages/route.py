"""Per-language downstream stages in a one-pass, many-language run."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate.core.stage import Stage


@dataclass
class PerLanguage(Stage):
    """Runs each language's own variant of one stage on that language's rows only.

    Rows of other languages pass untouched; row order is kept. Each variant sees exactly the
    rows a one-language run of its recipe would give it, so outputs match that run. Its models,
    set-up and counters are its variants' (see :class:`curate.core.stage.Stage`).
    """

    name: str
    stages: dict[str, Stage]
    output_fields: tuple[pa.Field, ...] = field(init=False)

    def __post_init__(self) -> None:
        fields = {f.name: f for s in self.stages.values() for f in s.output_fields}
        self.output_fields = tuple(fields[name] for name in sorted(fields))

    def children(self) -> tuple[Stage, ...]:
        return tuple(self.stages[language] for language in sorted(self.stages))

    def __call__(self, batch: pa.Table) -> pa.Table:
        languages = batch.column("language")
        parts: list[pa.Table] = []
        positions: list[np.ndarray] = []
        routed = np.zeros(batch.num_rows, bool)
        for language in sorted(self.stages):
            rows = np.flatnonzero(pc.equal(languages, language).to_numpy(zero_copy_only=False))
            if len(rows):
                parts.append(self.stages[language](batch.take(rows)))
                positions.append(rows)
                routed[rows] = True
        if not parts:
            return batch
        rest = np.flatnonzero(~routed)
        parts.append(batch.take(rest))
        positions.append(rest)
        merged = pa.concat_tables(parts, promote_options="default")
        return merged.take(np.argsort(np.concatenate(positions), kind="stable"))


def per_language_stages(by_language: dict[str, list[Stage]]) -> list[Stage]:
    """Zip each language's downstream stage list by stage name into PerLanguage stages."""
    names: list[str] = []
    for stages in by_language.values():
        names += [s.name for s in stages if s.name not in names]
    return [
        PerLanguage(
            name,
            {code: s for code, stages in by_language.items() for s in stages if s.name == name},
        )
        for name in names
    ]
