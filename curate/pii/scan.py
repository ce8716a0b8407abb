"""Finding personal data in a whole text column at once.

For each detector, Arrow's RE2 kernels find the documents that hold a candidate (a DFA pass
over the whole text column) and mark every candidate span in them (``\\x01candidate\\x02``).
The marked documents are joined into one Python string, the marks give the candidates'
offsets, and only candidates reach the (slower) boundary checks and validators. Offsets map
back to documents through the documents' cumulative lengths. Where spans of two kinds
overlap, the detector listed first wins.
"""

from __future__ import annotations

import bisect
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


class _Taken:
    """The spans found so far in one document, disjoint, for overlap queries in O(log n).

    Sorted by (start, end), disjoint spans also have non-decreasing ends, so the only span that
    can overlap ``[start, end)`` is the last one starting before ``end``. Spans of earlier
    detectors sit in ``settled``; the current detector's, found mostly in text order, are
    appended to ``recent`` (cheap at the end) and merged in when the detector is done.
    """

    def __init__(self) -> None:
        self.settled: list[tuple[int, int]] = []
        self.recent: list[tuple[int, int]] = []

    @staticmethod
    def _hits(spans: list[tuple[int, int]], start: int, end: int) -> bool:
        before = bisect.bisect_left(spans, (end,)) - 1
        return before >= 0 and spans[before][1] > start

    def overlaps(self, start: int, end: int) -> bool:
        return self._hits(self.settled, start, end) or self._hits(self.recent, start, end)

    def add(self, start: int, end: int) -> None:
        bisect.insort(self.recent, (start, end))

    def settle(self) -> None:
        if self.recent:
            self.settled = sorted(self.settled + self.recent)  # two sorted runs: a linear merge
        self.recent = []


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
    taken: dict[int, _Taken] = {}
    for detector in detectors:
        for candidate in _candidates(detector, texts, languages, urls):
            spans = taken.get(candidate.doc)
            lo = candidate.lo
            if spans and spans.overlaps(candidate.start - lo, candidate.end - lo):
                continue
            found = detector.accept(candidate)
            if found is None or (spans and spans.overlaps(found.start, found.end)):
                continue
            per_document.setdefault(candidate.doc, []).append(found)
            taken.setdefault(candidate.doc, _Taken()).add(found.start, found.end)
        for spans in taken.values():
            spans.settle()
    for spans in per_document.values():
        spans.sort(key=lambda found: found.start)
    return per_document
