"""Plain functions as journaled components: ``@enact.register`` on a ``def``.

SPEC B3 for synchronous code. A registered function is returned as a
:class:`RegisteredFunction`, a transparent stand-in that calls the function
directly unless a journaled run (or a replay) is active; then the call goes
through the same :class:`~enact.invocations.Builder` and
:class:`~enact.invocations.ReplayContext` machinery as an invokable's. The
journal records it as a child invocation whose invokable is a
:class:`FunctionWrapper` (naming the function) or, for a method, a
:class:`MethodWrapper` (naming the method and holding the instance), and whose
input is a :class:`CallArgs`. Plain arguments and results are stored through
their type wrappers (SPEC B1); callers always get the plain value back.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Generic, ParamSpec, TypeVar

from enact import _codec
from enact._importable import recorded_module
from enact._invocations.exceptions import ReplayError
from enact._invocations.invokables import (
    Builder,
    InvokableBase,
    ReplayContext,
    _builder_variable,
    _current_store,
    _replay_variable,
)
from enact._invocations.records import ExceptionOverride, Invocation
from enact.contexts import UNSET, NoActiveContext
from enact.interfaces import (
    FieldTypeError,
    ResourceBase,
    ResourceError,
    TypeWrapperBase,
)
from enact.references import Ref, Store
from enact.resource_registry import register as register_resource
from enact.resources import Resource
from enact.wrappers import TupleWrapper, add_register_handler, lookup_wrapper, wrap

__all__ = [
    "CallArgs",
    "FunctionWrapper",
    "MethodWrapper",
    "RegisteredFunction",
    "invoke",
    "register_function",
]

P = ParamSpec("P")
R = TypeVar("R")

# Registered functions by persistent name: how a journal's FunctionWrapper
# finds its function again.
_functions: dict[str, RegisteredFunction[Any, Any]] = {}


def _no_override(_: Ref[Any]) -> ResourceBase | None:
    return None


# -- the journal's view of a call ---------------------------------------------


@register_resource
@dataclasses.dataclass
class CallArgs(Resource):
    """The arguments of a journaled function call: the invocation's input.

    Tuples directly in ``args`` or ``kwargs`` are kept as tuples (as type
    wrappers); other values are stored as resource fields are (SPEC B1).
    """

    _enact_type_name = "enact.invocations.CallArgs"

    #: The positional arguments (a method's instance excluded).
    args: list[Any]
    #: The keyword arguments.
    kwargs: dict[str, Any]

    def plain_args(self) -> tuple[list[Any], dict[str, Any]]:
        """The arguments as the function receives them."""
        args, kwargs = self.args, self.kwargs
        # (No comprehension for no arguments: each costs a call.)
        return (
            [_thaw(value) for value in args] if args else [],
            {key: _thaw(value) for key, value in kwargs.items()} if kwargs else {},
        )


_Types = dict[str, type[ResourceBase]] | None
_CALL_ARGS_HEAD = _codec.flat_head(CallArgs) + b'"args":'
_CALL_ARGS_ID = CallArgs.type_id()


def _flat_call_args(call_args: CallArgs, types: _Types) -> bytes | None:
    """The flat encoder of CallArgs, remembering calls with scalar arguments.

    The memo key is that of a flat resource (see enact._codec): the types and
    values of the positional arguments, when all are scalars and there are
    no keyword arguments; other calls are encoded field by field.
    """
    args, kwargs = call_args.args, call_args.kwargs
    if type(args) is not list or type(kwargs) is not dict:
        return None
    key = None
    if not kwargs:
        kinds = tuple(map(type, args))
        if _codec.MEMO_SCALARS.issuperset(kinds):
            key = (CallArgs, kinds, *args)
            data = _codec.flat_memo(key)
            if data is not None:
                if types is not None:
                    types[_CALL_ARGS_ID] = CallArgs
                return data
    args_json = _codec.flat_field_value(args, types)
    kwargs_json = _codec.flat_field_value(kwargs, types)
    if args_json is None or kwargs_json is None:
        return None
    if types is not None:
        types[_CALL_ARGS_ID] = CallArgs
    data = b"".join((_CALL_ARGS_HEAD, args_json, b',"kwargs":', kwargs_json, b"}"))
    if key is not None:
        _codec.remember_flat(key, data)
    return data


_codec.set_flat_encoder(CallArgs, _flat_call_args)


def _freeze(value: Any) -> Any:
    return TupleWrapper.wrap(value) if type(value) is tuple else value


def _thaw(value: Any) -> Any:
    return value.unwrap() if type(value) is TupleWrapper else value


def _call_args(args: Sequence[Any], kwargs: Mapping[str, Any]) -> CallArgs:
    return CallArgs(
        [_freeze(value) for value in args] if args else [],
        {key: _freeze(value) for key, value in kwargs.items()} if kwargs else {},
    )


class _FunctionInvokable(InvokableBase[Any, Any], Resource):
    """What a function call's journal entry names as its invokable."""

    name: str

    def _target(self) -> Callable[..., Any]:
        registered = _functions.get(self.name)
        if registered is None:
            raise ResourceError(
                f"No function is registered as {self.name!r} in this process: "
                "import the module that defines it (with @enact.register) first."
            )
        return registered.__wrapped__

    def _result(self, result: Any) -> ResourceBase:
        try:
            return wrap(result)
        except FieldTypeError as error:
            raise FieldTypeError(
                f"{self.name} returned a {type(result).__qualname__}, which cannot be "
                f"journaled: {error}",
                ["output"],
            ) from error

    def invoke(
        self,
        arg: Ref[Any] | None = None,
        replay_from: Invocation[Any, Any] | None = None,
        exception_override: ExceptionOverride = _no_override,
        raise_on_invocation_error: bool = True,
        strict: bool = True,
        commit: bool = True,
    ) -> Invocation[Any, Any]:
        """Like :meth:`InvokableBase.invoke`; the output reads back plain."""
        invocation = super().invoke(
            arg,
            replay_from,
            exception_override,
            raise_on_invocation_error,
            strict,
            commit,
        )
        _plain_cache(invocation)
        return invocation

    def describe(self, call_args: Any) -> str:
        """``name(arg, key=value)``, shortened, for error messages."""
        if not isinstance(call_args, CallArgs):
            return f"{self.name}(?)"
        args, kwargs = call_args.plain_args()
        parts = [_short(value) for value in args]
        parts += [f"{key}={_short(value)}" for key, value in kwargs.items()]
        return f"{self.name}({', '.join(parts)})"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@register_resource
