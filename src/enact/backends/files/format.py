"""The on-disk formats of a file store: pack files, logs, atomic writes.

Shared by the object store (:mod:`enact.backends.files`), its garbage
collector (:mod:`enact.backends.files.gc`) and its run index
(:mod:`enact.backends.files.index`), so each format is parsed in one place.

A pack is::

    b"ENACTPK1" | object bytes ... | index | footer
    index:  per object: 32-byte digest, 8-byte offset, 8-byte length
    footer: 8-byte index offset, 8-byte object count, b"ENACTEND"

A log is ``b"ENACTLG2"`` followed by records::

    record: 4-byte mark, 32-byte digest, 8-byte length, 4-byte CRC-32 of the
            first 44 bytes, then the object's bytes

The CRC tells a damaged header from a record still being written, and the
mark lets a reader find the next good record after a damaged one, so damage
costs only the records it touches. The body needs no checksum of its own: it
must hash to its digest, which every read checks. A record cut short at the
end (its writer was killed mid-append) is not an object and not damage.

Logs written before records were framed start with ``b"ENACTLG1"``: records
of a 32-byte digest and an 8-byte length, then the bytes. They are still read
(damage inside one hides the rest of it).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import struct
import zlib
from collections.abc import Sequence
from typing import BinaryIO, NamedTuple

from enact.backends.base import BackendError, Parts

__all__ = [
    "ENTRY",
    "FOOTER",
    "LOG_MAGIC",
    "MAGIC",
    "OLD_LOG_MAGIC",
    "RECORD_HEADER",
    "RECORD_MARK",
    "Entry",
    "Gap",
    "LogRead",
    "PackIndex",
    "fsync_dir",
    "hidden_records",
    "log_record_header",
    "near_digest",
    "pack_chunks",
    "parse_log",
    "read_pack_index",
    "write_all",
    "write_file",
    "write_new",
]

MAGIC = b"ENACTPK1"
END = b"ENACTEND"
ENTRY = struct.Struct(">32sQQ")
FOOTER = struct.Struct(">QQ8s")
LOG_MAGIC = b"ENACTLG2"
OLD_LOG_MAGIC = b"ENACTLG1"
OLD_LOG_RECORD = struct.Struct(">32sQ")
# Marks the start of a record; chosen to be rare in JSON and text.
RECORD_MARK = b"\xe9\x4c\x52\x9d"
_RECORD_HEAD = struct.Struct(">4s32sQ")
_CRC = struct.Struct(">I")
RECORD_HEADER = _RECORD_HEAD.size + _CRC.size
# A damaged digest field still names its object if it differs from the
# bytes' own digest in at most this many of its 32 bytes (a random digest
# shares about none with another).
_NEAR_DIGEST = 4
# writev takes at most IOV_MAX (1024 on Linux) buffers per call.
_IOV_MAX = 1024

# Where one stored object sits: (hex key, offset, length).
Entry = tuple[str, int, int]


def pack_chunks(items: Sequence[tuple[str, Parts]]) -> list[bytes]:
    """The bytes of a pack holding ``items``, as parts to write in order."""
    chunks: list[bytes] = [MAGIC]
    index: list[bytes] = []
    offset = len(MAGIC)
    for key, parts in items:
        length = sum(map(len, parts))
        index.append(ENTRY.pack(bytes.fromhex(key), offset, length))
        chunks.extend(parts)
        offset += length
    chunks.extend(index)
    chunks.append(FOOTER.pack(offset, len(items), END))
    return chunks


class PackIndex(NamedTuple):
    """What a pack's index says, as far as it can be read."""

    #: Where each object sits.
    entries: list[Entry]
    #: Entries pointing outside the pack's objects: (the entry's offset in
    #: the file, the key it names). Their objects cannot be read.
    bad: list[tuple[int, str]]
    #: Where the index starts.
    index_at: int
    #: The footer was damaged, and the index found from what was left of it.
    footer_damaged: bool


def read_pack_index(file: BinaryIO, path: str, location: str) -> PackIndex:
    """Reads a pack's index from its open ``file``.

    A footer with one damaged field is repaired from the others when the
    index it then points at is whole (every object right after the one
    before); an entry pointing outside the objects is set apart in ``bad``,
    so it costs only its own object.

    Raises:
        BackendError: naming ``path`` if the pack's index cannot be found or
            the file cannot be read (``FileNotFoundError`` passes through:
            the caller decides whether a vanished pack matters).
    """
    try:
        size = file.seek(0, os.SEEK_END)
        if size < len(MAGIC) + FOOTER.size:
            raise ValueError("too short")
        limit = size - FOOTER.size
        file.seek(limit)
        index_at, count, end = FOOTER.unpack(file.read(FOOTER.size))
        if len(MAGIC) <= index_at and index_at + count * ENTRY.size == limit:
            file.seek(index_at)
            raw = file.read(count * ENTRY.size)
            entries = _entries(raw)
            if end == END or _contiguous(entries, index_at):
                return _checked(entries, index_at, end != END)
        # One field of the footer is damaged: try each from the others.
        for at in (limit - count * ENTRY.size, index_at):
            if not len(MAGIC) <= at <= limit or (limit - at) % ENTRY.size:
                continue
            file.seek(at)
            entries = _entries(file.read(limit - at))
            if _contiguous(entries, at):
                return _checked(entries, at, True)
        raise ValueError("bad footer")
    except FileNotFoundError:
        raise
    except OSError as error:
        message = f"cannot read pack file {path}: {error}"
        raise BackendError(message, location) from None
    except (ValueError, OverflowError, struct.error) as error:
        raise BackendError(
            f"pack file {path} is damaged ({error}); store.verify() lists damage",
            location,
        ) from None


