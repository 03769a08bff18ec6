"""Durable runs of async components: journaled as they go, resumed, asked."""

from __future__ import annotations

import asyncio
import collections
import os
import pathlib
import signal
import subprocess
import sys

import pytest

import enact
from enact import runs
from runs.async_flows import AsyncFlow, AsyncGreet, AsyncLeaf, add_later
from runs.flows import Interrupt

CHILD = os.path.join(os.path.dirname(__file__), "async_child.py")
STORES = pytest.mark.parametrize("suffix", ["", ".db"], ids=["file", "sqlite"])


def open_store(path: pathlib.Path) -> enact.Store:
    if path.suffix == ".db":
        return enact.SQLiteStore(path)
    return enact.FileStore(path)


def test_an_async_invokable_runs_durably(
    store: enact.Store, calls: collections.Counter[str]
) -> None:
    with store:
        run = enact.run(AsyncFlow(more=2), enact.Int(10))
        assert run.status is runs.RunStatus.FINISHED
        assert int(run.output()) == 2 * sum(range(10, 15))
        children = run.journal().response().children
        # Children started together are recorded in the order they were made.
        inputs = [int(child().request().input()) for child in children]
        assert inputs == [10, 11, 12, 13, 14]
        assert len(runs.list_runs(component="AsyncFlow")) == 1
    assert calls == {f"leaf-{i}": 1 for i in range(10, 15)}


def test_run_async_runs_on_the_callers_loop(store: enact.Store) -> None:
    async def main() -> runs.Run:
        with store:
            return await runs.run_async(AsyncFlow(more=0), enact.Int(1), name="a")

    run = asyncio.run(main())
    assert run.status is runs.RunStatus.FINISHED
    assert int(run.output()) == 2 * (1 + 2 + 3)
    assert runs.get_run("a", store=store) == run


def test_run_inside_a_running_loop_points_at_run_async(store: enact.Store) -> None:
    async def main() -> None:
        with store:
            enact.run(AsyncFlow(), enact.Int(1))

    with pytest.raises(RuntimeError, match="run_async"):
        asyncio.run(main())


def test_a_registered_async_function_runs_durably(
    store: enact.Store, calls: collections.Counter[str]
) -> None:
    with store:
        run = enact.run(add_later, (2, 3))
        assert run.status is runs.RunStatus.FINISHED
        assert run.output() == 10
        assert len(run.journal().response().children) == 2
        again = enact.run(add_later, enact.invocations.CallArgs([4, 5], {}))
        assert again.output() == 18
    assert calls == {"twice-2": 1, "twice-3": 1, "twice-4": 1, "twice-5": 1}


def test_an_async_run_asks_for_input_and_resumes(
    store: enact.Store, calls: collections.Counter[str]
) -> None:
    with store:
        run = enact.run(AsyncGreet())
        assert run.status is runs.RunStatus.WAITING
        (pending,) = run.pending()
        assert pending.context == "Who is playing?"
        run.answer("Ada")
        run.resume()
        assert run.status is runs.RunStatus.FINISHED
        assert str(run.output()) == "Ada rolled [0, 2]"
    # The leaves before the request ran once, though the flow ran twice.
    assert calls == {"leaf-0": 1, "leaf-1": 1, "greet-after-input": 1}


def test_an_async_run_waits_for_input_in_place(store: enact.Store) -> None:
    async def main() -> runs.Run:
        with store:
            task = asyncio.create_task(
                runs.run_async(
                    AsyncGreet(), name="live", wait_for_input=True, poll_interval=0.01
                )
            )
            while not runs.pending_inputs():  # the run is listed as waiting
                await asyncio.sleep(0.01)
            runs.answer("live", "Bo")
            return await task

    run = asyncio.run(main())
    assert str(run.output()) == "Bo rolled [0, 2]"
    assert run.info().resumed == 0


def test_a_cancelled_async_run_is_crashed_and_resumes(
    store: enact.Store, calls: collections.Counter[str]
) -> None:
    async def main() -> None:
        with store:
            task = asyncio.create_task(
                runs.run_async(AsyncFlow(more=3), enact.Int(0), name="cut")
            )
            while calls["leaf-3"] == 0:  # the first sequential leaf finished
                await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(main())
    with store:
        run = runs.get_run("cut")
        assert run.status is runs.RunStatus.CRASHED
        assert "CancelledError" in (run.info().error or "")
        before = dict(calls)
        asyncio.run(run.resume_async())
        assert run.status is runs.RunStatus.FINISHED
        assert int(run.output()) == 2 * sum(range(6))
    ran_again = {key for key, count in calls.items() if count > before.get(key, 0)}
    assert all(before.get(key, 0) == 0 for key in ran_again)  # never a finished one
    assert all(count == 1 for count in calls.values())


def test_an_interrupted_async_run_is_crashed(store: enact.Store) -> None:
    class Breaks(AsyncFlow):
        async def call(self, start: enact.Int) -> enact.Int:
            await AsyncLeaf()(start)
            raise Interrupt()

    with store, pytest.raises(Interrupt):
        enact.run(Breaks(), enact.Int(0), name="broken")
    with store:
        assert runs.get_run("broken").status is runs.RunStatus.CRASHED


@STORES
def test_sigkill_of_an_async_run_then_resume(
    tmp_path: pathlib.Path, suffix: str
) -> None:
    store_path = tmp_path / f"store{suffix}"
    side_log = tmp_path / "side.log"
    env = {**os.environ, "ENACT_SIDE_LOG": str(side_log), "ENACT_HANG_AT": "4"}
    process = subprocess.Popen(
        [sys.executable, CHILD, str(store_path), "killed", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Leaves 0-3 have finished (and are durable) when leaf 4 hangs.
        _wait_for_line(side_log, "hang", process)
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate()
    os.environ["ENACT_SIDE_LOG"] = str(side_log)
    try:
        with open_store(store_path):
            run = runs.get_run("killed")
            assert run.status is runs.RunStatus.CRASHED
            run.resume()
            assert run.status is runs.RunStatus.FINISHED
            assert int(run.output()) == 2 * sum(range(6))
    finally:
        del os.environ["ENACT_SIDE_LOG"]
    lines = collections.Counter(side_log.read_text().split())
    assert lines == {"hang": 1, **{f"leaf-{i}": 1 for i in range(6)}}


def _wait_for_line(
    path: pathlib.Path, line: str, process: subprocess.Popen[str]
) -> None:
    """Waits (up to a minute) until ``path`` holds ``line``; fails if the
    process ends first."""
    for _ in range(6000):
        if path.exists() and line in path.read_text().split():
            return
        if process.poll() is not None:
            pytest.fail(f"the process ended early: {process.communicate()}")
        try:
            process.wait(0.01)
        except subprocess.TimeoutExpired:
            pass
    pytest.fail(f"{path} never held {line!r}")
