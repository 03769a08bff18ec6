"""A file store's made-ahead temporary files: handed out fresh, never leaked."""

from __future__ import annotations

import gc
import itertools
import os
import pathlib
import threading
import time
from collections.abc import Callable

import pytest

import enact
from enact.backends.files import temp_pool
from enact.backends.files.format import write_into
from enact.backends.files.temp_pool import TempPool
from training.flows import Many

WAIT = 30.0  # seconds: generous, for a loaded machine


def paths_in(directory: pathlib.Path) -> Callable[[], str]:
    counter = itertools.count()
    return lambda: str(directory / f"pooled-{next(counter)}")


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        threading.Event().wait(0.01)


def test_a_pool_makes_no_file_until_it_is_used_often(tmp_path: pathlib.Path) -> None:
    pool = TempPool(paths_in(tmp_path))
    for _ in range(temp_pool.START_AFTER - 1):
        assert pool.take() is None
    assert pool._thread is None and os.listdir(tmp_path) == []
    pool.close()


def test_a_pool_hands_out_empty_files_it_made(tmp_path: pathlib.Path) -> None:
    pool = TempPool(paths_in(tmp_path))
    for _ in range(temp_pool.START_AFTER):
        pool.take()
    wait_until(lambda: len(pool._ready) > 0)
    taken = pool.take()
    assert taken is not None and os.path.dirname(taken) == str(tmp_path)
    assert os.path.getsize(taken) == 0
    assert taken not in {path for path, _ in pool._ready}  # handed out once
    pool.close()
    assert os.listdir(tmp_path) == [os.path.basename(taken)]  # the taker's now


def test_a_stale_file_is_never_handed_out_and_is_removed(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool = TempPool(paths_in(tmp_path))
    for _ in range(temp_pool.START_AFTER):
        pool.take()
    wait_until(lambda: len(pool._ready) >= 32)
    made = {path for path, _ in pool._ready}
    later = time.monotonic() + temp_pool.MAX_AGE + 1
    monkeypatch.setattr(temp_pool.time, "monotonic", lambda: later)
    assert pool.take() is None  # every file is too old
    wait_until(lambda: not made & set(map(str, tmp_path.iterdir())))
    pool.close()


def test_closing_a_pool_removes_its_files_and_stops_its_thread(
    tmp_path: pathlib.Path,
) -> None:
    pool = TempPool(paths_in(tmp_path))
    for _ in range(temp_pool.START_AFTER):
        pool.take()
    wait_until(lambda: len(pool._ready) > 0)
    thread = pool._thread
    pool.close()
    assert thread is not None and not thread.is_alive()
    assert os.listdir(tmp_path) == []
    assert pool.take() is None


def test_a_file_store_writes_through_the_pool_and_without_it(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs whose records and step logs come from pooled files read back
    whole; with the pool's files removed under it (by a collection), every
    write falls back to creating its file."""
    location = tmp_path / "store"
    with enact.FileStore(str(location)) as store:
        pooled = [enact.run(Many(), enact.Int(3)) for _ in range(40)]
        backend = store.backend
        assert backend is not None
        pool = backend.index()._pool  # type: ignore[attr-defined]
        assert pool._thread is not None
        wait_until(lambda: len(pool._ready) > 0)
        for entry in (location / "tmp").iterdir():
            entry.unlink()  # as a collection would, were they old
        unpooled = [enact.run(Many(), enact.Int(3)) for _ in range(5)]
        store.close()
    assert sorted(os.listdir(location / "tmp")) == []
    with enact.FileStore(str(location)) as store:
        for run in pooled + unpooled:
            reread = enact.Run(run.id, store)
            assert reread.status == enact.RunStatus.FINISHED
            assert reread.output() == 6  # 1 + 2 + 3
            assert len(list(reread.journal().get_children())) == 3
        assert store.verify() == []


def test_a_write_into_a_file_that_is_not_empty_leaves_only_what_it_wrote(
    tmp_path: pathlib.Path,
) -> None:
    temp, path = tmp_path / "temp", tmp_path / "record"
    temp.write_bytes(b"x" * 100)  # not as the pool makes them, but possible
    write_into(str(path), [b"new ", b"record"], str(temp), fsync=False)
    assert path.read_bytes() == b"new record" and not temp.exists()


def test_a_pool_dropped_unclosed_removes_its_files_and_its_thread_ends(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The thread holds its pool weakly: a store never closed leaks neither."""
    monkeypatch.setattr(temp_pool, "_GONE_CHECK", 0.05)
    pool = TempPool(paths_in(tmp_path))
    for _ in range(temp_pool.START_AFTER):
        pool.take()
    ready = pool._ready  # the pool's, not the pool
    wait_until(lambda: len(ready) > 0)
    thread = pool._thread
    assert thread is not None
    del pool
    gc.collect()
    thread.join(WAIT)
    assert not thread.is_alive()
    assert os.listdir(tmp_path) == []
