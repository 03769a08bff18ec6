"""The one watcher behind every live stream of an application: a tick reads
the store once for all open streams, and only what may have changed."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any

import pytest

import enact
from api.flows import ApiAskNumber, ApiPick
from enact import runs
from enact.api import _watcher
from enact.api._watcher import Watch, Watcher
from enact.references import Store
from enact.ui._live import read_state

STREAMS = 6


class Counted:
    """Counts the calls of one function it stands in for."""

    def __init__(self, wrapped: Callable[..., Any]) -> None:
        self.wrapped = wrapped
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.wrapped(*args, **kwargs)


def test_one_tick_reads_once_for_every_open_stream(
    api_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    finished = runs.run(ApiPick(), enact.Str("fox"))
    firsts = [read_state(api_store, None) for _ in range(STREAMS)]
    firsts += [read_state(api_store, finished.id) for _ in range(STREAMS)]
    index = api_store.index
    marks = Counted(index.run_changes_mark)
    queries = Counted(index.query_runs)  # the Inbox count is one query
    run_reads = Counted(_watcher.run_state)
    monkeypatch.setattr(index, "run_changes_mark", marks)
    monkeypatch.setattr(index, "query_runs", queries)
    monkeypatch.setattr(_watcher, "run_state", run_reads)
    # Ticks only when told: the background loop waits for ever.
    watcher = Watcher(api_store, threading.Event(), every=3600.0)

    def reads() -> tuple[int, int, int]:
        return marks.calls, queries.calls, run_reads.calls

    async def main() -> None:
        with contextlib.ExitStack() as stack:
            watches: list[Watch] = [
                stack.enter_context(watcher.watch(f.get("run", {}).get("id"), f))
                for f in firsts
            ]
            await watcher.tick()  # the first tick reads everything, once
            assert reads() == (1, 1, 1)
            await watcher.tick()  # nothing changed: only the mark is read
            assert reads() == (2, 1, 1)
            assert [w.state for w in watches] == firsts

            waiting = runs.run(ApiAskNumber(), enact.Str("pears"))
            await watcher.tick()  # a record moved the mark: read again
            assert reads() == (3, 2, 2)
            assert {w.state["inbox"] for w in watches} == {1}

            # An answer is a claim, which moves no mark: a waiting request
            # has the Inbox read every tick.
            runs.answer(waiting.id, 4, resume=False)
            await watcher.tick()
            assert reads() == (4, 3, 2)
            assert {w.state["inbox"] for w in watches} == {0}
            assert all(w.state["run"] == firsts[-1]["run"] for w in watches[STREAMS:])

    asyncio.run(main())


def test_a_slow_stream_gets_the_latest_state_only(api_store: Store) -> None:
    async def main() -> None:
        watch = Watch(None, {"inbox": 0})
        for count in (1, 2, 3):
            watch.offer({"inbox": count})
        assert await watch.next(60.0) == {"inbox": 3}
        # Nothing new since: it waits out its timeout and says the same.
        assert await watch.next(0.0) == {"inbox": 3}

    asyncio.run(main())


def test_on_postgres_a_change_wakes_the_watcher_before_its_tick(
    postgres_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = enact.open_store(postgres_server.fresh_url())
    # Its tick is an hour away: only the store's NOTIFY can wake it.
    watcher = Watcher(store, threading.Event(), every=3600.0)
    tick = watcher.tick
    ticks: list[asyncio.Event] = []

    async def noted_tick() -> None:
        await tick()
        ticks[0].set()

    monkeypatch.setattr(watcher, "tick", noted_tick)

    async def until(watch: Watch, inbox: int) -> None:
        for _ in range(3):
            if (await watch.next(60.0))["inbox"] == inbox:
                return
        raise AssertionError(f"the Inbox never counted {inbox}: {watch.state}")

    async def main() -> None:
        ticks.append(asyncio.Event())
        with watcher.watch(None, {"inbox": 0}) as watch:
            # The watcher reads once as soon as it listens; what is written
            # after that read is heard.
            await asyncio.wait_for(ticks[0].wait(), 60.0)
            waiting = runs.run(ApiAskNumber(), enact.Str("quinces"))
            await until(watch, 1)  # a run record written
            runs.answer(waiting.id, 3, resume=False)
            await until(watch, 0)  # a claim made

    try:
        with store:
            asyncio.run(main())
    finally:
        store.close()
