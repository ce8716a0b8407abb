"""The signals table: every document that reached language ID, kept or dropped, with the
values each stage measured on it (``output.signals: true``).

Layout: ``OUT/signals/<language>/<unit>.parquet`` (rows in input order: ``batch``, then
``row`` within it), and ``OUT/signals/<unit>.json``, which records for each input batch how
many ledger rows came from the stages before language ID, so ``curate refilter`` can rebuild
the ledger in a full run's order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from curate.io.atomic import write_json
from curate.io.config import OutputConfig
from curate.io.writer import ParquetSink
from curate.schema import SIGNALS_ROW, SIGNALS_TEXT
from curate.stats import UNKNOWN_LANGUAGE

SIGNALS_DIR = "signals"


def signals_paths(out: Path, unit: str) -> list[Path]:
    """A unit's signals files, one per language, in language order."""
    return sorted((out / SIGNALS_DIR).glob(f"*/{unit}.parquet"))


def unit_record_path(out: Path, unit: str) -> Path:
    return out / SIGNALS_DIR / f"{unit}.json"


def signal_rows(table: pa.Table, batch: int, schema: pa.Schema) -> pa.Table:
    """The signals-table view of a batch's documents (their text as it reached langid)."""
    columns = {}
    for f in schema:
        if f.name == "text":
            columns[f.name] = table.column(SIGNALS_TEXT)
        elif f.name == "row":
            columns[f.name] = table.column(SIGNALS_ROW)
        elif f.name == "batch":
            columns[f.name] = pa.array([batch] * table.num_rows, pa.int32())
        elif f.name in table.column_names:
            columns[f.name] = table.column(f.name)
        else:  # a stage after this document's drop (e.g. PII counts of a dropped document)
            columns[f.name] = pa.nulls(table.num_rows, f.type)
    return pa.table(columns).cast(schema)


@dataclass
class SignalsWriter:
    """Writes one unit's signals tables, a batch at a time in batch order."""

    out: Path
    unit: str
    schema: pa.Schema
    config: OutputConfig
    _sinks: dict[str, ParquetSink] = field(default_factory=dict)
    _early_ledger_rows: list[int] = field(default_factory=list)

    def write(self, batch: int, tables: list[pa.Table], early_ledger_rows: int) -> None:
        self._early_ledger_rows.append(early_ledger_rows)
        parts = [signal_rows(t, batch, self.schema) for t in tables if t.num_rows]
        if not parts:
            return
        rows = pa.concat_tables(parts)
        rows = rows.take(pc.sort_indices(rows, [("row", "ascending")]))
        languages = pc.fill_null(rows.column("language"), UNKNOWN_LANGUAGE)
        for language in sorted(set(languages.to_pylist())):
            if language not in self._sinks:
                path = self.out / SIGNALS_DIR / language / f"{self.unit}.parquet"
                self._sinks[language] = ParquetSink(path, self.schema, self.config)
            self._sinks[language].write(rows.filter(pc.equal(languages, language)))

    def close(self) -> None:
        for language in sorted(self._sinks):
            self._sinks[language].close()
        record = {"early_ledger_rows": self._early_ledger_rows}
        write_json(unit_record_path(self.out, self.unit), record)
