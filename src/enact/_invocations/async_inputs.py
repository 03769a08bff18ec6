"""Human input in async flows: ``request_input_async`` and
:class:`AsyncInvocationGenerator` (the async counterparts of SPEC A11.8-A11.9).

An async flow asks with ``await enact.request_input_async(enact.Str, ...)``.
Under ``ainvoke`` the request is raised and recorded, like a sync request; an
:class:`AsyncInvocationGenerator` instead keeps the run alive in an asyncio
task, the request awaiting a future that the generator's user answers, so N
answers cost O(N) in all. The journal is the same as that of replaying.
"""

from __future__ import annotations

import asyncio
import dataclasses
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from enact._invocations.asyncs import (
    AsyncInvokable,
    AsyncInvokableBase,
    async_live_answerer,
    async_offered_answerer,
)
from enact._invocations.exceptions import InvocationError
from enact._invocations.input_requests import InputRequest
from enact._invocations.inputs import (
    RunState,
    builder_stack,
    make_input_request,
)
from enact._invocations.invokables import Builder
from enact._invocations.records import Invocation
from enact.interfaces import FieldValue, NoneResource, ResourceBase
from enact.references import Ref, Store, commit
from enact.resource_registry import register

__all__ = ["AsyncInvocationGenerator", "AsyncRequestInput", "request_input_async"]

I = TypeVar("I", bound=ResourceBase)  # noqa: E741 - SPEC's name for input types
O = TypeVar("O", bound=ResourceBase)  # noqa: E741


@register
@dataclasses.dataclass
class AsyncRequestInput(AsyncInvokable[Any, Any]):
    """The async ``RequestInput``: its call asks for input."""

    _enact_type_name = "enact.invocations.AsyncRequestInput"

    requested_type: type[ResourceBase]
    context: FieldValue | None = None

    async def call(self, resource: ResourceBase) -> ResourceBase:
        request = make_input_request(self, resource)
        answer = async_live_answerer.get()
        if answer is not None:
            return await answer(request)
        raise request


async def request_input_async(
    requested_type: type[ResourceBase],
    for_resource: ResourceBase | None = None,
    context: FieldValue | None = None,
    *,
    for_value: ResourceBase | None = None,
) -> Any:
    """Asks for a value from outside, in an async flow (``await`` it).

    Like :func:`request_input`: the first execution raises
    :class:`InputRequest` (or, under an :class:`AsyncInvocationGenerator`,
    waits for the answer); a continued run returns the answer.
    """
    subject = for_resource if for_resource is not None else for_value
    return await AsyncRequestInput(requested_type, context)(
        subject if subject is not None else NoneResource()
    )


_DONE = object()


