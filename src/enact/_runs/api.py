"""The durable runs API on the current store: start, find, list and answer.

Each function here works in the store that is current when it is called and
returns :class:`~enact._runs.handle.Run` handles that keep that store. The
work itself is done, on an explicit store, by the private modules beside
this one: execution (starting and executing a run), branches (resume, forks
and replays), answering, and access (records and the store in use).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from enact._runs.access import current_store, find_run_id, read_run, unanswered
from enact._runs.answering import answer_request
from enact._runs.damage import RunList, read_runs
from enact._runs.errors import RunError
from enact._runs.execution import start_run, start_run_async
from enact._runs.handle import Run
from enact._runs.listing import passes, query_columns
from enact._runs.records import PendingInput, RunInfo, RunStatus
from enact.backends.index import RunQuery
from enact.references import Ref, Store

__all__ = [
    "answer",
    "get_run",
    "list_runs",
    "name_ref",
    "named_refs",
    "pending_inputs",
    "resume",
    "run",
    "run_async",
]


def run(
    component: Any,
    arg: Any = None,
    *,
    name: str | None = None,
    tags: Iterable[str] = (),
    wait_for_input: bool = False,
    poll_interval: float = 0.05,
) -> Run:
    """Invokes ``component`` as a durable, indexed run in the current store.

    Like :meth:`~enact.InvokableBase.invoke`, but every finished call is
    durable as soon as it ends, and the run is listed in the store's index.
    The run ends finished, failed (its exception is recorded, not raised) or
    waiting for input. An async component (an async invokable or a
    registered ``async def``) runs on an event loop of its own; inside a
    coroutine, ``await`` :func:`run_async` instead.

    Args:
        component: The invokable or registered function to call.
        arg: Its input: a ref, a resource (or plain value), or None. For a
            registered function, its arguments: None for none, a tuple for
            several, anything else as its one argument.
        name: A unique name for the run.
        tags: Labels for the run.
        wait_for_input: At an input request, wait in place for an answer from
            any process (polling the index) instead of ending the run as
            ``waiting``.
        poll_interval: Seconds between polls while waiting.

    Returns:
        The run: a handle that keeps the store it ran in.

    Raises:
        NoActiveContext: if no store is active.
        TypeError: if ``component`` is not an invokable.
        RunError: if the name is taken.
        RuntimeError: for an async component called inside a running event
            loop (use :func:`run_async`).
    """
    store = current_store()
    run_id = start_run(
        store,
        component,
        arg,
        name=name,
        tags=tags,
        wait_for_input=wait_for_input,
        poll_interval=poll_interval,
    )
    return Run(run_id, store)


async def run_async(
    component: Any,
    arg: Any = None,
    *,
    name: str | None = None,
    tags: Iterable[str] = (),
    wait_for_input: bool = False,
    poll_interval: float = 0.05,
) -> Run:
    """The async :func:`run`: an async component runs on the caller's event
    loop (a sync one in a worker thread), with the same durability, resume
    and input requests.

    Args and Raises: as for :func:`run`.
    """
    store = current_store()
    run_id = await start_run_async(
        store,
        component,
        arg,
        name=name,
        tags=tags,
        wait_for_input=wait_for_input,
        poll_interval=poll_interval,
    )
    return Run(run_id, store)


def list_runs(
    *,
    status: RunStatus | str | None = None,
    component: str | None = None,
    tag: str | None = None,
    since: float | None = None,
    until: float | None = None,
    parent: str | None = None,
) -> RunList:
    """The runs in the current store's index, newest first, filtered.

    A run record that cannot be read (a damaged file or row) is left out and
    listed in the result's ``damaged`` attribute instead (see
    :class:`~enact.runs.RunList`), so one damaged record never hides the
    others. It is left in the store as it is.

    Args:
        status: Only runs with this status.
        component: Only runs whose component's qualified name contains this.
        tag: Only runs with this tag.
        since: Only runs started at or after this time (epoch seconds).
        until: Only runs started before this time.
        parent: Only runs forked or replayed from this run.

    Raises:
        ValueError: for an unknown status.
    """
    wanted = None if status is None else RunStatus(status)
    infos, damaged = read_runs(current_store().index)
    found = RunList(damaged=damaged)
    for info in infos:
        if passes(
            info,
            status=wanted,
            component=component,
            tag=tag,
            since=since,
            until=until,
            parent=parent,
        ):
            found.append(info)
    found.sort(key=lambda info: (info.started, info.id), reverse=True)
    return found


def get_run(run_id_or_name: str, *, store: Store | None = None) -> Run:
    """The run with this id or name.

    Args:
        run_id_or_name: The run's id or name.
        store: The store to look in; the current store if None. The handle
            keeps it.

    Raises:
        NoActiveContext: if ``store`` is None and no store is current.
        RunNotFound: if there is none.
    """
    store = current_store() if store is None else store
    return Run(find_run_id(store.index, run_id_or_name), store)


def resume(run_id: str, *, wait_for_input: bool = False) -> Run:
    """Resumes a crashed or waiting run (see :meth:`Run.resume`)."""
    return get_run(run_id).resume(wait_for_input=wait_for_input)


def pending_inputs(run_id: str | None = None) -> list[PendingInput]:
    """The unanswered input requests of waiting runs (of one run, if given)."""
    index = current_store().index
    if run_id is not None:
        return unanswered(index, read_run(index, find_run_id(index, run_id)))
    found: list[PendingInput] = []
    # Through the query index: the cost grows with the runs that wait for
    # an answer, not with the store (the web UI counts them on every page).
    query = RunQuery(
        equal={"status": RunStatus.WAITING.value}, at_least={"pending": 1}, limit=None
    )
    for run_id, record in index.query_runs(query, query_columns).runs:
        try:
            info = RunInfo.from_bytes(record, index.record_location(run_id), run_id)
        except RunError:
            continue  # damaged: list_runs names it
        found.extend(unanswered(index, info))
    return found


def answer(
    run_id: str,
    value: Any,
    *,
    path: tuple[int, ...] | None = None,
    resume: bool = False,
) -> PendingInput:
    """Answers a waiting run's input request; the first answer wins.

    ``value`` goes through :func:`parse_answer`. The run continues in its own
    process if that process waits for answers; otherwise the answer is kept
    for :meth:`Run.resume`.

    Args:
        run_id: The waiting run (id or name).
        value: The answer.
        path: Which request, if the run waits for several.
        resume: If no process waits for the answer in place, resume the run
            here (blocking until it ends again).

    Returns:
        The request that was answered.

    Raises:
        RunNotFound, NoPendingInput: if there is nothing to answer.
        WrongAnswerType: if the value is not of the requested type (the run
            keeps waiting).
        AlreadyAnswered: if another answer was accepted first.
    """
    return answer_request(current_store(), run_id, value, path=path, resume=resume)


def name_ref(name: str, ref: Ref[Any] | None) -> None:
    """Names an object in the current store (a gc root); None removes the name."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"A name must be a non-empty string, got {name!r}.")
    current_store().index.set_name(name, None if ref is None else ref.digest)


def named_refs() -> dict[str, Ref[Any]]:
    """Every named object in the current store."""
    return {name: Ref(key) for name, key in current_store().index.names().items()}
