"""A store used on both sides of a fork(): the child writes through the
store it inherited, and neither side reads the other's bytes for its own.

The child of ``multiprocessing``'s "fork" start method (the default on
Linux before Python 3.14) inherits the parent's open store, its open log
and its made-ahead files.
"""

from __future__ import annotations

import fcntl
import multiprocessing
import pathlib
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

import enact
from stores.helpers import StoreKind
from training.flows import Many

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="fork() is POSIX only")

WAIT = 120.0  # seconds: generous, for a loaded machine


def _in_child(target: Any, *args: Any) -> Any:
    """Runs ``target(*args, queue)`` in a forked child; returns what it put."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=target, args=(*args, queue))
    child.start()
    found = queue.get(timeout=WAIT)
    child.join(WAIT)
    assert child.exitcode == 0
    return found


def _commit_some(store: enact.Store, queue: Any) -> None:
    with store:
        refs = [enact.commit(enact.Str(f"child {n}")) for n in range(50)]
        store.flush()
        run = enact.run(Many(), enact.Int(3))
    queue.put(([ref.digest for ref in refs], run.id))


def test_a_parent_reads_what_it_writes_after_its_child_wrote(
    store_kind: StoreKind, reopen_store: Callable[[], enact.Store]
) -> None:
    store = reopen_store()
    with store:
        first = enact.commit(enact.Str("parent, before"))
        store.flush()  # a file store's log is open now, and inherited
        written, child_run = _in_child(_commit_some, store)
        second = enact.commit(enact.Str("parent, after"))
        store.flush()
        parent_run = enact.run(Many(), enact.Int(3))
        assert parent_run.output() == 6
        assert enact.Ref(second.digest).checkout() == "parent, after"
        assert enact.Ref(first.digest).checkout() == "parent, before"
        assert store.verify() == []
    if store_kind.name == "memory":
        return  # the child's objects were in the child's memory
    fresh = reopen_store()
    with fresh:
        assert [enact.Ref(d).checkout() for d in written] == [
            f"child {n}" for n in range(50)
        ]
        assert enact.Ref(second.digest).checkout() == "parent, after"
        for run_id in (child_run, parent_run.id):
            assert enact.Run(run_id, fresh).output() == 6
        assert fresh.verify() == []


def _take_and_run(store: enact.Store, parents: set[str], queue: Any) -> None:
    pool = store.backend.index()._pool  # type: ignore[union-attr]
    taken = [pool.take() for _ in range(40)]
    with store:
        runs = [enact.run(Many(), enact.Int(3)).id for _ in range(20)]
    queue.put((sorted(parents & set(filter(None, taken))), runs))


def test_a_child_never_takes_its_parents_made_ahead_files(
    tmp_path: pathlib.Path,
) -> None:
    store = enact.FileStore(str(tmp_path / "store"))
    with store:
        ran = [enact.run(Many(), enact.Int(3)).id for _ in range(20)]
        pool = store.backend.index()._pool  # type: ignore[union-attr]
        assert pool._thread is not None  # in use: files ready or being made
        deadline = time.monotonic() + WAIT
        while not pool._ready:
            assert time.monotonic() < deadline, "the pool made no file"
            threading.Event().wait(0.01)
        parents = {path for path, _ in pool._ready}
        shared, child_runs = _in_child(_take_and_run, store, parents)
        assert shared == []
        ran += [enact.run(Many(), enact.Int(3)).id for _ in range(20)]
    store.close()
    fresh = enact.FileStore(str(tmp_path / "store"))
    with fresh:
        for run_id in ran + child_runs:
            run = enact.Run(run_id, fresh)
            assert run.status == enact.RunStatus.FINISHED
            assert run.output() == 6
        assert fresh.verify() == []
    fresh.close()


def _connection_then_commit(store: enact.Store, queue: Any) -> None:
    backend: Any = store.backend
    inherited = backend._db  # None once the fork hook has let go of it
    with store:
        enact.commit(enact.Str("child"))
        store.flush()
    queue.put((inherited is None, id(backend._db)))


def test_a_sqlite_child_opens_its_own_connection(tmp_path: pathlib.Path) -> None:
    """SQLite's rule: a connection is never used on both sides of a fork."""
    store = enact.SQLiteStore(str(tmp_path / "store.db"))
    with store:
        enact.commit(enact.Str("parent"))
        store.flush()
        parents = id(store.backend._db)  # type: ignore[union-attr]
        let_go, childs = _in_child(_connection_then_commit, store)
        assert let_go and childs != parents
        enact.commit(enact.Str("parent, after"))
        store.flush()
        assert store.verify() == []
    store.close()


def _hold_the_index_lock(store: enact.Store, release: Any, queue: Any) -> None:
    index: Any = store.index
    with index._locked():
        queue.put("locked")
        release.wait(WAIT)


def test_a_file_store_childs_index_lock_excludes_its_parent(
    tmp_path: pathlib.Path,
) -> None:
    """flock() locks belong to an open file: a child that locked the
    descriptor it inherited would not exclude its parent."""
    store = enact.FileStore(str(tmp_path / "store"))
    with store:
        enact.run(Many(), enact.Int(3))  # the index lock's file is open now
        index: Any = store.index
        assert index._lock_fd is not None
        context = multiprocessing.get_context("fork")
        release, queue = context.Event(), context.Queue()
        child = context.Process(
            target=_hold_the_index_lock, args=(store, release, queue)
        )
        child.start()
        try:
            assert queue.get(timeout=WAIT) == "locked"
            with pytest.raises(BlockingIOError):
                fcntl.flock(index._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            release.set()
            child.join(WAIT)
        assert child.exitcode == 0
        enact.run(Many(), enact.Int(3))  # the lock is free again
    store.close()


def _write_steps_of(store: enact.Store, run_id: str, queue: Any) -> None:
    journals: Any = store.backend.journals()  # type: ignore[union-attr]
    inherited = dict(journals._writers)
    write = store.step_writer(run_id)
    write(b"child line\n", b"")
    queue.put((sorted(inherited), journals._writers[run_id].path))


def test_a_sqlite_child_writes_journals_of_its_own(tmp_path: pathlib.Path) -> None:
    store = enact.SQLiteStore(str(tmp_path / "store.db"))
    with store:
        write = store.step_writer("run-1")
        write(b"parent line\n", b"")
        journals: Any = store.backend.journals()  # type: ignore[union-attr]
        parents = journals._writers["run-1"].path
        inherited, childs = _in_child(_write_steps_of, store, "run-1")
        assert inherited == [] and childs != parents
        write(b"parent again\n", b"")
        store.settle_steps("run-1", ended=True)
    store.close()
