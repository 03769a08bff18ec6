"""Human (or model, or dataset) input inside journaled runs
(docs/compatibility.md#input-requests, #invocationgenerator).

:func:`request_input` asks for a value where a component would compute one.
In a plain :meth:`~InvokableBase.invoke` it raises :class:`InputRequest` and the
run stops; :meth:`InputRequest.continue_invocation` replays it with the answer.

:class:`InvocationGenerator` offers the same as a generator of requests. It
keeps the run alive in a worker thread while it waits for each answer, so N
answers cost O(N) in all rather than N replays from the start; the journal it
produces is the same as that of replaying.

The async twins: an async flow asks with ``await
enact.request_input_async(enact.Str, ...)``, and an
:class:`AsyncInvocationGenerator` keeps the run alive in an asyncio task, the
request awaiting a future that the generator's user answers. Both generators
share :class:`RunState`.
"""

from __future__ import annotations

import asyncio
import collections.abc
import contextvars
import dataclasses
import queue
import threading
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, Generic, NoReturn, TypeVar

from enact._invocations.answerers import (
    AsyncAnswerer,
    async_live_answerer,
    async_offered_answerer,
    live_answerer,
    offered_answerer,
)
from enact._invocations.exceptions import (
    InputRequestOutsideInvocation,
    InvocationError,
    InvokableTypeError,
    RequestedTypeUndetermined,
)
from enact._invocations.input_requests import InputRequest
from enact._invocations.invokables import (
    AsyncInvokable,
    AsyncInvokableBase,
    Invokable,
    InvokableBase,
)
from enact._invocations.journal import Builder
from enact._invocations.records import Invocation, Response, invokable_name
from enact.interfaces import FieldValue, NoneResource, ResourceBase
from enact.references import Ref, Store, commit
from enact.resource_registry import register

__all__ = [
    "AsyncInvocationGenerator",
    "AsyncRequestInput",
    "InvocationGenerator",
    "RequestInput",
    "request_input",
    "request_input_async",
]

I = TypeVar("I", bound=ResourceBase)  # noqa: E741 - the 0.4.0.dev1 name for input types
O = TypeVar("O", bound=ResourceBase)  # noqa: E741


@register
@dataclasses.dataclass
class RequestInput(Invokable[Any, Any]):
    """An invokable whose call asks for input: it raises :class:`InputRequest`."""

    _enact_type_name = "enact.invocations.RequestInput"

    requested_type: type[ResourceBase]
    context: FieldValue | None = None

    def call(self, resource: ResourceBase) -> ResourceBase:
        request = make_input_request(self, resource)
        answer = live_answerer.get()
        if answer is not None:
            return answer(request)
        raise request


def make_input_request(asker: Any, resource: ResourceBase) -> InputRequest:
    """The request a ``RequestInput`` (sync or async) call raises.

    Raises:
        InputRequestOutsideInvocation: outside a journaled run.
        RequestedTypeUndetermined: if the asker names no type.
    """
    builder = Builder.get_current()
    if builder is None:
        raise InputRequestOutsideInvocation(asker.context, asker.requested_type)
    requested = asker.requested_type or builder.invokable.get_output_type()
    if not requested:
        raise RequestedTypeUndetermined(
            "request_input needs the type of the answer, e.g. request_input(enact.Str)."
        )
    return InputRequest(commit(asker), commit(resource), requested, asker.context)


def request_input(
    requested_type: type[ResourceBase],
    for_resource: ResourceBase | None = None,
    context: FieldValue | None = None,
    *,
    for_value: ResourceBase | None = None,
) -> Any:
    """Asks for a value of ``requested_type`` from outside the program.

    Inside a journaled run the first execution raises :class:`InputRequest`;
    when the run is continued with an answer, this returns the answer.

    Args:
        requested_type: The resource type of the answer.
        for_resource: The resource the input is about (``for_value`` is the
            later name for it).
        context: Anything that helps whoever answers, e.g. a question.
    """
    subject = for_resource if for_resource is not None else for_value
    return RequestInput(requested_type, context)(
        subject if subject is not None else NoneResource()
    )


class _Cancelled(BaseException):
    """Stops a worker that waits for an answer that will never come."""


_DONE = object()


