"""Objects in one SQLite database file (standard-library ``sqlite3``, WAL).

Several processes may share the file: SQLite serializes writers, and WAL lets
readers proceed while one writes. The run index
(:mod:`enact.backends.sqlite_index`) lives in the same file.

Each object row carries ``written``, the time (:func:`sessions.clock`) it was
last written, for garbage collection (:mod:`enact.backends.gc`); a row stored
before this backend's session started is re-stamped, not skipped, when it is
committed again. Databases created before the column existed get it on
opening; their rows (``NULL``) count as old. Sessions are files in the
directory ``<database>.sessions`` beside the database.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import TypeVar

from enact.backends import gc as garbage
from enact.backends import sessions
from enact.backends.base import Backend, BackendError, Parts, check_key
from enact.backends.sqlite_index import SQLiteIndex, transaction

__all__ = ["SQLiteObjects"]

_TABLES = {
    "objects": """
        CREATE TABLE objects (
            digest TEXT PRIMARY KEY NOT NULL,
            data BLOB NOT NULL,
            written REAL
        )""",
    "runs": """
        CREATE TABLE runs (
            id TEXT PRIMARY KEY NOT NULL,
            record BLOB NOT NULL
        )""",
    "steps": """
        CREATE TABLE steps (
            seq INTEGER PRIMARY KEY,
            run_id TEXT NOT NULL,
            line BLOB NOT NULL
        )""",
    "names": """
        CREATE TABLE names (
            name TEXT PRIMARY KEY NOT NULL,
            key TEXT NOT NULL
        )""",
    "claims": """
        CREATE TABLE claims (
            key TEXT PRIMARY KEY NOT NULL,
            value BLOB NOT NULL
        )""",
}
_STEPS_INDEX = "CREATE INDEX IF NOT EXISTS steps_by_run ON steps (run_id, seq)"
# Stores the object, or re-stamps a copy written before the session started.
_UPSERT = """
    INSERT INTO objects (digest, data, written) VALUES (?1, ?2, ?3)
    ON CONFLICT (digest) DO UPDATE SET written = excluded.written
    WHERE objects.written IS NULL OR objects.written < ?4
