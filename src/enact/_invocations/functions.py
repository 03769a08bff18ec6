"""Plain functions as journaled components: ``@enact.register`` on a ``def``.

See docs/compatibility.md#functions. A registered function is returned as a
:class:`RegisteredFunction` (:class:`RegisteredAsyncFunction` for a coroutine
function), a transparent stand-in that calls the function directly unless a
journaled run (or a replay) is active; then the call goes through the same
:class:`~enact.invocations.Builder` and :class:`~enact.invocations.ReplayContext`
machinery as an invokable's, recorded as a call of a function wrapper with
:class:`~enact.invocations.CallArgs` (:mod:`enact._invocations.calls`).
Callers always get the plain value back.

Inside a journaled async run, calling a registered async function makes a
journaled child call, as ``await invokable(arg)`` does for an async
invokable: it takes its place among its parent's children when it is made,
so calls started together (``asyncio.gather``) are recorded in call-start
order and replayed each from its own record.

:func:`invoke` and :func:`invoke_async` run an invokable or a registered
function journaled.
"""

from __future__ import annotations

import functools
import inspect
import types
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, ClassVar, Generic, ParamSpec, TypeVar

from enact._importable import recorded_module
from enact._invocations.calls import (
    AsyncFunctionInvokable,
    AsyncFunctionWrapper,
    AsyncMethodWrapper,
    CallArgs,
    FunctionInvokable,
    FunctionWrapper,
    MethodInvokable,
    MethodWrapper,
    make_call_args,
    plain_cache,
    registered_functions,
)
from enact._invocations.exceptions import ReplayError
from enact._invocations.invokables import AsyncInvokableBase, InvokableBase
from enact._invocations.journal import Builder, builder_variable
from enact._invocations.records import (
    ExceptionOverride,
    Invocation,
    invokable_name,
    no_override,
)
from enact._invocations.replay import ReplayContext, current_store, replay_variable
from enact.contexts import UNSET, NoActiveContext
from enact.interfaces import FieldTypeError, ResourceBase, TypeWrapperBase
from enact.references import Ref, Store
from enact.wrappers import add_register_handler, lookup_wrapper

__all__ = [
    "RegisteredAsyncFunction",
    "RegisteredFunction",
    "invoke",
    "invoke_async",
    "register_function",
]

P = ParamSpec("P")
R = TypeVar("R")


# -- the registered function ---------------------------------------------------


