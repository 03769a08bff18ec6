"""The chunks of a large string, cut once per process however many objects
hold it.

The same payload passed to 50 calls is inside 50 records, each cut into
chunks when it is stored (:mod:`enact.backends.chunked`): without a shortcut
every record scans and hashes the payload's 100 KB again. The encoder notes
how a large encoding was joined from pieces
(:func:`enact._identity.large.pieces_of`), and a large JSON string among
them (a str's encoding, an immutable bytes object held here) is cut once:
its chunks and their keys are remembered while the entry holds the string.

Why the cuts and references are those of the whole object, cut from scratch:

- **Chunks.** A run of at least :data:`~enact.backends.chunking.RUN` bytes
  without a quote is a segment of its own, and the string starts and ends
  with a quote, so no run crosses its edges: the segments from its first
  long run's start to its last one's end are the string's own, cut as the
  string alone is cut. Only the glue before and after (the record's own
  fields) is cut again, for each object.
- **References.** A reference is ``"digest"``, a colon and a quoted hex
  digest (:data:`enact.backends.gc.REFERENCE`): its quotes follow ``t``, a
  space or colon, or a hex digit. Inside a JSON string every quote but the
  two at its edges follows a backslash, so a reference can only touch the
  string at an edge, and then only if the byte before the string is ``t``
  or a hex digit, or the byte after it is a hex digit, a space or a colon.
  Where neither is the case (a string value in a canonical encoding is
  preceded by ``[``, ``,``, ``:`` or ``{`` and followed by ``,``, ``]`` or
  ``}``) the references are those of the bytes around the string; where
  either is, the object is cut the plain way.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

from enact._identity import large
from enact.backends.chunk_format import CHUNK_MAGIC
from enact.backends.chunking import MAX_CHUNK, cut_segment, long_runs, segments

__all__ = ["ENTRIES", "ENTRY_BYTES", "HELD_BYTES", "Cut", "forget", "spans"]

#: At most this many strings' chunks are remembered.
ENTRIES = 256
#: A longer string is cut the plain way (it would crowd out the others).
ENTRY_BYTES = 4 << 20
#: At most this many bytes held by the remembered entries together (each
#: holds its string and its chunks' bytes).
HELD_BYTES = 16 << 20

_QUOTE = ord('"')
# Bytes before a string that could end a reference's start at its quote.
_BEFORE = frozenset(b"t0123456789abcdef")
# Bytes after a string that could continue a reference from its quote.
_AFTER = frozenset(b"0123456789abcdef :\t\n\r\x0b\x0c")


@dataclass(frozen=True, slots=True)
class Cut:
    """The chunks of one large JSON string's own part."""

    #: The string's length.
    size: int
    #: Where the string's first long run starts (its own chunks begin).
    first: int
    #: Where its last long run ends (its own chunks end).
    last: int
    #: Each chunk's bytes and key, in order.
    chunks: tuple[tuple[bytes, str], ...]
    #: Each chunk as an entry to store: its key and stored parts (never
    #: changed by whoever writes them).
    entries: tuple[tuple[str, list[bytes]], ...]


# id -> (the string, its cut or None if it has no long run or is no JSON
# string); the entry holds the string, so its id stays its own.
_cuts: dict[int, tuple[bytes, Cut | None]] = {}
_held = [0]
_lock = threading.Lock()


def forget() -> None:
    """Forgets every remembered cut."""
    with _lock:
        _cuts.clear()
        _held[0] = 0


def spans(data: bytes) -> list[tuple[int, Cut]] | None:
    """The large JSON strings ``data`` was joined from, each with its offset
    in ``data`` and its cut; None when the object is to be cut the plain way
    (its pieces are not known, none is such a string, or one sits where a
    reference could cross its edge)."""
    pieces = large.pieces_of(data)
    if pieces is None:
        return None
    found: list[tuple[int, Cut]] = []
    offset = 0
    size = len(data)
    for piece in pieces:
        length = len(piece)
        if length >= large.LARGE:
            cut = _cut_of(piece)
            if cut is not None:
                if offset and data[offset - 1] in _BEFORE:
                    return None
                end = offset + length
                if end < size and data[end] in _AFTER:
                    return None
                found.append((offset, cut))
        offset += length
    return found or None


def _cut_of(piece: bytes) -> Cut | None:
    entry = _cuts.get(id(piece))
    if entry is not None and entry[0] is piece:
        return entry[1]
    cut = _cut(piece) if len(piece) <= ENTRY_BYTES else None
    with _lock:
        held = len(piece) * 2 if cut is not None else len(piece)
        if len(_cuts) >= ENTRIES or _held[0] + held > HELD_BYTES:
            _cuts.clear()
            _held[0] = 0
        _cuts[id(piece)] = (piece, cut)
        _held[0] += held
    return cut


def _cut(text: bytes) -> Cut | None:
    """The cut of a JSON string's own part, or None if ``text`` is no JSON
    string (every inner quote after a backslash) or has no long run."""
    size = len(text)
    if size < 2 or text[0] != _QUOTE or text[-1] != _QUOTE:
        return None
    if text.count(b'"', 1, size - 1) != text.count(b'\\"', 0, size - 1):
        return None
    runs = long_runs(text)
    if not runs:
        return None
    first, last = runs[0][0], runs[-1][1]
    chunks: list[tuple[bytes, str]] = []
    begin = first
    for stop in segments(text):
        if stop <= first:
            continue
        if stop > last:
            break
        if stop - begin <= MAX_CHUNK:
            chunks.append(_chunk(text[begin:stop]))
        else:
            segment = text[begin:stop]
            start = 0
            for end in cut_segment(segment):
                chunks.append(_chunk(segment[start:end]))
                start = end
        begin = stop
    entries = tuple((chunk, [CHUNK_MAGIC, piece]) for piece, chunk in chunks)
    return Cut(size, first, last, tuple(chunks), entries)


_CHUNK_HASH = hashlib.sha256(CHUNK_MAGIC)


def _chunk(piece: bytes) -> tuple[bytes, str]:
    hasher = _CHUNK_HASH.copy()
    hasher.update(piece)
    return piece, hasher.hexdigest()
