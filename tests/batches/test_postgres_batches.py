"""Batches on a PostgreSQL store: worker processes open it by its URL, and a
concurrency limit is a set of advisory locks every process shares (on one
machine or many), freed when a holder dies.

Runs against the test session's own PostgreSQL server (see
``tests/conftest.py``), skipped where no server binaries exist.
"""

from __future__ import annotations

import os
import pathlib
import signal
import time
from collections.abc import Iterator

import pytest

import enact
from batches.conftest import Hold, counted, side_lines
from batches.flows import CallsHeld, Held, Jitter, Noise
from enact._batches.limits import slot_locks
from enact._batches.spec import StoreAddress, store_address
from enact.backends.postgres import PostgresObjects
from stores.postgres_server import PostgresServer


@pytest.fixture
def pg_url(postgres_server: PostgresServer) -> str:
    return postgres_server.fresh_url()


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[enact.Store]:
    store = enact.open_store(pg_url)
    yield store
    store.close()


def test_worker_processes_open_the_store_by_its_url(
    pg_store: enact.Store, pg_url: str
) -> None:
    address = store_address(pg_store)
    assert address == StoreAddress("postgresql", pg_url, False, address.schema)
    with pg_store:
        batch = enact.sample(
            Noise(), [enact.Int(1), enact.Int(5)], n=3, executor="processes"
        ).wait(timeout=120)
        assert batch.info().counts == {"finished": 6}
        outputs = [float(value) for value in batch.outputs()]
    assert sorted(int(value) for value in outputs) == [1, 1, 1, 5, 5, 5]
    assert len(set(outputs)) == 6  # six samples, six draws


def test_an_address_never_shows_its_password() -> None:
    address = StoreAddress("postgresql", "postgresql://ann:s3cret@db/x", False)
    assert "s3cret" not in repr(address)
    assert "ann" in repr(address)


def test_a_limit_holds_across_worker_processes(
    pg_store: enact.Store, hold: Hold, tmp_path: pathlib.Path
) -> None:
    hold(2, 4, 8)
    with pg_store:
        batch = enact.sample(
            CallsHeld(),
            [enact.Int(i) for i in range(8)],
            executor="processes",
            concurrency=4,
            limits={Held: 2},
        ).wait(timeout=120)
        assert batch.info().counts == {"finished": 8}
    assert counted(tmp_path) == (0, 2, 8)


def test_a_limit_holds_across_batches_and_store_objects(
    pg_url: str, hold: Hold, tmp_path: pathlib.Path
) -> None:
    # Two store objects stand for two machines: they share nothing but the
    # database.
    hold(2, 3, 12)
    first, second = enact.open_store(pg_url), enact.open_store(pg_url)
    try:
        with first:
            on_processes = enact.sample(
                CallsHeld(),
                [enact.Int(i) for i in range(6)],
                executor="processes",
                concurrency=3,
                limits={Held: 2},
            )
        with second:
            on_threads = enact.sample(
                CallsHeld(),
                [enact.Int(i) for i in range(6)],
                executor="threads",
                concurrency=3,
                limits={Held: 2},
            )
        for batch in (on_processes, on_threads):
            assert batch.wait(timeout=120).info().counts == {"finished": 6}
    finally:
        first.close()
        second.close()
    assert counted(tmp_path) == (0, 2, 12)


def test_a_killed_holder_gives_its_slot_back(
    pg_store: enact.Store, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    side_log = tmp_path / "side.log"
    monkeypatch.setenv("ENACT_SIDE_LOG", str(side_log))
    monkeypatch.setenv("ENACT_HANG_AT", "7")
    monkeypatch.setenv("ENACT_HANG_ONCE", str(tmp_path / "hung"))
    with pg_store:
        batch = enact.sample(
            Noise(),
            [enact.Int(7), enact.Int(1), enact.Int(2)],
            executor="processes",
            concurrency=2,
            limits={Jitter: 1},
        )
        deadline = time.monotonic() + 120
        while not any(line[0] == "hang" for line in side_lines(side_log)):
            assert time.monotonic() < deadline, "the sample never hung"
            time.sleep(0.05)
        (worker,) = (int(line[1]) for line in side_lines(side_log) if line[0] == "hang")
        os.kill(worker, signal.SIGKILL)
        batch.wait(timeout=120)
        assert batch.info().counts == {"finished": 3}


def test_slots_are_advisory_locks_other_connections_see(pg_url: str) -> None:
    first, second = enact.open_store(pg_url), enact.open_store(pg_url)
    try:
        assert isinstance(first.backend, PostgresObjects)
        mine, theirs = slot_locks(first, "a.Key"), slot_locks(second, "a.Key")
        other_key = slot_locks(second, "b.Key")
        assert mine is not None and theirs is not None and other_key is not None
        assert mine.try_lock(0)
        assert not theirs.try_lock(0)  # held by another connection
        assert theirs.try_lock(1)
        assert other_key.try_lock(0)  # another key's slots are its own
        mine.unlock(0)
        assert theirs.try_lock(0)
    finally:
        first.close()
        second.close()