class RegisteredFunction(Generic[P, R]):
    """What ``@enact.register`` returns for a function: a transparent stand-in.

    Outside a journaled run it calls the function directly. Inside one, each
    call is journaled as a child invocation of its caller (and answered from
    the journal during a replay). It keeps the function's name, docstring,
    signature (``inspect.signature``) and ``__wrapped__``; as a class
    attribute it binds like a method.
    """

    __wrapped__: Callable[P, R]

    #: The invokable types journaling a call of a function and of a method.
    _function_wrapper_type: ClassVar[type[FunctionInvokable]] = FunctionWrapper
    _method_wrapper_type: ClassVar[type[MethodInvokable]] = MethodWrapper

    def __init__(self, function: Callable[P, R], name: str, is_method: bool) -> None:
        functools.update_wrapper(self, function)
        self._enact_name = name
        self._enact_is_method = is_method
        self._function = function
        self._enact_wrapper = self._function_wrapper_type(name)  # type: ignore[call-arg]

    @property
    def enact_name(self) -> str:
        """The persistent name journals record."""
        return self._enact_name

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        builder = builder_variable.get()
        if builder is None or builder is UNSET:
            replay = replay_variable.get()
            if replay is None or replay is UNSET:
                return self._function(*args, **kwargs)
        result: R = self._journaled(args, kwargs)
        return result

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return types.MethodType(self, instance)

    def __repr__(self) -> str:
        return f"<registered function {self._enact_name}>"

    def _split(self, args: Sequence[Any]) -> tuple[FunctionInvokable, Sequence[Any]]:
        """The invokable to journal and the arguments without the instance."""
        if not self._enact_is_method:
            return self._enact_wrapper, args
        if not args:
            raise TypeError(f"{self._enact_name}() is a method: missing its instance.")
        instance = args[0]
        _check_instance(self._enact_name, instance)
        method = self._method_wrapper_type(self._enact_name, instance)  # type: ignore[call-arg]
        return method, args[1:]

    def _journaled(self, all_args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        invokable, args = self._split(all_args)
        store = current_store()
        call_args = make_call_args(args, kwargs)
        input_ref = _commit_args(store, invokable, call_args, args, kwargs)
        builder = builder_variable.get()
        try:
            if builder is None or builder is UNSET:
                return _plain(ReplayContext.call_or_replay(invokable, call_args))
            child = Builder(invokable, input_ref, store, input_value=call_args)
            output = child.call()
        except ReplayError as error:
            _explain_mismatch(error, invokable, call_args, input_ref)
            raise
        plain_cache(child.invocation)
        return _plain(output)


def _plain(output: Any) -> Any:
    return output.unwrap() if isinstance(output, TypeWrapperBase) else output


def _check_instance(name: str, instance: Any) -> None:
    if isinstance(instance, ResourceBase) or lookup_wrapper(type(instance)):
        return
    cls = type(instance)
    raise FieldTypeError(
        f"Cannot journal a call of {name}: its instance, a "
        f"{cls.__module__}.{cls.__qualname__}, is neither a resource nor a value "
        "with a type wrapper. Please register a TypeWrapper for "
        f"{cls.__qualname__} (or make it a dataclass decorated with "
        "@enact.register, or derive it from enact.Resource).",
        ["instance"],
    )


def _commit_args(
    store: Store,
    invokable: FunctionInvokable,
    call_args: CallArgs,
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
) -> Ref[CallArgs]:
    try:
        return store.commit(call_args)
    except FieldTypeError as error:
        labelled = [(f"argument {i}", value) for i, value in enumerate(args)]
        labelled += [(f"keyword argument {k!r}", v) for k, v in kwargs.items()]
        for label, value in labelled:
            try:
                store.commit(make_call_args([value], {}))
            except FieldTypeError as cause:
                raise FieldTypeError(
                    f"Cannot journal the call {invokable.name}(...): its {label}, a "
                    f"{type(value).__module__}.{type(value).__qualname__}, cannot be "
                    f"stored ({cause.reason})",
                    [label],
                ) from error
        raise


def _explain_mismatch(
    error: ReplayError,
    invokable: FunctionInvokable,
    call_args: CallArgs,
    input_ref: Ref[CallArgs],
) -> None:
    """Names the recorded and the current call in a strict replay's error.

    Only for a mismatch found at this call (its message names this call's
    invokable and input digests); errors from deeper calls pass unchanged.
    """
    message = str(error)
    if getattr(error, "_enact_explained", False) or input_ref.digest[:12] not in (
        message
    ):
        return
    error._enact_explained = True  # type: ignore[attr-defined]
    recorded = "an unknown call"
    context = replay_variable.get()
    entry = context.next_record() if isinstance(context, ReplayContext) else None
    if entry is not None:
        recorded = _describe_record(entry)
    now = invokable.describe(call_args)
    error.args = (
        f"Replay mismatch: the journal recorded a call of {recorded} here, but the "
        f"code now calls {now}. {message}",
    )


def _describe_record(entry: Any) -> str:
    try:
        recorded = entry() if isinstance(entry, Ref) else entry
        request = recorded.request()
        invokable = request.invokable()
        if isinstance(invokable, FunctionInvokable):
            return invokable.describe(request.input())
        return invokable_name(invokable)
    except Exception:  # the record may name a function unknown here
        return "an unreadable call"


# -- enact.register on functions ----------------------------------------------


def register_function(
    function: Callable[P, R], name: str | None = None
) -> RegisteredFunction[P, R]:
    """Registers a plain function (or a method in a class body).

    Prefer ``@enact.register``, which calls this for functions.

    Args:
        function: A ``def`` function or a method inside a class body.
        name: A persistent name instead of ``<module>.<qualname>``, so the
            journals keep finding it if the function moves.

    Returns:
        The :class:`RegisteredFunction` standing in for ``function``.
    """
    return _register(RegisteredFunction, function, name)


F = TypeVar("F", bound=RegisteredFunction[Any, Any])


def _register(cls: type[F], function: Callable[..., Any], name: str | None) -> F:
    """Registers ``function`` under its persistent name as a ``cls``."""
    if name is None:
        name = f"{recorded_module(function.__module__)}.{function.__qualname__}"
    parts = function.__qualname__.split(".")
    is_method = len(parts) >= 2 and parts[-2] != "<locals>"
    registered = cls(function, name, is_method)
    registered_functions[name] = function
    return registered


def _register_handler(target: Any, name: str | None) -> Any:
    if isinstance(target, (classmethod, staticmethod)):
        kind = type(target).__name__
        raise TypeError(
            f"enact.register cannot register a {kind}: register a plain function "
            "or a method (put @enact.register below the method's other decorators "
            f"only if it stays a plain method, never above @{kind})."
        )
    if inspect.ismethod(target):
        raise ValueError(
            f"enact.register got the bound method {target!r}: register the method "
            "in its class body (decorate the `def` with @enact.register) instead."
        )
    if isinstance(target, RegisteredFunction):
        return target
    if inspect.isfunction(target) and not inspect.iscoroutinefunction(target):
        return register_function(target, name)
    return NotImplemented


add_register_handler(_register_handler)


# -- enact.invoke --------------------------------------------------------------


def invoke(
    fn: Callable[..., Any] | InvokableBase[Any, Any],
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    replay_from: Invocation[Any, Any] | None = None,
    exception_override: ExceptionOverride = no_override,
    strict: bool = True,
    commit: bool = True,
) -> Invocation[Any, Any]:
    """Runs an invokable or a registered function journaled.

    Args:
        fn: An invokable, a registered function, or a registered method bound
            to its instance (``obj.method``).
        args: Positional arguments; an invokable takes at most one (a
            resource or a plain value, committed as its input).
        kwargs: Keyword arguments (functions only).
        replay_from: A recorded invocation to replay.
        exception_override: With ``replay_from``: values to use in place of
            recorded exceptions.
        strict: With ``replay_from``: whether mismatches are errors.
        commit: Commit the invocation to the store.

    Returns:
        The :class:`Invocation`. For a function, its request's invokable is
        the :class:`FunctionWrapper` (or :class:`MethodWrapper`), its input a
        :class:`CallArgs`, and ``get_output()`` gives the plain value.

    Raises:
        NoActiveContext: if no store is active.
        ValueError: if an invokable gets keyword or several arguments.
        TypeError: if ``fn`` is neither an invokable nor registered.
    """
    store = Store.get_current()
    if store is None:
        raise NoActiveContext(
            "invoke() records the run in a store: call it inside "
            "`with enact.FileStore(path):` (or another store)."
        )
    options: dict[str, Any] = {
        "replay_from": replay_from,
        "exception_override": exception_override,
        "strict": strict,
        "commit": commit,
    }
    kwargs = dict(kwargs or {})
    if isinstance(fn, InvokableBase):
        if kwargs or len(args) > 1:
            raise ValueError(
                f"{type(fn).__qualname__} is an invokable: it takes at most one "
                f"positional argument, got {len(args)} and {len(kwargs)} keyword."
            )
        arg = store.commit(args[0]) if args else None
        return fn.invoke(arg, **options)
    if isinstance(fn, types.MethodType) and isinstance(fn.__func__, RegisteredFunction):
        registered: RegisteredFunction[Any, Any] = fn.__func__
        args = (fn.__self__, *args)
    elif isinstance(fn, RegisteredFunction):
        registered = fn
    else:
        raise TypeError(
            f"enact.invoke needs an invokable or a function registered with "
            f"@enact.register, got {fn!r}. Decorate the function with "
            "@enact.register to journal it."
        )
    if getattr(registered, "_enact_async", False):
        raise TypeError(
            f"{registered.enact_name} is an async function: use "
            "`await enact.invoke_async(...)` to run it journaled."
        )
    invokable, args = registered._split(args)
    call_args = make_call_args(args, kwargs)
    input_ref = _commit_args(store, invokable, call_args, args, kwargs)
    return invokable.invoke(input_ref, **options)


# -- async functions ----------------------------------------------------------


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
        call_args = make_call_args(args, kwargs)
        input_ref = _commit_args(store, invokable, call_args, args, kwargs)
        builder = builder_variable.get()
        if builder is None or builder is UNSET:
            inner = ReplayContext.call_or_replay_async(invokable, call_args)
            return _finish(invokable, call_args, input_ref, inner, None)
        child = Builder(invokable, input_ref, store, input_value=call_args)
        inner = child.start()
        outer = _finish(invokable, call_args, input_ref, inner, child)
        child.unawaited = _Pending(outer, inner)
        return outer


async def _finish(
    invokable: FunctionInvokable,
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
        plain_cache(child.invocation)
    return _plain(output)


def _register_async_handler(target: Any, name: str | None) -> Any:
    if inspect.isfunction(target) and inspect.iscoroutinefunction(target):
        return _register(RegisteredAsyncFunction, target, name)
    return NotImplemented


add_register_handler(_register_async_handler)


async def invoke_async(
    fn: Any,
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    replay_from: Invocation[Any, Any] | None = None,
    exception_override: ExceptionOverride = no_override,
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
        return await _ainvoke_invokable(
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
    assert isinstance(invokable, AsyncFunctionInvokable)
    kwargs = dict(kwargs or {})
    call_args = make_call_args(args, kwargs)
    input_ref = _commit_args(store, invokable, call_args, args, kwargs)
    return await invokable.ainvoke(input_ref, **options)


async def _ainvoke_invokable(
    fn: AsyncInvokableBase[Any, Any],
    args: Sequence[Any] = (),
    kwargs: dict[str, Any] | None = None,
    replay_from: Invocation[Any, Any] | None = None,
    exception_override: ExceptionOverride = no_override,
    strict: bool = True,
    commit: bool = True,
) -> Invocation[Any, Any]:
    """Runs an async invokable journaled (see :func:`invoke_async`).

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
