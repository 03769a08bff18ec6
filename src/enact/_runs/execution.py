"""Starting and executing a durable run, until it ends or waits for input.

:func:`start_run` records a new run in the index and executes it;
:func:`execute` runs a recorded run (new, resumed or forked) in its store,
with a :class:`~enact._runs.recorder.Recorder` making each finished call
durable and an answerer taking answers from the index, and records how it
ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
import uuid
from collections.abc import Iterable
from typing import Any

from enact._invocations.answerers import async_offered_answerer, offered_answerer
from enact._invocations.calls import CallArgs, make_call_args
from enact._invocations.exceptions import InvocationError
from enact._invocations.functions import RegisteredFunction
from enact._invocations.input_requests import InputRequest
from enact._invocations.invokables import AsyncInvokableBase, InvokableBase
from enact._invocations.journal import Builder, offered_recorder
from enact._invocations.records import Invocation, Request
from enact._runs.access import check_name_free, update_run, within
from enact._runs.errors import RunError
from enact._runs.listing import output_text
from enact._runs.portability import warn_unimportable
from enact._runs.recorder import Recorder, StepLog, pending_input
from enact._runs.records import (
    Owner,
    PendingInput,
    RunInfo,
    RunStatus,
    answer_key,
    now,
)
from enact.backends.base import BackendError
from enact.backends.index import Index
from enact.interfaces import NoneResource, ResourceBase
from enact.references import Ref, Store

__all__ = [
    "as_invokable",
    "component_name",
    "create_run",
    "execute",
    "execute_async",
    "is_async_component",
    "start_run",
    "start_run_async",
]


def _new_run_id() -> str:
    # Sortable by start time, unique without coordination.
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:8]


def component_name(component: Any) -> str:
    """The qualified name of a component's class, as run records keep it."""
    cls = type(component)
    name = getattr(cls, "type_name", None)
    return str(name()) if callable(name) else f"{cls.__module__}.{cls.__qualname__}"


def is_async_component(component: Any) -> bool:
    """Whether ``component`` is an async invokable or registered async function."""
    return bool(getattr(component, "_enact_async", False))


def as_invokable(component: Any, arg: Any) -> tuple[InvokableBase[Any, Any], Any]:
    """The invokable a run calls and its input.

    A registered function (sync or async) runs as its function invokable,
    with ``arg`` as its arguments: None for none, a tuple for several, a
    :class:`~enact.invocations.CallArgs` as it is, anything else as the one
    positional argument.

    Raises:
        TypeError: if ``component`` is neither an invokable nor registered.
    """
    if isinstance(component, InvokableBase):
        return component, arg
    if isinstance(component, RegisteredFunction):
        if isinstance(arg, CallArgs):
            return component._split(arg.args)[0], arg
        args = () if arg is None else arg if isinstance(arg, tuple) else (arg,)
        invokable, rest = component._split(args)
        return invokable, make_call_args(rest, {})
    raise TypeError(
        "enact.run needs an invokable or a function registered with "
        f"@enact.register, got {type(component).__qualname__}."
    )


def create_run(
    store: Store,
    component: Any,
    arg: Any,
    *,
    name: str | None,
    tags: Iterable[str],
    parent: str | None = None,
    relation: str | None = None,
    run_id: str | None = None,
    batch: str | None = None,
    sample: int | None = None,
    check_types: bool = True,
) -> tuple[RunInfo, InvokableBase[Any, Any], Ref[Any]]:
    """Records a new run of ``component`` on ``arg`` in ``store``, not started.

    Returns:
        The run's record, the invokable to execute and its input's ref.

    Raises:
        TypeError: if ``component`` is not an invokable.
        RunError: if the name or the id is taken.
    """
    invokable, arg = as_invokable(component, arg)
    if check_types:  # a batch checks its component and inputs once
        warn_unimportable(invokable, arg)
    index = store.index
    if arg is None:
        input_ref: Ref[Any] = store.commit(NoneResource())
    elif isinstance(arg, Ref):
        input_ref = arg
    else:
        input_ref = store.commit(arg)
    request: Request[Any, Any] = Request(store.commit(invokable), input_ref)
    request_ref = store.commit(request)
    store.flush()
    info = RunInfo(
        id=_new_run_id() if run_id is None else run_id,
        component=component_name(invokable),
        stored_status=RunStatus.RUNNING,
        started=now(),
        ended=None,
        request=request_ref,
        parent=parent,
        relation=relation,
        name=name,
        tags=tuple(dict.fromkeys(tags)),
        owner=Owner.this_process(),
        batch=batch,
        sample=sample,
    )

    def create(old: bytes | None) -> bytes:
        if old is not None:
            raise RunError(f"Run id {info.id} is taken.", info.id)
        check_name_free(index, name, info.id)
        return info.to_bytes()

    index.update_run(info.id, create)
    return info, invokable, input_ref


