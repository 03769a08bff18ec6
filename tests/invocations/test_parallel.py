"""Children started concurrently: deterministic journal order and replay.

Asyncio tasks and threads start children in any order and finish them in any
order. The journal lists them in call-start order, and a replay answers each
call from its own record.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import dataclasses
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

import enact

N = 100
REVERSE = [True]
CALLS: collections.Counter[str] = collections.Counter()


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    CALLS.clear()


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class SlowAsync(enact.AsyncInvokable):
    """Returns 1000 * input plus a random part, after a random delay."""

    async def call(self, value: enact.Int) -> enact.Int:
        CALLS["SlowAsync"] += 1
        await asyncio.sleep(random.random() * 0.005)
        return enact.Int(value * 1000 + random.randrange(1000))


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class SlowSync(enact.Invokable):
    """The thread version of SlowAsync; ``order`` notes when calls start."""

    def call(self, value: enact.Int) -> enact.Int:
        CALLS["SlowSync"] += 1
        time.sleep(random.random() * 0.002)
        return enact.Int(value * 1000 + random.randrange(1000))


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class GatherAll(enact.AsyncInvokable):
    async def call(self, n: enact.Int) -> enact.Int:
        outputs = await asyncio.gather(*(SlowAsync()(enact.Int(i)) for i in range(n)))
        return enact.Int(sum(outputs))


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class StartInTasks(enact.AsyncInvokable):
    """Each task waits a random time, then makes its call: any start order."""

    async def call(self, n: enact.Int) -> enact.Int:
        async def later(i: int) -> Any:
            await asyncio.sleep(random.random() * 0.005)
            return await SlowAsync()(enact.Int(i))

        outputs = await asyncio.gather(*(later(i) for i in range(n)))
        return enact.Int(sum(outputs))


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class PoolMap(enact.Invokable):
    workers: int = 8

    def call(self, n: enact.Int) -> enact.Int:
        items = [enact.Int(i) for i in range(n)]
        return enact.Int(sum(enact.thread_pool_map(SlowSync(), items, self.workers)))


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Polls ``condition`` until it holds; fails after a generous deadline."""
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.0005)


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class Staggered(enact.Invokable):
    """Threads start their calls in the order REVERSE says, one at a time.

    The call at position ``p`` of that order starts once ``p`` calls have
    taken their slots in the journal, which only the earlier ones can do, so
    the start order is exact however the threads are scheduled. SlowSync's
    random sleep mixes the order in which the calls end.

    (REVERSE is not part of the request, so a replay can change the order.)
    """

    def call(self, n: enact.Int) -> enact.Int:
        order = list(range(n))[:: -1 if REVERSE[0] else 1]
        # Every thread sees this call's builder (the contexts are copied); its
        # children are the journal slots, taken when a call starts (also when
        # a replay answers the call from its record).
        slots = enact.invocations.Builder.current().children

        def work(i: int) -> Any:
            position = order.index(i)
            wait_until(lambda: len(slots) >= position, f"call {position} may start")
            return SlowSync()(enact.Int(i))

        with concurrent.futures.ThreadPoolExecutor(n) as pool:
            futures = [
                pool.submit(enact.contexts.with_current_contexts(work), i)
                for i in range(n)
            ]
        return enact.Int(sum(f.result() for f in futures))


def outputs_by_input(invocation: enact.Invocation) -> dict[int, int]:
    return {c.get_input(): c.get_output() for c in invocation.get_children()}