class RunState(Generic[I, O]):
    """What the sync and async input generators share: the state of a run.

    Subclasses set ``_started``, ``_finished``, ``_invocation``, ``_request``,
    ``_next_input`` and ``_stack``.
    """

    _started: bool
    _finished: bool
    _invocation: Invocation[I, O] | None
    _request: InputRequest | None
    _next_input: ResourceBase | None
    _stack: list[Builder]

    @property
    def complete(self) -> bool:
        """Whether the run has finished (returned, or raised something other
        than an input request)."""
        if self._finished:
            invocation = self._invocation
            if invocation is None:
                return False
            response = invocation.response()
            if response.output is not None:
                return True
            if response.raised is None:
                return False
            return not isinstance(invocation.get_raised(), InputRequest)
        return False

    @property
    def invocation(self) -> Invocation[I, O]:
        """The journal so far (while waiting: as if the request had been raised).

        Raises:
            InvocationError: before the first step.
        """
        if not self._started:
            raise InvocationError("The generator has not started; call next() first.")
        if self._invocation is None:
            self._invocation = self._snapshot()
        return self._invocation

    @property
    def input_request(self) -> InputRequest:
        """The request waiting for an answer.

        Raises:
            InvocationError: if the run is complete (or not started).
        """
        if self._request is None:
            raise InvocationError("No input request is pending: the run is complete.")
        return self._request

    def set_input(self, resource: ResourceBase) -> None:
        """Gives the answer to the pending request for the next ``next()``."""
        self._next_input = resource.deep_copy_resource()

    def _snapshot(self) -> Invocation[I, O]:
        """The journal of a run that waits for input, as if it had raised."""
        return snapshot(self.input_request, self._stack)

    def _next_value(self) -> ResourceBase:
        """The answer set for the pending request, or None if it takes one."""
        value = self._next_input
        self._next_input = None
        if value is None:
            if not issubclass(NoneResource, self.input_request.requested_type):
                raise InvocationError(
                    f"The pending request wants a "
                    f"{self.input_request.requested_type.__qualname__}: answer it "
                    "with send(value) or set_input(value) before next()."
                )
            value = NoneResource()
        return value

    def _check_answer(self, value: Any) -> InputRequest:
        request = self.input_request
        if not isinstance(value, request.requested_type):
            raise InvokableTypeError(
                f"The input request wants a {request.requested_type.__qualname__}, "
                f"got a {type(value).__qualname__}."
            )
        return request