class AsyncInvocationGenerator(RunState[I, O]):
    """Runs an async invokable as an async iterator of its input requests.

    Example::

        gen = enact.AsyncInvocationGenerator(flow, enact.commit(enact.Int(3)))
        async for request in gen:
            gen.set_input(enact.Int(6))
        print(gen.invocation.get_output())

    Requests that concurrent children make at the same time are handed out
    one after the other. A request the run cannot wait on (a sync
    ``request_input`` inside an async flow) ends the run; its answer then
    continues it by replay.

    Args:
        invokable: The async invokable to run (not with ``from_invocation``).
        input: Ref to its input (``input_ref`` is the later name).
        from_invocation: A recorded invocation (of an async invokable) to
            continue instead.

    Raises:
        ValueError: if ``from_invocation`` is combined with the others.
        TypeError: if ``invokable`` is not async.
    """

    def __init__(
        self,
        invokable: AsyncInvokableBase[I, O] | None = None,
        input: Ref[I] | None = None,
        from_invocation: Invocation[I, O] | None = None,
        *,
        input_ref: Ref[I] | None = None,
    ) -> None:
        if input is None:
            input = input_ref
        if from_invocation is not None and (invokable is not None or input is not None):
            raise ValueError(
                "Give either from_invocation or an invokable (and input), not both."
            )
        if from_invocation is None and invokable is None:
            raise ValueError("Give an invokable or from_invocation.")
        if invokable is not None and not isinstance(invokable, AsyncInvokableBase):
            raise TypeError(
                f"{type(invokable).__qualname__} is not async: use "
                "enact.InvocationGenerator."
            )
        self._invokable = invokable
        self._input = input
        self._from_invocation = from_invocation
        self._started = False
        self._finished = False
        self._invocation: Invocation[I, O] | None = None
        self._request: InputRequest | None = None
        self._next_input: ResourceBase | None = None
        self._stack: list[Builder] = []
        self._future: asyncio.Future[Any] | None = None
        self._events: asyncio.Queue[Any] | None = None
        self._task: asyncio.Task[None] | None = None
        self._cancelled = False

    # -- async iterator protocol -------------------------------------------

    def __aiter__(self) -> AsyncInvocationGenerator[I, O]:
        return self

    async def __anext__(self) -> InputRequest:
        if not self._started:
            return await self._start()
        if self._request is None:
            raise StopAsyncIteration
        return await self._answer(self._next_value())

    async def asend(self, value: Any) -> InputRequest:
        """Answers the pending request with ``value``; returns the next one.

        Raises:
            StopAsyncIteration: when the run is complete.
            InvokableTypeError: if ``value`` is not of the requested type.
        """
        if not self._started:
            if value is not None:
                raise TypeError("can't send non-None value to a just-started generator")
            return await self._start()
        if self._request is None:
            raise StopAsyncIteration
        return await self._answer(value)

    async def aclose(self) -> None:
        """Stops a run that waits for input; its journal keeps the request."""
        if not self._started:
            self._started = self._finished = True
        self._cancelled = True
        future = self._future
        if self._request is not None and future is not None:
            self._future = None
            future.set_exception(self._request)
            await self._wait()
        self._request = None

    # -- running -------------------------------------------------------------

    async def _start(self) -> InputRequest:
        self._started = True
        store = Store.current()
        run: Callable[[], Awaitable[Invocation[Any, Any]]]
        if self._from_invocation is not None:
            run = self._from_invocation.replay_async
        else:
            invokable = self._invokable
            assert invokable is not None
            input_ref = self._input
            if input_ref is None:
                if invokable.get_input_type() is not NoneResource:
                    raise InvocationError(
                        f"{type(invokable).__qualname__} takes a "
                        f"{getattr(invokable.get_input_type(), '__qualname__', None)}: "
                        "give the generator an input ref."
                    )
                input_ref = store.commit(NoneResource())  # type: ignore[arg-type]
            ref = input_ref

            async def run() -> Invocation[Any, Any]:
                return await invokable.ainvoke(ref)

        self._events = asyncio.Queue()
        self._launch(run)
        return await self._wait()

    def _launch(self, run: Callable[[], Awaitable[Invocation[Any, Any]]]) -> None:
        assert self._events is not None
        ask = _asker(weakref.ref(self), self._events)
        self._task = asyncio.get_running_loop().create_task(
            _work(ask, run, self._events)
        )

    async def _answer(self, value: Any) -> InputRequest:
        request = self._check_answer(value)
        finished = self._invocation
        self._invocation = None
        self._request = None
        future, self._future = self._future, None
        if future is not None:
            future.set_result(value)
        else:
            # The run ended raising this request: continue it by replay.
            assert finished is not None
            request_ref = commit(request)

            def answer(raised: Ref[Any]) -> ResourceBase | None:
                return value if raised.digest == request_ref.digest else None

            self._finished = False

            async def run() -> Invocation[Any, Any]:
                return await finished.replay_async(exception_override=answer)

            self._launch(run)
        return await self._wait()

    async def _wait(self) -> InputRequest:
        assert self._events is not None
        event = await self._events.get()
        if event[0] is not _DONE:
            self._request, self._future, self._stack = event
            return event[0]  # type: ignore[no-any-return]
        result = event[1]
        self._finished = True
        self._request = None
        self._future = None
        if isinstance(result, BaseException):
            raise result
        self._invocation = result
        if self.complete:
            raise StopAsyncIteration
        # The run ended on a request it could not wait on (or after aclose()).
        self._request = self._invocation.get_raised()  # type: ignore[assignment]
        return self._request  # type: ignore[return-value]


async def _work(
    ask: Callable[[InputRequest], Awaitable[ResourceBase]],
    run: Callable[[], Awaitable[Invocation[Any, Any]]],
    events: asyncio.Queue[Any],
) -> None:
    async_offered_answerer.set(ask)
    try:
        events.put_nowait((_DONE, await run()))
    except asyncio.CancelledError as error:
        events.put_nowait((_DONE, error))
        raise
    except BaseException as error:  # handed to the generator's user
        events.put_nowait((_DONE, error))


def _asker(
    owner: weakref.ref[AsyncInvocationGenerator[Any, Any]],
    events: asyncio.Queue[Any],
) -> Callable[[InputRequest], Awaitable[ResourceBase]]:
    async def ask(request: InputRequest) -> ResourceBase:
        # Runs in the flow's task: hand the request over, await the answer.
        generator = owner()
        if generator is None or generator._cancelled:
            raise request  # nobody is left to answer
        del generator  # not kept alive while waiting
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        events.put_nowait((request, future, builder_stack()))
        return await future  # type: ignore[no-any-return]

    return ask
