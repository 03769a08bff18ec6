"""Invokables, journaling (``Builder``) and replay (``ReplayContext``).

SPEC A11.3 to A11.6. Calling an invokable just runs it. Inside
:meth:`InvokableBase.invoke` every call of an invokable, at any depth, runs
under a :class:`Builder` that records it as an :class:`Invocation`. Under a
:class:`ReplayContext`, calls that match a recorded invocation return the
recorded result instead of running.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar, Generic, TypeVar

from enact import contexts
from enact._invocations.exceptions import (
    ExceptionResource,
    IncompleteSubinvocationError,
    InputChanged,
    InvocationError,
    InvokableTypeError,
    ReplayError,
    WrappedException,
)
from enact._invocations.input_requests import InputRequest
from enact._invocations.records import (
    ExceptionOverride,
    Invocation,
    Request,
    Response,
    request_digest,
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

# Offered by a durable run (enact.runs) to the invoke() it starts, like the
# answerer above: that invoke's top-level call reports every call that ends to
# the recorder (see enact._runs.recorder); nested invokes find no offer.
offered_recorder: contextvars.ContextVar[Any] = contextvars.ContextVar(
    "enact.offered_recorder", default=None
)
_root_recorder: contextvars.ContextVar[Any] = contextvars.ContextVar(
    "enact.root_recorder", default=None
)


@contextlib.contextmanager
def claim_answerer(
    live_variable: contextvars.ContextVar[Any] = live_answerer,
    offered_variable: contextvars.ContextVar[Any] = offered_answerer,
) -> Iterator[None]:
    """Takes what a generator (or a durable run) offered, for this run only.

    Only the outermost ``invoke`` of a generator's run answers live; an
    ``invoke`` nested in the flow sees no offer (sync and async variables).
    The same goes for the recorder of a durable run
    (``claim_answerer(_root_recorder, offered_recorder)``).
    """
    live = live_variable.set(offered_variable.get())
    offer = offered_variable.set(None)
    try:
        yield
    finally:
        offered_variable.reset(offer)
        live_variable.reset(live)


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
        if not args and not kwargs and self._input_type is NoneResource:
            arg: Any = _NONE  # _normalize_input's answer, without the call
        else:
            arg = self._normalize_input(args, kwargs)
        builder = _builder_variable.get()
        if builder is None:
            return ReplayContext.call_or_replay(self, arg)
        if builder is _UNSET:
            Builder.get_current()  # raises the error that explains this
        store = _store_variable.get()
        if store is None or store is _UNSET:
            store = Store.current()  # raises the error that explains this
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
        store, arg = invoke_input(arg)
        with invoke_scope(
            store, replay_from, exception_override, strict, claim_answerer
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
        claim_answerer(_root_recorder, offered_recorder),
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

    # False for an async call made but not awaited yet, which then holds the
    # coroutine (closed if the parent returns without awaiting it).
    _started: bool = True
    _coroutine: Any = None
    # Set in durable runs (enact.runs): the run's recorder, and this call's
    # path (child indices from the top-level call).
    _recorder: Any = None
    path: tuple[int, ...] = ()
    _started_at: float = 0.0

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
        # Refs to the journaled child calls, in call-start order; the slot of
        # a child still running holds its Builder until it ends.
        self.children: list[Any] = []
        # The pre-call snapshot; the Request holding it is made when first
        # needed (a replay that answers the call from a record needs only
        # its digest).
        self._invokable_ref = self._store.commit(invokable)
        self._request_object: Request[Any, Any] | None = None
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
        # Set when the call ends: later children are errors.
        self._done = False

    @property
    def _request(self) -> Request[Any, Any]:
        """The request record: the pre-call snapshot and the input."""
        return self._make_request()

    def _make_request(self) -> Request[Any, Any]:
        request = self._request_object
        if request is None:
            request = Request(self._invokable_ref, self.input_ref)
            self._request_object = request
        return request

    def request_ref(self) -> Ref[Request[Any, Any]]:
        """The committed request of this call."""
        if self._request_ref is None:
            request = self._request_object
            if request is None:  # _make_request, inlined: once per call
                request = Request(self._invokable_ref, self.input_ref)
                self._request_object = request
            self._request_ref = self._store.commit(request)
        return self._request_ref

    def _request_digest(self) -> str:
        """The digest of the request, for replay to match against the records.

        A call answered from a record is journaled as that record, so the
        request is committed (by :meth:`request_ref`) only if the call is
        journaled anew.
        """
        if self._request_ref is not None or self._store._ref_type is not Ref:
            return self.request_ref()._digest
        return request_digest(self._invokable_ref, self.input_ref)

    @property
    def invocation(self) -> Invocation[Any, Any]:
        """The journaled call, once :meth:`call` has finished."""
        if self._invocation is None and self._done and self._replayed is not None:
            # Answered from a record (see _end): a copy of it, made on demand.
            recorded = self._replayed[1]
            self._invocation = Invocation(recorded.request, recorded.response)
        assert self._invocation is not None, "The call has not finished."
        return self._invocation

    def call(self) -> Any:
        """Runs the call and records it; returns the output or re-raises."""
        parent = self._begin()
        output_ref: Ref[Any] | None = None
        raised_ref: Ref[Any] | None = None
        error: Exception | None = None
        # Entered by hand rather than with `with self:` (Builder has no enter
        # or exit hooks): this runs for every journaled call.
        token = _builder_variable.set(self)
        try:
            try:
                arg = self._arg if self._arg is not None else self.input_ref.checkout()
                # ReplayContext.call_or_replay, inlined: this runs for every call.
                context = _replay_variable.get()
                if context is None:
                    output = _run(self.invokable, arg)
                elif context is _UNSET:
                    output = ReplayContext.call_or_replay(self.invokable, arg)
                else:
                    output = context._consume(self.invokable, arg)
                replayed = self._replayed
                if replayed is not None:  # answered from a record: as _complete
                    output_ref = replayed[2]
                    return output
                output, output_ref = self._complete(arg, output)
                return output
            except Exception as exception:
                error = exception
                raised_ref = _record_exception(self._store, exception)
                raise
            finally:
                self._end(parent, output_ref, raised_ref, error)
        finally:
            _builder_variable.reset(token)

    # The pure core of a journaled call, shared by the sync path (call) and the
    # async one (enact._invocations.asyncs): _begin before the call, _complete
    # on its output, _end always, after it.

    def _begin(self) -> Builder | None:
        """Finds the parent call and reserves this call's slot among its children.

        The slot keeps the parent's children in call-start order, however the
        calls made concurrently (threads, asyncio tasks) finish.
        """
        parent: Builder | None = _builder_variable.get()
        if parent is _UNSET:
            parent = Builder.get_current()  # raises the error that explains this
        self.parent = parent
        if parent is not None:
            if parent._done:
                raise InvocationError(
                    f"{type(self.invokable).__qualname__} was called after its "
                    f"parent call ({type(parent.invokable).__qualname__}) returned: "
                    "join threads and await tasks before a call returns."
                )
            recorder = parent._recorder
            if recorder is None:
                parent.children.append(self)  # the slot
            else:
                recorder.begin(self, parent)  # takes the slot, notes the path
        else:
            recorder = _root_recorder.get()
            if recorder is not None:
                recorder.begin_root(self)
        return parent

    def _complete(self, arg: Any, output: Any) -> tuple[Any, Ref[Any] | None]:
        """Checks and commits the output of a call that returned."""
        if self._replayed is not None:
            return output, self._replayed[2]
        if not getattr(type(arg), "_enact_immutable", False) and (
            digest(arg) != self.input_ref._digest
        ):
            raise InputChanged(
                f"{type(self.invokable).__qualname__} changed its input; "
                "only the invokable itself may change during a call."
            )
        if output is None:
            output = NoneResource()
        if not isinstance(output, ResourceBase):
            raise InvokableTypeError(_not_a_resource(self.invokable, output))
        children = self.children
        if children and Builder in map(type, children):
            raise self._incomplete()
        return output, self._store.commit(output)

    def _end(
        self,
        parent: Builder | None,
        output_ref: Ref[Any] | None,
        raised_ref: Ref[Any] | None,
        error: BaseException | None,
    ) -> None:
        """Records the call and fills its slot among the parent's children."""
        self._done = True
        store = self._store
        raised_here = False
        if error is not None:
            raised_here = not any(e is error for e in self._child_errors)
            if parent is not None:
                parent._child_errors.append(error)
        if self._replayed is not None:
            invocation_ref = self._replayed[0]  # self.invocation copies the record
        else:
            children = self.children
            if children and Builder in map(type, children):
                # Calls still running (or never awaited) have no record yet.
                self._abandon_pending()
                children = [c for c in children if type(c) is not Builder]
            response: Response[Any, Any] = Response(
                store.commit(self.invokable),
                output_ref,
                raised_ref,
                raised_here,
                # A copy: a late child must not change a committed record.
                list(children),
            )
            self._invocation = Invocation(self.request_ref(), store.commit(response))
            if parent is not None:
                invocation_ref = store.commit(self._invocation)
        if parent is not None:
            siblings = parent.children
            index = len(siblings) - 1
            # Slots never move (children are only appended), so the index of
            # this call's slot is stable while other threads append theirs.
            if index < 0 or siblings[index] is not self:
                index = _slot_of(siblings, self)
            if index >= 0:
                siblings[index] = invocation_ref
            recorder = self._recorder
            # A call cut short by a BaseException (an interrupt) did not end.
            if recorder is not None and (
                output_ref is not None or raised_ref is not None
            ):
                recorder.finished(self, invocation_ref, raised_ref, raised_here)

    def _incomplete(self) -> IncompleteSubinvocationError:
        """The error for a call that returns while child calls are pending."""
        name = type(self.invokable).__qualname__
        for index, child in enumerate(self.children):
            if type(child) is Builder:
                child_name = type(child.invokable).__qualname__
                if not child._started:
                    return IncompleteSubinvocationError(
                        f"Subinvocation {index} ({child_name}) of {name} was not "
                        f"awaited: did you forget to await it? Calling an async "
                        f"invokable only creates a coroutine; write "
                        f"`await {child_name}(...)(...)` (from an async invokable).",
                        index,
                    )
                return IncompleteSubinvocationError(
                    f"Subinvocation {index} ({child_name}) of {name} did not "
                    f"complete before {name} returned: await every task (e.g. with "
                    "asyncio.TaskGroup or asyncio.gather) and join every thread "
                    "that calls invokables before returning.",
                    index,
                )
        raise AssertionError("no pending child")  # pragma: no cover

    def _abandon_pending(self) -> None:
        """Closes child coroutines that were never awaited (no warning later)."""
        for child in self.children:
            if type(child) is Builder and not child._started:
                coroutine = child._coroutine
                if coroutine is not None:
                    coroutine.close()


