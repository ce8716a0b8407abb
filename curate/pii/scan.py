"""Finding personal data in a whole text column at once.

For each detector, Arrow's RE2 kernels find the documents that hold a candidate (a DFA pass
over the whole text column) and mark every candidate span in them (``\\x01candidate\\x02``).
The marked documents are joined into one Python string, the marks give the candidates'
offsets, and only candidates reach the (slower) boundary checks and validators. Offsets map
back to documents through the documents' cumulative lengths. Where spans of two kinds
overlap, the detector listed first wins.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate.pii.detectors import BOUNDARY_CHARS, Candidate, Detector, Found

OPEN, CLOSE = "\x01", "\x02"


def _as_array(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    return column


def _without_marks(texts: pa.Array) -> pa.Array:
    """Texts with any mark character of their own blanked (same length), so marks are
    unambiguous."""
    for mark in (OPEN, CLOSE):
        if pc.any(pc.match_substring(texts, mark)).as_py():
            texts = pc.replace_substring(texts, mark, " ")
    return texts


def _join(texts: pa.Array) -> str:
    large = texts.cast(pa.large_string())
    lists = pa.LargeListArray.from_arrays(pa.array([0, len(large)], pa.int64()), large)
    return pc.binary_join(lists, pa.scalar("", pa.large_string()))[0].as_py()


def _candidates(
    detector: Detector,
    texts: pa.Array,
    languages: Sequence[str | None],
    urls: Sequence[str | None],
) -> Iterator[Candidate]:
    rows = np.flatnonzero(pc.match_substring_regex(texts, detector.pattern).to_numpy(False))
    if len(rows) == 0:
        return
    subset = texts.take(pa.array(rows, pa.int64()))
    marked = _join(pc.replace_substring_regex(subset, detector.pattern, OPEN + r"\0" + CLOSE))
    text = marked.replace(OPEN, "").replace(CLOSE, "")
    ends = list(itertools.accumulate(pc.utf8_length(subset).to_pylist()))
    rows_list = rows.tolist()
    not_before, not_after = detector.not_before, detector.not_after
    pieces = marked.split(OPEN)
    position, owner, lo = len(pieces[0]), 0, 0
    for piece in pieces[1:]:
        start = position
        end = start + piece.index(CLOSE)
        position += len(piece) - 1
        while ends[owner] <= start:
            lo = ends[owner]
            owner += 1
        hi = ends[owner]
        reach = start - BOUNDARY_CHARS
        if not_before.search(text, reach if reach > lo else lo, start):
            continue
        if not_after.match(text, end, hi):
            continue
        doc = rows_list[owner]
        yield Candidate(text, start, end, doc, lo, hi, languages[doc], urls[doc])


def _overlaps(start: int, end: int, spans: list[Found]) -> bool:
    overlapping = [other for other in spans if start < other.end and other.start < end]
    return bool(overlapping)


def find_pii(
    texts: pa.Array | pa.ChunkedArray,
    detectors: Sequence[Detector],
    languages: Sequence[str | None] | None = None,
    urls: Sequence[str | None] | None = None,
) -> dict[int, list[Found]]:
    """Validated spans per document index (documents without any are absent), sorted by start.

    A candidate overlapping a span found by an earlier detector is not validated at all.
    """
    texts = _without_marks(pc.fill_null(_as_array(texts), ""))
    languages = languages if languages is not None else [None] * len(texts)
    urls = urls if urls is not None else [None] * len(texts)
    per_document: dict[int, list[Found]] = {}
    for detector in detectors:
        for candidate in _candidates(detector, texts, languages, urls):
            spans = per_document.get(candidate.doc)
            lo = candidate.lo
            if spans and _overlaps(candidate.start - lo, candidate.end - lo, spans):
                continue
            found = detector.accept(candidate)
            if found is None or (spans and _overlaps(found.start, found.end, spans)):
                continue
            per_document.setdefault(candidate.doc, []).append(found)
    for spans in per_document.values():
        spans.sort(key=lambda found: found.start)
    return per_document
