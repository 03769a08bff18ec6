"""Objects in one SQLite database file (standard-library ``sqlite3``, WAL).

Several processes may share the file: SQLite serializes writers, and WAL lets
readers proceed while one writes. The run index
(:mod:`enact.backends.sqlite.index`) lives in the same file.

Each object row carries ``written``, the time (:func:`sessions.clock`) it was
last written, for garbage collection (:mod:`enact.backends.gc`); a row stored
before this backend's session started is re-stamped, not skipped, when it is
committed again. Databases created before the column existed get it on
opening; their rows (``NULL``) count as old. Sessions are files in the
directory ``<database>.sessions`` beside the database.

A durable run's finished calls go to run journals first
(:mod:`enact.backends.sqlite.journals`), folded into the tables later: until
then :meth:`SQLiteObjects.get_many` looks in the journals for what the table
lacks. The schema and its versions are in
:mod:`enact.backends.sqlite.migrations`; objects are rows of
``object_rows``, keyed by the digest's 32 bytes
(:mod:`enact.backends.sqlite.keyed`).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import (
    Callable,
    Collection,
    Iterable,
    Iterator,
    Sequence,
)
from typing import TypeVar

from enact.backends import forks, sessions
from enact.backends import gc as garbage
from enact.backends.backend import Backend
from enact.backends.base import (
    BackendError,
    FileDamage,
    Parts,
    check_key,
)
from enact.backends.migrations import StoreVersionError
from enact.backends.sqlite import keyed
from enact.backends.sqlite.index import SQLiteIndex, transaction
from enact.backends.sqlite.journals import SQLiteJournals
from enact.backends.sqlite.keyed import UPSERT, key_of_cell, row_key
from enact.backends.sqlite.migrations import CHUNK, READ_ERRORS, migrate

__all__ = ["SQLiteObjects"]

# Rows a collection deletes per transaction: fewer commits, but not so many
# that writers wait long.
_ROWS_PER_TRANSACTION = 4000
# The smallest SQLite database file: one page of the smallest page size.
_MIN_DATABASE = 512

# The page cache of a connection, in KiB (the most it grows to).
_CACHE_KIB = 32 * 1024

T = TypeVar("T")


class SQLiteObjects(Backend):
    """Objects in a SQLite database.

    Args:
        path: The database file; created (with its directory) if missing.
        fsync: Use ``synchronous=FULL`` so committed objects survive power
            loss. The default, ``NORMAL``, survives the death of the process.
        timeout: Seconds to wait for another process's write lock.
    """

    def __init__(
        self, path: str | os.PathLike[str], fsync: bool = False, timeout: float = 60.0
    ) -> None:
        self.path = os.path.abspath(os.fspath(path))
        self.location = self.path
        directory = os.path.dirname(self.path)
        os.makedirs(directory, exist_ok=True)
        # Reentrant: an index update runs the caller's function in a
        # transaction, and that function may read or write objects.
        self._lock = threading.RLock()
        self._sessions_dir = self.path + ".sessions"
        self._fresh_after = 0.0
        _refuse_emptied(self.path, self._sessions_dir)
        # Registered on the first write; ends when the last use ends.
        self._sessions = sessions.Keeper(
            self._sessions_dir, self.location, self._session_renewed
        )
        self._timeout = timeout
        self._db: sqlite3.Connection | None = None
        # Set in a forked child: the connection is opened again there.
        self._forked = False
        try:
            self._db = self._open(fsync)
            migrate(self._db, self.location)
        except READ_ERRORS as error:
            raise BackendError(
                f"cannot open SQLite store {self.path}: {error}", self.location
            ) from None
        except StoreVersionError:
            if self._db is not None:
                self._db.close()
            raise
        self.fsync = fsync
        self._runs_journals = SQLiteJournals(
            self.path,
            connection=self._connection,
            lock=self._lock,
            keeper=self._sessions,
            put_many=self.put_many,
            # Looked up on each call (tests replace it on the class).
            select=lambda keys: self._select(keys),
            fresh_after=lambda: self._fresh_after,
            read_steps=lambda run_id: self._index.read_steps(run_id),
            fsync=fsync,
        )
        self._index = SQLiteIndex(
            self._connection,
            self._lock,
            self.location,
            self._sessions.ensure,
            journal_lines=self._runs_journals._journal_lines,
            drop_journal=self._runs_journals._drop_journal,
        )
        forks.on_fork(self)

    def _open(self, fsync: bool) -> sqlite3.Connection:
        db = sqlite3.connect(
            self.path,
            timeout=self._timeout,
            isolation_level=None,
            check_same_thread=False,
        )
        # Only a new, empty database takes it; others keep theirs. Read
        # here, not imported: setting the module's knob takes effect.
        db.execute(f"PRAGMA page_size={int(keyed.PAGE_SIZE)}")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={'FULL' if fsync else 'NORMAL'}")
        # Pages kept in memory, filled as read (SQLite's default keeps 2 MiB):
        # the digest index of 400,000 objects is about 20 MiB, and a read of
        # many objects in digest order touches all of it, each page again.
        db.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
        return db

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            if self._forked:
                self._forked = False
                try:
                    self._db = self._open(self.fsync)
                except READ_ERRORS as error:
                    raise BackendError(
                        f"cannot open SQLite store {self.path}: {error}", self.location
                    ) from None
                return self._db
            raise BackendError(f"SQLite store {self.path} is closed", self.location)
        return self._db

    def _after_fork(self) -> None:
        # The parent's connection is never used (nor closed) here.
        if self._db is not None:
            forks.keep(self._db)
            self._db = None
            self._forked = True

    def _session_renewed(self, registered: float) -> None:
        # Rows written before the new session are re-stamped when committed.
        self._fresh_after = registered

    def begin_use(self) -> None:
        self._sessions.begin_use()

    def keep_session(self) -> None:
        if time.monotonic() >= self._sessions.next_beat:
            self._sessions.ensure()

    def end_use(self) -> bool:
        return self._sessions.end_use()

    def index(self) -> SQLiteIndex:
        return self._index

    def journals(self) -> SQLiteJournals:
        return self._runs_journals

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        found = self._select(keys)
        if len(found) < len(keys):
            found.update(
                self._runs_journals._from_journals(
                    [key for key in keys if key not in found]
                )
            )
        return [_as_bytes(found.get(key)) for key in keys]

    def _select(self, keys: Sequence[str]) -> dict[str, bytes]:
        """The table's rows of ``keys``."""
        found: dict[str, bytes] = {}
        with self._lock:
            db = self._connection()
            try:
                for start in range(0, len(keys), CHUNK):
                    chunk = [_cell(key) for key in keys[start : start + CHUNK]]
                    marks = ",".join("?" * len(chunk))
                    rows = db.execute(
                        "SELECT digest, data FROM object_rows "
                        f"WHERE digest IN ({marks})",
                        chunk,
                    )
                    found.update((bytes(raw).hex(), data) for raw, data in rows)
            except READ_ERRORS as error:
                raise BackendError(
                    f"cannot read {self.path}: {error}", self.location
                ) from None
        return found

    def put_many(self, items: Sequence[tuple[str, Parts]]) -> None:
        if not items:
            return
        if time.monotonic() >= self._sessions.next_beat:  # no session, or a beat due
            self._sessions.ensure()
        now, fresh_after = sessions.clock(), self._fresh_after
        rows = [
            (row_key(check_key(key, self.location)), b"".join(parts), now, fresh_after)
            for key, parts in items
        ]
        with self._lock:
            db = self._connection()
            try:
                with transaction(db):
                    db.executemany(UPSERT, rows)
            except READ_ERRORS as error:
                raise BackendError(
                    f"cannot write {self.path}: {error}", self.location
                ) from None

    @contextlib.contextmanager
    def atomically(self) -> Iterator[None]:
        """One transaction for every write of the block (see Backend)."""
        self._sessions.ensure()
        with self._lock:
            db = self._connection()
            try:
                with transaction(db):
                    yield
            except READ_ERRORS as error:
                raise BackendError(
                    f"cannot write {self.path}: {error}", self.location
                ) from None

    def has_many(self, keys: Sequence[str]) -> list[bool]:
        found: set[str] = set()
        with self._lock:
            db = self._connection()
            try:
                for start in range(0, len(keys), CHUNK):
                    chunk = [_cell(key) for key in keys[start : start + CHUNK]]
                    marks = ",".join("?" * len(chunk))
                    rows = db.execute(
                        f"SELECT digest FROM object_rows WHERE digest IN ({marks})",
                        chunk,
                    )
                    found.update(bytes(row[0]).hex() for row in rows)
            except READ_ERRORS as error:
                raise BackendError(
                    f"cannot read {self.path}: {error}", self.location
                ) from None
        if len(found) < len(keys):
            missing = [key for key in keys if key not in found]
            found.update(self._runs_journals._from_journals(missing))
        return [key in found for key in keys]

    def iter_keys(self) -> Iterator[str]:
        # Journals before the table: one folded in between is then in both.
        journaled = {
            key
            for journal in self._runs_journals._journals()
            for key in journal.objects
        }
        # Rows whose key is no 32-byte blob are left out (scan_damage names
        # them): no read could ask for them. Only their type is read: a
        # damaged text key (not UTF-8) must not fail the listing.
        with self._lock:
            rows = _guard(
                self,
                lambda db: db.execute(
                    "SELECT CASE WHEN typeof(digest) = 'blob' THEN digest END "
                    "FROM object_rows"
                ).fetchall(),
            )
        for (raw,) in rows:
            key = key_of_cell(raw)
            if key is None:
                continue
            journaled.discard(key)
            yield key
        yield from journaled

    def scan_damage(self) -> list[FileDamage]:
        """Damage a read by key cannot see: what SQLite's own check of the
        database file finds (``PRAGMA quick_check``), rows whose digest is
        no valid key, and journal files whose header is damaged.

        Returns:
            One finding each (the database file or the journal, no object
            key: which objects a damaged page held is unknown); nothing is
            repaired.
        """
        found: list[FileDamage] = []
        try:
            with self._lock:
                checked = self._connection().execute("PRAGMA quick_check").fetchall()
        except READ_ERRORS as error:
            return [FileDamage(f"cannot check {self.path}: {error}", self.path)]
        found.extend(
            FileDamage(f"{self.path}: {message}", self.path)
            for (message,) in checked
            if message != "ok"
        )
        try:
            with self._lock:
                rows = (
                    self._connection()
                    .execute(
                        "SELECT rowid, CAST(digest AS BLOB) FROM object_rows "
                        "WHERE typeof(digest) != 'blob' OR length(digest) != 32"
                    )
                    .fetchall()
                )
        except READ_ERRORS as error:
            problem = f"cannot list the objects of {self.path}: {error}"
            return [*found, FileDamage(problem, self.path)]
        found.extend(
            FileDamage(
                f"row {rowid} of the objects of {self.path} has a damaged "
                f"digest {bytes(raw)[:80]!r}",
                self.path,
            )
            for rowid, raw in rows
        )
        return found

    def gc(
        self, dry_run: bool = False, progress: garbage.Progress | None = None
    ) -> garbage.GCReport:
        started = time.monotonic()
        try:
            os.makedirs(self._sessions_dir, exist_ok=True)
        except OSError as error:
            raise BackendError(
                f"cannot create {self._sessions_dir}: {error}", self.location
            ) from None
        lock = os.path.join(self._sessions_dir, "gc.lock")
        with sessions.exclusive(lock, self.location):
            if not dry_run:
                self._runs_journals._fold_dead(None)
                self._runs_journals._forget_folds(sweep=True)
            now = sessions.clock()
            # This backend's session does not hold the cutoff back: from now
            # on, only its copies written from now on count as stored.
            self._fresh_after = now
            others = sessions.live_sessions(self._sessions_dir, self._sessions.names())
            cutoff = min([now, *(info.started for info in others)])
            cutoff -= sessions.MARGIN
            return garbage.collect(
                index=self._index,
                heap=_SQLiteHeap(self, cutoff),
                cutoff=cutoff,
                held_back_by=others,
                dry_run=dry_run,
                progress=progress,
                started=started,
                location=self.location,
            )

    def close(self) -> None:
        self._runs_journals.close()
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
        self._sessions.close()


