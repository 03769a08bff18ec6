"""Which stretches of a pack or log to read for a batch of its objects.

Packed objects read together are often stored together (a run's journal is
appended in order), so a batch's objects in one file are read a stretch at
a time: one ``pread`` for neighbours, of at most :data:`SPAN` bytes, skipping
gaps of at most :data:`SPAN_GAP` bytes between them. A batch that lies in one
part of one file (the records of sibling calls, interleaved with those of
their values) is one read of that part, with no sorting of its objects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

__all__ = ["SPAN", "SPAN_GAP", "Index", "read_many", "spans"]

SPAN = 1 << 20
SPAN_GAP = 16 << 10
# A batch whose objects all lie within this many bytes of one file is read
# with one pread, gaps and all, if they are at least a quarter of it.
_STRETCH = 8 << 20


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


#: Where a file store's packed objects are: key -> (file, offset, length); a
#: negative offset marks a damaged index entry.
Index = dict[str, tuple[str, int, int]]


def read_many(
    keys: Sequence[str],
    packed: Index,
    read: Callable[[str, str, int, int], bytes | None],
    alone: Callable[[str], bytes | None],
) -> list[bytes | None]:
    """The objects ``keys`` of a file store, packed ones a stretch at a time.

    Args:
        keys: What to read.
        packed: Where the packed objects are.
        read: Reads (key, file, offset, length): None if the file is gone.
        alone: Reads one object any other way (loose, a file gone or damaged).
    """
    where = packed.get
    locations = [where(key) for key in keys]
    one = _one_stretch(locations)
    if one is not None:
        pack, start, end, found_in = one
        data = read(keys[0], pack, start, end - start)
        if data is not None and len(data) == end - start:
            return [data[o - start : o - start + n] for _, o, n in found_in]
    found: list[bytes | None] = [None] * len(keys)
    by_pack: dict[str, list[tuple[int, int, int]]] = {}
    others = []
    for number, location in enumerate(locations):
        if location is None or location[1] < 0:
            others.append(number)
            continue
        pack, offset, length = location
        group = by_pack.get(pack)
        if group is None:
            group = by_pack[pack] = []
        group.append((offset, length, number))
    for pack, group in by_pack.items():
        group.sort()
        for first, last, start, end in spans(group):
            data = read(keys[group[first][2]], pack, start, end - start)
            for offset, length, number in group[first:last]:
                if data is None or offset + length - start > len(data):
                    others.append(number)
                else:
                    found[number] = data[offset - start : offset - start + length]
    for number in others:
        found[number] = alone(keys[number])
    return found


def _one_stretch(
    locations: list[tuple[str, int, int] | None],
) -> tuple[str, int, int, list[tuple[str, int, int]]] | None:
    """(file, start, end, locations) of one read for all of ``locations``,
    if they are in one file close enough together."""
    if not locations or None in locations:
        return None
    where: list[tuple[str, int, int]] = locations  # type: ignore[assignment]
    path = where[0][0]
    if len({place[0] for place in where}) != 1:
        return None
    start = min([place[1] for place in where])
    end = max([offset + length for _, offset, length in where])
    size = end - start
    if start < 0 or size > _STRETCH:
        return None
    if size > SPAN and 4 * sum([length for _, _, length in where]) < size:
        return None
    return path, start, end, where
