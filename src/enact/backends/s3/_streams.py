"""A file-like reader over a value's parts, so a multipart upload sends
slices of the caller's buffers without joining them into one more copy."""

from __future__ import annotations

import io
from collections.abc import Sequence

__all__ = ["PartsReader", "split_parts"]


class PartsReader(io.RawIOBase):
    """Reads the concatenation of ``views`` (seekable, for the SDK's retries)."""

    def __init__(self, views: Sequence[memoryview]) -> None:
        super().__init__()
        self._views = list(views)
        self._size = sum(len(view) for view in self._views)
        self._position = 0

    def __len__(self) -> int:
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}
        self._position = min(max(0, base[whence] + offset), self._size)
        return self._position

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        target = memoryview(buffer).cast("B")
        written = 0
        start = 0
        for view in self._views:
            end = start + len(view)
            if end > self._position and written < len(target):
                inner = self._position - start
                take = min(len(view) - inner, len(target) - written)
                target[written : written + take] = view[inner : inner + take]
                written += take
                self._position += take
            start = end
        return written

    def read(self, size: int | None = -1) -> bytes:
        remaining = self._size - self._position
        wanted = remaining if size is None or size < 0 else min(size, remaining)
        start = 0
        for view in self._views:  # within one view: one copy, not two
            end = start + len(view)
            if start <= self._position and self._position + wanted <= end:
                inner = self._position - start
                self._position += wanted
                return view[inner : inner + wanted].tobytes()
            start = end
        buffer = bytearray(wanted)
        self.readinto(buffer)
        return bytes(buffer)


def split_parts(parts: Sequence[bytes], part_size: int) -> list[list[memoryview]]:
    """Cuts the concatenation of ``parts`` into pieces of ``part_size`` bytes
    (the last one shorter), each a list of views into ``parts``: no copies."""
    pieces: list[list[memoryview]] = [[]]
    room = part_size
    for part in parts:
        view = memoryview(part).cast("B")
        while len(view):
            if not room:
                pieces.append([])
                room = part_size
            take = view[:room]
            pieces[-1].append(take)
            room -= len(take)
            view = view[len(take) :]
    return [piece for piece in pieces if piece] or [[]]
