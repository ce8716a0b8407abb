"""The decompressed bytes of a WARC or ARC file, read through a searchable sliding window.

A gzip file is inflated member by member (with ISA-L's zlib-compatible inflater, 2.4 times
as fast as zlib here), so a damaged member costs only itself: after a deflate error, reading
goes on at the next gzip header. Bytes between members that are not gzip (garbage, or an
uncompressed record appended to the file) pass through as they are, for the record framer
to judge. Where each member or pass-through run starts is kept:
such a segment start is where a record may begin. A file is read as gzip if it starts with
the gzip magic, or with bytes that start no record followed by a gzip header in its first
MiB (a damaged first member); else as plain bytes, whatever its name.
"""

from __future__ import annotations

from typing import BinaryIO

from isal import isal_zlib

GZIP_MAGIC = b"\x1f\x8b"
GZIP_HEADER = b"\x1f\x8b\x08"
PLAIN_STARTS = (b"WARC/", b"filedesc://")
READ_BYTES = 1 << 20
# Compressed bytes fed per zlib call: a small slice keeps ``unused_data`` copies small when a
# member (one record, as Common Crawl writes them) ends inside it.
INFLATE_SLICE = 64 * 1024
# Output per zlib call: a gzip bomb is inflated in steps, never all at once.
INFLATE_STEP = 8 << 20
COMPACT_BYTES = 4 << 20
# Put in the stream where a gzip member is lost (damaged, or cut off before any output), as
# a segment of its own: the framer sees bytes that start no record there and counts the loss.
LOST_MEMBER = b"\n[gzip member lost]\n"