def start_run(
    store: Store,
    component: Any,
    arg: Any,
    *,
    name: str | None,
    tags: Iterable[str],
    parent: str | None = None,
    relation: str | None = None,
    replay_from: Invocation[Any, Any] | None = None,
    strict: bool = True,
    wait_for_input: bool = False,
    poll_interval: float = 0.05,
) -> str:
    """Records a new run of ``component`` on ``arg`` in ``store`` and executes it.

    An async component runs on an event loop of its own, so this must not be
    called from a coroutine (use :func:`start_run_async` there).

    Returns:
        The new run's id.

    Raises:
        TypeError: if ``component`` is not an invokable.
        RunError: if the name is taken.
    """
    info, invokable, input_ref = create_run(
        store, component, arg, name=name, tags=tags, parent=parent, relation=relation
    )
    execute(
        store,
        info,
        invokable,
        input_ref,
        replay_from,
        None,
        wait_for_input=wait_for_input,
        strict=strict,
        poll_interval=poll_interval,
    )
    return info.id


async def start_run_async(
    store: Store,
    component: Any,
    arg: Any,
    *,
    name: str | None,
    tags: Iterable[str],
    parent: str | None = None,
    relation: str | None = None,
    replay_from: Invocation[Any, Any] | None = None,
    strict: bool = True,
    wait_for_input: bool = False,
    poll_interval: float = 0.05,
) -> str:
    """The async :func:`start_run`: an async component runs on the caller's
    event loop; a sync one in a worker thread."""
    info, invokable, input_ref = create_run(
        store, component, arg, name=name, tags=tags, parent=parent, relation=relation
    )
    await execute_async(
        store,
        info,
        invokable,
        input_ref,
        replay_from,
        None,
        wait_for_input=wait_for_input,
        strict=strict,
        poll_interval=poll_interval,
    )
    return info.id


def execute(
    store: Store,
    info: RunInfo,
    component: InvokableBase[Any, Any],
    input_ref: Ref[Any],
    replay_from: Invocation[Any, Any] | None,
    log: StepLog | None,
    *,
    wait_for_input: bool,
    strict: bool,
    poll_interval: float = 0.05,
) -> RunInfo:
    """Runs a recorded run to its end and records how it ended (the record
    it ended with is returned).

    The run executes in ``store``, whatever store is current in the caller:
    its journaled calls commit there. The store is in use (entered) until
    then: its session, which keeps what the run committed but has not
    recorded yet from garbage collection, lasts at least as long as the run,
    whatever ``with`` blocks exit meanwhile. An async component runs on an
    event loop of its own (see :func:`execute_async` for the caller's loop).

    Raises:
        RuntimeError: for an async component, if an event loop is running in
            this thread.
    """
    if not is_async_component(component):
        return within(
            store,
            lambda: _run_to_end(
                store,
                info,
                component,
                input_ref,
                replay_from,
                log,
                wait_for_input=wait_for_input,
                strict=strict,
                poll_interval=poll_interval,
            ),
        )
    _refuse_running_loop(info.id)
    return within(
        store,
        lambda: asyncio.run(
            _run_to_end_async(
                store,
                info,
                component,
                input_ref,
                replay_from,
                log,
                wait_for_input=wait_for_input,
                strict=strict,
                poll_interval=poll_interval,
            )
        ),
    )


