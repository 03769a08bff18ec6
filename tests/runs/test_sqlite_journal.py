"""Durable runs on a SQLite store: calls go to run journals beside the
database (one write each) and are folded into the tables in batches.

A process that dies leaves its journal file behind; these tests stand in for
that death by closing the writer's file without folding it (its lock goes, as
with a dead process), then check that every reader sees what it holds, that
resume and gc fold it exactly once, and that nothing is lost.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import errno
import hashlib
import os
import pathlib
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import pytest

import enact
from enact import runs
from enact._runs.recorder import StepLog
from enact.backends import BackendError, SQLiteObjects, sessions
from enact.backends.sqlite import journal_files as sqlite_journal
from enact.backends.sqlite import journals as sqlite_backend
from enact.backends.sqlite.journals import SQLiteJournals
from enact.runs import RunStatus
from runs.flows import CrashingPipeline, Dice, Die, Interrupt


@pytest.fixture
def db(tmp_path: pathlib.Path) -> pathlib.Path:
    return tmp_path / "store.db"


@pytest.fixture
def store(db: pathlib.Path) -> Iterator[enact.Store]:
    with enact.SQLiteStore(db) as opened:
        yield opened
    opened.close()


def backend_of(store: enact.Store) -> SQLiteObjects:
    backend = store.backend
    assert isinstance(backend, SQLiteObjects)
    return backend


def journal_files(db: pathlib.Path) -> list[str]:
    return sqlite_journal.journal_files(str(db) + ".journal")


def query(db: pathlib.Path, sql: str, *arguments: object) -> list[tuple[Any, ...]]:
    """The rows of one statement, on a connection of its own (committed)."""
    with sqlite3.connect(db) as connection:
        rows = connection.execute(sql, arguments).fetchall()
    connection.close()
    return rows


def table_lines(db: pathlib.Path, run_id: str) -> list[bytes]:
    rows = query(db, "SELECT line FROM steps WHERE run_id = ? ORDER BY seq", run_id)
    return [line for (row,) in rows for line in bytes(row).split(b"\n")]


def table_rows(db: pathlib.Path, run_id: str) -> int:
    return int(query(db, "SELECT count(*) FROM steps WHERE run_id = ?", run_id)[0][0])


def folds_pending(db: pathlib.Path) -> int:
    return int(query(db, "SELECT count(*) FROM journal_folds")[0][0])


def backend_with_run(db: pathlib.Path) -> SQLiteObjects:
    """A SQLite backend whose index has the run ``r1``."""
    backend = SQLiteObjects(db)
    backend.index().update_run("r1", lambda old: b"{}")
    return backend


def abandon(store: enact.Store) -> None:
    """Leaves the store's journals as a killed process would: unfolded, unlocked."""
    backend = backend_of(store)
    with backend.journals()._journal_lock:
        for writer in backend.journals()._writers.values():
            writer.close(unlink=False)
        backend.journals()._writers.clear()