class InvocationGenerator(collections.abc.Generator, RunState[I, O]):  # type: ignore[type-arg]
    """Runs an invokable as a generator of the input requests it makes.

    Example::

        gen = enact.InvocationGenerator(flow, enact.commit(enact.Int(3)))
        for request in gen:
            gen.set_input(enact.Int(6))
        print(gen.invocation.get_output())

    Args:
        invokable: What to run (not with ``from_invocation``).
        input: Ref to its input (``input_ref`` is the later name).
        from_invocation: A recorded invocation to continue instead.

    Raises:
        ValueError: if ``from_invocation`` is combined with the others.
    """

    def __init__(
        self,
        invokable: InvokableBase[I, O] | None = None,
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
        self._invokable = invokable
        self._input = input
        self._from_invocation = from_invocation
        self._started = False
        self._finished = False
        self._invocation: Invocation[I, O] | None = None
        self._request: InputRequest | None = None
        self._next_input: ResourceBase | None = None
        self._worker: threading.Thread | None = None
        self._answers: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._events: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._stack: list[Builder] = []

    # -- generator protocol ---------------------------------------------------

    def __next__(self) -> InputRequest:
        if not self._started:
            return self._start()
        if self._request is None:
            raise StopIteration
        return self._answer(self._next_value())

    def send(self, value: Any) -> InputRequest:
        if not self._started:
            if value is not None:
                raise TypeError("can't send non-None value to a just-started generator")
            return self._start()
        if self._request is None:
            raise StopIteration
        return self._answer(value)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> NoReturn:
        if val is None:
            val = typ() if isinstance(typ, type) else typ
        if tb is not None:
            val = val.with_traceback(tb)
        raise val

    def close(self) -> None:
        """Stops a run that is waiting for input; its journal keeps the request."""
        if not self._started:
            # Like a generator closed before it started: it never runs.
            self._started = self._finished = True
        if self._request is not None and self._worker is not None:
            self._answers.put(_Cancelled)
            self._wait()
        self._request = None

    def __del__(self) -> None:
        if getattr(self, "_request", None) is not None and self._worker is not None:
            self._answers.put(_Cancelled)

    # -- running -------------------------------------------------------------

    def _start(self) -> InputRequest:
        self._started = True
        store = Store.current()
        if self._from_invocation is not None:
            target = self._from_invocation
            run = lambda: target.replay()  # noqa: E731
        else:
            invokable = self._invokable
            assert invokable is not None
            input_ref = self._input
            if input_ref is None:
                if invokable.get_input_type() is not NoneResource:
                    raise InvocationError(
                        f"{invokable_name(invokable)} takes a "
                        f"{getattr(invokable.get_input_type(), '__qualname__', None)}: "
                        "give the generator an input ref."
                    )
                input_ref = store.commit(NoneResource())  # type: ignore[arg-type]
            run = lambda: invokable.invoke(input_ref)  # noqa: E731
        context = contextvars.copy_context()
        # The worker holds no reference to the generator, so an abandoned
        # generator is collected and __del__ cancels the waiting run (else the
        # thread and its open store batch would live forever).
        ask = _asker(weakref.ref(self), self._events, self._answers)
        self._worker = threading.Thread(
            target=context.run,
            args=(_work, ask, run, self._events),
            daemon=True,
            name="enact-input",
        )
        self._worker.start()
        return self._wait()

    def _answer(self, value: Any) -> InputRequest:
        self._check_answer(value)
        self._invocation = None
        self._request = None
        self._answers.put(value)
        return self._wait()

    def _wait(self) -> InputRequest:
        event = self._events.get()
        if isinstance(event, InputRequest):
            self._request = event
            return event
        _, result = event
        self._finished = True
        self._request = None
        if isinstance(result, BaseException):
            raise result
        self._invocation = result
        if self.complete:
            raise StopIteration
        # The run ended waiting on a request (e.g. after close()).
        self._request = self._invocation.get_raised()  # type: ignore[assignment]
        return self._request  # type: ignore[return-value]


def snapshot(request: InputRequest, stack: list[Builder]) -> Invocation[Any, Any]:
    """The journal of a run waiting for ``request``, as if it had raised it.

    Args:
        request: The request the run waits on.
        stack: The builders of the asking call and its callers, outermost
            first.
    """
    store = Store.current()
    raised: Ref[Any] = store.commit(request)
    invocation: Invocation[Any, Any] | None = None
    # From the innermost call outwards: each level has raised the request;
    # only the asking call raised it "here". Pending children (the call on
    # the stack, and any running concurrently) have no record yet.
    for depth, builder in enumerate(reversed(stack)):
        children = [child for child in builder.children if isinstance(child, Ref)]
        if invocation is not None:
            children.append(store.commit(invocation))
        response: Response[Any, Any] = Response(
            store.commit(builder.invokable), None, raised, depth == 0, children
        )
        invocation = Invocation(builder.request_ref(), store.commit(response))
    assert invocation is not None
    return invocation


def _work(
    ask: Callable[[InputRequest], ResourceBase],
    run: Callable[[], Any],
    events: queue.SimpleQueue[Any],
) -> None:
    offered_answerer.set(ask)
    try:
        events.put((_DONE, run()))
    except BaseException as error:  # handed to the caller's thread
        events.put((_DONE, error))


def _asker(
    owner: weakref.ref[InvocationGenerator[Any, Any]],
    events: queue.SimpleQueue[Any],
    answers: queue.SimpleQueue[Any],
) -> Callable[[InputRequest], ResourceBase]:
    def ask(request: InputRequest) -> ResourceBase:
        # Runs on the worker: hand the request over, wait for the answer.
        generator = owner()
        if generator is None:
            raise request  # nobody is left to answer
        generator._stack = builder_stack()
        del generator  # not kept alive while waiting
        events.put(request)
        answer = answers.get()
        if answer is _Cancelled:
            live_answerer.set(None)
            raise request
        return answer  # type: ignore[no-any-return]

    return ask


def builder_stack() -> list[Builder]:
    """The chain of builders of the current call, outermost first."""
    stack = []
    builder = Builder.get_current()
    while builder is not None:
        stack.append(builder)
        builder = builder.parent
    stack.reverse()
    return stack


# -- async flows --------------------------------------------------------------


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
                f"{invokable_name(invokable)} is not async: use "
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
                        f"{invokable_name(invokable)} takes a "
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
        ask = _async_asker(weakref.ref(self), self._events)
        self._task = asyncio.get_running_loop().create_task(
            _work_async(ask, run, self._events)
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


async def _work_async(
    ask: AsyncAnswerer,
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


def _async_asker(
    owner: weakref.ref[AsyncInvocationGenerator[Any, Any]],
    events: asyncio.Queue[Any],
) -> AsyncAnswerer:
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