class ArchiveStream:
    """Decompressed bytes addressed by offset from the start of the (decompressed) file.

    A lost gzip member (see ``LOST_MEMBER``) leaves a marker of its own in the bytes.
    """

    def __init__(self, raw: BinaryIO) -> None:
        """``raw``: the file, opened for reading in binary mode (seekable)."""
        self._raw = raw
        self._pending = b""  # compressed bytes read from the file ...
        self._pending_offset = 0  # ... from this file offset on
        self._pos = 0  # into _pending
        self._load(0)
        self.gzip = self._pending.startswith(GZIP_MAGIC) or (
            # a damaged start: gzip if no record starts it and a gzip header follows
            not self._pending.lstrip().startswith(PLAIN_STARTS) and GZIP_HEADER in self._pending
        )
        self._inflater: isal_zlib.Decompress | None = None
        self._member_offset = 0  # file offset of the current member's header
        self._member_output = 0
        self._buf = bytearray()
        self._base = 0  # offset of _buf[0]
        self._segments: set[int] = {0}
        self.damaged_members = 0
        self.truncated = False
        self._exhausted = False

    @property
    def end(self) -> int:
        """Offset just past the bytes read so far."""
        return self._base + len(self._buf)

    def is_segment_start(self, offset: int) -> bool:
        return offset in self._segments

    def ensure(self, offset: int) -> bool:
        """Read until ``offset`` is within the bytes read; False if the file ends first."""
        while self.end < offset:
            if not self._more():
                return False
        return True

    def at_eof(self, offset: int) -> bool:
        return not self.ensure(offset + 1)

    def get(self, start: int, stop: int) -> bytes:
        assert start >= self._base, "bytes released already"
        self.ensure(stop)
        return bytes(self._buf[start - self._base : stop - self._base])

    def startswith(self, prefix: bytes, offset: int) -> bool:
        assert offset >= self._base, "bytes released already"
        self.ensure(offset + len(prefix))
        return self._buf.startswith(prefix, offset - self._base)

    def find(
        self, pattern: bytes, start: int, stop: int | None = None, discard: bool = False
    ) -> int:
        """First offset of ``pattern`` in [start, stop), reading on as needed; -1 if none.
        With ``discard``, bytes searched in vain are released (all but the byte before the
        next search, which tells whether a match starts a line)."""
        assert start >= self._base, "bytes released already"
        searched = start
        while True:
            limit = self.end if stop is None else min(stop, self.end)
            found = self._buf.find(pattern, searched - self._base, limit - self._base)
            if found >= 0:
                return found + self._base
            if stop is not None and self.end >= stop:
                return -1
            searched = max(start, limit - len(pattern) + 1)
            if discard:
                self.release(searched - 1)
            if not self._more():
                return -1

    def release(self, offset: int) -> None:
        """Bytes before ``offset`` are not needed any more."""
        drop = offset - self._base
        if drop >= COMPACT_BYTES or drop > 0 and drop == len(self._buf):
            del self._buf[:drop]
            self._base = offset
            self._segments = {s for s in self._segments if s >= offset}

    def _more(self) -> bool:
        if self._exhausted:
            return False
        grew = self._more_gzip() if self.gzip else self._more_plain()
        if not grew:
            self._exhausted = True
        return grew

    def _load(self, file_offset: int) -> None:
        self._raw.seek(file_offset)
        self._pending_offset = file_offset
        self._pending = self._raw.read(READ_BYTES)
        self._pos = 0

    def _refill(self) -> bool:
        """Make compressed bytes available at ``_pos``; False when the file is done."""
        if self._pos < len(self._pending):
            return True
        self._load(self._pending_offset + len(self._pending))
        return bool(self._pending)

    def _more_plain(self) -> bool:
        if not self._refill():
            return False
        self._buf += self._pending[self._pos :]
        self._pos = len(self._pending)
        return True

    def _more_gzip(self) -> bool:
        while self._refill():
            if self._inflater is None and not self._start_member():
                continue
            if self._inflate_step():
                return True
        if self._inflater is not None:  # the file ends inside a member ...
            if self._skip_damaged_member():  # ... a cut one, read on into the next
                self._mark_lost_member()
                return True
            self.truncated = True  # ... the last one, cut off
            if not self._member_output:
                self._mark_lost_member()
                return True
        return False

    def _mark_lost_member(self) -> None:
        self._segments.add(self.end)
        self._buf += LOST_MEMBER

    def _start_member(self) -> bool:
        """At a member boundary: start inflating, or pass non-gzip bytes through up to the
        next gzip header. False when nothing was done yet (more input needed)."""
        if len(self._pending) - self._pos < len(GZIP_HEADER):
            self._load(self._pending_offset + self._pos)
            if len(self._pending) < len(GZIP_HEADER):
                self._pass_through(len(self._pending))
                return False
        self._segments.add(self.end)
        if self._pending.startswith(GZIP_HEADER, self._pos):
            self._inflater = isal_zlib.decompressobj(31)
            self._member_offset = self._pending_offset + self._pos
            self._member_output = 0
            return True
        # A gzip header may straddle the end of _pending: keep its first bytes for the next read.
        header = self._pending.find(GZIP_HEADER, self._pos + 1)
        stop = header if header >= 0 else len(self._pending) - len(GZIP_HEADER) + 1
        self._pass_through(stop)
        return False

    def _pass_through(self, stop: int) -> None:
        self._buf += self._pending[self._pos : stop]
        self._pos = stop

    def _inflate_step(self) -> bool:
        """Feed one slice to the current member's inflater; True if output grew."""
        assert self._inflater is not None
        chunk = memoryview(self._pending)[self._pos : self._pos + INFLATE_SLICE]
        try:
            out = self._inflater.decompress(chunk, INFLATE_STEP)
        except isal_zlib.error:
            if not self._skip_damaged_member():
                self.damaged_members += 1
            self._mark_lost_member()
            return True
        if self._inflater.eof:  # at the end, unconsumed_tail is stale: unused_data counts
            consumed = len(chunk) - len(self._inflater.unused_data)
            self._inflater = None
        else:
            consumed = len(chunk) - len(self._inflater.unconsumed_tail)
        self._pos += consumed
        self._buf += out
        self._member_output += len(out)
        return bool(out)

    def _skip_damaged_member(self) -> bool:
        """Go on at the next gzip header after the current member's start; False if there is
        none. A damaged or cut member's inflater may have run on into the next members'
        bytes (failing there, or not at all): those are read again."""
        self._inflater = None
        self._load(self._member_offset + 1)
        while (header := self._pending.find(GZIP_HEADER)) < 0:
            if len(self._pending) < READ_BYTES:  # the file ends without another member
                self._pos = len(self._pending)
                return False
            # a header may straddle the end of what was read
            self._load(self._pending_offset + len(self._pending) - len(GZIP_HEADER) + 1)
        self._pos = header
        self.damaged_members += 1
        return True
