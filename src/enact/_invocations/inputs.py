"""Human (or model, or dataset) input inside journaled runs (SPEC A11.8-A11.9).

:func:`request_input` asks for a value where a component would compute one.
In a plain :meth:`~InvokableBase.invoke` it raises :class:`InputRequest` and the
run stops; :meth:`InputRequest.continue_invocation` replays it with the answer.

:class:`InvocationGenerator` offers the same as a generator of requests. It
keeps the run alive in a worker thread while it waits for each answer, so N
answers cost O(N) in all rather than N replays from the start; the journal it
produces is the same as that of replaying.
"""

from __future__ import annotations

import collections.abc
import contextvars
import dataclasses
import queue
import threading
import weakref
from collections.abc import Callable
from typing import Any, Generic, NoReturn, TypeVar

from enact._invocations.exceptions import (
    InputRequestOutsideInvocation,
    InvocationError,
    InvokableTypeError,
    RequestedTypeUndetermined,
)
from enact._invocations.input_requests import InputRequest
from enact._invocations.invokables import (
    Builder,
    Invokable,
    InvokableBase,
    live_answerer,
    offered_answerer,
)
from enact._invocations.records import Invocation, Response
from enact.interfaces import FieldValue, NoneResource, ResourceBase
from enact.references import Ref, Store, commit
from enact.resource_registry import register

__all__ = ["InvocationGenerator", "RequestInput", "request_input"]

I = TypeVar("I", bound=ResourceBase)  # noqa: E741 - SPEC's name for input types
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
                        f"{type(invokable).__qualname__} takes a "
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
