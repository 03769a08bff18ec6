"""Async invokables (SPEC B4): ``async def call``, journaled like sync ones.

``await invokable(arg)`` inside a journaled run records a child invocation
exactly as a sync call does: the bookkeeping before and after the call
(``Builder._begin``, ``_complete``, ``_end``) and the replay decision
(``ReplayContext._plan``) are the same code as the sync path; only the call in
between is awaited (STYLE 11).

A journaled async call reserves its place among its parent's children when it
is *made* (``invokable(arg)``), so children started together with
``asyncio.gather`` or a ``TaskGroup`` are recorded in the order they were
made, however they finish, and a replay answers each from its own record.
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, ClassVar, TypeVar

from enact._invocations.exceptions import (
    InvocationError,
    InvokableTypeError,
)
from enact._invocations.input_requests import InputRequest
from enact._invocations.invokables import (
    _OUTPUT,
    _RUN,
    Builder,
    InvokableBase,
    ReplayContext,
    _builder_variable,
    _no_override,
    _record_exception,
    _replay_variable,
    _run,
    _where,
    claim_answerer,
    invoke_input,
    invoke_scope,
)
from enact._invocations.records import ExceptionOverride, Invocation
from enact.contexts import UNSET, NoActiveContext
from enact.interfaces import ResourceBase
from enact.references import Ref, Store
from enact.resources import Resource

__all__ = [
    "AsyncInvokable",
    "AsyncInvokableBase",
    "async_live_answerer",
    "async_offered_answerer",
    "invoke_async",
]

I = TypeVar("I", bound=ResourceBase)  # noqa: E741 - SPEC's name for input types
O = TypeVar("O", bound=ResourceBase)  # noqa: E741

Answerer = Callable[[InputRequest], Awaitable[ResourceBase]]

# The async counterparts of invokables.live_answerer / offered_answerer, set by
# AsyncInvocationGenerator: an input request awaits its answer in place.
async_live_answerer: contextvars.ContextVar[Answerer | None] = contextvars.ContextVar(
    "enact.async_live_answerer", default=None
)
async_offered_answerer: contextvars.ContextVar[Answerer | None] = (
    contextvars.ContextVar("enact.async_offered_answerer", default=None)
)

# A plan that failed when the call was made: raised when it is awaited, so the
# error is recorded as the child's, as in a sync call.
_ERROR = "error"


def _claim_async_answerer() -> contextlib.AbstractContextManager[None]:
    return claim_answerer(async_live_answerer, async_offered_answerer)


class AsyncInvokableBase(InvokableBase[I, O]):
    """Base of invokables whose ``call`` is a coroutine (``async def call``).

    ``await invokable(arg)`` runs it (journaled inside a run) and
    ``await invokable.ainvoke(ref)`` runs it journaled. Calling it without
    awaiting inside a journaled run is reported when the caller returns
    (:class:`IncompleteSubinvocationError`).
    """

    #: Marks async invokables (replay() and invoke() refuse them).
    _enact_async: ClassVar[bool] = True

    async def call(self, resource: Any) -> Any:
        """Does the work; implemented by subclasses as ``async def call``."""
        raise NotImplementedError(f"{type(self).__qualname__} must implement call().")

    def __call__(self, *args: Any, **kwargs: Any) -> Coroutine[Any, Any, Any]:
        """Calls the invokable: returns a coroutine to await.

        Inside a journaled run the call is recorded as a child of the current
        call, in the order calls are made (not the order they finish).

        Raises:
            InvokableTypeError: if the input does not have the declared type
                (at once), or the output (when awaited, journaled).
        """
        arg = self._normalize_input(args, kwargs)
        builder = _builder_variable.get()
        if builder is None:
            return _call_or_replay(self, arg)
        if builder is UNSET:
            Builder.get_current()  # raises the error that explains this
        store = Store.current()
        return _start(Builder(self, store.commit(arg), store, _arg=arg))[0]

    def invoke(self, *args: Any, **kwargs: Any) -> Invocation[I, O]:
        """Not for async invokables: use ``await invokable.ainvoke(...)``.

        Raises:
            InvokableTypeError: always.
        """
        raise InvokableTypeError(
            f"{type(self).__qualname__} is async: use "
            "`await invokable.ainvoke(...)` (or `await enact.invoke_async(...)`)."
        )

    async def ainvoke(
        self,
        arg: Ref[I] | None = None,
        replay_from: Invocation[I, O] | None = None,
        exception_override: ExceptionOverride = _no_override,
        raise_on_invocation_error: bool = True,
        strict: bool = True,
        commit: bool = True,
    ) -> Invocation[I, O]:
        """Runs the invokable journaled, returning the :class:`Invocation`.

        The async :meth:`InvokableBase.invoke`, with the same arguments.

        Raises:
            NoActiveContext: if no store is active.
            InvokableTypeError: if ``arg`` is not a ref.
        """
        store, input_ref = invoke_input(arg)
        with invoke_scope(
            store, replay_from, exception_override, strict, _claim_async_answerer
        ):
            builder = Builder(self, input_ref, store)
            parent = builder._begin()
            try:
                await _journaled(builder, parent, _plan(builder, None), False)
            except InvocationError:
                if raise_on_invocation_error:
                    raise
            except Exception:
                pass
            invocation: Invocation[I, O] = builder.invocation
            if commit:
                store.commit(invocation)
        return invocation

    invoke_async = ainvoke


class AsyncInvokable(AsyncInvokableBase[I, O], Resource):
    """The usual base of async invokables: a dataclass resource.

    Example::

        @enact.typed_invokable(enact.Str, enact.Str)
        @dataclasses.dataclass
        class Shout(enact.AsyncInvokable):
            async def call(self, text):
                await asyncio.sleep(0)
                return enact.Str(text.upper())
    """


def _start(child: Builder) -> tuple[Coroutine[Any, Any, Any], Builder]:
    """Makes a journaled child call: takes its place now, runs when awaited.

    Returns the coroutine to await and the child's builder.
    """
    parent = child._begin()
    plan = _plan(child, child._arg)
    child._started = False
    coroutine = _journaled(child, parent, plan, True)
    child._coroutine = coroutine
    return coroutine, child


def _plan(builder: Builder, arg: Any) -> tuple[object, Any] | None:
    """The replay decision for a call, made when the call is made."""
    context = _replay_variable.get()
    if context is None:
        return None
    try:
        if context is UNSET:
            context = ReplayContext.get_current()
        if arg is None:
            arg = builder.input_ref.checkout()
        return context._plan(builder.invokable, arg, builder)  # type: ignore[no-any-return]
    except Exception as error:
        return _ERROR, error


async def _journaled(
    builder: Builder,
    parent: Builder | None,
    plan: tuple[object, Any] | None,
    check_output: bool,
) -> Any:
    """Runs a journaled async call: the sync Builder.call with an await."""
    builder._started = True
    builder._coroutine = None
    output_ref: Ref[Any] | None = None
    raised_ref: Ref[Any] | None = None
    error: Exception | None = None
    token = _builder_variable.set(builder)
    try:
        try:
            arg = (
                builder._arg
                if builder._arg is not None
                else builder.input_ref.checkout()
            )
            output = await _execute(builder.invokable, arg, plan, builder)
            output, output_ref = builder._complete(arg, output)
        except Exception as exception:
            error = exception
            raised_ref = _record_exception(builder._store, exception)
            raise
        finally:
            builder._end(parent, output_ref, raised_ref, error)
    finally:
        _builder_variable.reset(token)
    output_type = builder.invokable.get_output_type()
    if check_output and output_type is not None and not isinstance(output, output_type):
        raise InvokableTypeError(
            f"{type(builder.invokable).__qualname__} returned a "
            f"{type(output).__qualname__}, but its output type is "
            f"{output_type.__qualname__}."
        )
    return output


async def _execute(
    invokable: InvokableBase[Any, Any],
    arg: Any,
    plan: tuple[object, Any] | None,
    builder: Builder | None,
) -> Any:
    """Carries out a replay plan (see ReplayContext._plan) for an async call."""
    if plan is None:
        return await _call(invokable, arg)
    kind, value = plan
    if kind is _RUN:
        # The calls of this level are made from the task that runs it now.
        value._owner = _where()
        token = _replay_variable.set(value)
        try:
            return await _call(invokable, arg)
        finally:
            _replay_variable.reset(token)
    if kind is _OUTPUT:
        return value
    if kind is _ERROR:
        raise value
    exception, match = value
    answer = async_live_answerer.get()
    if answer is not None and isinstance(exception, InputRequest):
        return await answer(exception)
    if match is not None and builder is not None:
        builder._replayed = (*match, None)
    raise exception


async def _call(invokable: InvokableBase[Any, Any], arg: Any) -> Any:
    result = _run(invokable, arg)
    if not inspect.isawaitable(result):
        raise InvokableTypeError(
            f"{type(invokable).__qualname__}.call returned a "
            f"{type(result).__qualname__}, not an awaitable: an async invokable "
            "needs `async def call`."
        )
    return await result


async def _call_or_replay(invokable: InvokableBase[Any, Any], arg: Any) -> Any:
    """An un-journaled async call (replayed if a ReplayContext is active)."""
    context = _replay_variable.get()
    if context is None:
        return await _call(invokable, arg)
    if context is UNSET:
        context = ReplayContext.get_current()
    return await _execute(invokable, arg, context._plan(invokable, arg, None), None)


async def invoke_async(
    fn: AsyncInvokableBase[Any, Any],
    args: Sequence[Any] = (),
    kwargs: dict[str, Any] | None = None,
    replay_from: Invocation[Any, Any] | None = None,
    exception_override: ExceptionOverride = _no_override,
    strict: bool = True,
    commit: bool = True,
) -> Invocation[Any, Any]:
    """Runs an async invokable journaled: the async ``enact.invoke``.

    Args:
        fn: An async invokable.
        args: At most one positional argument (a value, committed as the
            input); none for a ``NoneResource`` input.
        kwargs: Not supported for invokables (must be empty).
        replay_from: A recorded invocation to replay.
        exception_override: With ``replay_from``: values to use in place of
            recorded exceptions.
        strict: With ``replay_from``: whether mismatches are errors.
        commit: Commit the invocation to the store.

    Raises:
        NoActiveContext: if no store is active.
        TypeError: if ``fn`` is not an async invokable (use ``enact.invoke``
            for sync ones).
        ValueError: if ``fn`` gets keyword or several arguments.
    """
    if not isinstance(fn, AsyncInvokableBase):
        hint = (
            "it is a sync invokable: use enact.invoke(...)"
            if isinstance(fn, InvokableBase)
            else f"got {fn!r} (decorate an async function with @enact.register)"
        )
        raise TypeError(f"enact.invoke_async needs an async invokable; {hint}.")
    if kwargs or len(args) > 1:
        raise ValueError(
            f"{type(fn).__qualname__} is an invokable: it takes at most one "
            f"positional argument, got {len(args)} and {len(kwargs or {})} keyword."
        )
    store = Store.get_current()
    if store is None:
        raise NoActiveContext(
            "invoke_async() records the run in a store: call it inside "
            "`with enact.FileStore(path):` (or another store)."
        )
    arg = store.commit(args[0]) if args else None
    return await fn.ainvoke(
        arg,
        replay_from=replay_from,
        exception_override=exception_override,
        strict=strict,
        commit=commit,
    )
