"""Content-defined chunking: where to cut a large object's bytes.

The cuts depend only on the bytes around them, never on where they are in
the object, so the same stretch of bytes inside two different objects (a
100 KB payload in the records of 50 calls; the first 40 messages of a chat
history in the 41st record and the 42nd) is cut the same way and stored
once, and an edit changes only the chunks around it.

Two rules make the cuts, both at the speed of the bytes primitives that run
in C (``split``, ``translate``, ``find``), never a Python loop per byte:

1. **Long runs stand alone.** A canonical encoding is JSON: its long values
   are long strings between quotes. Every run of at least ``RUN`` bytes
   without a ``"`` starts and ends a segment, so a long string value (a
   document, a message, a payload) is cut at its own edges, whatever the
   record around it holds; the glue between long values is a segment of
   its own, small and usually shared too.
2. **Inside a segment, a rolling condition.** A segment longer than
   ``MAX_CHUNK`` is cut where a window of ``WINDOW`` bytes all fall in one
   half of the byte values (a fixed table, balanced for the byte
   frequencies of text, JSON and binary data alike: about one position in
   ``2 ** WINDOW`` qualifies), at least ``MIN_CHUNK`` bytes after the
   previous cut, or after ``MAX_CHUNK`` bytes if no window qualifies. This
   is the gear-hash rule of FastCDC with one-bit gear values: the
   condition reads only the last ``WINDOW`` bytes, so it is found by one
   ``find`` of a pattern in the translated bytes.
"""

from __future__ import annotations

import random

__all__ = [
    "MAX_CHUNK",
    "MIN_CHUNK",
    "RUN",
    "WINDOW",
    "cut_points",
    "cut_segment",
    "has_long_run",
    "long_runs",
    "segments",
]

#: A run of at least this many bytes without a quote is a segment of its own.
RUN = 1024
#: No content-defined cut closer than this to the previous cut.
MIN_CHUNK = 512
#: No chunk longer than this: a chunk then fits in one page of a SQLite store
#: (4 KiB; a longer row spills into overflow pages, half of one wasted).
MAX_CHUNK = 4000
#: Bytes in the rolling window: about one position in 2 ** WINDOW is a cut.
WINDOW = 11


def _class_table() -> bytes:
    """Maps every byte value to 0 or 1, half each.

    Text bytes are assigned alternately in order of how common they are in
    prose and JSON, so the common ones split evenly (a fixed random
    assignment could put most of a text's bytes on one side, and its cuts
    would come far too often or never); the other byte values are assigned
    by a fixed pseudo-random shuffle.
    """
    common = (
        b" etaoinsrhldcumfpgwybvkxjqz"
        b"\"ETAOINSRHLDCUMFPGWYBVKXJQZ0123456789,.:{}[]-_'\n/\\"
    )
    table = bytearray(256)
    seen = set()
    for rank, value in enumerate(common):
        table[value] = rank % 2
        seen.add(value)
    rest = [value for value in range(256) if value not in seen]
    random.Random(20261202).shuffle(rest)
    for rank, value in enumerate(rest):
        table[value] = rank % 2
    return bytes(table)


_TABLE = _class_table()
# A window qualifies when its bytes' classes read this pattern. A mixed one,
# not all ones: a text's most common byte (the space) sits on one side, and a
# pattern of one side only would almost never match prose.
_PATTERN = bytes([1, 1, 0, 1, 0, 0, 0, 1, 1, 0, 1])


def cut_points(data: bytes) -> list[int]:
    """The offsets at which ``data`` is cut into chunks, in order.

    The last one is ``len(data)``; every chunk is at most ``MAX_CHUNK``
    bytes long and non-empty.
    """
    cuts: list[int] = []
    start = 0
    for end in segments(data):
        if end - start > MAX_CHUNK:
            cuts += [start + cut for cut in cut_segment(data[start:end])]
        else:
            cuts.append(end)
        start = end
    return cuts or [0]


def segments(data: bytes) -> list[int]:
    """The ends of the segments of rule 1 (the last is ``len(data)``)."""
    return _segments(data)


def cut_segment(segment: bytes) -> list[int]:
    """The cuts of rule 2 inside one segment: the ends of its chunks (the
    last is ``len(segment)``)."""
    cuts: list[int] = []
    _cut_segment(segment.translate(_TABLE), 0, len(segment), cuts)
    cuts.append(len(segment))
    return cuts


def _segments(data: bytes) -> list[int]:
    """The ends of the segments of rule 1 (the last is ``len(data)``)."""
    ends: list[int] = []
    size = len(data)
    for begin, stop in long_runs(data):
        if begin and (not ends or ends[-1] != begin):
            ends.append(begin)
        ends.append(stop)
    if not ends or ends[-1] != size:
        ends.append(size)
    return ends


def long_runs(data: bytes) -> list[tuple[int, int]]:
    """The [start, end) of every run of at least ``RUN`` bytes without a
    quote.

    Any such run holds a whole block of ``RUN // 2`` bytes of a tiling that
    starts where the last run (or the data) did, so only blocks are probed,
    each with one ``find`` in C, and only a block without a quote is grown to
    its run: a record of many short strings (a journal's child list) costs a
    few hundred probes, not a step per string.
    """
    runs = []
    find, rfind = data.find, data.rfind
    size = len(data)
    half = RUN // 2
    block = 0
    while size - block >= half:
        end = block + half
        if find(b'"', block, end) >= 0:
            block = end
            continue
        start = rfind(b'"', 0, block) + 1
        stop = find(b'"', end)
        stop = size if stop < 0 else stop
        if stop - start >= RUN:
            runs.append((start, stop))
        block = stop + 1
    return runs


def has_long_run(data: bytes) -> bool:
    """Whether ``data`` holds a run of at least ``RUN`` bytes without a quote.

    Probes blocks as :func:`long_runs` does (one ``find`` each), so a record
    of many short strings (a flow's list of child calls, checked at every
    flush) costs a few probes, not a step per quote.
    """
    find, rfind = data.find, data.rfind
    size = len(data)
    half = RUN // 2
    block = 0
    while size - block >= half:
        end = block + half
        if find(b'"', block, end) >= 0:
            block = end
            continue
        start = rfind(b'"', 0, block) + 1
        stop = find(b'"', end)
        if stop < 0 or stop - start >= RUN:
            return size - start >= RUN
        block = stop + 1
    return False


def _cut_segment(classes: bytes, start: int, end: int, cuts: list[int]) -> None:
    """Appends the cuts inside the segment [start, end) (not ``end`` itself)."""
    find = classes.find
    position = start
    while end - position > MAX_CHUNK:
        found = find(_PATTERN, position + MIN_CHUNK - WINDOW, position + MAX_CHUNK)
        position = found + WINDOW if found >= 0 else position + MAX_CHUNK
        cuts.append(position)