async def execute_async(
    store: Store,
    info: RunInfo,
    component: InvokableBase[Any, Any],
    input_ref: Ref[Any],
    replay_from: Invocation[Any, Any] | None,
    log: StepLog | None,
    *,
    wait_for_input: bool,
    strict: bool,
    poll_interval: float = 0.05,
) -> RunInfo:
    """The async :func:`execute`: an async component runs on the caller's
    event loop, a sync one in a worker thread (with this task's contexts)."""
    if not is_async_component(component):
        context = contextvars.copy_context()
        return await asyncio.to_thread(
            context.run,
            execute,
            store,
            info,
            component,
            input_ref,
            replay_from,
            log,
            wait_for_input=wait_for_input,
            strict=strict,
            poll_interval=poll_interval,
        )
    with store:
        return await _run_to_end_async(
            store,
            info,
            component,
            input_ref,
            replay_from,
            log,
            wait_for_input=wait_for_input,
            strict=strict,
            poll_interval=poll_interval,
        )


def _refuse_running_loop(run_id: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        f"Run {run_id} is of an async component and an event loop is running "
        "in this thread: use `await enact.runs.run_async(...)` (or "
        "`await run.resume_async()`) instead."
    )


def _run_to_end(
    store: Store,
    info: RunInfo,
    component: InvokableBase[Any, Any],
    input_ref: Ref[Any],
    replay_from: Invocation[Any, Any] | None,
    log: StepLog | None,
    *,
    wait_for_input: bool,
    strict: bool,
    poll_interval: float,
) -> RunInfo:
    recorder = Recorder(store, info.id, log)
    answerer = _Answerer(store, store.index, info.id, wait_for_input, poll_interval)
    recorder_token = offered_recorder.set(recorder)
    answerer_token = offered_answerer.set(answerer)
    try:
        invocation = component.invoke(
            input_ref,
            replay_from=replay_from,
            strict=strict,
            raise_on_invocation_error=False,
            commit=False,  # committed once, below, for its ref
        )
    except BaseException as interrupt:
        _record_interrupt(store, info.id, interrupt)
        raise
    finally:
        offered_answerer.reset(answerer_token)
        offered_recorder.reset(recorder_token)
    return _record_end(store, info.id, recorder, invocation)


async def _run_to_end_async(
    store: Store,
    info: RunInfo,
    component: InvokableBase[Any, Any],
    input_ref: Ref[Any],
    replay_from: Invocation[Any, Any] | None,
    log: StepLog | None,
    *,
    wait_for_input: bool,
    strict: bool,
    poll_interval: float,
) -> RunInfo:
    assert isinstance(component, AsyncInvokableBase)
    recorder = Recorder(store, info.id, log)
    answerer = _Answerer(store, store.index, info.id, wait_for_input, poll_interval)
    recorder_token = offered_recorder.set(recorder)
    answerer_token = async_offered_answerer.set(answerer.answer_async)
    try:
        invocation = await component.ainvoke(
            input_ref,
            replay_from=replay_from,
            strict=strict,
            raise_on_invocation_error=False,
            commit=False,  # committed once, below, for its ref
        )
    except BaseException as interrupt:  # KeyboardInterrupt, CancelledError
        _record_interrupt(store, info.id, interrupt)
        raise
    finally:
        async_offered_answerer.reset(answerer_token)
        offered_recorder.reset(recorder_token)
    return _record_end(store, info.id, recorder, invocation)


def _record_interrupt(store: Store, run_id: str, interrupt: BaseException) -> None:
    """Records an interrupted run (KeyboardInterrupt, SystemExit, a cancelled
    task) as crashed: resumable later."""
    reason = f"interrupted: {type(interrupt).__name__}"
    with contextlib.suppress(BackendError):
        store.settle_steps(run_id)  # its steps are durable either way
    update_run(
        store.index,
        run_id,
        lambda old: old.replace(
            stored_status=RunStatus.CRASHED,
            ended=now(),
            error=reason,
            live=False,
        ),
    )


