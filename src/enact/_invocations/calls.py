"""The journal's view of a function call: its arguments and its invokable.

A journaled call of a registered function (:mod:`enact._invocations.functions`)
is recorded as a child invocation whose invokable is a :class:`FunctionWrapper`
(naming the function) or, for a method, a :class:`MethodWrapper` (naming the
method and holding the instance), and whose input is a :class:`CallArgs`;
async functions have their twins, :class:`AsyncFunctionWrapper` and
:class:`AsyncMethodWrapper`. Plain arguments and results are stored through
their type wrappers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from enact._identity import fields
from enact._invocations.invokables import AsyncInvokableBase, InvokableBase
from enact._invocations.records import ExceptionOverride, Invocation, no_override
from enact.interfaces import (
    FieldTypeError,
    ResourceBase,
    ResourceError,
    TypeWrapperBase,
)
from enact.references import Ref
from enact.resource_registry import register as register_resource
from enact.resources import Resource
from enact.wrappers import TupleWrapper, lookup_wrapper, wrap

__all__ = [
    "AsyncFunctionInvokable",
    "AsyncFunctionWrapper",
    "AsyncMethodWrapper",
    "CallArgs",
    "FunctionInvokable",
    "FunctionWrapper",
    "MethodInvokable",
    "MethodWrapper",
    "make_call_args",
    "plain_cache",
    "registered_functions",
]

#: The registered functions (the plain ones, not their stand-ins) by
#: persistent name: how a journal's FunctionWrapper finds its function again
#: (filled by enact.register, in enact._invocations.functions).
registered_functions: dict[str, Callable[..., Any]] = {}


@register_resource
@dataclasses.dataclass
class CallArgs(Resource):
    """The arguments of a journaled function call: the invocation's input.

    Tuples directly in ``args`` or ``kwargs`` are kept as tuples (as type
    wrappers); other values are stored as resource fields are.
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


# Declared for its flat encoder (enact._identity), which remembers calls
# whose arguments are scalars.
fields.declare(CallArgs, args=fields.VALUE, kwargs=fields.VALUE)


def _freeze(value: Any) -> Any:
    return TupleWrapper.wrap(value) if type(value) is tuple else value


def _thaw(value: Any) -> Any:
    return value.unwrap() if type(value) is TupleWrapper else value


def make_call_args(args: Sequence[Any], kwargs: Mapping[str, Any]) -> CallArgs:
    return CallArgs(
        [_freeze(value) for value in args] if args else [],
        {key: _freeze(value) for key, value in kwargs.items()} if kwargs else {},
    )


class FunctionInvokable(InvokableBase[Any, Any], Resource):
    """What a function call's journal entry names as its invokable."""

    name: str

    def _target(self) -> Callable[..., Any]:
        function = registered_functions.get(self.name)
        if function is None:
            raise ResourceError(
                f"No function is registered as {self.name!r} in this process: "
                "import the module that defines it (with @enact.register) first."
            )
        return function

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
        exception_override: ExceptionOverride = no_override,
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
        plain_cache(invocation)
        return invocation

    def _enact_call_name(self) -> str:
        """The function's own name (``roll_dice``), for messages and summaries."""
        function = registered_functions.get(self.name)
        if function is None:  # not registered in this process
            return self.name.rsplit(".", 1)[-1]
        return function.__qualname__.rsplit("<locals>.", 1)[-1]

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
class FunctionWrapper(FunctionInvokable):
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


class MethodInvokable(FunctionInvokable):
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
class MethodWrapper(MethodInvokable):
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


def plain_cache(invocation: Invocation[Any, Any]) -> None:
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


class AsyncFunctionInvokable(AsyncInvokableBase[Any, Any], FunctionInvokable):
    """What an async function call's journal entry names as its invokable."""

    async def ainvoke(
        self,
        arg: Ref[Any] | None = None,
        replay_from: Invocation[Any, Any] | None = None,
        exception_override: ExceptionOverride = no_override,
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
        plain_cache(invocation)
        return invocation

    invoke_async = ainvoke


@register_resource
@dataclasses.dataclass
class AsyncFunctionWrapper(AsyncFunctionInvokable):
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
class AsyncMethodWrapper(AsyncFunctionInvokable, MethodInvokable):
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