@pytest.fixture
def no_settling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs end without folding their journals (as if the process died)."""
    monkeypatch.setattr(
        SQLiteJournals, "settle_steps", lambda self, run_id, ended=False: None
    )


# The leaves of a CrashingPipeline(at=5) that finished before it died.
DURABLE_AT_CRASH = {(0, 0), (0, 1), (0, 2), (0, 3), (1, 0)}


def crash(store: enact.Store, calls: collections.Counter[str]) -> runs.Run:
    """A CrashingPipeline run that dies at leaf 5, its journal left behind."""
    with pytest.raises(Interrupt):
        enact.run(CrashingPipeline(at=5), enact.Int(0), name="c")
    abandon(store)
    return runs.get_run("c")


# -- runs --------------------------------------------------------------------------


def test_a_finished_run_is_folded_and_leaves_no_journal(
    store: enact.Store, db: pathlib.Path
) -> None:
    run = enact.run(Dice(count=5), name="d")
    assert run.status is RunStatus.FINISHED
    assert journal_files(db) == []
    # The record that the removed file was folded goes with the next fold.
    assert folds_pending(db) == 1
    lines = table_lines(db, run.id)
    log = StepLog(lines)
    assert sorted(log.done) == [(i,) for i in range(5)]
    assert len(lines) == len(set(lines))
    # The run ended: its recovery lines (a shortcut for resume) were dropped.
    assert not [line for line in lines if line.startswith(b"[")]
    rolls = [int(c.get_output()) for c in run.journal().get_children()]
    assert run.output() == sum(rolls)
    enact.run(Dice(count=2), name="e")
    assert folds_pending(db) == 1
    store.close()
    assert folds_pending(db) == 0


@enact.typed_invokable(enact.NoneResource, enact.Int)
@dataclasses.dataclass
class Peek(enact.Invokable[enact.NoneResource, enact.Int]):
    """Rolls dice, then looks at its own run through a second connection."""

    database: str

    def call(self) -> enact.Int:
        rolls = [int(Die()()) for _ in range(3)]
        other = SQLiteObjects(self.database)
        try:
            ((run_id, _),) = other.index().list_runs()
            log = StepLog(other.index().read_steps(run_id))
            done = sorted(path for path in log.done if path)
            digests = [log.done[path] for path in done]
            readable = all(data is not None for data in other.get_many(digests))
            present = all(other.has_many(digests))
        finally:
            other.close()
        # Seen: the three dice, durable and readable while the run goes on.
        return enact.Int(100 * len(done) + 10 * readable + present + 0 * sum(rolls))


def test_another_connection_sees_journaled_steps_and_objects(
    store: enact.Store, db: pathlib.Path
) -> None:
    run = enact.run(Peek(str(db)), name="peek")
    assert run.output() == 311


def test_a_dead_writers_journal_is_read_then_folded_once_by_resume(
    store: enact.Store,
    db: pathlib.Path,
    calls: collections.Counter[str],
    no_settling: None,
) -> None:
    run = crash(store, calls)
    (left,) = journal_files(db)
    assert run.status is RunStatus.CRASHED
    # Readers see the dead journal's steps and objects.
    log = StepLog(store.index.read_steps(run.id))
    assert {path for path in log.done if len(path) == 2} == DURABLE_AT_CRASH
    assert store.verify() == []
    assert table_lines(db, run.id) == []  # nothing folded yet
    assert len(log.leaves) == 5  # from the journal's recovery lines
    ran = {f"leaf-{i}" for i in range(5)}
    assert {key for key in calls if key.startswith("leaf-")} == ran
    # Resume folds it first, then runs the rest; no leaf ran twice.
    resumed = run.resume()
    assert resumed.status is RunStatus.FINISHED
    assert run.output() == 2 * sum(range(8))
    assert all(calls[f"leaf-{i}"] == 1 for i in range(8))
    assert not os.path.exists(left)
    abandon(store)  # the resume's own journal, unfolded (settling is off)
    lines = store.index.read_steps(run.id)
    assert len(lines) == len(set(lines))


def test_a_fold_that_died_before_removing_its_file_is_not_repeated(
    store: enact.Store,
    db: pathlib.Path,
    calls: collections.Counter[str],
    no_settling: None,
) -> None:
    run = crash(store, calls)
    (left,) = journal_files(db)
    backend = backend_of(store)
    journal = sqlite_journal.JournalFile()
    sqlite_journal.parse_records(pathlib.Path(left).read_bytes(), 0, journal)
    # A folder commits the fold, then dies before removing the file.
    text = b"\n".join(journal.lines)
    name = os.path.basename(left)
    backend.journals()._fold(name, run.id, journal.objects, text, journal.end)
    assert folds_pending(db) == 1
    once = table_lines(db, run.id)
    assert once and len(once) == len(journal.lines)
    backend.journals()._fold_dead(run.id)  # the next one finds the fold recorded
    assert table_lines(db, run.id) == once
    assert not os.path.exists(left)
    backend.journals()._forget_folds()
    assert folds_pending(db) == 0


def test_gc_forgets_folds_of_removed_files(
    store: enact.Store, db: pathlib.Path
) -> None:
    enact.run(Dice(count=2), name="d")
    # A folder died after removing its file.
    query(db, "INSERT INTO journal_folds VALUES ('gone.log', 8)")
    assert folds_pending(db) == 2
    store.gc(dry_run=True)  # changes nothing
    assert folds_pending(db) == 2
    store.gc()
    assert folds_pending(db) == 0


def test_gc_folds_dead_journals_and_keeps_what_live_ones_hold(
    db: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = backend_with_run(db)
    old = b'{"old": 1}'
    old_key = hashlib.sha256(old).hexdigest()
    writer.put_many([(old_key, [old])])
    query(db, "UPDATE objects SET written = 0")  # written long ago
    # A journaled object refers to the old one; a step line names it.
    new = b'{"child": {"digest": "%s"}}' % old_key.encode()
    new_key = hashlib.sha256(new).hexdigest()
    line = b'{"d": [0], "i": "%s"}' % new_key.encode()
    writer.write_steps("r1", [(new_key, [new])], [line])
    (live,) = journal_files(db)

    collector = SQLiteObjects(db)
    real = time.time
    monkeypatch.setattr(sessions, "clock", lambda: real() + 60)
    report = collector.gc()
    # The live journal is left in place, and what it reaches is kept.
    assert os.path.exists(live)
    assert report.removed == 0
    assert collector.get_many([old_key, new_key]) == [old, new]
    assert collector.index().read_steps("r1") == [line]

    # Its writer dies: the next collection folds the journal into the tables.
    writer.journals()._writers["r1"].close(unlink=False)
    writer.journals()._writers.clear()
    collector.gc()
    assert journal_files(db) == []
    assert table_lines(db, "r1") == [line]
    assert collector.get_many([old_key, new_key]) == [old, new]
    collector.close()
    writer.close()


def test_deleting_a_run_removes_its_dead_journal(
    store: enact.Store,
    db: pathlib.Path,
    calls: collections.Counter[str],
    no_settling: None,
) -> None:
    run = crash(store, calls)
    assert len(journal_files(db)) == 1
    run.delete()
    assert journal_files(db) == []
    assert store.index.read_steps(run.id) == []


def test_long_runs_fold_as_they_go(
    store: enact.Store, db: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_backend, "_FOLD_BYTES", 300)  # every few calls
    run = enact.run(Dice(count=10), name="long")
    assert table_rows(db, run.id) >= 4  # folded every few calls, and at the end
    log = StepLog(table_lines(db, run.id))
    assert sorted(log.done) == [(i,) for i in range(10)]
    assert journal_files(db) == []
    rolls = [int(c.get_output()) for c in run.journal().get_children()]
    assert run.output() == sum(rolls) and len(rolls) == 10


def test_a_journal_folded_in_parts_is_folded_from_where_it_stopped(
    store: enact.Store,
    db: pathlib.Path,
    calls: collections.Counter[str],
    no_settling: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sqlite_backend, "_FOLD_BYTES", 300)
    run = crash(store, calls)
    (left,) = journal_files(db)  # folded in parts, its tail not yet
    folded = table_lines(db, run.id)
    assert folded
    log = StepLog(store.index.read_steps(run.id))
    assert {path for path in log.done if len(path) == 2} == DURABLE_AT_CRASH
    backend_of(store).journals()._fold_dead(run.id)
    lines = table_lines(db, run.id)
    assert lines[: len(folded)] == folded
    assert len(lines) == len(set(lines))  # no part folded twice
    assert StepLog(lines).done == log.done
    assert not os.path.exists(left)


def test_closing_the_store_folds_open_journals(db: pathlib.Path) -> None:
    backend = backend_with_run(db)
    data = b'{"x": 1}'
    key = hashlib.sha256(data).hexdigest()
    backend.write_steps("r1", [(key, [data])], [b'{"d": [0]}'])
    assert len(journal_files(db)) == 1
    backend.close()
    assert journal_files(db) == []
    assert table_lines(db, "r1") == [b'{"d": [0]}']
    reopened = SQLiteObjects(db)
    assert reopened.get_many([key]) == [data]
    reopened.close()


def test_large_objects_go_to_the_table_at_once(db: pathlib.Path) -> None:
    backend = backend_with_run(db)
    big = b'"' + b"x" * (sqlite_backend._JOURNAL_LIMIT + 10) + b'"'
    key = hashlib.sha256(big).hexdigest()
    backend.write_steps("r1", [(key, [big[:10], big[10:]])], [b'{"d": [0]}'])
    assert query(db, "SELECT length(data) FROM objects WHERE digest = ?", key) == [
        (len(big),)
    ]
    (path,) = journal_files(db)
    assert len(pathlib.Path(path).read_bytes()) < 1000
    backend.close()


def test_a_failed_journal_write_names_the_file_and_the_next_starts_anew(
    db: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = backend_with_run(db)
    backend.write_steps("r1", [], [b'{"d": [0]}'])
    (first,) = journal_files(db)
    real_write = os.write

    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sqlite_journal.os, "write", full)
    with pytest.raises(BackendError, match=r"cannot write journal file .*No space"):
        backend.write_steps("r1", [], [b'{"d": [1]}'])
    monkeypatch.setattr(sqlite_journal.os, "write", real_write)
    backend.write_steps("r1", [], [b'{"d": [2]}'])
    assert first in journal_files(db) and len(journal_files(db)) == 2
    assert backend.index().read_steps("r1") == [b'{"d": [0]}', b'{"d": [2]}']
    backend.settle_steps("r1")  # folds the left file, then its own
    assert journal_files(db) == []
    assert table_lines(db, "r1") == [b'{"d": [0]}', b'{"d": [2]}']
    backend.close()


def test_step_lines_with_newlines_are_refused(db: pathlib.Path) -> None:
    backend = SQLiteObjects(db)
    with pytest.raises(BackendError, match="newline or start with a NUL"):
        backend.write_steps("r1", [], [b"a\nb"])
    with pytest.raises(BackendError, match="not a valid run id"):
        backend.write_steps("../x", [], [b"{}"])
    backend.close()


def test_a_read_racing_a_fold_finds_the_object(
    db: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = backend_with_run(db)
    data = b'{"x": 2}'
    key = hashlib.sha256(data).hexdigest()
    writer.write_steps("r1", [(key, [data])], [b'{"d": [0]}'])
    reader = SQLiteObjects(db)
    select = SQLiteObjects._select
    raced = []

    def select_then_fold(self: SQLiteObjects, keys: list[str]) -> dict[str, bytes]:
        found = select(self, keys)
        if self is reader and not raced:
            raced.append(True)
            writer.settle_steps("r1")  # folded and removed before the journals
        return found

    monkeypatch.setattr(SQLiteObjects, "_select", select_then_fold)
    assert reader.get_many([key]) == [data]
    assert raced and journal_files(db) == []
    reader.close()
    writer.close()


@enact.typed_invokable(enact.NoneResource, enact.Int)
@dataclasses.dataclass
class ManyThreads(enact.Invokable[enact.NoneResource, enact.Int]):
    """Rolls ``count`` dice from 8 threads at once."""

    count: int = 200

    def call(self) -> enact.Int:
        roll = enact.contexts.with_current_contexts(lambda: int(Die()()))
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            rolls = [pool.submit(roll) for _ in range(self.count)]
        return enact.Int(sum(f.result() for f in rolls))


def test_threads_append_to_one_journal_while_it_is_folded(
    store: enact.Store, db: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_backend, "_FOLD_BYTES", 2000)  # folds mid-run
    run = enact.run(ManyThreads(), name="threads")
    assert run.status is RunStatus.FINISHED
    assert table_rows(db, run.id) > 5  # folded in parts while threads appended
    lines = table_lines(db, run.id)
    assert len(lines) == len(set(lines))  # nothing folded twice
    log = StepLog(lines)
    assert sorted(log.done) == [(i,) for i in range(200)]
    assert journal_files(db) == []
    rolls = [int(c.get_output()) for c in run.journal().get_children()]
    assert run.output() == sum(rolls)
