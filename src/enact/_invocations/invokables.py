"""Invokables: components whose calls are journaled and replayed
(docs/compatibility.md#invokables).

Calling an invokable just runs it. Inside :meth:`InvokableBase.invoke` every
call of an invokable, at any depth, is journaled by a
:class:`~enact.invocations.Builder` (:mod:`enact._invocations.journal`) and,
under a :class:`~enact.invocations.ReplayContext`
(:mod:`enact._invocations.replay`), answered from a recorded journal.

Async invokables (``async def call``) are journaled like sync ones,
over the same core: ``await invokable(arg)`` inside a journaled run records a
child invocation, which takes its place among its parent's children when the
call is *made*, so children started together with ``asyncio.gather`` or a
``TaskGroup`` are recorded in the order they were made, however they finish.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, ClassVar, Generic, TypeVar

from enact._invocations.answerers import (
    async_live_answerer,
    async_offered_answerer,
    claim_offer,
    live_answerer,
    offered_answerer,
)
from enact._invocations.exceptions import InvocationError, InvokableTypeError
from enact._invocations.journal import (
    Builder,
    builder_variable,
    offered_recorder,
    root_recorder,
)
from enact._invocations.records import (
    ExceptionOverride,
    Invocation,
    invokable_name,
    no_override,
)
from enact._invocations.replay import ReplayContext, store_variable
from enact.contexts import UNSET, NoActiveContext
from enact.interfaces import NoneResource, ResourceBase
from enact.references import Ref, Store
from enact.resource_registry import Registry
from enact.resources import Resource

__all__ = [
    "AsyncInvokable",
    "AsyncInvokableBase",
    "Invokable",
    "InvokableBase",
    "invoke_input",
    "invoke_scope",
    "typed_invokable",
]

I = TypeVar("I", bound=ResourceBase)  # noqa: E741 - the 0.4.0.dev1 name for input types
O = TypeVar("O", bound=ResourceBase)  # noqa: E741
C = TypeVar("C", bound=type)


def _claim_answerer() -> contextlib.AbstractContextManager[None]:
    return claim_offer(live_answerer, offered_answerer)


def _claim_async_answerer() -> contextlib.AbstractContextManager[None]:
    return claim_offer(async_live_answerer, async_offered_answerer)


class InvokableBase(Generic[I, O], ResourceBase):
    """Base of components whose calls can be journaled and replayed.

    Subclasses implement :meth:`call`, taking one resource (or nothing, when
    the input is a :class:`NoneResource`) and returning one resource.
    """

    _input_type: ClassVar[type[ResourceBase] | None] = None
    _output_type: ClassVar[type[ResourceBase] | None] = None

    @classmethod
    def get_input_type(cls) -> type[ResourceBase] | None:
        """The declared input type, or None if untyped."""
        return cls._input_type

    @classmethod
    def get_output_type(cls) -> type[ResourceBase] | None:
        """The declared output type, or None if untyped."""
        return cls._output_type

    def call(self, resource: Any) -> Any:
        """Does the work; implemented by subclasses."""
        raise NotImplementedError(f"{invokable_name(self)} must implement call().")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Calls the invokable; journaled when inside :meth:`invoke`.

        A single resource argument is the input. Otherwise the arguments
        construct the input type (``IntToStr()(1)`` calls with ``Int(1)``).

        Raises:
            InvokableTypeError: if the input (or, when journaled, the output)
                does not have the declared type.
        """
        if not args and not kwargs and self._input_type is NoneResource:
            arg: Any = _NONE  # _normalize_input's answer, without the call
        else:
            arg = self._normalize_input(args, kwargs)
        builder = builder_variable.get()
        if builder is None:
            return ReplayContext.call_or_replay(self, arg)
        if builder is UNSET:
            Builder.get_current()  # raises the error that explains this
        store = store_variable.get()
        if store is None or store is UNSET:
            store = Store.current()  # raises the error that explains this
        output = Builder(self, store.commit(arg), store, input_value=arg).call()
        output_type = self._output_type
        if output_type is not None and not isinstance(output, output_type):
            raise InvokableTypeError(
                f"{invokable_name(self)} returned a {type(output).__qualname__}, "
                f"but its output type is {output_type.__qualname__}."
            )
        return output

    def _normalize_input(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        input_type = self._input_type
        if len(args) == 1 and not kwargs and isinstance(args[0], ResourceBase):
            arg = args[0]
        elif input_type is NoneResource and not args and not kwargs:
            return _NONE
        elif input_type is not None:
            arg = input_type(*args, **kwargs)
        else:
            raise InvokableTypeError(
                f"{invokable_name(self)} has no input type, so it must be called "
                "with exactly one resource."
            )
        if input_type is not None and not isinstance(arg, input_type):
            raise InvokableTypeError(
                f"{invokable_name(self)} takes a {input_type.__qualname__}, got a "
                f"{type(arg).__qualname__}."
            )
        return arg

    def invoke(
        self,
        arg: Ref[I] | None = None,
        replay_from: Invocation[I, O] | None = None,
        exception_override: ExceptionOverride = no_override,
        raise_on_invocation_error: bool = True,
        strict: bool = True,
        commit: bool = True,
    ) -> Invocation[I, O]:
        """Runs the invokable journaled, returning the :class:`Invocation`.

        Args:
            arg: Ref to the input; a committed ``NoneResource`` if None.
            replay_from: A recorded invocation to replay (see
                :meth:`Invocation.replay`).
            exception_override: With ``replay_from``: values to use in place
                of recorded exceptions.
            raise_on_invocation_error: Re-raise :class:`InvocationError`\\ s
                (other exceptions are always recorded and swallowed).
            strict: With ``replay_from``: whether mismatches are errors.
            commit: Commit the invocation to the store.

        Raises:
            NoActiveContext: if no store is active.
            InvokableTypeError: if ``arg`` is not a ref.
        """
        store, arg = invoke_input(arg)
        with invoke_scope(
            store, replay_from, exception_override, strict, _claim_answerer
        ):
            builder = Builder(self, arg, store)
            try:
                builder.call()
            except InvocationError:
                if raise_on_invocation_error:
                    raise
            except Exception:
                pass
            invocation: Invocation[I, O] = builder.invocation
            if commit:
                store.commit(invocation)
        return invocation


def invoke_input(arg: Ref[Any] | None) -> tuple[Store, Ref[Any]]:
    """The store and the input ref of ``invoke`` (and ``ainvoke``)."""
    store = Store.get_current()
    if store is None:
        raise NoActiveContext(
            "invoke() records the run in a store: call it inside "
            "`with enact.FileStore(path):` (or another store)."
        )
    if arg is None:
        arg = store.commit(NoneResource())
    if not isinstance(arg, Ref):
        raise InvokableTypeError(
            f"Input must be a reference (use enact.commit(value)), got "
            f"{type(arg).__qualname__}."
        )
    return store, arg


@contextlib.contextmanager
def invoke_scope(
    store: Store,
    replay_from: Invocation[Any, Any] | None,
    exception_override: ExceptionOverride,
    strict: bool,
    claim_live_answerer: Callable[[], contextlib.AbstractContextManager[None]],
) -> Iterator[None]:
    """The contexts of a top-level journaled run (sync or async).

    A new journal (no parent builder), a fresh replay level, the live
    answerer an input generator offered, and one store batch.
    """
    with (
        Builder.top_level(),
        ReplayContext.top_level(),
        claim_live_answerer(),
        claim_offer(root_recorder, offered_recorder),
        store.batch(),
    ):
        if replay_from is None:
            yield
        else:
            with ReplayContext([replay_from], exception_override, strict):
                yield


class Invokable(InvokableBase[I, O], Resource):
    """The usual base of invokables: a dataclass resource with ``call``.

    Example::

        @enact.typed_invokable(enact.NoneResource, enact.Int)
        @dataclasses.dataclass
        class RollDie(enact.Invokable):
            sides: int

            def call(self):
                return enact.Int(random.randint(1, self.sides))
    """


def typed_invokable(
    input_type: type[ResourceBase] | None,
    output_type: type[ResourceBase] | None,
    register: bool = True,
) -> Callable[[C], C]:
    """Class decorator declaring an invokable's input and output types.

    Works above or below ``@dataclasses.dataclass``.

    Args:
        input_type: The resource type ``call`` takes.
        output_type: The resource type ``call`` returns.
        register: Also register the class (so journals can be read back).

    Raises:
        TypeError: if the class is not an :class:`InvokableBase`.
    """

    def decorate(cls: C) -> C:
        if not (isinstance(cls, type) and issubclass(cls, InvokableBase)):
            raise TypeError(
                f"typed_invokable needs an InvokableBase subclass, got {cls!r}."
            )
        cls._input_type = input_type
        cls._output_type = output_type
        if register:
            Registry.get().register(cls)
        return cls

    return decorate


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
        raise NotImplementedError(f"{invokable_name(self)} must implement call().")

    def __call__(self, *args: Any, **kwargs: Any) -> Coroutine[Any, Any, Any]:
        """Calls the invokable: returns a coroutine to await.

        Inside a journaled run the call is recorded as a child of the current
        call, in the order calls are made (not the order they finish).

        Raises:
            InvokableTypeError: if the input does not have the declared type
                (at once), or the output (when awaited, journaled).
        """
        arg = self._normalize_input(args, kwargs)
        builder = builder_variable.get()
        if builder is None:
            return ReplayContext.call_or_replay_async(self, arg)
        if builder is UNSET:
            Builder.get_current()  # raises the error that explains this
        store = Store.current()
        return Builder(self, store.commit(arg), store, input_value=arg).start()

    def invoke(self, *args: Any, **kwargs: Any) -> Invocation[I, O]:
        """Not for async invokables: use ``await invokable.ainvoke(...)``.

        Raises:
            InvokableTypeError: always.
        """
        raise InvokableTypeError(
            f"{invokable_name(self)} is async: use "
            "`await invokable.ainvoke(...)` (or `await enact.invoke_async(...)`)."
        )

    async def ainvoke(
        self,
        arg: Ref[I] | None = None,
        replay_from: Invocation[I, O] | None = None,
        exception_override: ExceptionOverride = no_override,
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
            try:
                await builder.acall()
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


# The input of calls that take none; NoneResource is immutable, so one will do.
_NONE = NoneResource()