def _slot_of(children: list[Any], builder: Builder) -> int:
    for index in range(len(children) - 1, -1, -1):
        if children[index] is builder:
            return index
    return -1  # the parent gave up on it (it returned first)


def _not_a_resource(invokable: InvokableBase[Any, Any], output: Any) -> str:
    name = type(invokable).__qualname__
    if inspect.isawaitable(output):
        close = getattr(output, "close", None)
        if close is not None:
            close()  # no "never awaited" warning on top of this error
        return (
            f"{name}.call returned a {type(output).__qualname__}, not a resource: "
            "did you forget to await? An `async def call` needs an "
            "enact.AsyncInvokable, called with `await`; a sync call cannot "
            "await an async invokable."
        )
    return (
        f"{name}.call returned a {type(output).__qualname__}, which is not a resource."
    )


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
        # Calls at this level may come from several threads.
        self._lock = threading.Lock()
        # Where the calling code of this level runs: calls from elsewhere
        # (other threads, other asyncio tasks) were started concurrently.
        self._owner = _where()

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
        builder = _builder_variable.get()
        if builder is _UNSET:
            builder = None
        kind, value = self._plan(invokable, arg, builder)
        if kind is _RUN:
            with value:
                return _run(invokable, arg)
        if kind is _OUTPUT:
            return value
        exception, match = value
        answer = live_answerer.get()
        if answer is not None and isinstance(exception, InputRequest):
            return answer(exception)
        if match is not None:
            builder._replayed = (*match, None)
        raise exception

    def _plan(
        self, invokable: InvokableBase[Any, Any], arg: Any, builder: Builder | None
    ) -> tuple[object, Any]:
        """How to answer a call: the pure core of sync and async replay.

        Returns ``(_RUN, child context)`` to execute the call under the child
        context, ``(_OUTPUT, value)`` to return a recorded or overriding value,
        or ``(_RAISE, (exception, match))`` to raise a recorded exception
        (``match`` to record it with, when journaled).
        """
        if builder is not None and builder.invokable is invokable:
            before = builder._invokable_ref._digest
            if builder._request_ref is None and builder._store._ref_type is Ref:
                # builder._request_digest(), inlined: once per replayed call
                wanted = request_digest(builder._invokable_ref, builder.input_ref)
            else:
                wanted = builder._request_digest()
            request_of: Callable[[], Request[Any, Any]] = builder._make_request
        else:
            store = _current_store()
            request: Request[Any, Any] = Request(
                store.commit(invokable), store.commit(arg)
            )
            wanted = store.commit(request)._digest
            before = request.invokable._digest
            request_of = functools.partial(_given, request)
        taken = self._take(wanted, request_of)
        if taken is None:
            return _RUN, self._child([])
        match_ref, match = taken
        response = match.response()
        if response.output is not None or (
            response.raised is not None and response.raised_here
        ):
            if response.invokable._digest != before:
                invokable.set_from(response.invokable())
            journaled = builder is not None and builder.invokable is invokable
            if journaled:
                # Carry the recorded grandchildren into the new journal, so an
                # unchanged subtree keeps its refs.
                builder.children.extend(response.children)  # type: ignore[union-attr]
            if response.output is not None:
                if journaled:
                    builder._replayed = (match_ref, match, response.output)  # type: ignore[union-attr]
                return _OUTPUT, response.output()
            assert response.raised is not None
            value = self._override(invokable, response.raised)
            if value is not None:
                return _OUTPUT, value
            return _RAISE, (
                response.raised(),
                (match_ref, match) if journaled else None,
            )
        return _RUN, self._child(response.children)

    def _take(
        self, request_digest: str, request_of: Callable[[], Request[Any, Any]]
    ) -> tuple[Ref[Invocation[Any, Any]], Invocation[Any, Any]] | None:
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
                    return first, recorded
            for index, entry in enumerate(available):
                if isinstance(entry, Ref):
                    entry_ref, recorded = entry, entry()
                else:
                    entry_ref, recorded = None, entry
                if recorded.request._digest == request_digest:
                    del available[index]
                    if entry_ref is None:
                        entry_ref = Store.current().commit(recorded)
                    return entry_ref, recorded
                if self.strict:
                    if concurrent is None:
                        concurrent = self._owner != _where()
                    if not concurrent:
                        raise ReplayError(_mismatch(recorded, request_of()))
        return None

    def _override(
        self, invokable: InvokableBase[Any, Any], raised: Ref[ExceptionResource]
    ) -> ResourceBase | None:
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


# The kinds of ReplayContext._plan.
_RUN = "run"
_OUTPUT = "output"
_RAISE = "raise"


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
        f"{describe(request)}. The code no longer makes the recorded "
        "calls in the same order (is it deterministic given its inputs?); "
        "use strict=False to skip non-matching records."
    )


# The context variables behind Builder, ReplayContext and Store, read directly
# on the hot path of every journaled call.
_builder_variable = contexts.variable(Builder)
_replay_variable = contexts.variable(ReplayContext)
_store_variable = contexts.variable(Store)
_UNSET = contexts.UNSET


def _current_store() -> Store:
    """``Store.current()``, without its two calls when a store is active."""
    store: Store | None = _store_variable.get()
    if store is None or store is _UNSET:
        return Store.current()  # raises the error that explains this
    return store


# The input of calls that take none; NoneResource is immutable, so one will do.
_NONE = NoneResource()
