"""Run journals of a SQLite store: durable runs' calls, one ``write`` each.

A SQLite transaction costs tens of microseconds even without ``fsync`` (the
write-ahead log takes whole pages), several times what a journaled call
costs. So a durable run on a SQLite store makes each finished call durable by
appending the call's new objects and its step lines to a journal file of its
own, and folds the journal into the database in one transaction every few
thousand calls and when the run ends
(:class:`~enact.backends.sqlite.SQLiteObjects` does the folding).

The files live in ``<database>.journal/``, one per run and writer::

    <20-digit creation time in ns>.<8 hex digits>.<run id>.log

so names sort in creation order. A file is ``b"ENACTJL1"`` followed by
records, the format of the file store's step logs with objects among the
lines::

    object: b"\\x00" | 32-byte digest | 8-byte length | bytes
    line:   a step line (never starting with b"\\x00") | b"\\n"

A call appends its new objects and then its lines with one ``write``: if that
write is cut short, its last line is, and the call was not yet durable. A
record cut short ends the file (its writer died; no one appends after it).

Its writer holds an exclusive ``flock`` on it while it lives (it takes the
lock before the file gets its name), so a file whose lock can be taken
belongs to a process that died: any process may fold it.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from enact.backends.base import BackendError
from enact.backends.files.format import fsync_dir, write_all
from enact.backends.index import check_run_id

__all__ = [
    "MAGIC",
    "JournalFile",
    "JournalReader",
    "JournalWriter",
    "claim_dead",
    "journal_files",
    "parse_records",
    "records",
    "run_of",
]

MAGIC = b"ENACTJL1"
_OBJECT = struct.Struct(">c32sQ")
_OBJECT_MARK = b"\x00"
_PREFIX = len("00000000000000000000.00000000.")
_SUFFIX = ".log"


def run_of(name: str) -> str | None:
    """The run id in a journal file's name, or None if it is no journal file."""
    if not name.endswith(_SUFFIX) or len(name) <= _PREFIX + len(_SUFFIX):
        return None
    head, run_id = name[:_PREFIX], name[_PREFIX : -len(_SUFFIX)]
    if not (head[:20].isdigit() and head[20] == "." and head[29] == "."):
        return None
    try:
        return check_run_id(run_id, "")
    except BackendError:
        return None


