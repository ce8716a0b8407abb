"""Finding personal data in a whole text column at once.

For each detector, Arrow's RE2 kernel marks every candidate span in the column in one pass
(``\\x01candidate\\x02``). Only documents holding a mark are joined into one Python string,
the marks give the candidates' offsets, and only candidates reach the (slower) boundary checks
and validators. Offsets map back to documents through the documents' cumulative lengths.
Where spans of two kinds overlap, the detector listed first wins.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate.pii.detectors import BOUNDARY_CHARS, Candidate, Detector, Found

OPEN, CLOSE = "\x01", "\x02"
_MARK_CHARACTERS = "[\x01\x02]"


def _as_array(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    return column


def _without_marks(texts: pa.Array) -> pa.Array:
    """Texts with any mark character of their own blanked, so marks are unambiguous."""
    if not pc.any(pc.match_substring_regex(texts, _MARK_CHARACTERS)).as_py():
        return texts
    return pc.replace_substring_regex(texts, _MARK_CHARACTERS, " ")


def _join(texts: pa.Array) -> str:
    large = texts.cast(pa.large_string())
    lists = pa.LargeListArray.from_arrays(pa.array([0, len(large)], pa.int64()), large)
    return pc.binary_join(lists, pa.scalar("", pa.large_string()))[0].as_py()


def _marked_spans(marked: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each marked candidate, in offsets of the text without marks."""
    pieces = marked.split(OPEN)
    position = len(pieces[0])
    for piece in pieces[1:]:
        length = piece.index(CLOSE)
        yield position, position + length
        position += len(piece) - 1


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
    marked = pc.replace_substring_regex(subset, detector.pattern, OPEN + r"\0" + CLOSE)
    text = _join(subset)
    spans = np.fromiter(
        (bound for span in _marked_spans(_join(marked)) for bound in span), np.int64
    ).reshape(-1, 2)
    lengths = pc.utf8_length(subset).to_numpy(zero_copy_only=False).astype(np.int64)
    ends = np.cumsum(lengths)
    owners = np.searchsorted(ends, spans[:, 0], side="right").tolist()
    ends_list, rows_list = ends.tolist(), rows.tolist()
    not_before, not_after = detector.not_before, detector.not_after
    for (start, end), owner in zip(spans.tolist(), owners, strict=True):
        hi = ends_list[owner]
        lo = hi - int(lengths[owner])
        if not_before.search(text, max(lo, start - BOUNDARY_CHARS), start):
            continue
        if not_after.match(text, end, hi):
            continue
        doc = rows_list[owner]
        yield Candidate(text, start, end, doc, lo, hi, languages[doc], urls[doc])


def _overlaps(found: Found, spans: list[Found]) -> bool:
    return any(found.start < other.end and other.start < found.end for other in spans)


def find_pii(
    texts: pa.Array | pa.ChunkedArray,
    detectors: Sequence[Detector],
    languages: Sequence[str | None] | None = None,
    urls: Sequence[str | None] | None = None,
) -> dict[int, list[Found]]:
    """Validated spans per document index (documents without any are absent), sorted by start."""
    texts = _without_marks(pc.fill_null(_as_array(texts), ""))
    languages = languages if languages is not None else [None] * len(texts)
    urls = urls if urls is not None else [None] * len(texts)
    per_document: dict[int, list[Found]] = {}
    for detector in detectors:
        for candidate in _candidates(detector, texts, languages, urls):
            found = detector.accept(candidate)
            if found is None:
                continue
            spans = per_document.setdefault(candidate.doc, [])
            if not _overlaps(found, spans):
                spans.append(found)
    for spans in per_document.values():
        spans.sort(key=lambda found: found.start)
    return per_document
