"""The run journals of a SQLite store: one append-only file per run and process.

A durable run's finished calls go to run journals in ``<database>.journal``
first (:mod:`enact.backends.sqlite.journal_files`: one ``write`` per call
instead of one transaction), folded into the tables each MiB and when the
run ends. Until then readers find the journaled objects and step lines
there: the objects (:mod:`enact.backends.sqlite.objects`) look in the
journals for what their table lacks, and the index's step logs include
them.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from enact.backends import forks, sessions
from enact.backends.base import (
    BackendError,
    FileDamage,
    Parts,
    StepWriter,
    check_key,
)
from enact.backends.index import check_run_id
from enact.backends.journals import Journals, PutMany
from enact.backends.sqlite.index import transaction
from enact.backends.sqlite.journal_files import (
    JournalFile,
    JournalReader,
    JournalWriter,
    claim_dead,
    journal_files,
    parse_records,
    run_of,
)
from enact.backends.sqlite.keyed import UPSERT, row_key
from enact.backends.sqlite.migrations import CHUNK, READ_ERRORS

__all__ = ["SQLiteJournals"]

# A run's journal is folded into the tables when this many bytes are not yet
# (a few thousand calls): one transaction per fold, little for readers to scan.
_FOLD_BYTES = 1 << 20
# Objects this large are written to the table at once, not journaled: their
# own cost dwarfs a transaction's, and they would be written twice.
_JOURNAL_LIMIT = 64 * 1024
_INSERT_STEP = "INSERT INTO steps (run_id, line) VALUES (?, ?)"

T = TypeVar("T")


class SQLiteJournals(Journals):
    """Run journals beside a SQLite database, folded into its tables.

    Args:
        path: The database file.
        connection: Returns the database connection (raises once closed).
        lock: The connection's lock; it guards the journals too: a fold
            holds both, and one lock cannot be taken in two orders.
        keeper: The store's sessions (a journal write is a write).
        put_many: The objects' ``put_many`` (large objects skip the journal).
        select: Reads rows of the objects table, by key.
        fresh_after: The time before which a stored row is re-stamped.
        read_steps: The index's step logs (which include the journals).
        fsync: Flush every append to disk.
    """

    def __init__(
        self,
        path: str,
        *,
        connection: Callable[[], sqlite3.Connection],
        lock: threading.RLock,
        keeper: sessions.Keeper,
        put_many: PutMany,
        select: Callable[[Sequence[str]], dict[str, bytes]],
        fresh_after: Callable[[], float],
        read_steps: Callable[[str], list[bytes]],
        fsync: bool,
    ) -> None:
        self.path = path
        self.location = path
        self.fsync = fsync
        self._connection = connection
        self._lock = lock
        self._journal_lock = lock
        self._sessions = keeper
        self._put_many = put_many
        self._select = select
        self._fresh_after = fresh_after
        self._read_steps = read_steps
        self._journal_dir = path + ".journal"
        self._writers: dict[str, JournalWriter] = {}
        # Journal files this store folded and removed: their records in
        # journal_folds go with the next fold (one transaction fewer).
        self._removed_folds: list[str] = []
        self._reader = JournalReader(self.location)
        self._closed = False
        forks.on_fork(self)

    def _after_fork(self) -> None:
        # A forked child never appends to its parent's journal files, and
        # lets go of its copies of their descriptors (whose locks say that
        # their writer lives: the parent's, still held by the parent).
        for writer in self._writers.values():
            with contextlib.suppress(OSError):
                os.close(writer.fd)
        self._writers = {}

    def _open(self) -> bool:
        return not self._closed

    def _guard(self, call: Callable[[sqlite3.Connection], T]) -> T:
        try:
            return call(self._connection())
        except READ_ERRORS as error:
            raise BackendError(
                f"cannot use {self.path}: {error}", self.location
            ) from None

    def read_steps(self, run_id: str) -> list[bytes]:
        return self._read_steps(run_id)

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
            self._put_many(large)
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
        now, fresh_after = sessions.clock(), self._fresh_after()
        rows = [(row_key(key), data, now, fresh_after) for key, data in objects.items()]
        removed = list(self._removed_folds)

        def fold(db: sqlite3.Connection) -> None:
            with transaction(db):
                _forget(db, removed)
                done = db.execute(
                    "SELECT upto FROM journal_folds WHERE name = ?", (name,)
                ).fetchone()
                if done is not None and done[0] >= upto:
                    return
                db.executemany(UPSERT, rows)
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
            self._guard(fold)
        del self._removed_folds[: len(removed)]

    def _folded_upto(self, name: str) -> int:
        row = self._guard(
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
                recorded = self._guard(
                    lambda db: db.execute("SELECT name FROM journal_folds")
                ).fetchall()
                names += [
                    name
                    for (name,) in recorded
                    if not os.path.exists(os.path.join(self._journal_dir, name))
                ]
            if names:
                self._guard(lambda db: _forget(db, names))
            self._removed_folds.clear()

    def _fold_dead(self, run_id: str | None) -> int:
        """Folds the journal files whose writers died (of one run, or all)."""
        folded = 0
        with self._journal_lock:
            paths = journal_files(self._journal_dir, run_id)
            own = {writer.path for writer in self._writers.values()} if paths else ()
            for path in paths:
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

    def scan_damage(self) -> list[FileDamage]:
        """Journal files whose header is damaged, or with bytes after their
        last complete record (one finding each; nothing is repaired)."""
        found: list[FileDamage] = []
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

    def close(self) -> None:
        """Folds this process's journals where it can (what cannot be folded
        stays journaled: durable, and folded by the next process that finds
        it) and closes them."""
        with self._journal_lock:
            for run_id in list(self._writers):
                # What cannot be folded now stays journaled: durable, and
                # folded by the next process that finds it.
                with contextlib.suppress(BackendError):
                    self.settle_steps(run_id)
                writer = self._writers.pop(run_id, None)
                if writer is not None:
                    writer.close(unlink=False)
            if self._removed_folds and self._open():
                with contextlib.suppress(BackendError):
                    self._forget_folds()
        self._closed = True


def _forget(db: sqlite3.Connection, names: Sequence[str]) -> None:
    """Deletes the journal_folds records of removed journal files."""
    for start in range(0, len(names), CHUNK):
        chunk = names[start : start + CHUNK]
        db.execute(
            f"DELETE FROM journal_folds WHERE name IN ({','.join('?' * len(chunk))})",
            chunk,
        )
