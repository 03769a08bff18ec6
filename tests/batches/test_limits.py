"""Concurrency limits per component: they hold across a batch's processes,
across batches and executors, and a killed holder gives its slot back.

Calls of :class:`~batches.flows.Held` count how many are inside at once in a
file every process shares, and each stays inside until as many as the limit
are and every sample in flight has arrived at the call: without the limit all
of them would be inside at once, whatever the timing.
"""

from __future__ import annotations

import os
import pathlib
import signal
import time

import pytest

import enact
from batches.conftest import Hold, counted, side_lines
from batches.flows import AsyncCallsHeld, AsyncHeld, CallsHeld, Held, Jitter, Noise


def test_a_limit_holds_across_worker_processes(
    shared_store: enact.Store, hold: Hold, tmp_path: pathlib.Path
) -> None:
    hold(2, 4, 8)
    with shared_store:
        batch = enact.sample(
            CallsHeld(),
            [enact.Int(i) for i in range(8)],
            executor="processes",
            concurrency=4,
            limits={Held: 2},
        ).wait(timeout=120)
        assert batch.info().counts == {"finished": 8}
    assert counted(tmp_path) == (0, 2, 8)


def test_a_limit_holds_across_batches_on_two_executors(
    shared_store: enact.Store, hold: Hold, tmp_path: pathlib.Path
) -> None:
    hold(2, 3, 12)  # three in flight while either batch runs
    with shared_store:
        on_processes = enact.sample(
            CallsHeld(),
            [enact.Int(i) for i in range(6)],
            executor="processes",
            concurrency=3,
            limits={Held: 2},
        )
        on_threads = enact.sample(
            CallsHeld(),
            [enact.Int(i) for i in range(6)],
            executor="threads",
            concurrency=3,
            limits={Held.type_id(): 2},  # by type id: the same limit
        )
        for batch in (on_processes, on_threads):
            assert batch.wait(timeout=120).info().counts == {"finished": 6}
    assert counted(tmp_path) == (0, 2, 12)


def test_async_calls_wait_for_a_slot_without_blocking_the_loop(
    shared_store: enact.Store, hold: Hold, tmp_path: pathlib.Path
) -> None:
    hold(3, 12, 12)
    with shared_store:
        batch = enact.sample(
            AsyncCallsHeld(),
            [enact.Int(i) for i in range(12)],
            executor="asyncio",
            concurrency=12,
            limits={AsyncHeld: 3},
        ).wait(timeout=120)
        assert batch.info().counts == {"finished": 12}
        # Limits are the batch's: a resumed batch in another process keeps them.
        assert enact.batches.get_batch(batch.id).spec.limits == {AsyncHeld.type_id(): 3}
    assert counted(tmp_path) == (0, 3, 12)


def test_a_store_without_a_directory_limits_the_calls_of_this_process(
    hold: Hold, tmp_path: pathlib.Path
) -> None:
    hold(2, 4, 8)
    with enact.InMemoryStore():
        batch = enact.sample(
            CallsHeld(),
            [enact.Int(i) for i in range(8)],
            executor="threads",
            concurrency=4,
            limits={Held: 2},
        ).wait(timeout=120)
        assert batch.info().counts == {"finished": 8}
    assert counted(tmp_path) == (0, 2, 8)


def test_a_killed_holder_gives_its_slot_back(
    shared_store: enact.Store, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    side_log = tmp_path / "side.log"
    monkeypatch.setenv("ENACT_SIDE_LOG", str(side_log))
    monkeypatch.setenv("ENACT_HANG_AT", "7")
    monkeypatch.setenv("ENACT_HANG_ONCE", str(tmp_path / "hung"))
    with shared_store:
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
        # The hanging call holds the only slot: the other samples wait
        # for it until its process dies.
        (worker,) = (int(line[1]) for line in side_lines(side_log) if line[0] == "hang")
        os.kill(worker, signal.SIGKILL)
        batch.wait(timeout=120)
        assert batch.info().counts == {"finished": 3}


def test_bad_limits_are_refused(store: enact.Store) -> None:
    with store:
        with pytest.raises(ValueError, match="at least 1"):
            enact.sample(CallsHeld(), [enact.Int(1)], limits={Held: 0})
        with pytest.raises(TypeError, match="limits= maps components"):
            enact.sample(CallsHeld(), [enact.Int(1)], limits={3: 1})
        run = enact.run(Noise(), enact.Int(1))
        with pytest.raises(enact.runs.RunError, match="give n="):
            run.fork(limits={Jitter: 1})
