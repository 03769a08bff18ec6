"""Async functions as journaled components: ``@enact.register`` on ``async def``.

SPEC B3/B4 for async code. A registered coroutine function is returned as a
:class:`RegisteredAsyncFunction`: outside a journaled run, calling it calls
the function (awaiting the result runs it). Inside a journaled async run,
``fn(...)`` makes a journaled child call, as ``await invokable(arg)`` does for
an async invokable (:mod:`enact._invocations.asyncs`): the call takes its
place among its parent's children when it is made, so calls started together
(``asyncio.gather``) are recorded in call-start order and replayed each from
its own record. The journal names an :class:`AsyncFunctionWrapper` (or an
:class:`AsyncMethodWrapper`) with a :class:`~enact.invocations.CallArgs`
input; arguments and results are wrapped and unwrapped as for sync functions
(:mod:`enact._invocations.functions`).
"""

from __future__ import annotations

import dataclasses
import inspect
import types
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any, ClassVar

from enact._invocations.asyncs import (
    AsyncInvokableBase,
    _call_or_replay,
    _start,
)
from enact._invocations.asyncs import invoke_async as _invoke_async_invokable
from enact._invocations.exceptions import ReplayError
from enact._invocations.functions import (
    CallArgs,
    RegisteredFunction,
    _call_args,
    _commit_args,
    _explain_mismatch,
    _FunctionInvokable,
    _MethodInvokable,
    _plain,
    _plain_cache,
    _register,
)
from enact._invocations.invokables import (
    Builder,
    _builder_variable,
    _no_override,
)
from enact._invocations.records import ExceptionOverride, Invocation
from enact.contexts import UNSET, NoActiveContext
from enact.interfaces import ResourceBase
from enact.references import Ref, Store
from enact.resource_registry import register as register_resource
from enact.wrappers import add_register_handler

__all__ = [
    "AsyncFunctionWrapper",
    "AsyncMethodWrapper",
    "RegisteredAsyncFunction",
    "invoke_async",
]


class _AsyncFunctionInvokable(AsyncInvokableBase[Any, Any], _FunctionInvokable):
    """What an async function call's journal entry names as its invokable."""

    async def ainvoke(
        self,
        arg: Ref[Any] | None = None,
        replay_from: Invocation[Any, Any] | None = None,
        exception_override: ExceptionOverride = _no_override,
        raise_on_invocation_error: bool = True,
        strict: bool = True,
        commit: bool = True,
    ) -> Invocation[Any, Any]:
        """Like :meth:`AsyncInvokableBase.ainvoke`; the output reads back plain."""
        invocation = await super().ainvoke(
            arg,
            replay_from,
            exception_override,
            raise_on_invocation_error,
            strict,
            commit,
        )
        _plain_cache(invocation)
        return invocation

    invoke_async = ainvoke


@register_resource
@dataclasses.dataclass
class AsyncFunctionWrapper(_AsyncFunctionInvokable):
    """A registered async function as the invokable of its journaled calls.

    Only the function's persistent name is stored, as in a
    :class:`~enact.invocations.FunctionWrapper`.
    """

    _enact_type_name = "enact.invocations.AsyncFunctionWrapper"
    _enact_immutable: ClassVar[bool] = True

    #: The function's persistent name (``module.qualname`` or ``name=``).
    name: str

    async def call(self, call_args: CallArgs) -> ResourceBase:
        """Calls and awaits the function with the recorded arguments."""
        args, kwargs = call_args.plain_args()
        return self._result(await self._target()(*args, **kwargs))


@register_resource
@dataclasses.dataclass
class AsyncMethodWrapper(_AsyncFunctionInvokable, _MethodInvokable):
    """A registered async method, with its instance, as a call's invokable.

    Recorded and restored as a :class:`~enact.invocations.MethodWrapper` is.
    """

    _enact_type_name = "enact.invocations.AsyncMethodWrapper"

    #: The method's persistent name (``module.Class.method`` or ``name=``).
    name: str
    #: The object the method is called on (a resource or a wrapped value).
    instance: Any

    async def call(self, call_args: CallArgs) -> ResourceBase:
        """Calls and awaits the method on the instance with the arguments."""
        args, kwargs = call_args.plain_args()
        return self._result(await self._target()(self.instance, *args, **kwargs))


class _Pending:
    """Closes a journaled call's coroutines if its caller never awaits it."""

    def __init__(self, *coroutines: Coroutine[Any, Any, Any]) -> None:
        self._coroutines = coroutines

    def close(self) -> None:
        for coroutine in self._coroutines:
            coroutine.close()