"""
# SQLite limits the number of host parameters in one statement (999 before
# version 3.32): a delete names each row twice.
_CHUNK = 400
# Rows a collection deletes per transaction: fewer commits, but not so many
# that writers wait long.
_ROWS_PER_TRANSACTION = 4000

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
        self._session: sessions.Session | None = None
        self._fresh_after = 0.0
        try:
            self._db: sqlite3.Connection | None = sqlite3.connect(
                self.path,
                timeout=timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'FULL' if fsync else 'NORMAL'}")
            _create_schema(self._db)
        except sqlite3.Error as error:
            raise BackendError(
                f"cannot open SQLite store {self.path}: {error}", self.location
            ) from None
        self._index = SQLiteIndex(
            self._connection, self._lock, self.location, self._ensure_session
        )

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            raise BackendError(f"SQLite store {self.path} is closed", self.location)
        return self._db

    def _ensure_session(self) -> None:
        session = self._session
        if session is not None and session.open:
            return
        with self._lock:
            if self._session is None or not self._session.open:
                self._session = sessions.Session(self._sessions_dir, self.location)
                self._fresh_after = self._session.registered

    def index(self) -> SQLiteIndex:
        return self._index

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        found: dict[str, bytes] = {}
        with self._lock:
            db = self._connection()
            try:
                for start in range(0, len(keys), _CHUNK):
                    chunk = list(keys[start : start + _CHUNK])
                    marks = ",".join("?" * len(chunk))
                    rows = db.execute(
                        f"SELECT digest, data FROM objects WHERE digest IN ({marks})",
                        chunk,
                    )
                    found.update(rows)
            except sqlite3.Error as error:
                raise BackendError(
                    f"cannot read {self.path}: {error}", self.location
                ) from None
        return [_as_bytes(found.get(key)) for key in keys]

    def put_many(self, items: Sequence[tuple[str, Parts]]) -> None:
        if not items:
            return
        self._ensure_session()
        now, fresh_after = sessions.clock(), self._fresh_after
        rows = [
            (check_key(key, self.location), b"".join(parts), now, fresh_after)
            for key, parts in items
        ]
        with self._lock:
            db = self._connection()
            try:
                with transaction(db):
                    db.executemany(_UPSERT, rows)
            except sqlite3.Error as error:
                raise BackendError(
                    f"cannot write {self.path}: {error}", self.location
                ) from None

    @contextlib.contextmanager
    def atomically(self) -> Iterator[None]:
        """One transaction for every write of the block (see Backend)."""
        self._ensure_session()
        with self._lock:
            db = self._connection()
            try:
                with transaction(db):
                    yield
            except sqlite3.Error as error:
                raise BackendError(
                    f"cannot write {self.path}: {error}", self.location
                ) from None

    def has_many(self, keys: Sequence[str]) -> list[bool]:
        found: set[str] = set()
        with self._lock:
            db = self._connection()
            try:
                for start in range(0, len(keys), _CHUNK):
                    chunk = list(keys[start : start + _CHUNK])
                    marks = ",".join("?" * len(chunk))
                    rows = db.execute(
                        f"SELECT digest FROM objects WHERE digest IN ({marks})", chunk
                    )
                    found.update(row[0] for row in rows)
            except sqlite3.Error as error:
                raise BackendError(
                    f"cannot read {self.path}: {error}", self.location
                ) from None
        return [key in found for key in keys]

    def iter_keys(self) -> Iterator[str]:
        with self._lock:
            rows = self._connection().execute("SELECT digest FROM objects").fetchall()
        for (key,) in rows:
            yield key

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
            now = sessions.clock()
            # This backend's session does not hold the cutoff back: from now
            # on, only its copies written from now on count as stored.
            self._fresh_after = now
            starts = sessions.live_session_starts(self._sessions_dir, self._session)
            cutoff = min([now, *starts]) - sessions.MARGIN
            return garbage.collect(
                index=self._index,
                heap=_SQLiteHeap(self, cutoff),
                cutoff=cutoff,
                live_sessions=len(starts),
                dry_run=dry_run,
                progress=progress,
                started=started,
                location=self.location,
            )

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
            if self._session is not None:
                self._session.close()


class _SQLiteHeap(garbage.Heap):
    def __init__(self, backend: SQLiteObjects, cutoff: float) -> None:
        self._backend = backend
        self._cutoff = cutoff
        with backend._lock:
            rows = _guard(
                backend,
                lambda db: db.execute(
                    "SELECT rowid, digest, written, length(data) FROM objects"
                ).fetchall(),
            )
        # digest -> (rowid, size): deleting by rowid spares an index search.
        self._rows: dict[str, tuple[int, int]] = {
            digest: (rowid, size) for rowid, digest, _, size in rows
        }
        self._young = [
            digest
            for _, digest, written, _ in rows
            if written is not None and written >= cutoff
        ]

    def keys(self) -> Collection[str]:
        return self._rows.keys()

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
                for start in range(0, len(doomed), _CHUNK):
                    chunk = doomed[start : start + _CHUNK]
                    marks = ",".join("?" * len(chunk))
                    # The digest and the write time are checked again: a
                    # writer may have re-stamped a row since the scan.
                    deleted += db.execute(
                        f"DELETE FROM objects WHERE rowid IN ({marks}) "
                        f"AND digest IN ({marks}) "
                        "AND (written IS NULL OR written < ?)",
                        [*(r[0] for r in chunk), *(r[1] for r in chunk), cutoff],
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
    except sqlite3.Error as error:
        raise BackendError(
            f"cannot use {backend.path}: {error}", backend.location
        ) from None


def _create_schema(db: sqlite3.Connection) -> None:
    """Creates missing tables, and the ``written`` column of older databases."""
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    columns = (
        {row[1] for row in db.execute("PRAGMA table_info(objects)")}
        if "objects" in tables
        else {"written"}
    )
    if set(_TABLES) <= tables and "written" in columns and "steps_by_run" in tables:
        return
    with transaction(db):
        # Looked at again inside the transaction: another process may have
        # done it meanwhile.
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        for name, statement in _TABLES.items():
            if name not in tables:
                db.execute(statement)
        columns = {row[1] for row in db.execute("PRAGMA table_info(objects)")}
        if "written" not in columns:
            db.execute("ALTER TABLE objects ADD COLUMN written REAL")
        db.execute(_STEPS_INDEX)


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
