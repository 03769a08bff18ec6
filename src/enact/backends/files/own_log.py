"""A file store backend's own log: small objects appended a few at a time.

Each backend object appends its small writes (a single commit, the few new
objects a durable run flushes after each call) to one log of its own in
``logs/``, named by process and a random id, one ``writev`` per batch of
records (:func:`~enact.backends.files.format.log_record_header`). It
remembers where each record is (its *places*) and saves them beside the log
when it closes it, so the next reader of a large log need not parse it.

A log belongs to the process that opened it: a forked child that inherits
it never appends to it (the parent's offsets would no longer match its
file) nor saves its places, and opens its own instead. A write that fails
part way (a full disk) ends the log: the bytes after its last whole record
are cut off where possible, and the next write opens a new one.

Not thread-safe: the backend calls it under its lock.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Sequence

from enact.backends import forks
from enact.backends.base import BackendError, Parts
from enact.backends.files import places
from enact.backends.files.format import (
    LOG_MAGIC,
    RECORD_HEADER,
    fsync_dir,
    log_record_header,
    write_all,
)

__all__ = ["OwnLog"]


class OwnLog:
    """The log a backend object appends to (opened on the first append).

    Args:
        directory: The store's ``logs/`` directory.
        fsync: Flush every append (and a new log's directory) to disk.
        location: The store, for messages.
        temp_path: A new path in the store's ``tmp/`` (places are written
            through it).
    """

    def __init__(
        self, directory: str, fsync: bool, location: str, temp_path: Callable[[], str]
    ) -> None:
        self._directory = directory
        self._fsync = fsync
        self._location = location
        self._temp_path = temp_path
        # The open log: its path and descriptor.
        self._log: tuple[str, int] | None = None
        self._end = 0  # where its last whole record ends
        # Its records' places, saved when closed.
        self._places: places.Places | None = None
        forks.on_fork(self)

    def _after_fork(self) -> None:
        # The log is the parent's: the child lets go of its copy of the
        # descriptor (saving no places) and opens a log of its own.
        if self._log is not None:
            with contextlib.suppress(OSError):
                os.close(self._log[1])
        self._log, self._places = None, None

    def append(
        self, raw_keys: Sequence[bytes], items: Sequence[tuple[str, Parts]]
    ) -> tuple[str, list[tuple[str, int, int]], int]:
        """Appends one record per item, in one write.

        Returns:
            The log's path, each item's (key, offset, length) in it, and
            where the log ends now.

        Raises:
            BackendError: naming the log, if it cannot be created or written
                (the log is then ended; nothing of this write counts).
        """
        chunks: list[bytes] = []
        sizes = [sum(map(len, parts)) for _, parts in items]
        for raw_key, (_, parts), size in zip(raw_keys, items, sizes, strict=True):
            chunks += [log_record_header(raw_key, size), *parts]
        if self._log is None:
            self._open()
        assert self._log is not None
        path, fd = self._log
        try:
            # One writev, appended: other readers see whole records or
            # (while it is being written) an incomplete last one.
            write_all(fd, chunks)
            if self._fsync:
                os.fsync(fd)
        except OSError as error:
            self._abandon()
            raise BackendError(
                f"cannot append to {path}: {error}", self._location
            ) from None
        position = self._end
        entries = []
        saved = self._places
        for raw_key, (key, _), size in zip(raw_keys, items, sizes, strict=True):
            position += RECORD_HEADER
            entries.append((key, position, size))
            if saved is not None:
                saved.add(raw_key, position, size)
            position += size
        self._end = position
        return path, entries, position

    def is_young(self, fresh_after: float) -> bool:
        """Whether the open log was appended to at or after ``fresh_after``
        (and is not removed); False if none is open."""
        if self._log is None:
            return False
        try:
            status = os.fstat(self._log[1])
        except OSError:
            return False
        return status.st_nlink > 0 and status.st_mtime >= fresh_after

    def close(self) -> None:
        """Closes the log, saving its places."""
        if self._log is not None:
            with contextlib.suppress(OSError):
                os.close(self._log[1])
            self.save_places()
            self._log, self._places = None, None

    def save_places(self) -> None:
        """Saves the open log's places."""
        log, saved = self._log, self._places
        if log is not None and saved is not None:
            places.save_places(log[0], saved, self._end, self._temp_path())

    def _abandon(self) -> None:
        """Ends a log whose last write failed part way: offsets counted past
        the failed bytes would be wrong. Its records before it stay (their
        places saved); the bytes after are cut off where possible (a reader
        takes an uncut rest for a record being written)."""
        if self._log is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._log[1], self._end)
        self.close()

    def _open(self) -> None:
        path = os.path.join(self._directory, f"{os.getpid()}-{uuid.uuid4().hex}.log")
        fd = -1
        try:
            fd = os.open(
                path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644
            )
            write_all(fd, [LOG_MAGIC])
            if self._fsync:
                os.fsync(fd)
                fsync_dir(self._directory)
        except OSError as error:
            if fd >= 0:
                os.close(fd)
            raise BackendError(
                f"cannot create {path}: {error}", self._location
            ) from None
        self._log = (path, fd)
        self._end = len(LOG_MAGIC)
        self._places = places.Places()
