"""Audit copies of dropped documents: ``OUT/rejected/<language>/<unit>.parquet``.

Written when the recipe sets ``filters.write_rejected``: each dropped document with its text as
the dropping stage saw it, the stage, and the reason, so a filter's rejections can be read.
Documents without a language yet (dropped before language ID) go under ``und``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from curate.io.config import OutputConfig
from curate.io.writer import ParquetSink
from curate.schema import DOCUMENT_SCHEMA, DROP_REASON
from curate.stats import UNKNOWN_LANGUAGE

REJECTED_DIR = "rejected"
REJECTED_SCHEMA = DOCUMENT_SCHEMA.append(pa.field("stage", pa.string())).append(
    pa.field("reason", pa.string())
)


def rejected_paths(out: Path, unit: str) -> list[Path]:
    return sorted((out / REJECTED_DIR).glob(f"*/{unit}.parquet"))


@dataclass
class RejectedWriter:
    out: Path
    unit: str
    config: OutputConfig
    _sinks: dict[str, ParquetSink] = field(default_factory=dict)

    def write(self, dropped: pa.Table, stage: str) -> None:
        if dropped.num_rows == 0:
            return
        languages = pc.fill_null(dropped.column("language"), UNKNOWN_LANGUAGE)
        rows = dropped.append_column("stage", pa.array([stage] * dropped.num_rows, pa.string()))
        rows = rows.append_column("reason", rows.column(DROP_REASON))
        for language in sorted(set(languages.to_pylist())):
            if language not in self._sinks:
                path = self.out / REJECTED_DIR / language / f"{self.unit}.parquet"
                self._sinks[language] = ParquetSink(path, REJECTED_SCHEMA, self.config)
            self._sinks[language].write(rows.filter(pc.equal(languages, language)))

    def close(self) -> None:
        for language in sorted(self._sinks):
            self._sinks[language].close()
        self._sinks.clear()
