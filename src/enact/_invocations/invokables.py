"""Invokables, journaling (``Builder``) and replay (``ReplayContext``).

SPEC A11.3 to A11.6. Calling an invokable just runs it. Inside
:meth:`InvokableBase.invoke` every call of an invokable, at any depth, runs
under a :class:`Builder` that records it as an :class:`Invocation`. Under a
:class:`ReplayContext`, calls that match a recorded invocation return the
recorded result instead of running.
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar, Generic, TypeVar

from enact import contexts
from enact._invocations.exceptions import (
    ExceptionResource,
    InputChanged,
    InputRequest,
    InvocationError,
    InvokableTypeError,
    ReplayError,
    WrappedException,
)
from enact._invocations.records import (
    ExceptionOverride,
    Invocation,
    Request,
    Response,
)
from enact.contexts import NoActiveContext
from enact.digests import digest
from enact.interfaces import FieldTypeError, NoneResource, ResourceBase
from enact.references import Ref, Store
from enact.resource_registry import Registry
from enact.resources import Resource

__all__ = [
    "Builder",
    "Invokable",
    "InvokableBase",
    "ReplayContext",
    "live_answerer",
    "offered_answerer",
    "typed_invokable",
]

I = TypeVar("I", bound=ResourceBase)  # noqa: E741 - SPEC's name for input types
O = TypeVar("O", bound=ResourceBase)  # noqa: E741
C = TypeVar("C", bound=type)

# Set by InvocationGenerator while it drives a run live: answers an input
# request in place (by asking the generator's user) instead of raising it.
live_answerer: contextvars.ContextVar[Callable[[InputRequest], ResourceBase] | None] = (
    contextvars.ContextVar("enact.live_answerer", default=None)
)
# Offered by InvocationGenerator to the invoke() it runs. That invoke claims it
# as the live answerer; invokes nested in the run (meta-invocations) find no
# offer and answer nothing live, so they record their requests as usual.
offered_answerer: contextvars.ContextVar[
    Callable[[InputRequest], ResourceBase] | None
] = contextvars.ContextVar("enact.offered_answerer", default=None)


@contextlib.contextmanager
def _claim_answerer() -> Iterator[None]:
    live = live_answerer.set(offered_answerer.get())
    offer = offered_answerer.set(None)
    try:
        yield
    finally:
        offered_answerer.reset(offer)
        live_answerer.reset(live)


def _no_override(_: Ref[ExceptionResource]) -> ResourceBase | None:
    return None


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
        raise NotImplementedError(f"{type(self).__qualname__} must implement call().")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Calls the invokable; journaled when inside :meth:`invoke`.

        A single resource argument is the input. Otherwise the arguments
        construct the input type (``IntToStr()(1)`` calls with ``Int(1)``).

        Raises:
            InvokableTypeError: if the input (or, when journaled, the output)
                does not have the declared type.
        """
        arg = self._normalize_input(args, kwargs)
        builder = _builder_variable.get()
        if builder is None:
            return ReplayContext.call_or_replay(self, arg)
        if builder is _UNSET:
            Builder.get_current()  # raises the error that explains this
        store = Store.current()
        output = Builder(self, store.commit(arg), store, _arg=arg).call()
        output_type = self._output_type
        if output_type is not None and not isinstance(output, output_type):
            raise InvokableTypeError(
                f"{type(self).__qualname__} returned a {type(output).__qualname__}, "
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
                f"{type(self).__qualname__} has no input type, so it must be called "
                "with exactly one resource."
            )
        if input_type is not None and not isinstance(arg, input_type):
            raise InvokableTypeError(
                f"{type(self).__qualname__} takes a {input_type.__qualname__}, got a "
                f"{type(arg).__qualname__}."
            )
        return arg

    def invoke(
        self,
        arg: Ref[I] | None = None,
        replay_from: Invocation[I, O] | None = None,
        exception_override: ExceptionOverride = _no_override,
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
        store = Store.get_current()
        if store is None:
            raise NoActiveContext(
                "invoke() records the run in a store: call it inside "
                "`with enact.FileStore(path):` (or another store)."
            )
        if arg is None:
            arg = store.commit(NoneResource())  # type: ignore[arg-type]
        if not isinstance(arg, Ref):
            raise InvokableTypeError(
                f"Input must be a reference (use enact.commit(value)), got "
                f"{type(arg).__qualname__}."
            )
        with (
            Builder.top_level(),
            ReplayContext.top_level(),
            _claim_answerer(),
            store.batch(),
        ):
            replay: ReplayContext[I, O] | None = (
                ReplayContext([replay_from], exception_override, strict)
                if replay_from is not None
                else None
            )
            builder = Builder(self, arg, store)
            try:
                if replay is not None:
                    with replay:
                        builder.call()
                else:
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


_takes_no_argument: dict[type, bool] = {}


def _run(invokable: InvokableBase[Any, Any], arg: Any) -> Any:
    """Calls ``invokable.call``, without an argument if it takes none."""
    cls = type(invokable)
    no_argument = _takes_no_argument.get(cls)
    if no_argument is None:
        parameters = list(inspect.signature(invokable.call).parameters.values())
        no_argument = not parameters
        _takes_no_argument[cls] = no_argument
    if no_argument and isinstance(arg, NoneResource):
        return invokable.call()  # type: ignore[call-arg]
    return invokable.call(arg)


@contexts.register
class Builder(contexts.Context):
    """Records one call of an invokable as an :class:`Invocation`.

    Args:
        invokable: What is called; its pre-call state is committed now.
        input: Ref to the input.
        store: The store to record in (the current one by default).
    """

    def __init__(
        self,
        invokable: InvokableBase[Any, Any],
        input: Ref[Any],
        store: Store | None = None,
        *,
        _arg: Any = None,
    ) -> None:
        self._store = store or Store.current()
        self.invokable = invokable
        self.input_ref = input
        self.children: list[Ref[Invocation[Any, Any]]] = []
        self._request = Request(self._store.commit(invokable), input)
        self._request_ref: Ref[Request[Any, Any]] | None = None
        # The caller's own argument object, just committed: no need to check
        # the ref's cache again.
        self._arg = _arg
        self._invocation: Invocation[Any, Any] | None = None
        self.parent: Builder | None = None
        # Set by a replay that answered this call from a record: the recorded
        # invocation and output refs. The new record would be identical, so
        # it is reused instead of being built and committed again.
        self._replayed: (
            tuple[Ref[Invocation[Any, Any]], Invocation[Any, Any], Ref[Any] | None]
            | None
        ) = None
        # Exceptions that children reported raising, to tell "raised here".
        self._child_errors: list[BaseException] = []

    def request_ref(self) -> Ref[Request[Any, Any]]:
        """The committed request of this call."""
        if self._request_ref is None:
            self._request_ref = self._store.commit(self._request)
        return self._request_ref

    @property
    def invocation(self) -> Invocation[Any, Any]:
        """The journaled call, once :meth:`call` has finished."""
        assert self._invocation is not None, "The call has not finished."
        return self._invocation

    def call(self) -> Any:
        """Runs the call and records it; returns the output or re-raises."""
        store = self._store
        parent = _builder_variable.get()
        if parent is _UNSET:
            parent = Builder.get_current()  # raises the error that explains this
        self.parent = parent
        output_ref: Ref[Any] | None = None
        raised_ref: Ref[Any] | None = None
        error: BaseException | None = None
        # Entered by hand rather than with `with self:` (Builder has no enter
        # or exit hooks): this runs for every journaled call.
        token = _builder_variable.set(self)
        try:
            try:
                arg = self._arg if self._arg is not None else self.input_ref.checkout()
                output = ReplayContext.call_or_replay(self.invokable, arg)
                if self._replayed is not None:
                    output_ref = self._replayed[2]
                    return output
                if not getattr(type(arg), "_enact_immutable", False) and (
                    digest(arg) != self.input_ref.digest
                ):
                    raise InputChanged(
                        f"{type(self.invokable).__qualname__} changed its input; "
                        "only the invokable itself may change during a call."
                    )
                if output is None:
                    output = NoneResource()
                if not isinstance(output, ResourceBase):
                    raise InvokableTypeError(
                        f"{type(self.invokable).__qualname__}.call returned a "
                        f"{type(output).__qualname__}, which is not a resource."
                    )
                output_ref = store.commit(output)
                return output
            except Exception as exception:
                error = exception
                raised_ref = _record_exception(store, exception)
                raise
            finally:
                raised_here = False
                if error is not None:
                    raised_here = not any(e is error for e in self._child_errors)
                    if parent is not None:
                        parent._child_errors.append(error)
                if self._replayed is not None:
                    invocation_ref, recorded, _ = self._replayed
                    self._invocation = Invocation(recorded.request, recorded.response)
                else:
                    response = Response(
                        store.commit(self.invokable),
                        output_ref,
                        raised_ref,
                        raised_here,
                        self.children,
                    )
                    self._invocation = Invocation(
                        self.request_ref(), store.commit(response)
                    )
                    if parent is not None:
                        invocation_ref = store.commit(self._invocation)
                if parent is not None:
                    parent.children.append(invocation_ref)
        finally:
            _builder_variable.reset(token)


def _record_exception(store: Store, exception: Exception) -> Ref[Any]:
    if isinstance(exception, ExceptionResource):
        try:
            return store.commit(exception)
        except FieldTypeError:
            pass  # Its args cannot be stored; keep the traceback instead.
    return store.commit(WrappedException(traceback.format_exc()))


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
        exception_override: ExceptionOverride = _no_override,
        strict: bool = True,
    ) -> None:
        self._available = list(subinvocations)
        self.exception_override = exception_override
        self.strict = strict

    @classmethod
    def call_or_replay(cls, invokable: InvokableBase[Any, Any], arg: Any) -> Any:
        """Replays the call from the active context's records, or runs it."""
        context = _replay_variable.get()
        if context is None:
            return _run(invokable, arg)
        if context is _UNSET:
            context = cls.get_current()  # raises the error that explains this
        return context._consume(invokable, arg)

    def _child(self, available: Iterable[Any]) -> ReplayContext[Any, Any]:
        return ReplayContext(available, self.exception_override, self.strict)

    def _consume(self, invokable: InvokableBase[Any, Any], arg: Any) -> Any:
        store = Store.current()
        builder = _builder_variable.get()
        if builder is _UNSET:
            builder = None
        if builder is not None and builder.invokable is invokable:
            request_ref = builder.request_ref()
            before = builder._request.invokable.digest
        else:
            request = Request(store.commit(invokable), store.commit(arg))
            request_ref = store.commit(request)
            before = request.invokable.digest
        taken = self._take(request_ref)
        if taken is None:
            with self._child([]):
                return _run(invokable, arg)
        match_ref, match = taken
        response = match.response()
        if response.output is not None or (
            response.raised is not None and response.raised_here
        ):
            if response.invokable.digest != before:
                invokable.set_from(response.invokable())
            journaled = builder is not None and builder.invokable is invokable
            if journaled:
                # Carry the recorded grandchildren into the new journal, so an
                # unchanged subtree keeps its refs.
                builder.children.extend(response.children)
            if response.output is not None:
                if journaled:
                    builder._replayed = (match_ref, match, response.output)
                return response.output()
            assert response.raised is not None
            return self._replay_exception(
                invokable,
                response.raised,
                builder if journaled else None,
                (match_ref, match),
            )
        with self._child(response.children):
            return _run(invokable, arg)

    def _take(
        self, request_ref: Ref[Any]
    ) -> tuple[Ref[Invocation[Any, Any]], Invocation[Any, Any]] | None:
        available = self._available
        for index, entry in enumerate(available):
            if isinstance(entry, Ref):
                entry_ref, recorded = entry, entry()
            else:
                entry_ref, recorded = None, entry
            if recorded.request.digest == request_ref.digest:
                del available[index]
                if entry_ref is None:
                    entry_ref = Store.current().commit(recorded)
                return entry_ref, recorded
            if self.strict:
                raise ReplayError(_mismatch(recorded, request_ref))
        return None

    def _replay_exception(
        self,
        invokable: InvokableBase[Any, Any],
        raised: Ref[ExceptionResource],
        builder: Builder | None,
        match: tuple[Ref[Invocation[Any, Any]], Invocation[Any, Any]],
    ) -> Any:
        value = self.exception_override(raised)
        if value is not None:
            output_type = invokable.get_output_type()
            if output_type is not None and not isinstance(value, output_type):
                raise InvokableTypeError(
                    f"The value given for a recorded exception of "
                    f"{type(invokable).__qualname__} is a {type(value).__qualname__}, "
                    f"but its output type is {output_type.__qualname__}."
                )
            return value
        exception = raised()
        answer = live_answerer.get()
        if answer is not None and isinstance(exception, InputRequest):
            return answer(exception)
        if builder is not None:
            builder._replayed = (*match, None)
        raise exception


def _mismatch(
    recorded: Invocation[Any, Any], request_ref: Ref[Request[Any, Any]]
) -> str:
    def describe(request: Request[Any, Any]) -> str:
        try:
            name = type(request.invokable()).__qualname__
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
        f"{describe(request_ref.checkout())}. The code no longer makes the recorded "
        "calls in the same order (is it deterministic given its inputs?); "
        "use strict=False to skip non-matching records."
    )


# The context variables behind Builder and ReplayContext, read directly on the
# hot path of every journaled call.
_builder_variable = contexts.variable(Builder)
_replay_variable = contexts.variable(ReplayContext)
_UNSET = contexts.UNSET
# The input of calls that take none; NoneResource is immutable, so one will do.
_NONE = NoneResource()