class RegisteredAsyncFunction(RegisteredFunction[..., Any]):
    """What ``@enact.register`` returns for an ``async def``.

    Calling it returns a coroutine to await: the function's own outside a
    journaled run, a journaled child call inside one (its place among the
    caller's children is taken when the call is made).
    """

    #: Marks async functions (enact.invoke refuses them).
    _enact_async: ClassVar[bool] = True
    _function_wrapper_type = AsyncFunctionWrapper
    _method_wrapper_type = AsyncMethodWrapper

    def __repr__(self) -> str:
        return f"<registered async function {self._enact_name}>"

    def _journaled(
        self, all_args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> Coroutine[Any, Any, Any]:
        invokable, args = self._split(all_args)
        store = Store.current()
        call_args = _call_args(args, kwargs)
        input_ref = _commit_args(store, invokable, call_args, args, kwargs)
        builder = _builder_variable.get()
        if builder is None or builder is UNSET:
            inner = _call_or_replay(invokable, call_args)
            return _finish(invokable, call_args, input_ref, inner, None)
        inner, child = _start(Builder(invokable, input_ref, store, _arg=call_args))
        outer = _finish(invokable, call_args, input_ref, inner, child)
        child._coroutine = _Pending(outer, inner)
        return outer


async def _finish(
    invokable: _FunctionInvokable,
    call_args: CallArgs,
    input_ref: Ref[CallArgs],
    coroutine: Coroutine[Any, Any, Any],
    child: Builder | None,
) -> Any:
    """Awaits a journaled call and gives its output back as a plain value."""
    try:
        output = await coroutine
    except ReplayError as error:
        _explain_mismatch(error, invokable, call_args, input_ref)
        raise
    if child is not None:
        _plain_cache(child.invocation)
    return _plain(output)


def _register_handler(target: Any, name: str | None) -> Any:
    if inspect.isfunction(target) and inspect.iscoroutinefunction(target):
        return _register(RegisteredAsyncFunction, target, name)
    return NotImplemented


add_register_handler(_register_handler)


async def invoke_async(
    fn: Any,
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    replay_from: Invocation[Any, Any] | None = None,
    exception_override: ExceptionOverride = _no_override,
    strict: bool = True,
    commit: bool = True,
) -> Invocation[Any, Any]:
    """Runs an async invokable or a registered async function journaled.

    The async ``enact.invoke``, with the same arguments.

    Args:
        fn: An async invokable, a registered async function, or a registered
            async method bound to its instance (``obj.method``).
        args: Positional arguments; an invokable takes at most one (a value,
            committed as its input).
        kwargs: Keyword arguments (functions only).
        replay_from: A recorded invocation to replay.
        exception_override: With ``replay_from``: values to use in place of
            recorded exceptions.
        strict: With ``replay_from``: whether mismatches are errors.
        commit: Commit the invocation to the store.

    Returns:
        The :class:`Invocation`. For a function, its request's invokable is
        the :class:`AsyncFunctionWrapper` (or :class:`AsyncMethodWrapper`),
        its input a :class:`CallArgs`, and ``get_output()`` gives the plain
        value.

    Raises:
        NoActiveContext: if no store is active.
        TypeError: if ``fn`` is sync (use ``enact.invoke``) or not registered.
        ValueError: if an invokable gets keyword or several arguments.
    """
    options: dict[str, Any] = {
        "replay_from": replay_from,
        "exception_override": exception_override,
        "strict": strict,
        "commit": commit,
    }
    target = fn.__func__ if isinstance(fn, types.MethodType) else fn
    if not isinstance(target, RegisteredFunction):
        return await _invoke_async_invokable(
            fn, args, dict(kwargs) if kwargs else None, **options
        )
    if not isinstance(target, RegisteredAsyncFunction):
        raise TypeError(
            f"enact.invoke_async needs an async function; {target.enact_name} is "
            "a sync function: use enact.invoke(...)."
        )
    if isinstance(fn, types.MethodType):
        args = (fn.__self__, *args)
    store = Store.get_current()
    if store is None:
        raise NoActiveContext(
            "invoke_async() records the run in a store: call it inside "
            "`with enact.FileStore(path):` (or another store)."
        )
    invokable, args = target._split(args)
    assert isinstance(invokable, _AsyncFunctionInvokable)
    kwargs = dict(kwargs or {})
    call_args = _call_args(args, kwargs)
    input_ref = _commit_args(store, invokable, call_args, args, kwargs)
    return await invokable.ainvoke(input_ref, **options)
