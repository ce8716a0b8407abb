"""Framing WARC and ARC records, robust to damage: one bad record costs only itself.

A record is trusted when its header parses and its declared length ends at a record boundary:
the trailer (CRLF CRLF for WARC, a newline for ARC; a few CR/LF either way), then the end of
the file, the next record's start line or the next gzip member. Otherwise the record is
reported damaged (``corrupt_record``) and reading resumes at the next record start after
its own: a line ``WARC/1.x`` (ARC: a record header line) at a line start or gzip member
start, or, since damage may have taken the previous trailer, mid-line if a whole plausible
WARC header follows. Bytes between records that start no record are one ``corrupt_record``;
a record the file ends inside is a ``truncated_record``. Only a file in which no record
starts at all is unreadable (:class:`UnreadableArchive`).

Blocks are kept up to ``keep`` bytes; the rest of a longer block is skipped unread into
memory, watching for a record start inside it (a length too long by far).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from curate.io.archive_stream import ArchiveStream

CORRUPT = "corrupt_record"
TRUNCATED = "truncated_record"
MAX_HEADER_BYTES = 256 * 1024
MAX_TRAILER_BYTES = 4
_WARC_START = re.compile(rb"WARC/\d{1,3}\.\d{1,3}\r?\n")
# ARC v1: URL IP date content-type length; v2 adds result code, checksum, location, offset and
# file name before the length.
_ARC_START = re.compile(rb"(\S+) (\S+) (\d{14}) (\S*)((?: \S+){5})? (\d+)\r?\n")
ARC_MARKER = b"filedesc://"
WARC_MARKER = b"WARC/"


class UnreadableArchive(ValueError):
    """No WARC or ARC record starts anywhere in the file."""


@dataclass(frozen=True)
class ArchiveRecord:
    offset: int
    headers: dict[str, str] = field(default_factory=dict)  # lower-case WARC names
    block: bytes = b""  # at most ``keep`` bytes of the block
    length: int = 0  # the declared block length
    damage: str | None = None  # CORRUPT or TRUNCATED
    detail: str = ""  # what the damage is, for the log

    @property
    def type(self) -> str:
        return self.headers.get("warc-type", "").lower()


class Damaged(ValueError):
    """A record header that cannot be trusted; ``headers``: what of it could be read."""

    def __init__(self, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.headers = headers or {}


def _arc_date(stamp: str) -> str:
    return f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[8:10]}:{stamp[10:12]}:{stamp[12:14]}Z"


def _arc_headers(line: bytes) -> tuple[dict[str, str], int]:
    match = _ARC_START.fullmatch(line)
    if match is None:
        raise Damaged("ARC header line unreadable")
    url, _, stamp, content_type, _, length = (
        group.decode("latin-1") if group else "" for group in match.groups()
    )
    record_type = (
        "warcinfo"
        if url.startswith("filedesc:")
        else "response"
        if url.startswith(("http:", "https:"))
        else "resource"
    )
    headers = {
        "warc-type": record_type,
        "warc-target-uri": url,
        "warc-date": _arc_date(stamp),
        "content-type": content_type,
    }
    return headers, int(length)


def _warc_headers(head: bytes) -> tuple[dict[str, str], int]:
    headers: dict[str, str] = {}
    # split on LF only: splitlines() would also break a URI at U+0085 or U+2028
    for line in head.decode("utf-8", errors="replace").split("\n")[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers.setdefault(name.strip().lower(), value.strip())
    length = headers.get("content-length", "")
    if not length.isascii() or not length.isdigit():
        raise Damaged(f"Content-Length {length[:40]!r} is not a length", headers)
    return headers, int(length)


class Framer:
    """Records of one WARC or ARC stream, damaged ones included (with ``damage`` set)."""

    def __init__(self, stream: ArchiveStream, keep: int) -> None:
        self.stream = stream
        self.keep = keep
        self.arc: bool | None = None  # unknown until the first record start

    def records(self) -> Iterator[ArchiveRecord]:
        offset = self._skip_blank(0)
        if self.stream.at_eof(offset):
            return
        if not self._is_start(offset):
            start = self._next_start(offset + 1, discard=True)
            if start < 0:
                raise UnreadableArchive("no WARC or ARC record in it")
            yield ArchiveRecord(offset, damage=CORRUPT, detail="bytes before the first record")
            offset = start
        while offset >= 0:
            record, offset = self._read(offset)
            yield record
            if offset >= 0:
                self.stream.release(offset - 1)  # the byte before tells if a line starts
                offset = self._after_record(offset)

    def _after_record(self, offset: int) -> int:
        """Where the next record starts: ``offset`` past blank bytes, -1 at the end of the
        file; bytes that start no record are reported (by the caller's next call) as such."""
        offset = self._skip_blank(offset)
        return -1 if self.stream.at_eof(offset) else offset

    def _skip_blank(self, offset: int) -> int:
        stream = self.stream
        while stream.startswith(b"\n", offset) or stream.startswith(b"\r", offset):
            offset += 1
        return offset

    def _is_start(self, offset: int, resync: bool = False) -> bool:
        """Whether a record starts at ``offset``: a start line at a line or member start. When
        resyncing after damage, a WARC record may also start mid-line (the damage took the
        previous trailer) if a whole plausible header follows."""
        stream = self.stream
        line_start = (
            offset == 0 or stream.is_segment_start(offset) or stream.startswith(b"\n", offset - 1)
        )
        if not (line_start or resync and self.arc is False):
            return False
        if self.arc is not True and stream.startswith(WARC_MARKER, offset):
            line_end = stream.find(b"\n", offset, offset + 16)
            if line_end > 0 and _WARC_START.fullmatch(stream.get(offset, line_end + 1)):
                if not (line_start or self._plausible_header(offset)):
                    return False
                self.arc = False
                return True
        if self.arc is not False:
            line_end = stream.find(b"\n", offset, offset + MAX_HEADER_BYTES)
            if line_end > 0 and _ARC_START.fullmatch(stream.get(offset, line_end + 1)):
                self.arc = True
                return True
        return False

    def _plausible_header(self, offset: int) -> bool:
        try:
            headers = self._header(offset)[0]
        except Damaged:
            return False
        return "warc-type" in headers and "warc-record-id" in headers

    def _next_start(self, offset: int, stop: int | None = None, discard: bool = False) -> int:
        """The first record start in [offset, stop), -1 if none. Before the first record, only
        a WARC record is looked for (an ARC file starts with its ``filedesc`` record)."""
        marker = b"\n" if self.arc else WARC_MARKER
        while True:
            found = self.stream.find(marker, offset, stop, discard)
            if found < 0:
                return -1
            candidate = found + 1 if marker == b"\n" else found
            if self._is_start(candidate, resync=True):
                return candidate
            offset = found + 1

    def _read(self, offset: int) -> tuple[ArchiveRecord, int]:
        """The record starting at ``offset`` (a start line) and where reading goes on."""
        if not self._is_start(offset, resync=True):
            start = self._next_start(offset + 1, discard=True)
            if start < 0 and self.stream.truncated:
                detail = "file ends inside a gzip member"
                return ArchiveRecord(offset, damage=TRUNCATED, detail=detail), start
            return ArchiveRecord(offset, damage=CORRUPT, detail="bytes between records"), start
        try:
            headers, block_start, length = self._header(offset)
        except Damaged as error:
            record = ArchiveRecord(offset, error.headers, damage=CORRUPT, detail=str(error))
            return record, self._next_start(offset + 1)
        if length > self.keep:
            return self._read_long(offset, headers, block_start, length)
        block_end = block_start + length
        if not self.stream.ensure(block_end):
            return self._ended_inside(offset, headers, block_start, length)
        block = self.stream.get(block_start, block_end)
        next_offset = self._trailer_end(offset, block_end)
        if next_offset is None:
            detail = f"length {length} does not end at a record boundary"
            record = ArchiveRecord(offset, headers, block, length, CORRUPT, detail)
            # from the record's start: a damaged header may have ended inside the next record
            return record, self._next_start(offset + 1)
        return ArchiveRecord(offset, headers, block, length), next_offset

    def _header(self, offset: int) -> tuple[dict[str, str], int, int]:
        """The record's headers, where its block starts and its declared length."""
        stream = self.stream
        if self.arc:
            line_end = stream.find(b"\n", offset, offset + MAX_HEADER_BYTES)
            headers, length = _arc_headers(stream.get(offset, line_end + 1))
            return headers, line_end + 1, length
        # the blank line ending the header: CRLF, or LF as some writers have it (searched only
        # before the CRLF one, not through the block)
        crlf = stream.find(b"\n\r\n", offset, offset + MAX_HEADER_BYTES)
        lf = stream.find(b"\n\n", offset, crlf if crlf >= 0 else offset + MAX_HEADER_BYTES)
        if lf < 0 and crlf < 0:
            raise Damaged(f"WARC header without an end in {MAX_HEADER_BYTES} bytes")
        block_start = lf + 2 if lf >= 0 else crlf + 3
        headers, length = _warc_headers(stream.get(offset, block_start))
        return headers, block_start, length

    def _trailer_end(self, offset: int, block_end: int, scanned: bool = False) -> int | None:
        """Where the next record may start if the block ends at a record boundary, else None.
        ``scanned``: the block is known to hold no record start (and may be released)."""
        stream = self.stream
        after = block_end
        while after - block_end < MAX_TRAILER_BYTES and (
            stream.startswith(b"\r", after) or stream.startswith(b"\n", after)
        ):
            after += 1
        if stream.at_eof(after) or stream.is_segment_start(after) or self._is_start(after):
            return after
        # Bytes that start no record after an intact trailer: garbage after a good record,
        # reported on their own; unless a record starts inside the block (the length is too
        # long and ends, by chance, at a blank line of the next record).
        exact = b"\n" if self.arc else b"\r\n\r\n"
        if not stream.startswith(exact, block_end):
            return None
        return after if scanned or self._next_start(offset + 1, block_end) < 0 else None

    def _ended_inside(
        self, offset: int, headers: dict[str, str], block_start: int, length: int
    ) -> tuple[ArchiveRecord, int]:
        """The file ends inside the declared block: a truncated record, unless a record starts
        inside the block (the length was wrong)."""
        start = self._next_start(offset + 1)
        block = self.stream.get(block_start, self.stream.end)
        if start >= 0:
            detail = f"length {length} runs into the next record"
            return ArchiveRecord(offset, headers, block, length, CORRUPT, detail), start
        detail = f"{length - len(block)} of {length} bytes missing"
        return ArchiveRecord(offset, headers, block, length, TRUNCATED, detail), -1

    def _read_long(
        self, offset: int, headers: dict[str, str], block_start: int, length: int
    ) -> tuple[ArchiveRecord, int]:
        """A block longer than ``keep``: its head is kept, the rest skipped unread into
        memory; a record start inside it means the length is wrong."""
        head_end = block_start + self.keep
        self.stream.ensure(head_end)
        head = self.stream.get(block_start, min(head_end, self.stream.end))
        block_end = block_start + length
        start = self._next_start(offset + 1, block_end, discard=True)
        if start >= 0:
            detail = f"length {length} runs into the next record"
            return ArchiveRecord(offset, headers, head, length, CORRUPT, detail), start
        if not self.stream.ensure(block_end):
            detail = f"file ends inside a block of {length} bytes"
            return ArchiveRecord(offset, headers, head, length, TRUNCATED, detail), -1
        next_offset = self._trailer_end(offset, block_end, scanned=True)
        if next_offset is None:
            detail = f"length {length} does not end at a record boundary"
            record = ArchiveRecord(offset, headers, head, length, CORRUPT, detail)
            return record, self._next_start(block_end, discard=True)
        return ArchiveRecord(offset, headers, head, length), next_offset
