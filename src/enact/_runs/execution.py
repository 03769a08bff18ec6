"""Starting and executing a durable run, until it ends or waits for input.

:func:`start_run` records a new run in the index and executes it;
:func:`execute` runs a recorded run (new, resumed or forked) in its store,
with a :class:`~enact._runs.recorder.Recorder` making each finished call
durable and an answerer taking answers from the index, and records how it
ended.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterable
from typing import Any

from enact._invocations.answerers import offered_answerer
from enact._invocations.exceptions import InvocationError
from enact._invocations.input_requests import InputRequest
from enact._invocations.invokables import InvokableBase
from enact._invocations.journal import Builder, offered_recorder
from enact._invocations.records import Invocation, Request
from enact._runs.access import check_name_free, update_run, within
from enact._runs.errors import RunError
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

__all__ = ["execute", "start_run"]


def _new_run_id() -> str:
    # Sortable by start time, unique without coordination.
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:8]


def _component_name(component: Any) -> str:
    cls = type(component)
    name = getattr(cls, "type_name", None)
    return str(name()) if callable(name) else f"{cls.__module__}.{cls.__qualname__}"


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

    Returns:
        The new run's id.

    Raises:
        TypeError: if ``component`` is not a sync invokable.
        RunError: if the name is taken.
    """
    if not isinstance(component, InvokableBase):
        raise TypeError(
            f"enact.run needs an invokable, got {type(component).__qualname__}."
        )
    if getattr(component, "_enact_async", False):
        raise TypeError(
            "enact.run runs sync invokables; async ones are not durable yet."
        )
    warn_unimportable(component, arg)
    index = store.index
    if arg is None:
        input_ref: Ref[Any] = store.commit(NoneResource())
    elif isinstance(arg, Ref):
        input_ref = arg
    else:
        input_ref = store.commit(arg)
    request: Request[Any, Any] = Request(store.commit(component), input_ref)
    request_ref = store.commit(request)
    store.flush()
    info = RunInfo(
        id=_new_run_id(),
        component=_component_name(component),
        stored_status=RunStatus.RUNNING,
        started=now(),
        ended=None,
        request=request_ref,
        parent=parent,
        relation=relation,
        name=name,
        tags=tuple(dict.fromkeys(tags)),
        owner=Owner.this_process(),
    )

    def create(old: bytes | None) -> bytes:
        if old is not None:  # pragma: no cover - ids are random
            raise RunError(f"Run id {info.id} is taken.", info.id)
        check_name_free(index, name, info.id)
        return info.to_bytes()

    index.update_run(info.id, create)
    execute(
        store,
        info,
        component,
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
) -> None:
    """Runs a recorded run to its end and records how it ended.

    The run executes in ``store``, whatever store is current in the caller:
    its journaled calls commit there. The store is in use (entered) until
    then: its session, which keeps what the run committed but has not
    recorded yet from garbage collection, lasts at least as long as the run,
    whatever ``with`` blocks exit meanwhile.
    """
    within(
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
) -> None:
    index = store.index
    recorder = Recorder(store, info.id, log)
    answerer = _Answerer(store, index, info.id, wait_for_input, poll_interval)
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
        # Interrupted (KeyboardInterrupt, SystemExit): resumable later.
        reason = f"interrupted: {type(interrupt).__name__}"
        with contextlib.suppress(BackendError):
            store.settle_steps(info.id)  # its steps are durable either way
        update_run(
            index,
            info.id,
            lambda old: old.replace(
                stored_status=RunStatus.CRASHED,
                ended=now(),
                error=reason,
                live=False,
            ),
        )
        raise
    finally:
        offered_answerer.reset(answerer_token)
        offered_recorder.reset(recorder_token)
    invocation_ref = store.commit(invocation)
    store.flush()
    # Recovery lines only spare a resume some reads. A run that ended
    # waiting is resumed from its recorded journal; if the process dies
    # before the record below, resume reads what the lines name instead.
    store.settle_steps(info.id, ended=True)
    response = invocation.response()
    pending: tuple[PendingInput, ...] = ()
    error: str | None = None
    if response.output is not None:
        status = RunStatus.FINISHED
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
        )

    update_run(index, info.id, end)


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
            claimed = self._wait(builder.path, request, key)
        # From the run's store, even if the run's code entered another.
        value: ResourceBase = self.store.checkout(Ref(claimed.decode("ascii")))
        return value

    def _wait(self, path: tuple[int, ...], request: InputRequest, key: str) -> bytes:
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
        # The index wakes the wait when a claim is made where it can (a
        # PostgreSQL store's NOTIFY); others poll every poll_interval.
        claimed = self.index.get_claim(key)
        while claimed is None:
            claimed = self.index.wait_for_claim(key, self.poll_interval)
        update_run(
            self.index,
            self.run_id,
            lambda old: old.replace(
                stored_status=RunStatus.RUNNING, live=False, pending=()
            ),
        )
        return claimed
