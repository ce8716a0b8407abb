"""The recipe sections that readers and writers take: ``read:`` and ``output:``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from curate.core.config import Section


class ReadConfig(Section):
    text_column: str = "text"
    id_column: str = "id"
    url_column: str = "url"
    date_column: str = "date"
    max_document_bytes: int = Field(10_000_000, gt=0)
    html_content_types: list[str] = ["text/html", "application/xhtml+xml"]


class OutputConfig(Section):
    shard_max_bytes: int = Field(256 * 1024 * 1024, gt=0)
    row_group_rows: int = Field(10_000, gt=0)
    compression: Literal["zstd", "snappy", "gzip", "none"] = "zstd"
    compression_level: int | None = 3
    keep_dropped_ledger: bool = True
