"""Run queries of a file store, answered from a sidecar table of columns.

Two files beside the run records::

    runs.changes     the id of every run record written or deleted, one per
                     line, appended (under the index lock) before the record
                     itself is written
    query.sqlite3    the columns of every record (:mod:`enact.backends.
                     column_cache`), and how far into runs.changes they are

Both only speed queries up: removing them loses nothing (the next query
scans the records and writes the sidecar again). A sidecar that does not
open as a database is removed and rebuilt; a changes log that was replaced
or cut (its inode or size tells) makes the sidecar rebuild from a scan.

A mark is ``<inode>:<offset>`` in runs.changes. It is read under the index
lock, which writers hold from their append to their record's rename, so
every change before a mark has its record in place: reading the records
after the lock is released can only see newer ones, whose changes come
after the mark.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TypeVar

from enact.backends import forks
from enact.backends.base import BackendError
from enact.backends.column_cache import ChangeFeed, ColumnCache
from enact.backends.index import (
    Columns,
    ColumnSchema,
    RunCount,
    RunPage,
    RunQuery,
    check_run_id,
    schema_of,
)

__all__ = ["CHANGES", "SIDECAR", "Sidecar"]

_T = TypeVar("_T")

CHANGES = "runs.changes"
SIDECAR = "query.sqlite3"


class Sidecar:
    """The query sidecar of one file index.

    Args:
        root: The store directory.
        locked: The index lock (a context manager factory).
        scan: Every readable run record.
        get_run: One run record, or None.
    """

    def __init__(
        self,
        root: str,
        locked: Callable[[], contextlib.AbstractContextManager[None]],
        scan: Callable[[], Iterable[tuple[str, bytes]]],
        get_run: Callable[[str], bytes | None],
    ) -> None:
        self._root = root
        self._changes = os.path.join(root, CHANGES)
        self._path = os.path.join(root, SIDECAR)
        self._locked = locked
        self._scan = scan
        self._get_run = get_run
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._feed = ChangeFeed(self._mark, self._since, scan, self._read)
        forks.on_fork(self)

    def _after_fork(self) -> None:
        # A forked child opens the sidecar again (the parent's connection
        # is never used, nor closed, there).
        if self._db is not None:
            forks.keep(self._db)
            self._db = None

    # -- the change feed -----------------------------------------------------

    def mark(self) -> str:
        """The end of runs.changes now (see :meth:`Index.run_changes_mark`)."""
        return self._mark()

    def _mark(self) -> str:
        with self._locked():
            try:
                stat = os.stat(self._changes)
            except FileNotFoundError:
                return "0:0"
            # Appends are whole lines, under the lock held here: the end is
            # at a line's end.
            return f"{stat.st_ino}:{stat.st_size}"

    def _since(self, mark: str) -> tuple[str, list[str]] | None:
        inode_text, _, offset_text = mark.partition(":")
        if not (inode_text.isdigit() and offset_text.isdigit()):
            return None
        inode, offset = int(inode_text), int(offset_text)
        with self._locked():
            try:
                with open(self._changes, "rb") as log:
                    stat = os.fstat(log.fileno())
                    if inode == 0:
                        offset = 0  # the log was made after the mark
                    elif stat.st_ino != inode or stat.st_size < offset:
                        return None  # replaced or cut: rebuild
                    log.seek(offset)
                    data = log.read()
            except FileNotFoundError:
                return (mark, []) if inode == 0 else None
        end = data.rfind(b"\n") + 1
        ids = []
        for line in data[:end].splitlines():
            try:
                ids.append(check_run_id(line.decode("ascii"), self._root))
            except (UnicodeDecodeError, BackendError):
                return None  # a damaged log: rebuild from the records
        return f"{stat.st_ino}:{offset + end}", ids

    def _read(self, ids: Sequence[str]) -> Mapping[str, bytes | None]:
        found: dict[str, bytes | None] = {}
        for run_id in ids:
            try:
                found[run_id] = self._get_run(run_id)
            except BackendError:
                found[run_id] = None  # unreadable: the scan leaves it out too
        return found

    # -- the sidecar database ------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        if self._db is None:
            # One connection for every thread of the process, used only
            # under self._lock.
            db = sqlite3.connect(
                self._path,
                isolation_level=None,
                timeout=30.0,
                check_same_thread=False,
            )
            try:
                # WAL: queries read while another process catches up, and a
                # catch-up commits without a sync (a lost one is redone from
                # the changes log: the mark is in the same transaction).
                db.execute("PRAGMA journal_mode = WAL")
                db.execute("PRAGMA synchronous = NORMAL")
                # The table of 100,000 runs is some 20 MB: read it mapped
                # rather than through SQLite's small default page cache.
                db.execute("PRAGMA mmap_size = 268435456")
                db.execute("PRAGMA cache_size = -32768")
            except sqlite3.Error:
                db.close()
                raise
            self._db = db
        return self._db

    def _discard(self) -> None:
        """Closes and removes a sidecar that does not read as a database."""
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path + suffix)

    @contextlib.contextmanager
    def _transaction(self, write: bool) -> Iterator[sqlite3.Connection]:
        db = self._open()
        db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield db
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def query(self, query: RunQuery, columns: Columns) -> RunPage | None:
        """The page from the sidecar, or None where the scan must answer
        (no declared schema, an untranslatable query, a sidecar that cannot
        be written).

        Raises:
            ValueError: for a bad cursor or a negative limit.
        """
        return self._ask(columns, lambda cache, s: cache.query(query, columns, s))

    def count(self, query: RunQuery, columns: Columns) -> RunCount | None:
        """The count from the sidecar (see :meth:`ColumnCache.count`), or
        None where the records must be read."""
        return self._ask(columns, lambda cache, schema: cache.count(query, schema))

    def _ask(
        self, columns: Columns, ask: Callable[[ColumnCache, ColumnSchema], _T | None]
    ) -> _T | None:
        schema = schema_of(columns)
        if schema is None:
            return None
        with self._lock:
            for attempt in range(2):
                try:
                    return self._answer(columns, schema, ask)
                except (sqlite3.OperationalError, sqlite3.ProgrammingError):
                    # Busy past the timeout, or unusable here: no damage, so
                    # the sidecar stays and the scan answers this once.
                    return None
                except sqlite3.DatabaseError:
                    # Damaged (or not a database): rebuilt once; a
                    # directory that cannot be written leaves it to the scan.
                    try:
                        self._discard()
                    except OSError:
                        return None
                    if attempt:
                        return None
                except OSError:
                    return None
        return None

    def _answer(
        self,
        columns: Columns,
        schema: ColumnSchema,
        ask: Callable[[ColumnCache, ColumnSchema], _T | None],
    ) -> _T | None:
        # Most queries find nothing new: a read, beside other readers.
        with self._transaction(write=False) as db:
            cache = ColumnCache(db, self._feed)
            if cache.is_current(schema):
                return ask(cache, schema)
        with self._transaction(write=True) as db:
            cache = ColumnCache(db, self._feed)
            rebuilt = cache.catch_up(columns, schema)
            answer = ask(cache, schema)
        if rebuilt:
            # Reads through a WAL still holding a whole rebuild cost twice
            # as much: fold it into the database now.
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return answer

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._db.close()
                self._db = None