class _SQLiteHeap(garbage.Heap):
    def __init__(self, backend: SQLiteObjects, cutoff: float) -> None:
        self._backend = backend
        self._cutoff = cutoff
        # Objects in the journals of live runs are young (read before the
        # table: a journal folded meanwhile is then in both).
        journaled = {
            key
            for journal in backend._runs_journals._journals()
            for key in journal.objects
        }
        with backend._lock:
            rows = _guard(
                backend,
                lambda db: db.execute(
                    "SELECT rowid, digest, written, length(data) FROM object_rows "
                    "WHERE typeof(digest) = 'blob' AND length(digest) = 32"
                ).fetchall(),
            )
        # digest -> (rowid, size): deleting by rowid spares an index search.
        # Rows with a damaged key are not objects: a collection leaves them.
        self._rows: dict[str, tuple[int, int]] = {
            bytes(raw).hex(): (rowid, size) for rowid, raw, _, size in rows
        }
        self._young = [
            bytes(raw).hex()
            for _, raw, written, _ in rows
            if written is not None and written >= cutoff
        ]
        self._young.extend(journaled)
        self._keys = self._rows.keys() | journaled

    def keys(self) -> Collection[str]:
        return self._keys

    def young(self) -> Iterable[str]:
        return self._young

    def read(self, keys: Sequence[str]) -> list[bytes | None]:
        return garbage.read_intact(self._backend, keys)

    def sweep(self, marked: set[str], dry_run: bool) -> tuple[int, int]:
        rows = self._rows
        # In table order: neighbouring rows share pages.
        doomed = sorted(
            (rowid, digest, size)
            for digest, (rowid, size) in rows.items()
            if digest not in marked
        )
        if dry_run:
            return len(doomed), sum(size for _, _, size in doomed)
        removed = freed = 0
        for start in range(0, len(doomed), _ROWS_PER_TRANSACTION):
            count, size = self._delete(doomed[start : start + _ROWS_PER_TRANSACTION])
            removed += count
            freed += size
        return removed, freed

    def _delete(self, doomed: list[tuple[int, str, int]]) -> tuple[int, int]:
        """Deletes rows still old, in one transaction; returns how many, and bytes."""
        cutoff = self._cutoff

        def run(db: sqlite3.Connection) -> int:
            deleted = 0
            with transaction(db):
                for start in range(0, len(doomed), CHUNK):
                    chunk = doomed[start : start + CHUNK]
                    marks = ",".join("?" * len(chunk))
                    # The digest and the write time are checked again: a
                    # writer may have re-stamped a row since the scan.
                    deleted += db.execute(
                        f"DELETE FROM object_rows WHERE rowid IN ({marks}) "
                        f"AND digest IN ({marks}) "
                        "AND (written IS NULL OR written < ?)",
                        [
                            *(r[0] for r in chunk),
                            *(row_key(r[1]) for r in chunk),
                            cutoff,
                        ],
                    ).rowcount
            return deleted

        with self._backend._lock:
            deleted = _guard(self._backend, run)
        if deleted == len(doomed):
            return deleted, sum(size for _, _, size in doomed)
        # Some were re-stamped (or rows moved): count what is gone.
        digests = [digest for _, digest, _ in doomed]
        present = self._backend.has_many(digests)
        left = {digest for digest, there in zip(digests, present, strict=True) if there}
        return deleted, sum(size for _, digest, size in doomed if digest not in left)


