"""Grouping rows into bounded batches."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pyarrow as pa

from curate.schema import make_batch

MAX_BATCH_BYTES = 64 * 1024 * 1024


def batched_rows(
    rows: Iterable[Mapping[str, Any]], batch_size: int, with_html: bool = False
) -> Iterator[pa.Table]:
    """Yield batches of at most ``batch_size`` rows and about ``MAX_BATCH_BYTES`` of content."""
    pending: list[Mapping[str, Any]] = []
    pending_bytes = 0
    for row in rows:
        pending.append(row)
        pending_bytes += len(row.get("html") or "") + len(row.get("text") or "")
        if len(pending) >= batch_size or pending_bytes >= MAX_BATCH_BYTES:
            yield make_batch(pending, with_html)
            pending, pending_bytes = [], 0
    if pending:
        yield make_batch(pending, with_html)
