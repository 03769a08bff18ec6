"""Journaling: ``Builder`` records one call of an invokable
(docs/compatibility.md#builder).

Inside :meth:`~enact.invocations.InvokableBase.invoke` every call of an
invokable, at any depth, runs under a :class:`Builder` that records it as an
:class:`~enact.invocations.Invocation`. Sync and async calls share one core:
:meth:`Builder._begin` (reserve the call's slot among its parent's children),
the call, :meth:`Builder._complete` (check and commit the output) and
:meth:`Builder._end` (record the call, fill the slot). :meth:`Builder.call`
calls in between, :meth:`Builder.start` and :meth:`Builder.acall` await; both
ask a replay how to answer through :meth:`Builder.plan`.

A durable run hooks in at one point: its top-level call carries a
:class:`StepRecorder` (offered through :data:`offered_recorder`), through
which every call under it takes its slot and reports when it ends.
"""

from __future__ import annotations

import contextvars
import inspect
import traceback
from collections.abc import Coroutine
from typing import Any, Protocol

from enact import contexts
from enact._invocations.exceptions import (
    ExceptionResource,
    IncompleteSubinvocationError,
    InputChanged,
    InvocationError,
    InvokableTypeError,
    WrappedException,
)
from enact._invocations.records import (
    Invocation,
    Request,
    Response,
    invokable_name,
    request_digest,
)
from enact._invocations.replay import (
    Failed,
    Plan,
    ReplayContext,
    Replayed,
    execute,
    execute_async,
    replay_variable,
    run_call,
)
from enact.contexts import UNSET
from enact.digests import digest
from enact.interfaces import FieldTypeError, NoneResource, ResourceBase
from enact.references import Ref, Store

__all__ = [
    "Builder",
    "Closable",
    "StepRecorder",
    "builder_variable",
    "offered_recorder",
    "root_recorder",
]


class StepRecorder(Protocol):
    """What a durable run's recorder (``enact._runs.recorder``) does for the
    calls of its run."""

    def begin_root(self, builder: Builder) -> None:
        """Adopts the run's top-level call."""

    def begin(self, builder: Builder, parent: Builder) -> None:
        """Takes the child's slot among its parent's children."""

    def finished(
        self,
        builder: Builder,
        invocation_ref: Ref[Any],
        raised_ref: Ref[Any] | None,
        raised_here: bool,
    ) -> None:
        """Makes a finished call durable."""


class Closable(Protocol):
    """A coroutine (or several) that an async call holds until awaited."""

    def close(self) -> None:
        """Closes it without running it."""


# Offered by a durable run (enact.runs) to the invoke() it starts, like the
# answerer of an input generator (see enact._invocations.answerers): that
# invoke's top-level call reports every call that ends to the recorder.
offered_recorder: contextvars.ContextVar[StepRecorder | None] = contextvars.ContextVar(
    "enact.offered_recorder", default=None
)
root_recorder: contextvars.ContextVar[StepRecorder | None] = contextvars.ContextVar(
    "enact.root_recorder", default=None
)