def _guard(backend: SQLiteObjects, call: Callable[[sqlite3.Connection], T]) -> T:
    try:
        return call(backend._connection())
    except READ_ERRORS as error:
        raise BackendError(
            f"cannot use {backend.path}: {error}", backend.location
        ) from None


def _refuse_emptied(path: str, sessions_dir: str) -> None:
    """Refuses a database file cut short to less than one page.

    SQLite takes such a file for a new, empty database and would make it an
    empty store: every object would seem never to have been there. An empty
    file is a new store only if no store was written there before (no
    sessions beside it, no write-ahead log).
    """
    try:
        size = os.path.getsize(path)
        if size >= _MIN_DATABASE:
            return
        if not size and not os.path.isdir(sessions_dir):
            return
        if os.path.exists(path + "-wal") and os.path.getsize(path + "-wal"):
            return
    except OSError:
        return  # a missing file is a new store; opening reports the rest
    raise BackendError(
        f"SQLite store {path} was cut short ({size} bytes, less than one page): "
        "restore it from a backup; enact does not make a new store over it.",
        path,
    )


def _cell(key: str) -> bytes | str:
    """The key cell to look ``key`` up by: a key that is no valid digest
    (asked for by a caller) is looked up as text, which no valid row has."""
    try:
        return row_key(key) if len(key) == 64 else key
    except ValueError:
        return key


def _as_bytes(value: object) -> bytes | None:
    if value is None or type(value) is bytes:
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    # A number written into the row by hand: the object is present but damaged.
    # Its text fails the digest check, so the store reports it as corrupt.
    return str(value).encode("ascii")
