"""The run index of a SQLite store: tables in the same database file.

``runs`` (one record per run id), ``steps`` (one row per appended step
line, or per folded journal: its lines joined by newlines; an autoincrement
sequence keeps their order), ``names`` and ``claims``. Every
change is one transaction (``BEGIN IMMEDIATE`` where it reads first), so
SQLite serializes it against every other process; the tables are created with
the objects table (:mod:`enact.backends.sqlite`).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from enact.backends.base import BackendError
from enact.backends.column_cache import ChangeFeed, ColumnCache
from enact.backends.index import (
    Columns,
    ColumnSchema,
    Index,
    RunCount,
    RunPage,
    RunQuery,
    RunScan,
    UnreadableRecord,
    check_claim_key,
    check_run_id,
    schema_of,
)

__all__ = ["SQLiteIndex", "as_bytes", "transaction"]

T = TypeVar("T")


@contextlib.contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction (``BEGIN IMMEDIATE``), or the one already open.

    Nested use joins the outer transaction: an index update may commit
    objects from inside its ``update`` function.
    """
    if db.in_transaction:
        yield db
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def as_bytes(value: object) -> bytes:
    """A stored value as bytes, whatever type its row holds.

    A damaged or hand-edited row may hold text or a number where a blob
    belongs; ``bytes(number)`` would make that many zero bytes. Text is
    encoded back, a number stands as its digits: either way the value is
    wrong, and whoever reads it finds out (a digest check, a parse).
    """
    if type(value) is bytes:
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    return str(value).encode("ascii")


def _feed(db: sqlite3.Connection) -> ChangeFeed:
    """The change feed of the ``run_changes`` table (see the migrations)."""

    def mark() -> str:
        row = db.execute(
            "SELECT seq FROM sqlite_sequence WHERE name = 'run_changes'"
        ).fetchone()
        return str(0 if row is None else int(row[0]))

    def since(after: str) -> tuple[str, list[str]] | None:
        if not after.isdigit() or int(after) > int(mark()):
            return None  # a mark from another database
        rows = db.execute(
            "SELECT seq, id FROM run_changes WHERE seq > ? ORDER BY seq",
            (int(after),),
        ).fetchall()
        return (str(rows[-1][0]) if rows else after), [str(row[1]) for row in rows]

    def scan() -> Iterable[tuple[str, bytes]]:
        for run_id, record in db.execute("SELECT id, record FROM runs"):
            if type(run_id) is str:  # a damaged id is listed as damaged
                yield run_id, as_bytes(record)

    def read(ids: Sequence[str]) -> dict[str, bytes | None]:
        found: dict[str, bytes | None] = dict.fromkeys(ids)
        for start in range(0, len(ids), 400):
            part = list(ids[start : start + 400])
            marks = ", ".join("?" * len(part))
            select = f"SELECT id, record FROM runs WHERE id IN ({marks})"
            rows = db.execute(select, part)
            for run_id, record in rows:
                found[run_id] = as_bytes(record)
        return found

    return ChangeFeed(mark, since, scan, read)


def _row_reader(rowid: int) -> Callable[[sqlite3.Connection], Any]:
    """Reads one row of ``runs`` (its id as a blob: it may not be text)."""

    def read(db: sqlite3.Connection) -> Any:
        return db.execute(
            "SELECT CAST(id AS BLOB), record FROM runs WHERE rowid = ?", (rowid,)
        ).fetchone()

    return read


