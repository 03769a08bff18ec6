"""``@enact.register`` on ``async def`` functions and methods."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import inspect
import random
import warnings
from collections.abc import Coroutine
from typing import Any

import pytest

import enact
from enact.invocations import (
    AsyncFunctionWrapper,
    AsyncMethodWrapper,
    CallArgs,
    RegisteredAsyncFunction,
)

CALLS: collections.Counter[str] = collections.Counter()


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    CALLS.clear()


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coroutine)


@enact.register
async def sample(i: int) -> int:
    """A random draw after a random delay."""
    CALLS["sample"] += 1
    await asyncio.sleep(random.random() / 200)
    return i * 10_000 + random.randint(0, 9_999)


@enact.register
async def pair(i: int) -> tuple[int, int]:
    CALLS["pair"] += 1
    return (await sample(i), await sample(i + 1))


@enact.register
async def chain(n: int, *, scale: int = 1) -> list[tuple[int, int]]:
    """Depth three: chain -> pair -> sample."""
    return [await pair(i * scale) for i in range(n)]


@enact.register
async def fan(n: int) -> list[int]:
    return list(await asyncio.gather(*(sample(i) for i in range(n))))


@enact.register
async def fails(value: int) -> int:
    CALLS["fails"] += 1
    raise ValueError(f"bad {value}")


@enact.register
async def guarded(value: int) -> int:
    try:
        return await fails(value)
    except ValueError:
        return -1


@enact.register(name="tests.async_functions.mixed")
async def mixed(n: int) -> int:
    """Sync and async functions in one journal."""
    return double(n) + await sample(0) * 0


@enact.register
def double(n: int) -> int:
    return 2 * n


@enact.register
@dataclasses.dataclass
class Counter:
    count: int = 0

    @enact.register
    async def add(self, amount: int) -> int:
        await asyncio.sleep(0)
        self.count += amount
        return self.count

    @enact.register
    async def add_twice(self, first: int, second: int) -> int:
        await self.add(first)
        return await self.add(second)


def structure(invocation: enact.Invocation[Any, Any]) -> list[Any]:
    """(name, args, output) of every call, depth first."""
    request = invocation.request()
    invokable = request.invokable()
    call_args = request.input()
    assert isinstance(call_args, CallArgs)
    return [
        (invokable.name, call_args.plain_args(), invocation.get_output()),
        [structure(child) for child in invocation.get_children()],
    ]


class TestOutsideARun:
    def test_awaiting_runs_the_function(self) -> None:
        assert isinstance(sample, RegisteredAsyncFunction)
        assert inspect.iscoroutinefunction(sample.__wrapped__)
        assert sample.__name__ == "sample"
        assert list(inspect.signature(sample).parameters) == ["i"]
        assert run(sample(2)) // 10_000 == 2
        assert len(run(fan(4))) == 4
        counter = Counter()
        assert run(counter.add(3)) == 3 == counter.count

    def test_no_store_needed_and_plain_coroutine(self) -> None:
        coroutine = sample(1)
        assert inspect.iscoroutine(coroutine)
        coroutine.close()


class TestJournaled:
    def test_calls_at_depth(self, store: enact.Store) -> None:
        with store:
            invocation = run(enact.invoke_async(chain, (2,), {"scale": 3}))
        assert isinstance(invocation.request().invokable(), AsyncFunctionWrapper)
        output = invocation.get_output()
        assert isinstance(output, list)
        assert all(type(item) is tuple for item in output)
        name = f"{__name__}."
        tree = structure(invocation)
        assert tree[0][:2] == (name + "chain", ([2], {"scale": 3}))
        assert [child[0][0] for child in tree[1]] == [name + "pair"] * 2
        assert [child[0][1] for child in tree[1]] == [([0], {}), ([3], {})]
        samples = [leaf[0] for child in tree[1] for leaf in child[1]]
        assert [args for _, args, _ in samples] == [([i], {}) for i in (0, 1, 3, 4)]
        assert [out for _, _, out in samples] == [v for item in output for v in item]
        assert CALLS["sample"] == 4

    def test_bound_method_and_instance_state(self, store: enact.Store) -> None:
        with store:
            counter = Counter()
            invocation = run(enact.invoke_async(counter.add_twice, (1, 2)))
            assert invocation.get_output() == 3 == counter.count
            assert isinstance(invocation.request().invokable(), AsyncMethodWrapper)
            child = invocation.get_child(1)
            assert isinstance(child.request().invokable(), AsyncMethodWrapper)
            assert child.get_output() == 3
            direct = run(enact.invoke_async(Counter(5).add, (1,)))
            assert direct.get_output() == 6
            replayed = run(invocation.rewind(1).replay_async())
            assert replayed.get_output() == 3
            # The replay starts from the recorded instance, not the live one.
            assert replayed.request().invokable().instance.count == 0
            assert replayed.response().invokable().instance.count == 3

    def test_sync_and_async_functions_mix(self, store: enact.Store) -> None:
        with store:
            invocation = run(enact.invoke_async(mixed, (4,)))
        assert invocation.get_output() == 8
        names = [c.request().invokable().name for c in invocation.get_children()]
        assert names == [f"{__name__}.double", f"{__name__}.sample"]
        assert invocation.request().invokable().name == "tests.async_functions.mixed"

    def test_called_from_an_async_invokable(self, store: enact.Store) -> None:
        @enact.typed_invokable(enact.Int, enact.Int, register=False)
        @dataclasses.dataclass
        class Caller(enact.AsyncInvokable):
            async def call(self, value: enact.Int) -> enact.Int:
                return enact.Int(sum(await pair(int(value))))

        with store:
            invocation = run(Caller().ainvoke(enact.commit(enact.Int(1))))
            child = invocation.get_child(0)
        assert type(child.get_output()) is tuple
        assert invocation.get_output() == sum(child.get_output())


class TestReplay:
    def test_complete_replay_runs_nothing(self, store: enact.Store) -> None:
        with store:
            invocation = run(enact.invoke_async(chain, (3,)))
            CALLS.clear()
            replayed = run(invocation.replay_async())
        assert replayed == invocation
        assert replayed.get_output() == invocation.get_output()
        assert CALLS == {}

    def test_rewind_reruns_the_last_calls(self, store: enact.Store) -> None:
        with store:
            invocation = run(enact.invoke_async(chain, (3,)))
            CALLS.clear()
            replayed = run(invocation.rewind(1).replay_async())
        assert CALLS == {"pair": 1, "sample": 2}
        old, new = invocation.get_output(), replayed.get_output()
        assert new[:2] == old[:2]
        assert new[2] != old[2]
        assert [i // 10_000 for i in new[2]] == [2, 3]

    def test_gather_of_twenty_replays_deterministically(
        self, store: enact.Store
    ) -> None:
        with store:
            invocation = run(enact.invoke_async(fan, (20,)))
            output = invocation.get_output()
            children = list(invocation.get_children())
            # Journaled in call-start order, whatever order they finished in.
            assert [c.request().input().plain_args() for c in children] == [
                ([i], {}) for i in range(20)
            ]
            assert [c.get_output() for c in children] == output
            CALLS.clear()
            assert run(invocation.replay_async()).get_output() == output
            assert CALLS == {}
            for _ in range(3):
                replayed = run(invocation.rewind(5).replay_async())
                assert replayed.get_output()[:15] == output[:15]
                assert [i // 10_000 for i in replayed.get_output()] == list(range(20))
        assert CALLS["sample"] == 15

    def test_recorded_exception_raised_or_overridden(self, store: enact.Store) -> None:
        with store:
            invocation = run(enact.invoke_async(guarded, (7,)))
            assert invocation.get_output() == -1
            assert invocation.get_child(0).get_raised_here()
            CALLS.clear()
            assert run(invocation.replay_async()).get_output() == -1
            # The recorded exception is raised again, not a ValueError.
            again = run(invocation.rewind(0).replay_async())
            assert isinstance(again.get_raised(), enact.WrappedException)
            fixed = run(
                invocation.rewind(0).replay_async(
                    exception_override=lambda _: enact.wrap(5)
                )
            )
        assert fixed.get_output() == 5
        assert fixed.get_child(0).get_output() == 5
        assert CALLS["fails"] == 0

    def test_strict_mismatch_names_both_calls(self, store: enact.Store) -> None:
        @enact.register(name="tests.async_functions.flow")
        async def flow(n: int) -> int:
            return await sample(n)

        with store:
            invocation = run(enact.invoke_async(flow, (1,)))

            @enact.register(name="tests.async_functions.flow")
            async def changed(n: int) -> int:
                return await sample(n + 1)

            with pytest.raises(enact.ReplayError, match=r"sample\(1\).*sample\(2\)"):
                run(invocation.rewind(0).replay_async())

    def test_sync_and_async_replays_do_not_mix(self, store: enact.Store) -> None:
        with store:
            invocation = run(enact.invoke_async(sample, (1,)))
            with pytest.raises(enact.invocations.InvocationError, match="replay_async"):
                invocation.replay()


class TestErrors:
    def test_invoke_and_invoke_async_refuse_the_other_kind(
        self, store: enact.Store
    ) -> None:
        with store:
            with pytest.raises(TypeError, match="invoke_async"):
                enact.invoke(sample, (1,))
            with pytest.raises(TypeError, match="invoke_async"):
                enact.invoke(Counter().add, (1,))
            with pytest.raises(TypeError, match=r"enact\.invoke\("):
                run(enact.invoke_async(double, (1,)))
            with pytest.raises(TypeError, match=r"@enact\.register"):
                run(enact.invoke_async(lambda: 1))

    def test_no_store(self) -> None:
        with pytest.raises(enact.contexts.NoActiveContext):
            run(enact.invoke_async(sample, (1,)))

    def test_failure_is_journaled(self, store: enact.Store) -> None:
        with store:
            invocation = run(enact.invoke_async(fails, (1,)))
        assert not invocation.successful()
        assert isinstance(invocation.get_raised(), enact.WrappedException)
        assert CALLS["fails"] == 1

    def test_unstorable_argument_is_named(self, store: enact.Store) -> None:
        with store, pytest.raises(enact.FieldTypeError, match="argument 0"):
            run(enact.invoke_async(sample, (object(),)))

    def test_unawaited_call(self, store: enact.Store) -> None:
        @enact.register
        async def forgets() -> int:
            sample(1)  # no await
            return 0

        with (
            warnings.catch_warnings(),
            store,
            pytest.raises(enact.IncompleteSubinvocationError, match="forget to await"),
        ):
            warnings.simplefilter("error")
            run(enact.invoke_async(forgets))