def _entries(raw: bytes) -> list[Entry]:
    return [
        (key.hex(), offset, length) for key, offset, length in ENTRY.iter_unpack(raw)
    ]


def _contiguous(entries: list[Entry], index_at: int) -> bool:
    """Whether the objects fill the pack from its header to its index, in order
    (as every pack is written)."""
    position = len(MAGIC)
    for _, offset, length in entries:
        if offset != position:
            return False
        position += length
    return position == index_at


def _checked(entries: list[Entry], index_at: int, footer_damaged: bool) -> PackIndex:
    good: list[Entry] = []
    bad: list[tuple[int, str]] = []
    for number, entry in enumerate(entries):
        _, offset, length = entry
        if offset < len(MAGIC) or offset + length > index_at:
            bad.append((index_at + number * ENTRY.size, entry[0]))
        else:
            good.append(entry)
    return PackIndex(good, bad, index_at, footer_damaged)


class Gap(NamedTuple):
    """Damaged bytes in a log, between two good records (file offsets)."""

    start: int
    end: int
    #: The object found whole in the damaged record, if it was.
    recovered: Entry | None
    #: Whether objects recorded there may be lost.
    lost: bool


class LogRead(NamedTuple):
    """What :func:`parse_log` found."""

    #: The records' entries (offsets within the file).
    entries: list[Entry]
    #: Where to read on from next time: after the last good record.
    end: int
    #: Damaged stretches before ``end``, or running to the end of the data.
    gaps: list[Gap]
    #: Whether the log has the old, unframed records.
    old: bool


def log_record_header(raw_key: bytes, length: int) -> bytes:
    """The header of a log record of ``length`` bytes for the 32-byte key."""
    head = _RECORD_HEAD.pack(RECORD_MARK, raw_key, length)
    return head + _CRC.pack(zlib.crc32(head))


def parse_log(
    data: bytes, start: int, path: str, location: str, old: bool = False
) -> LogRead:
    """Parses the records of a log read from offset ``start`` into ``data``.

    A record with a damaged header is skipped up to the next good header and
    reported as a :class:`Gap` (its object is kept if its bytes still hash to
    the digest, or nearly to the digest, in its header). An incomplete last
    record (being written, or cut by a crash) is left for the next read.

    Args:
        old: The log has old unframed records (as the ``old`` of the read
            from offset 0 said).

    Raises:
        BackendError: naming ``path`` if the log's header is neither format.
    """
    position = 0
    gaps: list[Gap] = []
    if start == 0:
        if len(data) < len(LOG_MAGIC):
            return LogRead([], 0, [], False)  # being created
        magic = data[: len(LOG_MAGIC)]
        framed = _header_at(data, len(LOG_MAGIC)) is not None
        # A framed first record outweighs the old magic: one damaged byte
        # turns the new magic into the old one.
        old = magic == OLD_LOG_MAGIC and not framed
        if not old and magic != LOG_MAGIC:
            if not framed:
                raise BackendError(
                    f"log file {path} is damaged (bad header); store.verify() "
                    "lists damage",
                    location,
                )
            gaps.append(Gap(0, len(LOG_MAGIC), None, False))
        position = len(LOG_MAGIC)
    if old:
        entries, position = _parse_old(data, position, start)
    else:
        entries, position = _parse_framed(data, position, start, gaps)
    return LogRead(entries, start + position, gaps, old)


def _parse_old(data: bytes, position: int, start: int) -> tuple[list[Entry], int]:
    record = OLD_LOG_RECORD.size
    entries: list[Entry] = []
    while position + record <= len(data):
        raw, length = OLD_LOG_RECORD.unpack_from(data, position)
        end = position + record + length
        if end > len(data):
            break  # the last record is still being written, or was cut
        entries.append((raw.hex(), start + position + record, length))
        position = end
    return entries, position


def _parse_framed(
    data: bytes, position: int, start: int, gaps: list[Gap]
) -> tuple[list[Entry], int]:
    entries: list[Entry] = []
    size = len(data)
    while position + RECORD_HEADER <= size:
        length = _header_at(data, position)
        if length is not None:
            body = position + RECORD_HEADER
            if body + length > size:
                break  # the last record is still being written, or was cut
            key = data[position + 4 : position + 36].hex()
            entries.append((key, start + body, length))
            position = body + length
            continue
        following = _next_header(data, position + 1)
        stop = size if following is None else following
        recovered = _recover(data, position, stop, start)
        gaps.append(Gap(start + position, start + stop, recovered, recovered is None))
        if recovered is not None:
            entries.append(recovered)
        elif following is None:
            # Nothing good after it yet: read it again next time (a record
            # may be being appended after it).
            return entries, position
        position = stop
    return entries, position


