"""Finding personal data in a whole text column at once.

For each detector, Arrow's RE2 kernel screens the column for documents that can hold a
candidate; those documents are joined into one string and the detector's compiled pattern runs
over it in a single pass. Match offsets map back to documents through the cumulative lengths,
and only the candidates reach the (slower) validators. Where spans of two kinds overlap, the
detector listed first wins.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate.pii.detectors import Candidate, Detector, Found

# Joins the screened documents; no candidate pattern matches it, so no span crosses documents.
DOCUMENT_SEPARATOR = "\x00"


def _as_array(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    return column


def screen(texts: pa.Array, pattern: str) -> np.ndarray:
    """Indices of the documents in which RE2 ``pattern`` matches."""
    mask = pc.fill_null(pc.match_substring_regex(texts, pattern), False)
    return np.flatnonzero(mask.to_numpy(zero_copy_only=False))


def join_documents(texts: pa.Array, rows: np.ndarray) -> tuple[str, np.ndarray]:
    """The texts at ``rows`` joined into one string, and where each starts in it."""
    subset = texts.take(pa.array(rows, pa.int64())).cast(pa.large_string())
    lists = pa.LargeListArray.from_arrays(pa.array([0, len(subset)], pa.int64()), subset)
    separator = pa.scalar(DOCUMENT_SEPARATOR, pa.large_string())
    joined = pc.binary_join(lists, separator)[0].as_py()
    lengths = pc.utf8_length(subset).to_numpy(zero_copy_only=False).astype(np.int64)
    starts = np.zeros(len(rows), dtype=np.int64)
    np.cumsum(lengths[:-1] + len(DOCUMENT_SEPARATOR), out=starts[1:])
    return joined, starts


def _candidates(
    detector: Detector,
    texts: pa.Array,
    languages: Sequence[str | None],
    urls: Sequence[str | None],
) -> list[Found | tuple[int, Found]]:
    rows = screen(texts, detector.screen)
    if len(rows) == 0:
        return []
    joined, starts = join_documents(texts, rows)
    ends = np.append(starts[1:] - len(DOCUMENT_SEPARATOR), len(joined))
    accepted: list[tuple[int, Found]] = []
    for match in detector.pattern.finditer(joined):
        position = int(np.searchsorted(starts, match.start(), side="right")) - 1
        doc = int(rows[position])
        candidate = Candidate(
            joined,
            match,
            doc,
            int(starts[position]),
            int(ends[position]),
            languages[doc],
            urls[doc],
        )
        found = detector.accept(candidate)
        if found is not None:
            accepted.append((doc, found))
    return accepted


def find_pii(
    texts: pa.Array | pa.ChunkedArray,
    detectors: Sequence[Detector],
    languages: Sequence[str | None] | None = None,
    urls: Sequence[str | None] | None = None,
) -> dict[int, list[Found]]:
    """Validated spans per document index (documents without any are absent), sorted by start."""
    texts = _as_array(texts)
    languages = languages if languages is not None else [None] * len(texts)
    urls = urls if urls is not None else [None] * len(texts)
    per_document: dict[int, list[Found]] = {}
    for detector in detectors:
        for doc, found in _candidates(detector, texts, languages, urls):
            spans = per_document.setdefault(doc, [])
            if not any(found.start < other.end and other.start < found.end for other in spans):
                spans.append(found)
    for spans in per_document.values():
        spans.sort(key=lambda found: found.start)
    return per_document
