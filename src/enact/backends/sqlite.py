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

A durable run's finished calls go to run journals in ``<database>.journal``
first (:mod:`enact.backends.sqlite_journal`: one ``write`` per call instead
of one transaction), folded into the tables each MiB and when
the run ends. Until then readers find the journaled objects and step lines
there: :meth:`SQLiteObjects.get_many` looks in the journals for what the
table lacks, and the index's step logs include them.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import threading
import time
from collections.abc import (
    Callable,
    Collection,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from typing import TypeVar

from enact.backends import gc as garbage
from enact.backends import sessions
from enact.backends.base import (
    Backend,
    BackendError,
    FileDamage,
    Parts,
    StepWriter,
    check_key,
)
from enact.backends.index import check_run_id
from enact.backends.sqlite_index import SQLiteIndex, transaction
from enact.backends.sqlite_journal import (
    JournalFile,
    JournalReader,
    JournalWriter,
    claim_dead,
    journal_files,
    parse_records,
    run_of,
)

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
    # Journal files folded into the tables but not yet removed: a file is
    # never folded twice, even if its folder dies before removing it.
    "journal_folds": """
        CREATE TABLE journal_folds (
            name TEXT PRIMARY KEY NOT NULL,
            upto INTEGER NOT NULL
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
# A run's journal is folded into the tables when this many bytes are not yet
# (a few thousand calls): one transaction per fold, little for readers to scan.
_FOLD_BYTES = 1 << 20
# Objects this large are written to the table at once, not journaled: their
# own cost dwarfs a transaction's, and they would be written twice.
_JOURNAL_LIMIT = 64 * 1024
_INSERT_STEP = "INSERT INTO steps (run_id, line) VALUES (?, ?)"
_HEX = re.compile(rb"[0-9a-f]{64}")
# What a read of a damaged database raises: SQLite's errors, and the
# decoding error of a text cell that is no UTF-8.
_READ_ERRORS = (sqlite3.Error, UnicodeDecodeError)
# The smallest SQLite database file: one page of the smallest page size.
_MIN_DATABASE = 512

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
        except _READ_ERRORS as error:
            raise BackendError(
                f"cannot open SQLite store {self.path}: {error}", self.location
            ) from None
        self.fsync = fsync
        self._journal_dir = self.path + ".journal"
        # The connection's lock guards the journals too: a fold holds both,
        # and one lock cannot be taken in two orders.
        self._journal_lock = self._lock
        self._writers: dict[str, JournalWriter] = {}
        # Journal files this backend folded and removed: their records in
        # journal_folds go with the next fold (one transaction fewer).
        self._removed_folds: list[str] = []
        self._reader = JournalReader(self.location)
        self._index = SQLiteIndex(
            self._connection,
            self._lock,
            self.location,
            self._sessions.ensure,
            journal_lines=self._journal_lines,
            drop_journal=self._drop_journal,
        )

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            raise BackendError(f"SQLite store {self.path} is closed", self.location)
        return self._db

    def _session_renewed(self, registered: float) -> None:
        # Rows written before the new session are re-stamped when committed.
        self._fresh_after = registered

    def begin_use(self) -> None:
        self._sessions.begin_use()

    def end_use(self) -> bool:
        return self._sessions.end_use()

    def index(self) -> SQLiteIndex:
        return self._index

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        found = self._select(keys)
        if len(found) < len(keys):
            found.update(self._from_journals([key for key in keys if key not in found]))
        return [_as_bytes(found.get(key)) for key in keys]

    def _select(self, keys: Sequence[str]) -> dict[str, bytes]:
        """The table's rows of ``keys``."""
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
            except _READ_ERRORS as error:
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
            (check_key(key, self.location), b"".join(parts), now, fresh_after)
            for key, parts in items
        ]
        with self._lock:
            db = self._connection()
            try:
                with transaction(db):
                    db.executemany(_UPSERT, rows)
            except _READ_ERRORS as error:
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
            except _READ_ERRORS as error:
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
            except _READ_ERRORS as error:
                raise BackendError(
                    f"cannot read {self.path}: {error}", self.location
                ) from None
        if len(found) < len(keys):
            missing = [key for key in keys if key not in found]
            found.update(self._from_journals(missing))
        return [key in found for key in keys]

    def iter_keys(self) -> Iterator[str]:
        # Journals before the table: one folded in between is then in both.
        journaled = {key for journal in self._journals() for key in journal.objects}
        # As blobs: a damaged digest (not UTF-8) must not fail the listing.
        # Rows whose digest is no valid key are left out (scan_damage names
        # them): no read could ask for them.
        with self._lock:
            rows = _guard(
                self,
                lambda db: db.execute(
                    "SELECT CAST(digest AS BLOB) FROM objects"
                ).fetchall(),
            )
        for (raw,) in rows:
            key = _key_of(raw)
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
        except _READ_ERRORS as error:
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
                    .execute("SELECT rowid, CAST(digest AS BLOB) FROM objects")
                    .fetchall()
                )
        except _READ_ERRORS as error:
            problem = f"cannot list the objects of {self.path}: {error}"
            return [*found, FileDamage(problem, self.path)]
        found.extend(
            FileDamage(
                f"row {rowid} of the objects table of {self.path} has a damaged "
                f"digest {bytes(raw)[:80]!r}",
                self.path,
            )
            for rowid, raw in rows
            if _key_of(raw) is None
        )
        with self._journal_lock:
            for path in journal_files(self._journal_dir):
                journal = self._reader.read(path)
                if journal is not None and journal.damaged:
                    found.append(
                        FileDamage(
                            f"journal file {path} is damaged (wrong header): "
                            "its calls are not read",
                            path,
                            0,
                        )
                    )
                    continue
                fd = claim_dead(path)  # a live writer's tail may be in flight
                if fd is None or journal is None:
                    continue
                try:
                    left = os.fstat(fd).st_size - journal.end
                finally:
                    os.close(fd)
                if left:
                    found.append(
                        FileDamage(
                            f"journal file {path} has {left} bytes after its last "
                            "complete record (a call cut short by a crash, or "
                            "damage hiding later calls): kept as it is",
                            path,
                            journal.end,
                        )
                    )
        return found

    # -- run journals --------------------------------------------------------

    def write_steps(
        self, run_id: str, items: Sequence[tuple[str, Parts]], lines: Sequence[bytes]
    ) -> None:
        """Journals ``items`` and ``lines`` with one write (see the module)."""
        for line in lines:
            if b"\n" in line or line[:1] == b"\x00":
                raise BackendError(
                    "a step line may not contain a newline or start with a NUL byte",
                    self.location,
                )
        data = b"".join(line + b"\n" for line in lines)
        self.step_writer(run_id)(items, data, b"")

    def step_writer(self, run_id: str) -> StepWriter:
        check_run_id(run_id, self.location)
        writers, keeper, monotonic = self._writers, self._sessions, time.monotonic

        def write(
            items: Sequence[tuple[str, Parts]], lines: bytes, recovery: bytes
        ) -> None:
            if monotonic() >= keeper.next_beat:  # a heartbeat is due
                keeper.ensure()
            # No lock: an open writer appends with one O_APPEND write.
            writer = writers.get(run_id)
            if writer is None or writer.fd < 0:
                writer = self._open_writer(run_id)
            small = self._journaled(items) if items else ()
            writer.append(small, lines + recovery if recovery else lines)
            if writer.size - writer.folded >= _FOLD_BYTES:
                self._fold_part(writer)

        return write

    def _journaled(self, items: Sequence[tuple[str, Parts]]) -> list[tuple[str, bytes]]:
        """The small ``items``, joined; large ones are written to the table."""
        small: list[tuple[str, bytes]] = []
        large: list[tuple[str, Parts]] = []
        for key, parts in items:
            data = parts[0] if len(parts) == 1 else b"".join(parts)
            if len(data) >= _JOURNAL_LIMIT:
                large.append((key, [data]))
            else:
                small.append((check_key(key, self.location), data))
        if large:
            self.put_many(large)
        return small

    def _open_writer(self, run_id: str) -> JournalWriter:
        """The run's writer in this process, its file open."""
        with self._journal_lock:
            writer = self._writers.get(run_id)
            if writer is None:
                self._sessions.ensure()
                # Lines of earlier writers of this run (a crashed process)
                # go to the table first, so they stay before this one's.
                self._fold_dead(run_id)
                writer = JournalWriter(
                    self._journal_dir, run_id, self.fsync, self.location
                )
                self._writers[run_id] = writer
            if writer.fd < 0:
                writer.open()
            return writer

    def _fold_part(self, writer: JournalWriter) -> None:
        """Folds what a growing journal holds so far; it stays open (other
        threads may be appending), and a failure is not the call's: the
        calls are durable in the journal all the same."""
        with self._journal_lock, contextlib.suppress(BackendError):
            if writer.fd >= 0 and writer.size - writer.folded >= _FOLD_BYTES:
                self._fold_writer(writer, recovery=True)

    def settle_steps(self, run_id: str, ended: bool = False) -> None:
        """Folds this process's journal of the run into the tables (without
        its recovery lines if the run ``ended``) and removes it. No call of
        the run may be running."""
        with self._journal_lock:
            writer = self._writers.pop(run_id, None)
            if writer is None:
                return
            try:
                if writer.left_files:
                    self._fold_dead(run_id)  # the files it had to leave
                if writer.fd >= 0:
                    self._fold_writer(writer, recovery=not ended)
                    name = os.path.basename(writer.path)
                    writer.close(unlink=True)
                    self._removed_folds.append(name)
            except BackendError:
                writer.close(unlink=False)  # durable; folded later
                raise

    def _fold_writer(self, writer: JournalWriter, recovery: bool) -> None:
        """Folds the unfolded part of this process's journal file."""
        journal = writer.read_unfolded()
        if journal.end <= writer.folded:
            return
        lines = journal.lines
        if not recovery:
            lines = [line for line in lines if not line.startswith(b"[")]
        self._fold(
            os.path.basename(writer.path),
            writer.run_id,
            journal.objects,
            b"\n".join(lines),
            journal.end,
        )
        writer.folded = journal.end
        # In the table now: this process need not keep them (nor fold them
        # again with the next part).
        for key in journal.objects:
            writer.objects.pop(key, None)

    def _fold(
        self,
        name: str,
        run_id: str,
        objects: Mapping[str, bytes],
        text: bytes,
        upto: int,
    ) -> None:
        """Writes a journal file's objects and lines (``text``, joined by
        newlines) in one transaction, which also records that the file is
        folded up to offset ``upto`` (a part already folded is not folded
        again; the record goes once the file is removed: see
        :meth:`_forget_folds`)."""
        self._sessions.ensure()
        now, fresh_after = sessions.clock(), self._fresh_after
        rows = [(key, data, now, fresh_after) for key, data in objects.items()]
        removed = list(self._removed_folds)

        def fold(db: sqlite3.Connection) -> None:
            with transaction(db):
                _forget(db, removed)
                done = db.execute(
                    "SELECT upto FROM journal_folds WHERE name = ?", (name,)
                ).fetchone()
                if done is not None and done[0] >= upto:
                    return
                db.executemany(_UPSERT, rows)
                # The lines of a run deleted meanwhile are dropped.
                if (
                    text
                    and db.execute(
                        "SELECT 1 FROM runs WHERE id = ?", (run_id,)
                    ).fetchone()
                ):
                    # One row for all the lines: a row per line would cost
                    # more than the journal saves.
                    db.execute(_INSERT_STEP, (run_id, text))
                db.execute(
                    "INSERT OR REPLACE INTO journal_folds (name, upto) VALUES (?, ?)",
                    (name, upto),
                )

        with self._lock:
            _guard(self, fold)
        del self._removed_folds[: len(removed)]

    def _folded_upto(self, name: str) -> int:
        row = _guard(
            self,
            lambda db: db.execute(
                "SELECT upto FROM journal_folds WHERE name = ?", (name,)
            ).fetchone(),
        )
        return 0 if row is None else int(row[0])

    def _forget_folds(self, sweep: bool = False) -> None:
        """Forgets the folds of removed journal files: those this backend
        removed, or (``sweep``) every one whose file is gone."""
        with self._journal_lock:
            names = list(self._removed_folds)
            if sweep:
                recorded = _guard(
                    self, lambda db: db.execute("SELECT name FROM journal_folds")
                ).fetchall()
                names += [
                    name
                    for (name,) in recorded
                    if not os.path.exists(os.path.join(self._journal_dir, name))
                ]
            if names:
                _guard(self, lambda db: _forget(db, names))
            self._removed_folds.clear()

    def _fold_dead(self, run_id: str | None) -> int:
        """Folds the journal files whose writers died (of one run, or all)."""
        folded = 0
        with self._journal_lock:
            own = {writer.path for writer in self._writers.values()}
            for path in journal_files(self._journal_dir, run_id):
                if path in own:
                    continue
                fd = claim_dead(path)
                if fd is None:
                    continue
                try:
                    name = os.path.basename(path)
                    dead_run = run_of(name)
                    assert dead_run is not None  # journal_files checked it
                    # From where an earlier fold of it stopped (a file that
                    # grew past 1 MiB was folded in parts).
                    start = self._folded_upto(name)
                    journal = JournalFile()
                    with os.fdopen(os.dup(fd), "rb") as file:
                        file.seek(start)
                        parse_records(file.read(), start, journal)
                    if journal.damaged:
                        # Not a journal we can read: kept for a person to
                        # look at (verify names it), never removed.
                        continue
                    whole = journal.end == os.fstat(fd).st_size
                    if journal.end > start:
                        self._fold(
                            name,
                            dead_run,
                            journal.objects,
                            b"\n".join(journal.lines),
                            journal.end,
                        )
                    if not whole:
                        # Bytes after the last complete record: a record cut
                        # short by a crash, or damage that hides the rest.
                        # Kept (verify names it); never folded twice.
                        continue
                    os.unlink(path)
                    self._removed_folds.append(name)
                    folded += 1
                except OSError as error:
                    raise BackendError(
                        f"cannot fold journal file {path}: {error}", self.location
                    ) from None
                finally:
                    os.close(fd)
        return folded

    def _drop_journal(self, run_id: str) -> None:
        """Removes the journal files of a deleted run (of dead writers)."""
        with self._journal_lock:
            for path in journal_files(self._journal_dir, run_id):
                fd = claim_dead(path)
                if fd is None:
                    continue
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
                finally:
                    os.close(fd)

    def _journals(self, run_id: str | None = None) -> list[JournalFile]:
        """What every journal file (of one run, if given) holds, oldest first."""
        with self._journal_lock:
            return self._reader.read_all(journal_files(self._journal_dir, run_id))

    def _journal_lines(self, run_id: str) -> list[bytes]:
        return [line for journal in self._journals(run_id) for line in journal.lines]

    def _from_journals(self, keys: Sequence[str]) -> dict[str, bytes]:
        """The objects of ``keys`` found in journals (this process's first)."""
        found: dict[str, bytes] = {}
        with self._journal_lock:
            for writer in self._writers.values():
                objects = writer.objects
                for key in keys:
                    data = objects.get(key)
                    if data is not None:
                        found[key] = data
            if len(found) == len(keys):
                return found
            journals = self._journals()
        for journal in journals:
            for key in keys:
                data = journal.objects.get(key)
                if data is not None:
                    found[key] = data
        missing = [key for key in keys if key not in found]
        if missing and (journals or os.path.isdir(self._journal_dir)):
            # A journal folded (then removed) since the table was read is in
            # the table now. (Without the directory, no journal ever was.)
            found.update(self._select(missing))
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
                self._fold_dead(None)
                self._forget_folds(sweep=True)
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
        with self._journal_lock:
            for run_id in list(self._writers):
                # What cannot be folded now stays journaled: durable, and
                # folded by the next process that finds it.
                with contextlib.suppress(BackendError):
                    self.settle_steps(run_id)
                writer = self._writers.pop(run_id, None)
                if writer is not None:
                    writer.close(unlink=False)
            if self._removed_folds and self._db is not None:
                with contextlib.suppress(BackendError):
                    self._forget_folds()
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
        journaled = {key for journal in backend._journals() for key in journal.objects}
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


def _forget(db: sqlite3.Connection, names: Sequence[str]) -> None:
    """Deletes the journal_folds records of removed journal files."""
    for start in range(0, len(names), _CHUNK):
        chunk = names[start : start + _CHUNK]
        db.execute(
            f"DELETE FROM journal_folds WHERE name IN ({','.join('?' * len(chunk))})",
            chunk,
        )


def _guard(backend: SQLiteObjects, call: Callable[[sqlite3.Connection], T]) -> T:
    try:
        return call(backend._connection())
    except _READ_ERRORS as error:
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


def _key_of(raw: object) -> str | None:
    """The object key a digest cell holds, or None if it holds no valid key."""
    if isinstance(raw, (bytes, bytearray, memoryview)):
        data = bytes(raw)
    elif isinstance(raw, str):
        data = raw.encode("utf-8", "surrogateescape")
    else:
        return None
    if len(data) != 64 or _HEX.fullmatch(data) is None:
        return None
    return data.decode("ascii")


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
