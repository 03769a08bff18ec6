"""Saved places of a log's objects, so that opening a store need not parse it.

Indexing a log reads every record header: a couple of microseconds per
object, about a second for a log of 400,000 objects, paid by every process
that opens the store. So a log's places (each object's digest, offset and
length) are saved in ``places/<log name>`` by the process that wrote the
log, when it closes it, or by a reader that had to parse many of its
records. A reader loads them with a few bulk operations and parses only the
records appended after them.

Places are a cache, never the truth: a file that is missing, damaged (its
CRC does not match), of another format or covering more of the log than
there is, is ignored and the log parsed as before. Objects read through
places are still checked against their digests by the store above, and
``store.verify()`` still reads the logs themselves. A log's places go with
it when a garbage collection removes it.

Format::

    b"ENACTPL1" | 8-byte end of the log covered | 8-byte count |
    count 32-byte digests | count 8-byte offsets | count 8-byte lengths |
    4-byte CRC-32 of everything before it

(integers big-endian in the header, little-endian in the arrays).
"""

from __future__ import annotations

import array
import atexit
import contextlib
import itertools
import os
import struct
import sys
import weakref
import zlib
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from enact.backends.files.format import Entry, write_file

__all__ = [
    "MIN_RECORDS",
    "Places",
    "load_places",
    "merge",
    "places_path",
    "remove_stale_places",
    "save_at_exit",
    "save_places",
]

MAGIC = b"ENACTPL1"
_HEADER = struct.Struct(">8sQQ")
_CRC = struct.Struct(">I")
#: A log with fewer records than this is parsed (it takes milliseconds).
MIN_RECORDS = 4096
_DIRECTORY = "places"


class Places:
    """The places of a log's objects, compactly: 48 bytes an object.

    Args:
        saved: Places loaded, to add to (copied).
    """

    __slots__ = ("added", "end", "keys", "lengths", "offsets")

    def __init__(self, saved: Places | None = None) -> None:
        #: The objects' digests, 32 bytes each.
        self.keys: bytearray = bytearray(saved.keys if saved else b"")
        self.offsets: array.array[int] = array.array(
            "q", saved.offsets if saved else ()
        )
        self.lengths: array.array[int] = array.array(
            "q", saved.lengths if saved else ()
        )
        #: The end of the log they cover (of places loaded).
        self.end: int = saved.end if saved else 0
        #: How many were added since loading: places are saved only for many.
        self.added = 0

    def __len__(self) -> int:
        return len(self.offsets)

    def worth_saving(self) -> bool:
        """Whether there are enough new places to be worth saving."""
        return self.added >= MIN_RECORDS

    def add(self, raw_key: bytes, offset: int, length: int) -> None:
        """Adds an object by its 32-byte digest."""
        self.keys += raw_key
        self.offsets.append(offset)
        self.lengths.append(length)
        self.added += 1

    def extend(self, entries: list[Entry]) -> None:
        """Adds the places a parse of the log found."""
        self.keys += bytes.fromhex("".join(key for key, _, _ in entries))
        self.offsets.extend(offset for _, offset, _ in entries)
        self.lengths.extend(length for _, _, length in entries)
        self.added += len(entries)

    def hex_keys(self) -> list[str]:
        """The digests as hex, in order."""
        if not self.keys:
            return []
        return bytes(self.keys).hex("\n", 32).split("\n")

    def locations(self, path: str) -> dict[str, tuple[str, int, int]]:
        """Each object's (file, offset, length), as the file store indexes them
        (of an object recorded twice, the first copy)."""
        pairs: Iterable[tuple[str, tuple[str, int, int]]] = zip(
            reversed(self.hex_keys()),
            zip(
                itertools.repeat(path),
                reversed(self.offsets),
                reversed(self.lengths),
                strict=False,  # the first is endless
            ),
            strict=True,
        )
        # Built last to first, so that the first copy of a key is the one kept.
        return dict(pairs)


def merge(
    packed: dict[str, tuple[str, int, int]],
    locations: dict[str, tuple[str, int, int]],
) -> dict[str, tuple[str, int, int]]:
    """A file store's index of ``packed`` objects with ``locations`` added
    (one of the two, updated): an object indexed already keeps its place,
    unless that is a damaged entry (offset < 0)."""
    if len(packed) >= len(locations):
        for key in locations.keys() & packed.keys():
            if packed[key][1] >= 0:
                locations[key] = packed[key]
        packed.update(locations)
        return packed
    # Fewer indexed than loaded (the first large log): those go over the rest.
    for key, place in packed.items():
        if place[1] >= 0 or key not in locations:
            locations[key] = place
    return locations


def places_path(log: str) -> str:
    """Where the places of the log ``log`` (under ``<root>/logs/``) are saved."""
    logs = os.path.dirname(log)
    return os.path.join(os.path.dirname(logs), _DIRECTORY, os.path.basename(log))


def _little(numbers: array.array[int]) -> bytes:
    if sys.byteorder == "little":
        return numbers.tobytes()
    swapped = array.array("q", numbers)
    swapped.byteswap()
    return swapped.tobytes()


def save_places(log: str, places: Places, end: int, temp: str) -> None:
    """Saves the places of ``log``'s records before offset ``end``.

    Only when there are many new ones (:meth:`Places.worth_saving`).

    Best effort: a store that cannot be written to (read-only, full) is read
    as before, by parsing its logs.
    """
    if not places.worth_saving():
        return
    head = _HEADER.pack(MAGIC, end, len(places))
    parts = [head, bytes(places.keys), _little(places.offsets)]
    parts.append(_little(places.lengths))
    crc = 0
    for part in parts:
        crc = zlib.crc32(part, crc)
    parts.append(_CRC.pack(crc))
    path = places_path(log)
    with contextlib.suppress(OSError):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_file(path, parts, temp, False)


def load_places(log: str, size: int) -> Places | None:
    """The saved places of ``log`` (now ``size`` bytes long); None if there
    are none that can be trusted."""
    try:
        with open(places_path(log), "rb") as file:
            data = file.read()
    except OSError:
        return None
    if len(data) < _HEADER.size + _CRC.size:
        return None
    magic, end, count = _HEADER.unpack_from(data)
    if (
        magic != MAGIC
        or end > size
        or len(data) != _HEADER.size + count * 48 + _CRC.size
        or zlib.crc32(memoryview(data)[: -_CRC.size]) != _CRC.unpack(data[-4:])[0]
    ):
        return None
    places = Places()
    at = _HEADER.size
    places.keys = bytearray(data[at : at + count * 32])
    at += count * 32
    for numbers in (places.offsets, places.lengths):
        numbers.frombytes(data[at : at + count * 8])
        if sys.byteorder != "little":
            numbers.byteswap()
        at += count * 8
    places.end = end
    return places


def remove_stale_places(root: str, exists: Callable[[str], bool]) -> None:
    """Removes the saved places of logs that are gone (after a collection)."""
    directory = os.path.join(root, _DIRECTORY)
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if not exists(os.path.join(root, "logs", name)):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(directory, name))


class _SavesAtExit(Protocol):
    def _save_places_at_exit(self) -> None: ...


# Backends with a log open. A store left open when the program ends (a
# script's `with enact.FileStore(...):` does not close it) saves its log's
# places at exit, as closing it would.
_open_logs: weakref.WeakSet[Any] = weakref.WeakSet()


def save_at_exit(backend: _SavesAtExit) -> None:
    """Has ``backend._save_places_at_exit()`` called when the program ends."""
    _open_logs.add(backend)


@atexit.register
def _save_open_logs_places() -> None:
    for backend in list(_open_logs):
        backend._save_places_at_exit()