def check_replays(
    invocation: enact.Invocation, replay: Any, counter: str, n: int = N
) -> None:
    """Complete replay runs nothing; after rewind(10), ten calls run again and
    every other child gets its own recorded output."""
    recorded = outputs_by_input(invocation)
    CALLS.clear()
    again = replay(invocation.rewind(0))
    assert CALLS[counter] == 0
    assert again.get_output() == invocation.get_output()
    assert outputs_by_input(again) == recorded
    rewound = invocation.rewind(10)
    kept = outputs_by_input(rewound)
    CALLS.clear()
    branch = replay(rewound)
    assert CALLS[counter] == 10
    assert len(list(branch.get_children())) == n
    branch_outputs = outputs_by_input(branch)
    assert {i: branch_outputs[i] for i in kept} == kept
    assert all(branch_outputs[i] // 1000 == i for i in range(n))


class TestAsyncio:
    def test_gather_of_100_children(self, store: enact.Store) -> None:
        with store:
            invocation = asyncio.run(GatherAll().ainvoke(enact.commit(enact.Int(N))))
            assert [c.get_input() for c in invocation.get_children()] == list(range(N))
            assert all(c.get_output() // 1000 == c.get_input() for c in
                       invocation.get_children())  # fmt: skip
            check_replays(
                invocation, lambda inv: asyncio.run(inv.replay_async()), "SlowAsync"
            )

    def test_calls_started_in_random_order(self, store: enact.Store) -> None:
        with store:
            invocation = asyncio.run(StartInTasks().ainvoke(enact.commit(enact.Int(N))))
            inputs = [c.get_input() for c in invocation.get_children()]
            assert sorted(inputs) == list(range(N))
            assert inputs != list(range(N))  # the tasks started in random order
            check_replays(
                invocation, lambda inv: asyncio.run(inv.replay_async()), "SlowAsync"
            )


class TestThreads:
    def test_pool_of_100_children(self, store: enact.Store) -> None:
        with store:
            invocation = PoolMap().invoke(enact.commit(enact.Int(N)))
            assert invocation.successful()
            assert sorted(outputs_by_input(invocation)) == list(range(N))
            check_replays(invocation, lambda inv: inv.replay(), "SlowSync")

    def test_one_worker_keeps_the_item_order(self, store: enact.Store) -> None:
        with store:
            invocation = PoolMap(workers=1).invoke(enact.commit(enact.Int(20)))
        assert [c.get_input() for c in invocation.get_children()] == list(range(20))

    def test_journal_is_in_call_start_order(self, store: enact.Store) -> None:
        n = 20
        with store:
            invocation = Staggered().invoke(enact.commit(enact.Int(n)))
            inputs = [c.get_input() for c in invocation.get_children()]
            assert inputs == list(range(n))[::-1]
            # A replay whose threads start in the opposite order still gives
            # every call its own record.
            recorded = outputs_by_input(invocation)
            CALLS.clear()
            REVERSE[0] = False
            try:
                forward = invocation.rewind(0).replay()
            finally:
                REVERSE[0] = True
        assert CALLS["SlowSync"] == 0
        assert outputs_by_input(forward) == recorded

    def test_thread_left_running(self, store: enact.Store) -> None:
        release = threading.Event()
        started = threading.Event()
        threads: list[threading.Thread] = []

        @dataclasses.dataclass
        class Leaves(enact.Invokable):
            def call(self) -> Any:
                def work() -> None:
                    BlockUntil()(enact.Int(1))

                thread = threading.Thread(
                    target=enact.contexts.with_current_contexts(work)
                )
                threads.append(thread)
                thread.start()
                # Set from inside the child call: its journal slot is taken.
                assert started.wait(60)
                return enact.Int(0)

        @dataclasses.dataclass
        class BlockUntil(enact.Invokable):
            def call(self, value: Any) -> Any:
                started.set()
                release.wait(60)
                return value

        enact.typed_invokable(enact.NoneResource, enact.Int, register=False)(Leaves)
        with store:
            with pytest.raises(
                enact.IncompleteSubinvocationError, match="did not complete"
            ):
                Leaves().invoke()
            release.set()
            threads[0].join()

    def test_call_after_the_parent_returned(self, store: enact.Store) -> None:
        later: list[Any] = []

        @dataclasses.dataclass
        class Escapes(enact.Invokable):
            def call(self) -> Any:
                later.append(enact.contexts.with_current_contexts(SlowSync()))
                return enact.Int(0)

        enact.typed_invokable(enact.NoneResource, enact.Int, register=False)(Escapes)
        with store:
            Escapes().invoke()
            with pytest.raises(enact.invocations.InvocationError, match="after its"):
                later[0](enact.Int(1))