class SQLiteIndex(Index):
    """A store's run index in its SQLite database.

    Args:
        connection: Returns the backend's open connection (raises if closed).
        lock: The backend's lock, held around every use of the connection.
        location: The database path, for messages.
        on_write: Called before each write (registers the store's session).
        journal_lines: A run's step lines still in run journals, not yet in
            the ``steps`` table (see :mod:`enact.backends.sqlite.journal_files`).
        drop_journal: Removes a deleted run's journals.
    """

    def __init__(
        self,
        connection: Callable[[], sqlite3.Connection],
        lock: threading.RLock,
        location: str,
        on_write: Callable[[], None],
        journal_lines: Callable[[str], list[bytes]] = lambda run_id: [],
        drop_journal: Callable[[str], None] = lambda run_id: None,
    ) -> None:
        self._connection = connection
        self._lock = lock
        self.location = location
        self._on_write = on_write
        self._journal_lines = journal_lines
        self._drop_journal = drop_journal
        self._has_feed: bool | None = None

    def _run(self, call: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            db = self._connection()
            try:
                return call(db)
            except (sqlite3.Error, UnicodeDecodeError) as error:
                raise BackendError(
                    f"cannot use the run index in {self.location}: {error}",
                    self.location,
                ) from None

    def _write_one(
        self, statement: str, arguments: tuple[object, ...]
    ) -> sqlite3.Cursor:
        """Runs one write statement: its own transaction (no BEGIN, no COMMIT)."""
        self._on_write()
        return self._run(lambda db: db.execute(statement, arguments))

    def _write(self, call: Callable[[sqlite3.Connection], T]) -> T:
        self._on_write()

        def in_transaction(db: sqlite3.Connection) -> T:
            with transaction(db):
                return call(db)

        return self._run(in_transaction)

    # -- run records ---------------------------------------------------------

    def get_run(self, run_id: str) -> bytes | None:
        check_run_id(run_id, self.location)
        row = self._run(
            lambda db: db.execute(
                "SELECT record FROM runs WHERE id = ?", (run_id,)
            ).fetchone()
        )
        return None if row is None else as_bytes(row[0])

    def record_location(self, run_id: str) -> str:
        return f"{self.location} (table runs)"

    def list_runs(self) -> list[tuple[str, bytes]]:
        rows = self._run(
            lambda db: db.execute("SELECT id, record FROM runs").fetchall()
        )
        found = []
        for run_id, record in rows:
            if type(run_id) is not str:  # a damaged row: scan_runs names it
                raise BackendError(
                    f"a run id in {self.location} is damaged: {run_id!r}",
                    self.location,
                )
            found.append((check_run_id(run_id, self.location), as_bytes(record)))
        return found

    def scan_runs(self) -> RunScan:
        try:
            return RunScan(self.list_runs(), [])
        except BackendError:
            pass  # a damaged row or page: read the rows one by one
        rowids = self._run(
            lambda db: db.execute("SELECT rowid FROM runs ORDER BY rowid").fetchall()
        )
        found, unreadable = [], []
        for (rowid,) in rowids:
            where = f"row {rowid} of the runs table of {self.location}"
            try:
                row = self._run(_row_reader(rowid))
            except BackendError as error:
                unreadable.append(UnreadableRecord(None, where, str(error)))
                continue
            if row is None:
                continue  # deleted since the listing
            raw_id, record = as_bytes(row[0]), as_bytes(row[1])
            try:
                run_id = check_run_id(raw_id.decode("ascii"), self.location)
            except (UnicodeDecodeError, BackendError):
                unreadable.append(
                    UnreadableRecord(None, where, f"its run id {raw_id!r} is damaged")
                )
                continue
            found.append((run_id, record))
        return RunScan(found, unreadable)

    def update_run(
        self, run_id: str, update: Callable[[bytes | None], bytes | None]
    ) -> bytes | None:
        check_run_id(run_id, self.location)

        def change(db: sqlite3.Connection) -> bytes | None:
            row = db.execute(
                "SELECT record FROM runs WHERE id = ?", (run_id,)
            ).fetchone()
            new = update(None if row is None else as_bytes(row[0]))
            if new is None:
                db.execute("DELETE FROM runs WHERE id = ?", (run_id,))
                db.execute("DELETE FROM steps WHERE run_id = ?", (run_id,))
            else:
                db.execute(
                    "INSERT INTO runs (id, record) VALUES (?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET record = excluded.record",
                    (run_id, bytes(new)),
                )
            if self._feed_kept(db):
                db.execute("INSERT INTO run_changes (id) VALUES (?)", (run_id,))
            return new

        new = self._write(change)
        if new is None:
            self._drop_journal(run_id)
        return new

    def run_changes_mark(self) -> str | None:
        # The change feed's last number: every write of a record adds one.
        def mark(db: sqlite3.Connection) -> str | None:
            return _feed(db).mark() if self._feed_kept(db) else None

        try:
            return self._run(mark)
        except BackendError:
            return None  # a damaged database: readers read everything

    def _feed_kept(self, db: sqlite3.Connection) -> bool:
        """Whether the database has the change feed (a database of an older
        layout opened read-only has not; it is never written)."""
        if self._has_feed is None:
            self._has_feed = (
                db.execute(
                    "SELECT 1 FROM sqlite_master WHERE name = 'run_changes'"
                ).fetchone()
                is not None
            )
        return self._has_feed

    def _ask(
        self, columns: Columns, ask: Callable[[ColumnCache, ColumnSchema], T | None]
    ) -> T | None:
        """``ask``'s answer from the tables, caught up (None: no schema, no
        exact translation, or a database the tables cannot be kept in)."""
        schema = schema_of(columns)
        if schema is None:
            return None

        def answer(db: sqlite3.Connection) -> T | None:
            if not self._feed_kept(db):
                return None
            cache = ColumnCache(db, _feed(db))
            if not db.in_transaction:
                # Most queries find nothing new: a read, beside writers.
                db.execute("BEGIN")
                try:
                    if cache.is_current(schema):
                        return ask(cache, schema)
                finally:
                    db.execute("COMMIT")
            with transaction(db):
                cache.catch_up(columns, schema)
                found = ask(cache, schema)
                # What the tables hold now needs no feed rows before it.
                db.execute(
                    "DELETE FROM run_changes WHERE seq <= ?",
                    (int(_feed(db).mark()),),
                )
                return found

        self._on_write()
        try:
            return self._run(answer)
        except BackendError:
            return None  # a read-only or damaged database: the scan answers

    def query_runs(self, query: RunQuery, columns: Columns) -> RunPage:
        page = self._ask(columns, lambda cache, s: cache.query(query, columns, s))
        return super().query_runs(query, columns) if page is None else page

    def count_runs(self, query: RunQuery, columns: Columns) -> RunCount | None:
        return self._ask(columns, lambda cache, schema: cache.count(query, schema))

    # -- step logs -----------------------------------------------------------

    def append_steps(self, run_id: str, lines: Sequence[bytes]) -> None:
        check_run_id(run_id, self.location)
        if not lines:
            return
        rows = [(run_id, bytes(line)) for line in lines]
        for _, line in rows:
            if b"\n" in line:
                raise BackendError(
                    "a step line may not contain a newline", self.location
                )
        insert = "INSERT INTO steps (run_id, line) VALUES (?, ?)"
        if len(rows) == 1:
            self._write_one(insert, rows[0])
        else:
            self._write(lambda db: db.executemany(insert, rows))

    def read_steps(self, run_id: str) -> list[bytes]:
        check_run_id(run_id, self.location)
        # Journals first: one folded between the two reads is then in both,
        # never in neither.
        journaled = self._journal_lines(run_id)
        rows = self._run(
            lambda db: db.execute(
                "SELECT line FROM steps WHERE run_id = ? ORDER BY seq", (run_id,)
            ).fetchall()
        )
        # A row holds one line, or several (a folded journal's).
        lines = [line for (row,) in rows for line in as_bytes(row).split(b"\n")]
        if journaled:
            # Journals hold the newest lines; those folded meanwhile are in
            # the table already, in their place (a recorder never writes
            # the same line twice).
            folded = set(lines)
            lines.extend(line for line in journaled if line not in folded)
        return lines

    # -- names ---------------------------------------------------------------

    def set_name(self, name: str, key: str | None) -> None:
        if key is None:
            self._write_one("DELETE FROM names WHERE name = ?", (name,))
        else:
            self._write_one(
                "INSERT INTO names (name, key) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET key = excluded.key",
                (name, key),
            )

    def names(self) -> dict[str, str]:
        rows = self._run(
            lambda db: db.execute("SELECT name, key FROM names").fetchall()
        )
        return dict(rows)

    # -- claims --------------------------------------------------------------

    def claim(self, key: str, value: bytes) -> bool:
        check_claim_key(key, self.location)
        cursor = self._write_one(
            "INSERT OR IGNORE INTO claims (key, value) VALUES (?, ?)",
            (key, bytes(value)),
        )
        return cursor.rowcount == 1

    def get_claim(self, key: str) -> bytes | None:
        check_claim_key(key, self.location)
        row = self._run(
            lambda db: db.execute(
                "SELECT value FROM claims WHERE key = ?", (key,)
            ).fetchone()
        )
        return None if row is None else as_bytes(row[0])

    def claims(self, prefix: str = "") -> dict[str, bytes]:
        rows = self._run(
            lambda db: db.execute(
                "SELECT key, value FROM claims WHERE substr(key, 1, ?) = ?",
                (len(prefix), prefix),
            ).fetchall()
        )
        return {key: as_bytes(value) for key, value in rows}