def journal_files(directory: str, run_id: str | None = None) -> list[str]:
    """The journal files in ``directory`` (of one run, if given), oldest first."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    if run_id is not None:
        # A name ends with "." and the run id: only those are parsed (a
        # directory holds a file for every run being written, and this is
        # looked up each time a run starts writing).
        ending = f".{run_id}{_SUFFIX}"
        found = [
            name for name in names if name.endswith(ending) and run_of(name) == run_id
        ]
    else:
        found = [name for name in names if run_of(name) is not None]
    return [os.path.join(directory, name) for name in sorted(found)]


@dataclass
class JournalFile:
    """What the complete records of a journal file hold."""

    objects: dict[str, bytes] = field(default_factory=dict)
    lines: list[bytes] = field(default_factory=list)
    #: Where the complete records end (a reader goes on from there).
    end: int = 0
    #: A file with a wrong header is not read.
    damaged: bool = False


def parse_records(data: bytes, start: int, into: JournalFile) -> None:
    """Adds the complete records of ``data`` (read from offset ``start``)."""
    position = 0
    if start == 0:
        if len(data) < len(MAGIC):
            return  # being created
        if data[: len(MAGIC)] != MAGIC:
            into.damaged = True
            return
        position = len(MAGIC)
    size = len(data)
    if data.find(b"\x00", position) < 0:
        # Lines only (the usual journal): one split, no copy of the data.
        lines = (data[position:] if position else data).split(b"\n")
        tail = lines.pop()  # empty, or a line still being written
        into.lines.extend(lines)
        into.end = start + len(data) - len(tail)
        return
    header = _OBJECT.size
    objects, lines = into.objects, into.lines
    while position < size:
        if data[position] == 0:
            if position + header > size:
                break  # still being written, or cut short by its writer's death
            _, raw, length = _OBJECT.unpack_from(data, position)
            end = position + header + length
            if end > size:
                break
            objects[raw.hex()] = data[position + header : end]
            position = end
        else:
            end = data.find(b"\n", position)
            if end < 0:
                break
            lines.append(data[position:end])
            position = end + 1
    into.end = start + position


def records(items: Sequence[tuple[str, bytes]], data: bytes) -> bytes:
    """The bytes that append ``items`` and then ``data`` (whole lines)."""
    if not items:
        return data  # the usual call: no new objects
    parts: list[bytes] = []
    for key, blob in items:
        parts.append(_OBJECT.pack(_OBJECT_MARK, bytes.fromhex(key), len(blob)))
        parts.append(blob)
    parts.append(data)
    return b"".join(parts)


class JournalWriter:
    """This process's journal file for one run.

    :meth:`append` takes no lock: each call is one ``O_APPEND`` write of
    whole records, which the kernel never interleaves with another's.
    :meth:`read_unfolded` reads back what is not folded yet. Only
    :meth:`open` and :meth:`close` need the caller's lock, and :meth:`close`
    must not race an append (a run settles when its calls have ended).

    Args:
        directory: The journal directory.
        run_id: The run.
        fsync: Flush every call to disk (survives power loss).
        location: The store, for messages.
    """

    def __init__(self, directory: str, run_id: str, fsync: bool, location: str):
        self.directory = directory
        self.run_id = run_id
        self.fsync = fsync
        self.location = location
        self.path = ""
        #: The open file's descriptor, or -1.
        self.fd = -1
        #: The objects appended to the open file and not folded yet (this
        #: process reads them from here).
        self.objects: dict[str, bytes] = {}
        #: Bytes in the file (it may lag behind while threads append).
        self.size = 0
        #: Where the part of the file already folded ends.
        self.folded = 0
        #: Whether a file was left unfolded after a failed write.
        self.left_files = False

    def append(self, items: Sequence[tuple[str, bytes]], data: bytes) -> None:
        """Makes ``items`` and ``data`` (whole lines) durable with one write.

        Raises:
            BackendError: naming the file if it cannot be written; the call
                then counts as not written.
        """
        record = records(items, data) if items else data
        fd = self.fd
        try:
            count = os.write(fd, record)
            if count < len(record):
                write_all(fd, [record[count:]])
            if self.fsync:
                os.fsync(fd)
        except OSError as error:
            # A record may be cut short in the middle of the file: nothing
            # may follow it, so this file is finished.
            path = self.path
            self.close(unlink=False)
            raise BackendError(
                f"cannot write journal file {path}: {error}", self.location
            ) from None
        if items:
            self.objects.update(items)
        self.size += len(record)

    def read_unfolded(self) -> JournalFile:
        """The complete records after the folded part (``end`` is where they
        end)."""
        journal = JournalFile()
        try:
            size = os.fstat(self.fd).st_size
            data = os.pread(self.fd, size - self.folded, self.folded)
        except OSError as error:
            raise BackendError(
                f"cannot read journal file {self.path}: {error}", self.location
            ) from None
        parse_records(data, self.folded, journal)
        return journal

    def open(self) -> None:
        """Creates the file (locked before it has its name: no other process
        can take a fresh file for the file of a dead writer)."""
        name = f"{time.time_ns():020d}.{secrets.token_hex(4)}.{self.run_id}{_SUFFIX}"
        path = os.path.join(self.directory, name)
        temp = path + ".tmp"
        try:
            os.makedirs(self.directory, exist_ok=True)
            fd = os.open(temp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        except OSError as error:
            raise BackendError(
                f"cannot create journal file {temp}: {error}", self.location
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            write_all(fd, [MAGIC])
            if self.fsync:
                os.fsync(fd)
            os.rename(temp, path)
            if self.fsync:
                fsync_dir(self.directory)
        except OSError as error:
            os.close(fd)
            try:
                os.unlink(temp)
            except OSError:
                pass
            raise BackendError(
                f"cannot create journal file {path}: {error}", self.location
            ) from None
        self.path = path
        self.size = self.folded = len(MAGIC)
        self.fd = fd

    def close(self, unlink: bool) -> None:
        """Closes the file (removing it first if ``unlink``): its lock goes
        too. The next append needs :meth:`open` first."""
        fd = self.fd
        if fd < 0:
            return
        self.fd = -1
        try:
            if unlink:
                os.unlink(self.path)
        finally:
            os.close(fd)
            if not unlink:
                self.left_files = True
            self.objects = {}
            self.size = self.folded = 0


def claim_dead(path: str) -> int | None:
    """Locks the journal file of a dead writer; returns its descriptor.

    None if its writer lives (it holds the lock) or the file is gone (another
    process folded it).
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if os.fstat(fd).st_nlink == 0:  # folded and removed while we waited
            os.close(fd)
            return None
    except OSError:
        os.close(fd)
        return None
    return fd


class JournalReader:
    """Reads journal files, remembering how far it got in each.

    Files only grow until they are removed, so a file read before is read
    again from where its complete records ended.
    """

    def __init__(self, location: str) -> None:
        self.location = location
        self._files: dict[str, JournalFile] = {}

    def read(self, path: str) -> JournalFile | None:
        """What the file holds so far; None if it is gone."""
        known = self._files.get(path)
        if known is None:
            known = JournalFile()
        if known.damaged:
            return known
        try:
            with open(path, "rb") as file:
                file.seek(known.end)
                data = file.read()
        except FileNotFoundError:
            self._files.pop(path, None)
            return None
        except OSError as error:
            raise BackendError(
                f"cannot read journal file {path}: {error}", self.location
            ) from None
        if data:
            parse_records(data, known.end, known)
        self._files[path] = known
        return known

    def read_all(self, paths: Sequence[str]) -> list[JournalFile]:
        """The files that still exist, in order; forgets files no longer listed."""
        listed = set(paths)
        for gone in [path for path in self._files if path not in listed]:
            del self._files[gone]
        return [found for path in paths if (found := self.read(path)) is not None]
