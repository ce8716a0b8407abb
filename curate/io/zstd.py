"""Reading ``.zst`` files as a stream that reports truncation, as ``gzip`` does.

zstandard's stream reader returns what it could decode and then a clean end of stream when the
file stops inside a frame, so a cut-off download would read as a shorter, valid file. At the
end of the stream the frames are walked (headers and block headers only, one small read per
block) and a file that does not end exactly at a frame's end raises ``EOFError``.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import IO

ZSTD_MAGIC = 0xFD2FB528
SKIPPABLE_MAGIC = 0x184D2A50  # the low four bits are free (RFC 8878, 3.1.2)
RLE_BLOCK = 1
DICTIONARY_ID_BYTES = (0, 1, 2, 4)
CONTENT_SIZE_BYTES = (0, 2, 4, 8)


class ZstdError(ValueError):
    """A ``.zst`` file the decompressor rejects (not zstd, or damaged)."""


def _read_exactly(stream: IO[bytes], position: int, size: int) -> bytes:
    stream.seek(position)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError(f"zstd stream ends inside a frame (byte {position} of a {size}-byte field)")
    return data


def _frame_end(stream: IO[bytes], position: int) -> int:
    """The offset just past the frame starting at ``position``."""
    magic = int.from_bytes(_read_exactly(stream, position, 4), "little")
    if magic & 0xFFFFFFF0 == SKIPPABLE_MAGIC:
        return position + 8 + int.from_bytes(_read_exactly(stream, position + 4, 4), "little")
    if magic != ZSTD_MAGIC:
        raise ZstdError(f"no zstd frame at byte {position}")
    descriptor = _read_exactly(stream, position + 4, 1)[0]
    single_segment = (descriptor >> 5) & 1
    content_size = CONTENT_SIZE_BYTES[descriptor >> 6] or single_segment
    position += 5 + (1 - single_segment) + DICTIONARY_ID_BYTES[descriptor & 3] + content_size
    last_block = False
    while not last_block:
        header = int.from_bytes(_read_exactly(stream, position, 3), "little")
        last_block, block_type, block_size = header & 1, (header >> 1) & 3, header >> 3
        position += 3 + (1 if block_type == RLE_BLOCK else block_size)
    return position + 4 * ((descriptor >> 2) & 1)  # the content checksum, if any


def check_frames_complete(stream: IO[bytes]) -> None:
    """Raise ``EOFError`` unless ``stream`` is whole zstd frames, the last one complete."""
    size = os.fstat(stream.fileno()).st_size
    position = 0
    while position < size:
        position = _frame_end(stream, position)
    if position > size:
        raise EOFError(f"zstd stream truncated: its last frame needs {position} bytes, has {size}")


class ZstdReader(io.RawIOBase):
    """The decompressed bytes of a ``.zst`` file, all frames; truncation raises ``EOFError``."""

    def __init__(self, path: Path) -> None:
        import zstandard

        self._error = zstandard.ZstdError
        self._file = open(path, "rb")  # noqa: SIM115 (closed by close())
        self._reader = zstandard.ZstdDecompressor().stream_reader(
            self._file, read_across_frames=True, closefd=False
        )
        self._checked = False

    @property
    def compressed_file(self) -> IO[bytes]:
        """The ``.zst`` file itself (its position is how far reading is)."""
        return self._file

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        try:
            count = self._reader.readinto(buffer)
        except self._error as error:
            raise ZstdError(str(error)) from None
        if count == 0 and not self._checked:
            self._checked = True
            check_frames_complete(self._file)
        return count

    def close(self) -> None:
        if not self.closed:
            self._reader.close()
            self._file.close()
        super().close()
