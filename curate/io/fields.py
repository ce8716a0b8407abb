"""Mapping an input record's fields onto the document schema."""

from __future__ import annotations

from typing import Any

from curate.io.config import ReadConfig
from curate.schema import metadata_json


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def document_row(
    record: dict[str, Any], fallback_id: str, source: str, config: ReadConfig
) -> dict[str, Any]:
    """A row from a JSON-like record: known fields mapped, the rest kept in ``metadata``."""
    known = {config.text_column, config.id_column, config.url_column, config.date_column}
    extra = {k: v for k, v in record.items() if k not in known and k != "metadata"}
    nested = record.get("metadata")
    if isinstance(nested, dict):
        extra = {**nested, **extra}
    elif nested is not None:
        extra["metadata"] = nested
    row: dict[str, Any] = {
        "id": _as_text(record.get(config.id_column)) or fallback_id,
        "url": _as_text(record.get(config.url_column)),
        "date": _as_text(record.get(config.date_column)),
        "source": source,
        "metadata": metadata_json(extra),
    }
    text = record.get(config.text_column)
    if not isinstance(text, str) or not text.strip():
        row["drop_reason"] = "missing_text"
    elif len(text.encode("utf-8", errors="replace")) > config.max_document_bytes:
        row["drop_reason"] = "too_large"
    else:
        row["text"] = text.replace("\x00", "")
    return row