def hidden_records(data: bytes, start: int, stop: int) -> list[tuple[int, str]]:
    """The whole record headers starting inside ``data[start:stop]``:
    (offset, key).

    In the bytes of a record that do not match its digest, such a header is
    a record the damage has hidden (bytes lost before it shifted it inside
    the record before), or part of the object itself (a stored log file).
    """
    found: list[tuple[int, str]] = []
    position = start
    while True:
        at = _next_header(data, position)
        if at is None or at >= stop:
            return found
        found.append((at, data[at + 4 : at + 36].hex()))
        position = at + 1


def _header_at(data: bytes, position: int) -> int | None:
    """The length in the record header at ``position``, if it is whole."""
    if not data.startswith(RECORD_MARK, position) or position + RECORD_HEADER > len(
        data
    ):
        return None
    (crc,) = _CRC.unpack_from(data, position + _RECORD_HEAD.size)
    view = memoryview(data)[position : position + _RECORD_HEAD.size]
    if zlib.crc32(view) != crc:
        return None
    length: int = _RECORD_HEAD.unpack_from(data, position)[2]
    return length


def _next_header(data: bytes, position: int) -> int | None:
    """Where the next whole record header at or after ``position`` starts."""
    while True:
        found = data.find(RECORD_MARK, position)
        if found < 0 or found + RECORD_HEADER > len(data):
            return None
        if _header_at(data, found) is not None:
            return found
        position = found + 1


def _recover(data: bytes, position: int, stop: int, start: int) -> Entry | None:
    """The object of the damaged record at ``position`` running to ``stop``,
    if its bytes hash to (nearly) the digest in its header.

    Content addressing makes this safe: the bytes are filed under their own
    digest, whatever the header said.
    """
    body = position + RECORD_HEADER
    if stop < body:
        return None
    digest = hashlib.sha256(memoryview(data)[body:stop]).digest()
    if not near_digest(digest, data[position + 4 : position + 36]):
        return None
    return digest.hex(), start + body, stop - body


def near_digest(digest: bytes, named: bytes) -> bool:
    """Whether ``named`` is ``digest`` with at most a few bytes damaged.

    Bytes whose digest this is are that object: a random digest shares
    about none of its 32 bytes with another.
    """
    differ = sum(a != b for a, b in zip(digest, named, strict=True))
    return differ <= _NEAR_DIGEST


def write_all(fd: int, parts: Parts) -> None:
    """Writes every part to ``fd`` (with as few ``writev`` calls as possible)."""
    written = 0
    if len(parts) <= _IOV_MAX:
        # The common case, one writev that writes it all (a durable run
        # appends a few small records per call): no views made.
        written = os.writev(fd, parts)
        if written == sum(map(len, parts)):
            return
    pending = [memoryview(p) for p in parts if len(p)]
    first = 0
    while True:
        while written:  # drop what was written
            size = len(pending[first])
            if written >= size:
                written -= size
                first += 1
            else:
                pending[first] = pending[first][written:]
                written = 0
        if first >= len(pending):
            return
        written = os.writev(fd, pending[first : first + _IOV_MAX])


def write_new(path: str, parts: Parts, fsync: bool) -> None:
    """Writes ``parts`` to a file that must not exist yet (flushed if ``fsync``)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        write_all(fd, parts)
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)


def write_file(path: str, parts: Parts, temp: str, fsync: bool) -> None:
    """Writes ``parts`` to ``temp``, then renames it to ``path``.

    A reader sees the whole file or none. With ``fsync`` the file and its
    directory are flushed first, so it also survives power loss.

    Raises:
        OSError: the temporary file is removed first.
    """
    try:
        write_new(temp, parts, fsync)
        os.replace(temp, path)
    except OSError:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    if fsync:
        fsync_dir(os.path.dirname(path))


def write_into(path: str, parts: Parts, temp: str, fsync: bool) -> None:
    """:func:`write_file` through ``temp``, an empty file that exists already
    (made ahead: :mod:`enact.backends.files.temp_pool`).

    Raises:
        OSError: ``temp`` is removed first (FileNotFoundError if ``temp``
            was missing, or the directory of ``path`` is).
    """
    try:
        # Not O_TRUNC: on ext4, truncating a file makes its close wait to
        # allocate the written blocks (25 µs). It is empty; should it not be,
        # the surplus is cut off after the write.
        fd = os.open(temp, os.O_WRONLY)
        try:
            write_all(fd, parts)
            written = sum(map(len, parts))
            if os.fstat(fd).st_size != written:
                os.ftruncate(fd, written)
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    if fsync:
        fsync_dir(os.path.dirname(path))


def fsync_dir(path: str) -> None:
    """Flushes a directory's entries (new, renamed and removed names) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
