"""Which stretches of a pack or log to read for a batch of its objects.

Packed objects read together are often stored together (a run's journal is
appended in order), so a batch's objects in one file are read a stretch at
a time: one ``pread`` for neighbours, of at most :data:`SPAN` bytes, skipping
gaps of at most :data:`SPAN_GAP` bytes between them.
"""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["SPAN", "SPAN_GAP", "spans"]

SPAN = 1 << 20
SPAN_GAP = 16 << 10


def spans(places: list[tuple[int, int, int]]) -> Iterator[tuple[int, int, int, int]]:
    """The stretches to read for ``places``, (offset, length, number) sorted
    by offset: (first place, place after the last, start, end) each."""
    first = 0
    count = len(places)
    while first < count:
        start, length, _ = places[first]
        end = start + length
        last = first + 1
        while last < count:
            offset, length, _ = places[last]
            if offset - end > SPAN_GAP or offset + length - start > SPAN:
                break
            if offset + length > end:
                end = offset + length
            last += 1
        yield first, last, start, end
        first = last