@contexts.register
class Builder(contexts.Context):
    """Records one call of an invokable as an :class:`Invocation`.

    Args:
        invokable: What is called; its pre-call state is committed now.
        input: Ref to the input.
        store: The store to record in (the current one by default).
        input_value: The input itself, when the caller has just committed
            it (saves checking the ref out).

    ``invokable`` is an :class:`~enact.invocations.InvokableBase` (typed
    loosely: invokables are built on journaling, in the module above).
    """

    # False for an async call made but not awaited yet (see start()).
    _started: bool = True
    #: What to close if an async call is never awaited (its coroutine, or
    #: the coroutines of a registered function's call); None once started.
    unawaited: Closable | None = None
    #: Set in durable runs (enact.runs): the run's recorder, this call's path
    #: (child indices from the top-level call) and when the call began.
    recorder: StepRecorder | None = None
    path: tuple[int, ...] = ()
    started_at: float = 0.0

    def __init__(
        self,
        invokable: Any,
        input: Ref[Any],
        store: Store | None = None,
        *,
        input_value: Any = None,
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
        self._arg = input_value
        #: The invocation this call recorded when it ended (None before, and
        #: for a call that reuses the record a replay answered it from).
        self.recorded: Invocation[Any, Any] | None = None
        self.parent: Builder | None = None
        #: Set by a replay that answered this call from a record: the new
        #: record would be identical, so the recorded one is reused instead of
        #: being built and committed again.
        self.replayed: Replayed | None = None
        # Exceptions that children reported raising, to tell "raised here".
        self._child_errors: list[BaseException] = []
        # Set when the call ends: later children are errors.
        self._done = False

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
        if self.recorded is None and self._done and self.replayed is not None:
            # Answered from a record (see _end): a copy of it, made on demand.
            recorded = self.replayed.invocation
            self.recorded = Invocation(recorded.request, recorded.response)
        assert self.recorded is not None, "The call has not finished."
        return self.recorded

    def call(self) -> Any:
        """Runs the call and records it; returns the output or re-raises."""
        parent = self._begin()
        output_ref: Ref[Any] | None = None
        raised_ref: Ref[Any] | None = None
        error: Exception | None = None
        # Entered by hand rather than with `with self:` (Builder has no enter
        # or exit hooks): this runs for every journaled call.
        token = builder_variable.set(self)
        try:
            try:
                arg = self._arg if self._arg is not None else self.input_ref.checkout()
                # ReplayContext.call_or_replay, journaled and inlined: this runs
                # for every call.
                context = replay_variable.get()
                if context is None:
                    output = run_call(self.invokable, arg)
                elif context is UNSET:
                    output = ReplayContext.call_or_replay(self.invokable, arg)
                else:
                    plan = self.plan(context)
                    if type(plan) is Replayed:  # answered from a record: as _complete
                        output_ref = plan.output
                        return plan.value
                    output = execute(plan, self.invokable, arg, self)
                output, output_ref = self._complete(arg, output)
                return output
            except Exception as exception:
                error = exception
                raised_ref = _record_exception(self._store, exception)
                raise
            finally:
                self._end(parent, output_ref, raised_ref, error)
        finally:
            builder_variable.reset(token)

    def plan(self, context: ReplayContext[Any, Any]) -> Plan:
        """How ``context`` answers this call: the journal's side of replay.

        Shared by sync and async calls. A call answered from a record takes
        the record's children, and the record itself (:attr:`replayed`).
        """
        if self._request_ref is None and self._store._ref_type is Ref:
            # self._request_digest(), inlined: once per replayed call
            wanted = request_digest(self._invokable_ref, self.input_ref)
        else:
            wanted = self._request_digest()
        plan = context.answer(
            self.invokable,
            wanted,
            self._invokable_ref._digest,
            self._make_request,
            self.children,
        )
        if type(plan) is Replayed:
            self.replayed = plan
        return plan

    # -- the async twin of call() ---------------------------------------------

    def start(self) -> Coroutine[Any, Any, Any]:
        """Makes a journaled async child call: takes its slot now, runs when
        awaited (so children started together are recorded in the order they
        were made, however they finish). Checks the output's type.

        Returns:
            The coroutine to await.
        """
        parent = self._begin()
        plan = self._plan_now()
        self._started = False
        coroutine = self._run_async(parent, plan, True)
        self.unawaited = coroutine
        return coroutine

    def acall(self) -> Coroutine[Any, Any, Any]:
        """The async :meth:`call`: runs the call, awaited, and records it."""
        parent = self._begin()
        return self._run_async(parent, self._plan_now(), False)

    def _plan_now(self) -> Plan | None:
        """The replay decision for an async call, made when the call is made."""
        context = replay_variable.get()
        if context is None:
            return None
        try:
            if context is UNSET:
                context = ReplayContext.get_current()
            return self.plan(context)
        except Exception as error:
            return Failed(error)

    async def _run_async(
        self, parent: Builder | None, plan: Plan | None, check_output: bool
    ) -> Any:
        """Runs a journaled async call: :meth:`call` with an await."""
        self._started = True
        self.unawaited = None
        output_ref: Ref[Any] | None = None
        raised_ref: Ref[Any] | None = None
        error: Exception | None = None
        token = builder_variable.set(self)
        try:
            try:
                arg = self._arg if self._arg is not None else self.input_ref.checkout()
                output = await execute_async(plan, self.invokable, arg, self)
                output, output_ref = self._complete(arg, output)
            except Exception as exception:
                error = exception
                raised_ref = _record_exception(self._store, exception)
                raise
            finally:
                self._end(parent, output_ref, raised_ref, error)
        finally:
            builder_variable.reset(token)
        output_type = self.invokable.get_output_type()
        if (
            check_output
            and output_type is not None
            and not isinstance(output, output_type)
        ):
            raise InvokableTypeError(
                f"{invokable_name(self.invokable)} returned a "
                f"{type(output).__qualname__}, but its output type is "
                f"{output_type.__qualname__}."
            )
        return output

    # -- the pure core of a journaled call, shared by call() and its async twin:
    # _begin before the call, _complete on its output, _end always, after it.

    def _begin(self) -> Builder | None:
        """Finds the parent call and reserves this call's slot among its children.

        The slot keeps the parent's children in call-start order, however the
        calls made concurrently (threads, asyncio tasks) finish.
        """
        parent: Builder | None = builder_variable.get()
        if parent is UNSET:
            parent = Builder.get_current()  # raises the error that explains this
        self.parent = parent
        if parent is not None:
            if parent._done:
                raise InvocationError(
                    f"{invokable_name(self.invokable)} was called after its "
                    f"parent call ({invokable_name(parent.invokable)}) returned: "
                    "join threads and await tasks before a call returns."
                )
            recorder = parent.recorder
            if recorder is None:
                parent.children.append(self)  # the slot
            else:
                recorder.begin(self, parent)  # takes the slot, notes the path
        else:
            recorder = root_recorder.get()
            if recorder is not None:
                recorder.begin_root(self)
        return parent

    def _complete(self, arg: Any, output: Any) -> tuple[Any, Ref[Any] | None]:
        """Checks and commits the output of a call that returned."""
        replayed = self.replayed
        if replayed is not None:
            return output, replayed.output
        if not getattr(type(arg), "_enact_immutable", False) and (
            digest(arg) != self.input_ref._digest
        ):
            raise InputChanged(
                f"{invokable_name(self.invokable)} changed its input; "
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
        if self.replayed is not None:
            invocation_ref = self.replayed.ref  # self.invocation copies the record
        else:
            children = self.children
            if children and Builder in map(type, children):
                # Calls still running (or never awaited) have no record yet.
                self._abandon_pending()
                children = [c for c in children if type(c) is not Builder]
            invokable = self.invokable
            before = self._invokable_ref
            if type(before) is Ref and getattr(
                type(invokable), "_enact_immutable", False
            ):
                # It cannot have changed (a function's wrapper): the object
                # committed before the call, in a new ref.
                after: Ref[Any] = Ref(before._digest, invokable)
            else:
                after = store.commit(invokable)
            response: Response[Any, Any] = Response(
                after,
                output_ref,
                raised_ref,
                raised_here,
                # A copy: a late child must not change a committed record.
                list(children),
            )
            self.recorded = Invocation(self.request_ref(), store.commit(response))
            if parent is not None:
                invocation_ref = store.commit(self.recorded)
        if parent is not None:
            siblings = parent.children
            index = len(siblings) - 1
            # Slots never move (children are only appended), so the index of
            # this call's slot is stable while other threads append theirs.
            if index < 0 or siblings[index] is not self:
                index = _slot_of(siblings, self)
            if index >= 0:
                siblings[index] = invocation_ref
            recorder = self.recorder
            # A call cut short by a BaseException (an interrupt) did not end.
            if recorder is not None and (
                output_ref is not None or raised_ref is not None
            ):
                recorder.finished(self, invocation_ref, raised_ref, raised_here)

    def _incomplete(self) -> IncompleteSubinvocationError:
        """The error for a call that returns while child calls are pending."""
        name = invokable_name(self.invokable)
        for index, child in enumerate(self.children):
            if type(child) is Builder:
                child_name = invokable_name(child.invokable)
                if not child._started:
                    if hasattr(child.invokable, "_enact_call_name"):
                        kind, call = "function", f"{child_name}(...)"
                    else:
                        kind, call = "invokable", f"{child_name}(...)(...)"
                    return IncompleteSubinvocationError(
                        f"Subinvocation {index} ({child_name}) of {name} was not "
                        f"awaited: did you forget to await it? Calling an async "
                        f"{kind} only creates a coroutine; write `await {call}` "
                        "(from an async invokable).",
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
                unawaited = child.unawaited
                if unawaited is not None:
                    unawaited.close()


def _slot_of(children: list[Any], builder: Builder) -> int:
    for index in range(len(children) - 1, -1, -1):
        if children[index] is builder:
            return index
    return -1  # the parent gave up on it (it returned first)


def _not_a_resource(invokable: Any, output: Any) -> str:
    name = invokable_name(invokable)
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


# The context variable behind Builder, read directly on the hot path of every
# journaled call.
builder_variable = contexts.variable(Builder)
