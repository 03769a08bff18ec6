"""Async invokables: journaling, replay, input and user errors."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
from collections.abc import Coroutine
from typing import Any

import pytest

import enact
from enact.invocations import InvocationError
from invocations.flows import AddOne, Loop

CALLS: collections.Counter[str] = collections.Counter()


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    CALLS.clear()


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coroutine)


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class AsyncAddOne(enact.AsyncInvokable):
    fail_on: list[int] = dataclasses.field(default_factory=list)

    async def call(self, value: enact.Int) -> enact.Int:
        CALLS["AsyncAddOne"] += 1
        await asyncio.sleep(0)
        if value in self.fail_on:
            raise ValueError(f"failed on {value}")
        return enact.Int(value + 1)


@enact.typed_invokable(enact.NoneResource, enact.Int)
@dataclasses.dataclass
class AsyncLoop(enact.AsyncInvokable):
    fun: enact.InvokableBase = AsyncAddOne()  # noqa: RUF009 - allowed on 3.11+
    steps: int = 10

    async def call(self) -> enact.Int:
        value = enact.Int(0)
        for _ in range(self.steps):
            value = await self.fun(value)
        return value


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class Gather(enact.AsyncInvokable):
    """Adds one to 0..n-1 concurrently and sums."""

    async def call(self, n: enact.Int) -> enact.Int:
        outputs = await asyncio.gather(*(AsyncAddOne()(enact.Int(i)) for i in range(n)))
        return enact.Int(sum(outputs))


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class Grouped(enact.AsyncInvokable):
    """Like Gather, with a TaskGroup."""

    async def call(self, n: enact.Int) -> enact.Int:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(AsyncAddOne()(enact.Int(i))) for i in range(n)]
        return enact.Int(sum(task.result() for task in tasks))


def summary(invocation: enact.Invocation) -> list[tuple[Any, Any]]:
    return [
        (child.get_input(), child.get_output() if child.successful() else None)
        for child in invocation.get_children()
    ]


class TestJournal:
    def test_awaited_calls_journal_like_sync_ones(self, store: enact.Store) -> None:
        with store:
            sync = Loop(AddOne()).invoke()
            invocation = run(AsyncLoop().ainvoke())
        assert invocation.get_output() == sync.get_output() == 10
        assert summary(invocation) == summary(sync)

    def test_a_failing_child(self, store: enact.Store) -> None:
        with store:
            invocation = run(AsyncLoop(AsyncAddOne(fail_on=[3])).ainvoke())
        assert not invocation.successful()
        assert len(list(invocation.get_children())) == 4
        assert invocation.get_child(-1).get_raised_here()
        assert not invocation.get_raised_here()
        assert isinstance(invocation.get_raised(), enact.WrappedException)

    @pytest.mark.parametrize("parent", [Gather(), Grouped()], ids=["gather", "group"])
    def test_concurrent_children_in_call_order(
        self, store: enact.Store, parent: enact.AsyncInvokable
    ) -> None:
        with store:
            invocation = run(parent.ainvoke(enact.commit(enact.Int(5))))
        assert invocation.get_output() == 15
        assert summary(invocation) == [(i, i + 1) for i in range(5)]

    def test_unjournaled_await(self) -> None:
        assert run(AsyncAddOne()(enact.Int(1))) == 2
        assert run(Gather()(enact.Int(3))) == 6

    def test_invoke_async(self, store: enact.Store) -> None:
        with store:
            invocation = run(enact.invoke_async(AsyncAddOne(), (enact.Int(1),)))
            assert invocation.get_output() == 2
            with pytest.raises(TypeError, match=r"enact\.invoke"):
                run(enact.invoke_async(AddOne(), (enact.Int(1),)))  # type: ignore[arg-type]
            with pytest.raises(ValueError, match="at most one"):
                run(enact.invoke_async(AsyncAddOne(), (1, 2)))

    def test_output_type_is_checked(self, store: enact.Store) -> None:
        @dataclasses.dataclass
        class Wrong(enact.AsyncInvokable):
            async def call(self, value: Any) -> Any:
                return enact.Str("x")

        enact.typed_invokable(enact.Int, enact.Int, register=False)(Wrong)

        @dataclasses.dataclass
        class Caller(enact.AsyncInvokable):
            async def call(self, value: Any) -> Any:
                return await Wrong()(value)

        with store, pytest.raises(enact.invocations.InvokableTypeError):
            run(Caller().ainvoke(enact.commit(enact.Int(1))))


class TestReplay:
    def test_complete_replay_runs_nothing(self, store: enact.Store) -> None:
        with store:
            invocation = run(Gather().ainvoke(enact.commit(enact.Int(5))))
            CALLS.clear()
            replayed = run(invocation.replay_async())
        assert replayed == invocation
        assert CALLS["AsyncAddOne"] == 0

    def test_rewind_reruns_the_last_calls(self, store: enact.Store) -> None:
        with store:
            invocation = run(AsyncLoop().ainvoke())
            CALLS.clear()
            replayed = run(invocation.rewind(3).replay_async())
        assert CALLS["AsyncAddOne"] == 3
        assert replayed.get_output() == 10
        assert summary(replayed) == summary(invocation)

    def test_recorded_exception_is_raised_or_overridden(
        self, store: enact.Store
    ) -> None:
        with store:
            failed = run(AsyncLoop(AsyncAddOne(fail_on=[3])).ainvoke())
            CALLS.clear()
            again = run(failed.rewind(0).replay_async())
            assert CALLS["AsyncAddOne"] == 0
            assert isinstance(again.get_raised(), enact.WrappedException)
            fixed = run(
                failed.replay_async(exception_override=lambda _: enact.Int(100))
            )
        assert fixed.get_output() == 106
        assert CALLS["AsyncAddOne"] == 6

    def test_strict_mismatch(self, store: enact.Store) -> None:
        async def main(children: list[Any]) -> None:
            with enact.ReplayContext(children):
                assert await AsyncAddOne()(enact.Int(0)) == 1
                with pytest.raises(enact.ReplayError):
                    await AsyncAddOne(fail_on=[99])(enact.Int(1))

        with store:
            invocation = run(AsyncLoop().ainvoke())
            CALLS.clear()
            run(main(invocation.response().children))
        assert CALLS["AsyncAddOne"] == 0

    def test_sync_and_async_replays_do_not_mix(self, store: enact.Store) -> None:
        with store:
            async_run = run(AsyncLoop(steps=2).ainvoke())
            sync_run = Loop(AddOne(), steps=2).invoke()
            with pytest.raises(InvocationError, match="replay_async"):
                async_run.replay()
            with pytest.raises(InvocationError, match=r"replay\(\)"):
                run(sync_run.replay_async())
            with pytest.raises(TypeError, match="ainvoke"):
                AsyncLoop().invoke()


class TestForgottenAwait:
    def test_unawaited_child(self, store: enact.Store) -> None:
        @dataclasses.dataclass
        class Forgets(enact.AsyncInvokable):
            async def call(self) -> Any:
                AsyncAddOne()(enact.Int(1))  # no await
                return enact.Int(0)

        enact.typed_invokable(enact.NoneResource, enact.Int, register=False)(Forgets)
        with (
            store,
            pytest.raises(
                enact.IncompleteSubinvocationError, match="forget to await"
            ) as caught,
        ):
            run(Forgets().ainvoke())
        assert caught.value.index == 0

    def test_async_child_of_a_sync_parent(self, store: enact.Store) -> None:
        @dataclasses.dataclass
        class SyncParent(enact.Invokable):
            def call(self) -> Any:
                AsyncAddOne()(enact.Int(1))
                return enact.Int(0)

        enact.typed_invokable(enact.NoneResource, enact.Int, register=False)(SyncParent)
        with store, pytest.raises(enact.IncompleteSubinvocationError, match="await"):
            SyncParent().invoke()

    def test_sync_call_returning_a_coroutine(self, store: enact.Store) -> None:
        @dataclasses.dataclass
        class Confused(enact.Invokable):
            async def call(self) -> Any:  # type: ignore[override]
                return enact.Int(0)

        enact.typed_invokable(enact.NoneResource, enact.Int, register=False)(Confused)
        with store, pytest.raises(enact.invocations.InvokableTypeError, match="await"):
            Confused().invoke()

    def test_background_task_still_running(self, store: enact.Store) -> None:
        keep: list[asyncio.Task[Any]] = []

        @dataclasses.dataclass
        class Leaves(enact.AsyncInvokable):
            async def call(self) -> Any:
                keep.append(asyncio.ensure_future(AsyncLoop(steps=3)()))
                await asyncio.sleep(0)
                return enact.Int(0)

        enact.typed_invokable(enact.NoneResource, enact.Int, register=False)(Leaves)

        async def main() -> None:
            with pytest.raises(
                enact.IncompleteSubinvocationError, match="did not complete"
            ):
                await Leaves().ainvoke()
            # The task itself still runs to its end; only its record is lost.
            assert await keep[0] == 3

        with store:
            run(main())


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class AskAsync(enact.AsyncInvokable):
    """Asks n numbers, one after the other, and sums them."""

    async def call(self, n: enact.Int) -> enact.Int:
        CALLS["AskAsync"] += 1
        total = 0
        for i in range(n):
            total += await enact.request_input_async(enact.Int, context=f"#{i}")
        return enact.Int(total)


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class AskTogether(enact.AsyncInvokable):
    """Asks n numbers concurrently."""

    async def call(self, n: enact.Int) -> enact.Int:
        answers = await asyncio.gather(
            *(enact.request_input_async(enact.Int, context=f"#{i}") for i in range(n))
        )
        return enact.Int(sum(answers))


class TestInput:
    def test_continue_invocation_async(self, store: enact.Store) -> None:
        async def main() -> enact.Invocation:
            invocation = await AskAsync().ainvoke(enact.commit(enact.Int(2)))
            for answer in (3, 5):
                request = invocation.get_raised()
                assert isinstance(request, enact.InputRequest)
                invocation = await request.continue_invocation_async(
                    invocation, enact.Int(answer)
                )
            return invocation

        with store:
            invocation = run(main())
        assert invocation.get_output() == 8

    def test_concurrent_requests_answered_in_one_replay(
        self, store: enact.Store
    ) -> None:
        async def main() -> enact.Invocation:
            invocation = await AskTogether().ainvoke(enact.commit(enact.Int(3)))
            requests = [child.get_raised() for child in invocation.get_children()]
            assert [r.context for r in requests] == ["#0", "#1", "#2"]
            answers = {enact.commit(r).digest: i * 10 for i, r in enumerate(requests)}

            def override(raised: enact.Ref) -> Any:
                return enact.Int(answers[raised.digest])

            return await invocation.replay_async(exception_override=override)

        with store:
            assert run(main()).get_output() == 30

    def test_generator_answers_live(self, store: enact.Store) -> None:
        async def main() -> enact.Invocation:
            generator = enact.AsyncInvocationGenerator(
                AskAsync(), enact.commit(enact.Int(3))
            )
            contexts = []
            async for request in generator:
                contexts.append(request.context)
                generator.set_input(enact.Int(len(contexts)))
            assert contexts == ["#0", "#1", "#2"]
            return generator.invocation

        with store:
            invocation = run(main())
            # The same journal as answering by replay.
            replayed = run(AskAsync().ainvoke(enact.commit(enact.Int(3))))
            for answer in (1, 2, 3):
                replayed = run(
                    replayed.get_raised().continue_invocation_async(
                        replayed, enact.Int(answer)
                    )
                )
        assert invocation.get_output() == 6
        assert invocation == replayed
        assert CALLS["AskAsync"] == 1 + 4  # the live run, then the replays

    def test_generator_with_concurrent_requests(self, store: enact.Store) -> None:
        async def main() -> enact.Invocation:
            generator = enact.AsyncInvocationGenerator(
                AskTogether(), enact.commit(enact.Int(3))
            )
            request = await generator.asend(None)
            while True:
                assert generator.invocation.get_raised() is not None
                try:
                    request = await generator.asend(
                        enact.Int(int(request.context[1:]) * 10)
                    )
                except StopAsyncIteration:
                    return generator.invocation

        with store:
            invocation = run(main())
        assert invocation.get_output() == 30
        assert [c.get_output() for c in invocation.get_children()] == [0, 10, 20]

    def test_generator_falls_back_to_replay_for_sync_requests(
        self, store: enact.Store
    ) -> None:
        @dataclasses.dataclass
        class AsksSync(enact.AsyncInvokable):
            async def call(self) -> Any:
                CALLS["AsksSync"] += 1
                first = enact.request_input(enact.Int)
                second = enact.request_input(enact.Int)
                return enact.Int(first + second)

        enact.typed_invokable(enact.NoneResource, enact.Int, register=False)(AsksSync)

        async def main() -> enact.Invocation:
            generator = enact.AsyncInvocationGenerator(AsksSync())
            async for _ in generator:
                generator.set_input(enact.Int(4))
            return generator.invocation

        with store:
            assert run(main()).get_output() == 8
        assert CALLS["AsksSync"] == 3

    def test_generator_aclose_keeps_the_request(self, store: enact.Store) -> None:
        async def main() -> None:
            generator = enact.AsyncInvocationGenerator(
                AskAsync(), enact.commit(enact.Int(3))
            )
            await generator.__anext__()
            await generator.aclose()
            assert isinstance(generator.invocation.get_raised(), enact.InputRequest)
            with pytest.raises(StopAsyncIteration):
                await generator.__anext__()

        with store:
            run(main())

    def test_generator_needs_an_async_invokable(self) -> None:
        with pytest.raises(TypeError, match="InvocationGenerator"):
            enact.AsyncInvocationGenerator(AddOne(), None)
