"""The on-disk formats of a file store: pack files, logs, atomic writes.

Shared by the object store (:mod:`enact.backends.files`), its garbage
collector (:mod:`enact.backends.file_gc`) and its run index
(:mod:`enact.backends.file_index`), so each format is parsed in one place.

A pack is::

    b"ENACTPK1" | object bytes ... | index | footer
    index:  per object: 32-byte digest, 8-byte offset, 8-byte length
    footer: 8-byte index offset, 8-byte object count, b"ENACTEND"

A log is ``b"ENACTLG1"`` followed by records: a 32-byte digest, an 8-byte
length, then the object's bytes. A record cut short (its writer was killed
mid-append) is not an object.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence
from typing import BinaryIO

from enact.backends.base import BackendError, Parts

__all__ = [
    "ENTRY",
    "FOOTER",
    "LOG_MAGIC",
    "LOG_RECORD",
    "MAGIC",
    "Entry",
    "fsync_dir",
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
LOG_MAGIC = b"ENACTLG1"
LOG_RECORD = struct.Struct(">32sQ")
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


def read_pack_index(file: BinaryIO, path: str, location: str) -> list[Entry]:
    """Reads a pack's index from its open ``file``.

    Raises:
        BackendError: naming ``path`` if the pack is damaged or unreadable
            (``FileNotFoundError`` passes through: the caller decides whether
            a vanished pack matters).
    """
    try:
        size = file.seek(0, os.SEEK_END)
        if size < len(MAGIC) + FOOTER.size:
            raise ValueError("too short")
        file.seek(size - FOOTER.size)
        index_at, count, end = FOOTER.unpack(file.read(FOOTER.size))
        if end != END or index_at + count * ENTRY.size != size - FOOTER.size:
            raise ValueError("bad footer")
        file.seek(index_at)
        index = file.read(count * ENTRY.size)
    except FileNotFoundError:
        raise
    except OSError as error:
        message = f"cannot read pack file {path}: {error}"
        raise BackendError(message, location) from None
    except (ValueError, struct.error) as error:
        raise BackendError(
            f"pack file {path} is damaged ({error}); store.verify() lists damage",
            location,
        ) from None
    entries = [
        (raw.hex(), offset, length) for raw, offset, length in ENTRY.iter_unpack(index)
    ]
    for _, offset, length in entries:
        if offset + length > index_at:
            raise BackendError(f"pack file {path} has a bad index entry", location)
    return entries


def parse_log(
    data: bytes, start: int, path: str, location: str
) -> tuple[list[Entry], int]:
    """Parses the records of a log read from offset ``start`` into ``data``.

    Returns:
        The complete records' entries (offsets within the file) and the
        offset just after the last complete record.

    Raises:
        BackendError: naming ``path`` if the log's header is wrong.
    """
    position = 0
    if start == 0:
        if len(data) < len(LOG_MAGIC):
            return [], 0  # being created
        if data[: len(LOG_MAGIC)] != LOG_MAGIC:
            raise BackendError(
                f"log file {path} is damaged (bad header); store.verify() lists damage",
                location,
            )
        position = len(LOG_MAGIC)
    record = LOG_RECORD.size
    entries: list[Entry] = []
    while position + record <= len(data):
        raw, length = LOG_RECORD.unpack_from(data, position)
        end = position + record + length
        if end > len(data):
            break  # the last record is still being written, or was cut
        entries.append((raw.hex(), start + position + record, length))
        position = end
    return entries, start + position


def write_all(fd: int, parts: Parts) -> None:
    """Writes every part to ``fd`` (with as few ``writev`` calls as possible)."""
    pending = [memoryview(p) for p in parts if len(p)]
    first = 0
    while first < len(pending):
        written = os.writev(fd, pending[first : first + _IOV_MAX])
        while written:
            size = len(pending[first])
            if written >= size:
                written -= size
                first += 1
            else:
                pending[first] = pending[first][written:]
                written = 0


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


def fsync_dir(path: str) -> None:
    """Flushes a directory's entries (new, renamed and removed names) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
