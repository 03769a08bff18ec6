"""The run index of a SQLite store: tables in the same database file.

Every change is one transaction (``BEGIN IMMEDIATE``), so updates exclude
each other across processes; a step-log append is one insert.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from typing import Any

from enact.backends.base import BackendError
from enact.backends.index import Index, check_claim_key, check_run_id

__all__ = ["SQLiteIndex"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (id TEXT PRIMARY KEY NOT NULL, record BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS steps (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    line BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS steps_by_run ON steps (run_id, seq);
CREATE TABLE IF NOT EXISTS names (name TEXT PRIMARY KEY NOT NULL, key TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL);
"""


class SQLiteIndex(Index):
    """An :class:`~enact.backends.index.Index` in a SQLite database.

    Args:
        connect: Returns the backend's open connection.
        lock: The backend's lock, held around every use of the connection.
        location: The database path, for messages.
    """

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        lock: threading.Lock,
        location: str,
    ) -> None:
        self._connect = connect
        self._lock = lock
        self.location = location
        with self._lock:
            try:
                self._connect().executescript(_SCHEMA)
            except sqlite3.Error as error:
                raise BackendError(
                    f"cannot create the run index in {location}: {error}", location
                ) from None

    def _query(self, sql: str, args: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._connect().execute(sql, args).fetchall()
            except sqlite3.Error as error:
                raise BackendError(
                    f"cannot read the run index in {self.location}: {error}",
                    self.location,
                ) from None

    def _write(self, body: Callable[[sqlite3.Connection], object]) -> object:
        with self._lock:
            db = self._connect()
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    result = body(db)
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
                return result
            except sqlite3.Error as error:
                raise BackendError(
                    f"cannot write the run index in {self.location}: {error}",
                    self.location,
                ) from None

    def get_run(self, run_id: str) -> bytes | None:
        rows = self._query(
            "SELECT record FROM runs WHERE id = ?",
            (check_run_id(run_id, self.location),),
        )
        return bytes(rows[0][0]) if rows else None

    def list_runs(self) -> list[tuple[str, bytes]]:
        rows = self._query("SELECT id, record FROM runs")
        return [(str(i), bytes(r)) for i, r in rows]

    def update_run(
        self, run_id: str, update: Callable[[bytes | None], bytes | None]
    ) -> bytes | None:
        check_run_id(run_id, self.location)

        def body(db: sqlite3.Connection) -> bytes | None:
            row = db.execute(
                "SELECT record FROM runs WHERE id = ?", (run_id,)
            ).fetchone()
            new = update(None if row is None else bytes(row[0]))
            if new is None:
                db.execute("DELETE FROM runs WHERE id = ?", (run_id,))
                db.execute("DELETE FROM steps WHERE run_id = ?", (run_id,))
            else:
                db.execute(
                    "INSERT OR REPLACE INTO runs (id, record) VALUES (?, ?)",
                    (run_id, bytes(new)),
                )
            return new

        result: bytes | None = self._write(body)  # type: ignore[assignment]
        return result

    def append_steps(self, run_id: str, lines: Sequence[bytes]) -> None:
        check_run_id(run_id, self.location)
        rows = [(run_id, bytes(line)) for line in lines]
        self._write(
            lambda db: db.executemany(
                "INSERT INTO steps (run_id, line) VALUES (?, ?)", rows
            )
        )

    def read_steps(self, run_id: str) -> list[bytes]:
        rows = self._query(
            "SELECT line FROM steps WHERE run_id = ? ORDER BY seq",
            (check_run_id(run_id, self.location),),
        )
        return [bytes(line) for (line,) in rows]

    def set_name(self, name: str, key: str | None) -> None:
        if key is None:
            self._write(
                lambda db: db.execute("DELETE FROM names WHERE name = ?", (name,))
            )
        else:
            self._write(
                lambda db: db.execute(
                    "INSERT OR REPLACE INTO names (name, key) VALUES (?, ?)",
                    (name, key),
                )
            )

    def names(self) -> dict[str, str]:
        return {str(n): str(k) for n, k in self._query("SELECT name, key FROM names")}

    def claim(self, key: str, value: bytes) -> bool:
        check_claim_key(key, self.location)
        won = self._write(
            lambda db: (
                db.execute(
                    "INSERT OR IGNORE INTO claims (key, value) VALUES (?, ?)",
                    (key, bytes(value)),
                ).rowcount
            )
        )
        return won == 1

    def get_claim(self, key: str) -> bytes | None:
        rows = self._query(
            "SELECT value FROM claims WHERE key = ?",
            (check_claim_key(key, self.location),),
        )
        return bytes(rows[0][0]) if rows else None

    def claims(self, prefix: str = "") -> dict[str, bytes]:
        rows = self._query("SELECT key, value FROM claims")
        return {str(k): bytes(v) for k, v in rows if str(k).startswith(prefix)}
