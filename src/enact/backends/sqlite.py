"""Objects in one SQLite database file (standard-library ``sqlite3``, WAL).

Several processes may share the file: SQLite serializes writers, and WAL lets
readers proceed while one writes.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence

from enact.backends.base import Backend, BackendError, Parts, check_key
from enact.backends.index import Index
from enact.backends.index_sqlite import SQLiteIndex

__all__ = ["SQLiteObjects"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    digest TEXT PRIMARY KEY NOT NULL,
    data BLOB NOT NULL
)
"""
# SQLite limits the number of host parameters in one statement.
_CHUNK = 500


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
        self._lock = threading.Lock()
        try:
            self._db: sqlite3.Connection | None = sqlite3.connect(
                self.path,
                timeout=timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'FULL' if fsync else 'NORMAL'}")
            self._db.execute(_SCHEMA)
        except sqlite3.Error as error:
            raise BackendError(
                f"cannot open SQLite store {self.path}: {error}", self.location
            ) from None

    def index(self) -> Index:
        """The run index, in tables of the same database (made on first use)."""
        index: SQLiteIndex | None = getattr(self, "_index", None)
        if index is None:
            index = self._index = SQLiteIndex(
                self._connection, self._lock, self.location
            )
        return index

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            raise BackendError(f"SQLite store {self.path} is closed", self.location)
        return self._db

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
        rows = [
            (check_key(key, self.location), b"".join(parts)) for key, parts in items
        ]
        with self._lock:
            db = self._connection()
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    db.executemany(
                        "INSERT OR IGNORE INTO objects (digest, data) VALUES (?, ?)",
                        rows,
                    )
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
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

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


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
