"""The recipe sections that readers and writers take: ``read:`` and ``output:``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from curate.core.config import Section

MAX_DOCUMENT_BYTES = 1 << 30


class ReadConfig(Section):
    text_column: str = "text"
    id_column: str = "id"
    url_column: str = "url"
    date_column: str = "date"
    # a document (one page, one line's text) is held in memory whole, its HTML and text twice
    max_document_bytes: int = Field(10_000_000, gt=0, le=MAX_DOCUMENT_BYTES)
    html_content_types: list[str] = ["text/html", "application/xhtml+xml"]


class OutputConfig(Section):
    shard_max_bytes: int = Field(256 * 1024 * 1024, gt=0)
    row_group_rows: int = Field(10_000, gt=0)
    compression: Literal["zstd", "snappy", "gzip", "none"] = "zstd"
    compression_level: int | None = 3
    keep_dropped_ledger: bool = True
    # Keep each document's filter signals in OUT/signals/<language>/<unit>.parquet, kept or
    # dropped, so `curate refilter` can re-decide without reading the inputs again.
    signals: bool = False
