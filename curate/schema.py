"""The document batch: an Arrow table, one row per document.

Columns every batch carries (``DOCUMENT_SCHEMA``):

- ``id``: stable identifier; the WARC-Record-ID for WARC input, the input's own ``id`` field for
  JSONL / Parquet when present, else ``<file name>/<row number>``.
- ``text``: the document text (extracted text once the extract stage has run).
- ``url``, ``date`` (ISO 8601 string as found in the input), ``source`` (input file name).
- ``language`` (ISO 639-3 + script, e.g. ``fra_Latn``) and ``language_score``, set by langid.
- ``metadata``: a JSON object (as a string) with stage annotations and input metadata fields.

While a batch flows through the pipeline it also carries the working columns ``html`` (raw page,
read from WARC/ARC, consumed by extraction; null with ``text`` set where the reader found the
text extracted already: WET conversion records) and ``drop_reason`` (null while a document is
kept; a short snake_case reason once a stage rejects it), with ``drop_detail`` (the measured
value and the threshold it failed) where the stage gives one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

DOCUMENT_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("text", pa.string()),
        pa.field("url", pa.string()),
        pa.field("date", pa.string()),
        pa.field("source", pa.string()),
        pa.field("language", pa.string()),
        pa.field("language_score", pa.float32()),
        pa.field("metadata", pa.string()),
    ]
)
# The signals table (``output.signals``): each document as it reached language ID, where it
# sat in the run (input batch, row), then the signal columns the stages declare.
SIGNALS_SCHEMA = DOCUMENT_SCHEMA.append(pa.field("batch", pa.int32())).append(
    pa.field("row", pa.int32())
)
HTML = "html"
DROP_REASON = "drop_reason"
# What a drop measured against which threshold (e.g. ``alpha_words_ratio=0.770 < 0.774``).
DROP_DETAIL = "drop_detail"
# A run keeping signals (``output.signals``): each document's text as it reached the filters
# and its row in its input batch, carried until the signals table is written.
SIGNALS_TEXT = "_signals_text"
SIGNALS_ROW = "_signals_row"
WORKING_COLUMNS = (HTML, DROP_REASON, DROP_DETAIL, SIGNALS_TEXT, SIGNALS_ROW)


def make_batch(rows: Iterable[Mapping[str, Any]], with_html: bool = False) -> pa.Table:
    """Build a batch from row dicts; missing columns become nulls."""
    rows = list(rows)
    columns: dict[str, pa.Array] = {}
    for field in DOCUMENT_SCHEMA:
        columns[field.name] = pa.array([r.get(field.name) for r in rows], type=field.type)
    if with_html:
        columns[HTML] = pa.array([r.get(HTML) for r in rows], type=pa.string())
    columns[DROP_REASON] = pa.array([r.get(DROP_REASON) for r in rows], type=pa.string())
    return pa.table(columns)


def metadata_json(values: Mapping[str, Any]) -> str | None:
    """Serialise metadata deterministically (sorted keys) so output bytes are reproducible."""
    if not values:
        return None
    return json.dumps(values, sort_keys=True, ensure_ascii=False, default=str)


def set_drop_reason(
    batch: pa.Table,
    rejected: pa.Array,
    reason: str | pa.Array,
    detail: str | pa.Array | None = None,
) -> pa.Table:
    """Mark rows where ``rejected`` is true with ``reason`` (and ``detail``) unless already
    dropped."""
    current = batch.column(DROP_REASON)
    newly = pc.and_(pc.fill_null(rejected, False), pc.is_null(current))
    if isinstance(reason, str):
        reason = pa.scalar(reason, pa.string())
    new = pc.if_else(newly, reason, current)
    batch = batch.set_column(batch.schema.get_field_index(DROP_REASON), DROP_REASON, new)
    if detail is None:
        return batch
    if isinstance(detail, str):
        detail = pa.scalar(detail, pa.string())
    known = (
        batch.column(DROP_DETAIL)
        if DROP_DETAIL in batch.column_names
        else pa.nulls(batch.num_rows, pa.string())
    )
    return replace_column(batch, DROP_DETAIL, pc.if_else(newly, detail, known))


def split_kept(batch: pa.Table) -> tuple[pa.Table, pa.Table]:
    """Split a batch into (kept rows, dropped rows)."""
    dropped_mask = pc.is_valid(batch.column(DROP_REASON))
    return batch.filter(pc.invert(dropped_mask)), batch.filter(dropped_mask)


def replace_column(batch: pa.Table, name: str, values: pa.Array | list) -> pa.Table:
    """Set ``name`` to ``values``, adding the column if the batch lacks it."""
    index = batch.schema.get_field_index(name)
    if index < 0:
        return batch.append_column(
            name, values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values)
        )
    return batch.set_column(index, name, values)