def _record_end(
    store: Store, run_id: str, recorder: Recorder, invocation: Invocation[Any, Any]
) -> RunInfo:
    """Records how a run ended: finished, failed or waiting for input (the
    new record is returned)."""
    invocation_ref = store.commit(invocation)
    store.flush()
    # Recovery lines only spare a resume some reads. A run that ended
    # waiting is resumed from its recorded journal; if the process dies
    # before the record below, resume reads what the lines name instead.
    store.settle_steps(run_id, ended=True)
    response = invocation.response()
    pending: tuple[PendingInput, ...] = ()
    error: str | None = None
    said: str | None = None
    if response.output is not None:
        status = RunStatus.FINISHED
        said = _output_text(store, response.output)
    else:
        raised = response.raised() if response.raised is not None else None
        if isinstance(raised, InputRequest):
            status = RunStatus.WAITING
            pending = tuple(recorder.pending)
        else:
            status = RunStatus.FAILED
            error = _describe(raised)

    def end(old: RunInfo) -> RunInfo:
        return old.replace(
            stored_status=status,
            ended=now(),
            invocation=invocation_ref,
            pending=pending,
            error=error,
            live=False,
            output_text=said,
        )

    return update_run(store.index, run_id, end)


def _output_text(store: Store, output: Ref[Any]) -> str | None:
    """The start of a finished run's output as text, for searches (None if
    it cannot be read here: the record is written all the same)."""
    try:
        return output_text(within(store, output.checkout)) or None
    except Exception:  # a search aid never fails the end of a run
        return None


def _describe(raised: Any) -> str:
    if raised is None:
        return "no output"
    text = str(raised).strip().splitlines()
    last = text[-1] if text else ""
    name = type(raised).__qualname__
    if isinstance(raised, InvocationError) or not last:
        return f"{name}: {last}" if last else name
    return last[:500]


class _Answerer:
    """Answers input requests inside a durable run.

    An answer claimed in the index (by any process) is returned. Otherwise
    the request is raised, and the run ends waiting; or, with
    ``wait_for_input``, the run waits here, listed as waiting, until an
    answer is claimed.
    """

    def __init__(
        self, store: Store, index: Index, run_id: str, wait: bool, poll_interval: float
    ) -> None:
        self.store = store
        self.index = index
        self.run_id = run_id
        self.wait = wait
        self.poll_interval = poll_interval

    def __call__(self, request: InputRequest) -> ResourceBase:
        builder = Builder.current()
        key = answer_key(self.run_id, builder.path)
        claimed = self.index.get_claim(key)
        if claimed is None and not self.wait:
            raise request
        if claimed is None:
            self._mark_waiting(builder.path, request)
            # The index wakes the wait when a claim is made where it can (a
            # PostgreSQL store's NOTIFY); others poll every poll_interval.
            while claimed is None:
                claimed = self.index.wait_for_claim(key, self.poll_interval)
            self._mark_running()
        return self._answer(claimed)

    async def answer_async(self, request: InputRequest) -> ResourceBase:
        """The async twin of a call: waits for an answer without blocking
        the event loop."""
        builder = Builder.current()
        key = answer_key(self.run_id, builder.path)
        claimed = self.index.get_claim(key)
        if claimed is None and not self.wait:
            raise request
        if claimed is None:
            self._mark_waiting(builder.path, request)
            while (claimed := self.index.get_claim(key)) is None:
                await asyncio.sleep(self.poll_interval)
            self._mark_running()
        return self._answer(claimed)

    def _answer(self, claimed: bytes) -> ResourceBase:
        # From the run's store, even if the run's code entered another.
        value: ResourceBase = self.store.checkout(Ref(claimed.decode("ascii")))
        return value

    def _mark_waiting(self, path: tuple[int, ...], request: InputRequest) -> None:
        store = self.store
        request_ref = store.commit(request)
        store.flush()
        pending = pending_input(self.run_id, path, request_ref, request)
        update_run(
            self.index,
            self.run_id,
            lambda old: old.replace(
                stored_status=RunStatus.WAITING, live=True, pending=(pending,)
            ),
        )

    def _mark_running(self) -> None:
        update_run(
            self.index,
            self.run_id,
            lambda old: old.replace(
                stored_status=RunStatus.RUNNING, live=False, pending=()
            ),
        )