@dataclasses.dataclass
class FunctionWrapper(_FunctionInvokable):
    """A registered function as the invokable of its journaled calls.

    Only the function's persistent name is stored; checking the wrapper out
    finds the function among those registered in this process.
    """

    _enact_type_name = "enact.invocations.FunctionWrapper"
    _enact_immutable: ClassVar[bool] = True

    #: The function's persistent name (``module.qualname`` or ``name=``).
    name: str

    def call(self, call_args: CallArgs) -> ResourceBase:
        """Calls the function with the recorded arguments."""
        args, kwargs = call_args.plain_args()
        return self._result(self._target()(*args, **kwargs))


class _MethodInvokable(_FunctionInvokable):
    """What a method call's journal entry names: the method and its instance."""

    name: str
    instance: Any

    def set_from(self, other: Any) -> None:
        """Restores the instance's state from ``other``'s, in place."""
        if type(other) is not type(self):
            raise TypeError(
                f"set_from needs a {type(self).__qualname__}, got {type(other)!r}."
            )
        self.name = other.name
        source, target = other.instance, self.instance
        if source is target:
            return
        if isinstance(target, ResourceBase):
            target.set_from(source)
            return
        wrapper = lookup_wrapper(type(target))
        if wrapper is None or type(source) is not type(target):
            self.instance = _copy(source)
            return
        wrapper.set_wrapped_value(target, _copy(source))

    def describe(self, call_args: Any) -> str:
        return (
            super()
            .describe(call_args)
            .replace(
                self.name, f"{self.name} on a {type(self.instance).__qualname__}", 1
            )
        )


@register_resource
@dataclasses.dataclass
class MethodWrapper(_MethodInvokable):
    """A registered method, with its instance, as the invokable of a call.

    The instance is part of the journal: the snapshot before the call and the
    one after it. Replaying a recorded call restores the instance's recorded
    state in place, so the live object ends as it would have.
    """

    _enact_type_name = "enact.invocations.MethodWrapper"

    #: The method's persistent name (``module.Class.method`` or ``name=``).
    name: str
    #: The object the method is called on (a resource or a wrapped value).
    instance: Any

    def call(self, call_args: CallArgs) -> ResourceBase:
        """Calls the method on the instance with the recorded arguments."""
        args, kwargs = call_args.plain_args()
        return self._result(self._target()(self.instance, *args, **kwargs))


def _copy(value: Any) -> Any:
    if isinstance(value, ResourceBase):
        return value.deep_copy_resource()
    return wrap(value).deep_copy_resource().unwrap()  # type: ignore[attr-defined]


def _plain_cache(invocation: Invocation[Any, Any]) -> None:
    """Makes the output ref of a function's invocation cache the plain value.

    Checking out a stored wrapper gives the plain value; the ref the journal
    made while recording caches the wrapper object, so it is swapped here to
    read back the same.
    """
    response = invocation.response._cache
    output = getattr(response, "output", None)
    if output is not None:
        cached = output._cache
        if isinstance(cached, TypeWrapperBase):
            output._cache = cached.unwrap()


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
    _function_wrapper_type: ClassVar[type[_FunctionInvokable]] = FunctionWrapper
    _method_wrapper_type: ClassVar[type[_MethodInvokable]] = MethodWrapper

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
        builder = _builder_variable.get()
        if builder is None or builder is UNSET:
            replay = _replay_variable.get()
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

    def _split(self, args: Sequence[Any]) -> tuple[_FunctionInvokable, Sequence[Any]]:
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
        store = _current_store()
        call_args = _call_args(args, kwargs)
        input_ref = _commit_args(store, invokable, call_args, args, kwargs)
        builder = _builder_variable.get()
        try:
            if builder is None or builder is UNSET:
                return _plain(ReplayContext.call_or_replay(invokable, call_args))
            child = Builder(invokable, input_ref, store, _arg=call_args)
            output = child.call()
        except ReplayError as error:
            _explain_mismatch(error, invokable, call_args, input_ref)
            raise
        _plain_cache(child.invocation)
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
    invokable: _FunctionInvokable,
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
                store.commit(_call_args([value], {}))
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
    invokable: _FunctionInvokable,
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
    context = _replay_variable.get()
    available = getattr(context, "_available", None)
    if available:
        recorded = _describe_record(available[0])
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
        if isinstance(invokable, _FunctionInvokable):
            return invokable.describe(request.input())
        return type(invokable).__qualname__
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
    _functions[name] = registered
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
    exception_override: ExceptionOverride = _no_override,
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
    call_args = _call_args(args, kwargs)
    input_ref = _commit_args(store, invokable, call_args, args, kwargs)
    return invokable.invoke(input_ref, **options)
