"""Replay: answering calls from a recorded journal (``ReplayContext``).

docs/compatibility.md#replay. Under a :class:`ReplayContext`, a call that matches the
next recorded invocation is answered from the record instead of running.
How to answer a call is a :data:`Plan`, decided by one pure core
(:meth:`ReplayContext.answer`) for sync and async calls, journaled or not;
:func:`execute` and :func:`execute_async` carry a plan out. A journaled call
asks through its builder (:meth:`enact.invocations.Builder.plan`), which
reuses the record it was answered from as its own.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import inspect
import threading
from collections.abc import Callable, Iterable
from typing import Any, Generic, Protocol, TypeVar

from enact import contexts
from enact._invocations.answerers import async_live_answerer, live_answerer
from enact._invocations.exceptions import (
    ExceptionResource,
    InvokableTypeError,
    ReplayError,
)
from enact._invocations.gates import call_gate
from enact._invocations.input_requests import InputRequest
from enact._invocations.records import (
    ExceptionOverride,
    Invocation,
    Request,
    invokable_name,
    no_override,
)
from enact.contexts import UNSET
from enact.interfaces import NoneResource, ResourceBase
from enact.references import Ref, Store

__all__ = [
    "Failed",
    "Journaled",
    "Output",
    "Plan",
    "Raise",
    "ReplayContext",
    "Replayed",
    "Run",
    "current_store",
    "execute",
    "execute_async",
    "replay_variable",
    "run_call",
    "run_call_async",
    "store_variable",
]

I = TypeVar("I", bound=ResourceBase)  # noqa: E741 - the 0.4.0.dev1 name for input types
O = TypeVar("O", bound=ResourceBase)  # noqa: E741

# -- plans: how a call is answered ---------------------------------------------


@dataclasses.dataclass(slots=True)
class Replayed:
    """A recorded invocation answers the call: it returns the recorded output.

    A journaled call reuses the record as its own (the new one would be
    identical), so it is neither built nor committed again. (Also what
    :meth:`ReplayContext._take` returns: the record taken for a call, its
    output filled in if it answers the call.)
    """

    #: The record.
    ref: Ref[Invocation[Any, Any]]
    invocation: Invocation[Any, Any]
    #: Its output (None for a record that raised, see :class:`Raise`).
    output: Ref[Any] | None = None
    #: The output, checked out: what the call returns.
    value: Any = None


@dataclasses.dataclass(slots=True)
class Run:
    """No record answers the call: it runs, its own calls answered from
    ``context`` (the recorded children, or none)."""

    context: ReplayContext[Any, Any]


@dataclasses.dataclass(slots=True)
class Output:
    """The call returns ``value``: an override for a recorded exception."""

    value: ResourceBase


@dataclasses.dataclass(slots=True)
class Raise:
    """The call raises a recorded exception again (unless answered live)."""

    exception: ExceptionResource
    #: The record, reused by a journaled call that raises.
    replayed: Replayed | None


@dataclasses.dataclass(slots=True)
class Failed:
    """Deciding failed: the call raises ``error`` when it runs (an async call
    is planned when it is made, and must fail when awaited, like a sync one)."""

    error: Exception


Plan = Replayed | Run | Output | Raise | Failed


class Journaled(Protocol):
    """The journal's side of a replayed call (a ``Builder``): where the
    record that answered it is noted."""

    replayed: Replayed | None


# -- the replay context --------------------------------------------------------


@contexts.register
class ReplayContext(Generic[I, O], contexts.Context):
    """Recorded invocations available to the calls at one level of a replay.

    Args:
        subinvocations: Recorded invocations (or refs to them), in call order.
        exception_override: Maps a ref to a recorded exception to a resource
            to return instead, or None to raise the exception again.
        strict: Raise :class:`ReplayError` when the next call does not match
            the next record; otherwise non-matching records are skipped.
    """

    def __init__(
        self,
        subinvocations: Iterable[Invocation[Any, Any] | Ref[Invocation[Any, Any]]],
        exception_override: ExceptionOverride = no_override,
        strict: bool = True,
    ) -> None:
        self._available = list(subinvocations)
        self.exception_override = exception_override
        self.strict = strict
        # Calls at this level may come from several threads.
        self._lock = threading.Lock()
        # Where the calling code of this level runs: calls from elsewhere
        # (other threads, other asyncio tasks) were started concurrently.
        self._owner = _where()

    @classmethod
    def call_or_replay(cls, invokable: Any, arg: Any) -> Any:
        """Replays an un-journaled call from the active context's records, or
        runs it."""
        context = replay_variable.get()
        if context is None:
            return run_call(invokable, arg)
        if context is UNSET:
            context = cls.get_current()  # raises the error that explains this
        return execute(context.plan(invokable, arg), invokable, arg, None)

    @classmethod
    async def call_or_replay_async(cls, invokable: Any, arg: Any) -> Any:
        """The async :meth:`call_or_replay`: an un-journaled async call."""
        context = replay_variable.get()
        if context is None:
            return await run_call_async(invokable, arg)
        if context is UNSET:
            context = cls.get_current()  # raises the error that explains this
        return await execute_async(context.plan(invokable, arg), invokable, arg, None)

    def next_record(self) -> Invocation[Any, Any] | Ref[Invocation[Any, Any]] | None:
        """The record the next call of this level must match, if any."""
        with self._lock:
            return self._available[0] if self._available else None

    def plan(self, invokable: Any, arg: Any) -> Plan:
        """How to answer an un-journaled call of ``invokable`` with ``arg``."""
        store = current_store()
        request: Request[Any, Any] = Request(store.commit(invokable), store.commit(arg))
        wanted = store.commit(request)._digest
        return self.answer(
            invokable,
            wanted,
            request.invokable._digest,
            functools.partial(_given, request),
            None,
        )

    def answer(
        self,
        invokable: Any,
        wanted: str,
        before: str,
        request_of: Callable[[], Request[Any, Any]],
        children: list[Any] | None,
    ) -> Plan:
        """How to answer a call: the pure core of sync and async replay.

        Args:
            invokable: The invokable called (restored in place from a record
                that answers it, if its state differs).
            wanted: The digest of the call's request.
            before: The digest of the invokable before the call.
            request_of: Makes the request (only needed to explain a mismatch).
            children: The journaled call's children, or None if it is not
                journaled: a record that answers the call adds its children,
                so an unchanged subtree keeps its refs.
        """
        taken = self._take(wanted, request_of)
        if taken is None:
            return Run(self._child([]))
        response = taken.invocation.response()
        output = response.output
        if output is not None or (response.raised is not None and response.raised_here):
            if response.invokable._digest != before:
                invokable.set_from(response.invokable())
            if children is not None:
                children.extend(response.children)
            if output is not None:
                # (The record taken is the plan: one object per replayed call.)
                taken.output = output
                taken.value = output()
                return taken
            assert response.raised is not None
            value = self._override(invokable, response.raised)
            if value is not None:
                return Output(value)
            return Raise(response.raised(), None if children is None else taken)
        return Run(self._child(response.children))

    def _child(self, available: Iterable[Any]) -> ReplayContext[Any, Any]:
        return ReplayContext(available, self.exception_override, self.strict)

    def _take(
        self, request_digest: str, request_of: Callable[[], Request[Any, Any]]
    ) -> Replayed | None:
        """Removes and returns the record that answers a call, if any.

        A call made by this level's own thread or task must match the next
        record (when strict). Calls started concurrently (from other threads
        or tasks) take the first record with an equal request: they may start
        in another order than they did when recorded.
        """
        concurrent: bool | None = None  # worked out only on a mismatch
        with self._lock:
            available = self._available
            if available and type(available[0]) is Ref:
                # The usual case, before the loop: the next record matches.
                first: Ref[Invocation[Any, Any]] = available[0]
                recorded = first()
                if recorded.request._digest == request_digest:
                    del available[0]
                    return Replayed(first, recorded)
            for index, entry in enumerate(available):
                if isinstance(entry, Ref):
                    entry_ref, recorded = entry, entry()
                else:
                    entry_ref, recorded = None, entry
                if recorded.request._digest == request_digest:
                    del available[index]
                    if entry_ref is None:
                        entry_ref = Store.current().commit(recorded)
                    return Replayed(entry_ref, recorded)
                if self.strict:
                    if concurrent is None:
                        concurrent = self._owner != _where()
                    if not concurrent:
                        raise ReplayError(_mismatch(recorded, request_of()))
        return None

    def _override(
        self, invokable: Any, raised: Ref[ExceptionResource]
    ) -> ResourceBase | None:
        value = self.exception_override(raised)
        if value is not None:
            output_type = invokable.get_output_type()
            if output_type is not None and not isinstance(value, output_type):
                raise InvokableTypeError(
                    f"The value given for a recorded exception of "
                    f"{invokable_name(invokable)} is a {type(value).__qualname__}, "
                    f"but its output type is {output_type.__qualname__}."
                )
        return value


# -- carrying a plan out -------------------------------------------------------


def execute(plan: Plan, invokable: Any, arg: Any, journaled: Journaled | None) -> Any:
    """Carries out a plan for a sync call: returns its output or raises."""
    if type(plan) is Run:
        with plan.context:
            return run_call(invokable, arg)
    if type(plan) is Replayed or type(plan) is Output:
        return plan.value
    if type(plan) is Failed:
        raise plan.error
    assert type(plan) is Raise
    exception = plan.exception
    answer = live_answerer.get()
    if answer is not None and isinstance(exception, InputRequest):
        return answer(exception)
    if plan.replayed is not None and journaled is not None:
        journaled.replayed = plan.replayed
    raise exception


async def execute_async(
    plan: Plan | None, invokable: Any, arg: Any, journaled: Journaled | None
) -> Any:
    """Carries out a plan for an async call (no plan: no replay is active)."""
    if plan is None:
        return await run_call_async(invokable, arg)
    if type(plan) is Run:
        context = plan.context
        # The calls of this level are made from the task that runs it now.
        context._owner = _where()
        token = replay_variable.set(context)
        try:
            return await run_call_async(invokable, arg)
        finally:
            replay_variable.reset(token)
    if type(plan) is Replayed or type(plan) is Output:
        return plan.value
    if type(plan) is Failed:
        raise plan.error
    assert type(plan) is Raise
    exception = plan.exception
    answer = async_live_answerer.get()
    if answer is not None and isinstance(exception, InputRequest):
        return await answer(exception)
    if plan.replayed is not None and journaled is not None:
        journaled.replayed = plan.replayed
    raise exception


_takes_no_argument: dict[type, bool] = {}


def run_call(invokable: Any, arg: Any) -> Any:
    """Calls ``invokable.call``, without an argument if it takes none, holding
    what the active gate asks for (a concurrency slot) while it runs."""
    gate = call_gate.get()
    if gate is not None:
        held = gate.hold(invokable)
        if held is not None:
            with held:
                return _call(invokable, arg)
    return _call(invokable, arg)


def _call(invokable: Any, arg: Any) -> Any:
    cls = type(invokable)
    no_argument = _takes_no_argument.get(cls)
    if no_argument is None:
        parameters = list(inspect.signature(invokable.call).parameters.values())
        no_argument = not parameters
        _takes_no_argument[cls] = no_argument
    if no_argument and isinstance(arg, NoneResource):
        return invokable.call()
    return invokable.call(arg)


async def run_call_async(invokable: Any, arg: Any) -> Any:
    """Calls and awaits an async invokable's ``call`` (holding what the active
    gate asks for while it runs)."""
    gate = call_gate.get()
    if gate is not None:
        held = gate.hold_async(invokable)
        if held is not None:
            async with held:
                return await _call_async(invokable, arg)
    return await _call_async(invokable, arg)


async def _call_async(invokable: Any, arg: Any) -> Any:
    result = _call(invokable, arg)
    if not inspect.isawaitable(result):
        raise InvokableTypeError(
            f"{invokable_name(invokable)}.call returned a "
            f"{type(result).__qualname__}, not an awaitable: an async invokable "
            "needs `async def call`."
        )
    return await result


def _given(request: Request[Any, Any]) -> Request[Any, Any]:
    """The request (for _take, which makes a builder's only on a mismatch)."""
    return request


def _where() -> tuple[int, object]:
    """The current thread and asyncio task (None outside a running loop)."""
    task = asyncio.current_task() if asyncio._get_running_loop() is not None else None
    return threading.get_ident(), task


def _mismatch(recorded: Invocation[Any, Any], request: Request[Any, Any]) -> str:
    def describe(request: Request[Any, Any]) -> str:
        try:
            name = invokable_name(request.invokable())
        except Exception:  # the record may name a class unknown here
            name = "?"
        invokable, argument = request.invokable.digest, request.input.digest
        return f"{name} (invokable {invokable[:12]}, input {argument[:12]})"

    try:
        expected = describe(recorded.request())
    except Exception:
        expected = f"request {recorded.request.digest[:12]}"
    return (
        f"Replay expected a call to {expected}, but the code now calls "
        f"{describe(request)}. The code no longer makes the recorded "
        "calls in the same order (is it deterministic given its inputs?); "
        "use strict=False to skip non-matching records."
    )


# The context variables behind ReplayContext and Store, read directly on the
# hot path of every journaled call.
replay_variable = contexts.variable(ReplayContext)
store_variable = contexts.variable(Store)


def current_store() -> Store:
    """``Store.current()``, without its two calls when a store is active."""
    store: Store | None = store_variable.get()
    if store is None or store is UNSET:
        return Store.current()  # raises the error that explains this
    return store
