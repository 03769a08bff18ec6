"""Continuing a run's journal: resume (same run), forks and replays (new runs).

Each operation reads the run's durable journal (its final invocation, or the
partial one its step log rebuilds), checks every object it reaches before
anything is written, and executes the component again in the run's store,
replaying what the journal keeps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from enact._invocations.records import Invocation, Request, Response
from enact._runs.access import read_run, update_run, within
from enact._runs.damage import check_journal, journal_roots
from enact._runs.errors import RunError, RunNotResumable
from enact._runs.execution import execute, execute_async, start_run
from enact._runs.recorder import StepLog, checkpoint
from enact._runs.records import Owner, RunInfo, RunStatus
from enact._runs.replacing import Replacement
from enact.references import Ref, Store

__all__ = [
    "branch_point",
    "branch_run",
    "branch_with_input",
    "durable_journal",
    "resume_run",
    "resume_run_async",
    "step_log",
    "take_run",
]

_ENDED = (RunStatus.FINISHED, RunStatus.FAILED)


def step_log(store: Store, run_id: str) -> StepLog:
    """The run's step log, read now."""
    return StepLog(store.index.read_steps(run_id))


def _has_ended(info: RunInfo) -> bool:
    """Whether the record holds the run's final (or waiting) invocation."""
    return info.invocation is not None and info.stored_status is not (RunStatus.RUNNING)


def durable_journal(
    store: Store, info: RunInfo, log: StepLog | None = None
) -> Invocation[Any, Any]:
    """The run's journal as far as it is durable (see ``Run.journal``).

    Reads refs: call it with ``store`` current.
    """
    final = info.invocation
    if final is not None and info.stored_status is not RunStatus.RUNNING:
        journal: Invocation[Any, Any] = final.checkout()
        return journal
    return checkpoint(store, info.request, log or step_log(store, info.id))


def resume_run(
    store: Store, run_id: str, *, wait_for_input: bool, strict: bool
) -> None:
    """Continues a crashed or waiting run of ``store`` in this process.

    Raises:
        RunNotResumable: if the run is finished, failed, or live elsewhere.
        RunDamaged: if an object its journal reaches is missing or damaged.
    """
    within(store, lambda: _resume(store, run_id, wait_for_input, strict))


async def resume_run_async(
    store: Store, run_id: str, *, wait_for_input: bool, strict: bool
) -> None:
    """The async :func:`resume_run`: an async run continues on the caller's
    event loop."""
    taken = within(store, lambda: take_run(store, run_id))
    try:
        await execute_async(store, *taken, wait_for_input=wait_for_input, strict=strict)
    finally:
        store.serve_checked({})  # what the replay did not read


def _resume(store: Store, run_id: str, wait_for_input: bool, strict: bool) -> None:
    taken = take_run(store, run_id)
    try:
        execute(store, *taken, wait_for_input=wait_for_input, strict=strict)
    finally:
        store.serve_checked({})  # what the replay did not read


def _replayed_records(log: StepLog) -> frozenset[str]:
    """The records a replay of ``log`` reads: those of the finished calls
    whose callers did not finish (a finished caller replays as a whole)."""
    done = log.done
    return frozenset(
        digest
        for path, digest in done.items()
        if not any(path[:depth] in done for depth in range(len(path)))
    )


def take_run(
    store: Store, run_id: str
) -> tuple[RunInfo, Any, Any, Invocation[Any, Any], StepLog]:
    """Takes a crashed or waiting run over for this process, to execute it.

    Reads refs: call it with ``store`` current.

    Returns:
        What :func:`~enact._runs.execution.execute` takes after the store: the
        run's new record, its component, its input, the journal to replay and
        the step log.

    Raises:
        RunNotResumable: if the run is finished, failed, or live elsewhere.
        RunDamaged: if an object its journal reaches is missing or damaged.
    """
    index = store.index
    owner = Owner.this_process()

    def take(info: RunInfo) -> RunInfo:
        if info.stored_status in _ENDED:
            raise RunNotResumable(
                f"Run {run_id} is {info.stored_status}: nothing to resume "
                "(fork it to run it again).",
                run_id,
            )
        if info.is_live:
            where = "" if info.owner is None else f" (pid {info.owner.pid})"
            raise RunNotResumable(
                f"Run {run_id} is {info.stored_status} live in another "
                f"process{where}; answer its input request instead.",
                run_id,
            )
        return info.replace(
            stored_status=RunStatus.RUNNING,
            owner=owner,
            live=False,
            ended=None,
            resumed=info.resumed + 1,
        )

    previous = read_run(index, run_id)
    take(previous)  # refuses an ended or live run before any decoding
    log = step_log(store, run_id)
    ended = _has_ended(previous)
    # Before anything is written: a damaged run stays as it was.
    kept = check_journal(
        store,
        run_id,
        journal_roots(previous, None if ended else log),
        "resume",
        keep=frozenset() if ended else _replayed_records(log),
    )
    # The replay reads the finished calls' records the check has just read.
    store.serve_checked(kept)
    journal = durable_journal(store, previous, log)
    # Decoded before the run is taken, so that a type this process does
    # not know leaves the run as it was (not running, then crashed).
    request: Request[Any, Any] = previous.request.checkout()
    component = request.invokable().deep_copy_resource()
    info = update_run(index, run_id, take)
    return info, component, request.input, journal, log


def branch_run(
    store: Store,
    run_id: str,
    num_calls: int,
    at: tuple[int, ...] | None,
    *,
    strict: bool,
    name: str | None,
    tags: Iterable[str],
    relation: str,
    wait_for_input: bool,
    replace: Mapping[Any, Any] | None = None,
) -> str:
    """Starts a new run in ``store`` from the journal of run ``run_id``,
    rewound by ``num_calls`` top-level calls or cut at the path ``at``, with
    the components of ``replace`` in place of the recorded ones.

    Returns:
        The new run's id.

    Raises:
        RunError: for a branch point the run does not have.
        RunDamaged: if an object its journal reaches is missing or damaged.
    """
    return within(
        store,
        lambda: _branch(
            store,
            run_id,
            num_calls,
            at,
            strict,
            name,
            tags,
            relation,
            wait_for_input,
            Replacement(replace or {}),
        ),
    )


def _branch(
    store: Store,
    run_id: str,
    num_calls: int,
    at: tuple[int, ...] | None,
    strict: bool,
    name: str | None,
    tags: Iterable[str],
    relation: str,
    wait_for_input: bool,
    replacement: Replacement,
) -> str:
    info = read_run(store.index, run_id)
    # Before anything is written (the branch itself is committed): a
    # damaged run gives no new run, not even a failed one.
    log = None if _has_ended(info) else step_log(store, run_id)
    check_journal(store, run_id, journal_roots(info, log), relation)
    journal = durable_journal(store, info, log)
    branch = _cut(store, journal, run_id, num_calls, at)
    request = journal.request()
    component = request.invokable().deep_copy_resource()
    if replacement:
        component = replacement.apply(component)
        replacement.check_used(run_id)
        branch = replacement.journal(store, branch)
    return start_run(
        store,
        component,
        request.input,
        name=name,
        tags=tags,
        parent=run_id,
        relation=relation,
        replay_from=branch,
        strict=strict,
        wait_for_input=wait_for_input,
    )


def branch_with_input(
    store: Store,
    run_id: str,
    arg: Any,
    *,
    name: str | None,
    tags: Iterable[str],
    wait_for_input: bool,
    replace: Mapping[Any, Any] | None = None,
) -> str:
    """Starts a fork of run ``run_id`` whose top-level call takes ``arg``.

    The component runs again on the new input, and every call it makes that
    the run made too (the same component and input, at the same place in the
    tree, in any order among its siblings) keeps its recorded result, with
    its whole subtree; the other calls run afresh. So an input that changes
    only what one step sees reruns that step and what depends on it. With
    ``replace``, the calls of a replaced component run afresh too.

    Returns:
        The new run's id.

    Raises:
        TypeError: if ``arg`` is not of the component's input type.
        RunError: if a replaced component is not in the run.
        RunDamaged: if an object its journal reaches is missing or damaged.
    """
    return within(
        store,
        lambda: _with_input(
            store, run_id, arg, name, tags, wait_for_input, Replacement(replace or {})
        ),
    )


def _with_input(
    store: Store,
    run_id: str,
    arg: Any,
    name: str | None,
    tags: Iterable[str],
    wait_for_input: bool,
    replacement: Replacement,
) -> str:
    info = read_run(store.index, run_id)
    log = None if _has_ended(info) else step_log(store, run_id)
    check_journal(store, run_id, journal_roots(info, log), "fork")
    journal = durable_journal(store, info, log)
    component = journal.request().invokable().deep_copy_resource()
    if replacement:
        # The records keep the old components (unlike a fork at a point):
        # a call of a replaced component matches none of them and runs.
        component = replacement.apply(component)
        replacement.check_used(run_id)
    wanted = component.get_input_type()
    value = arg() if isinstance(arg, Ref) else arg
    if wanted is not None and not isinstance(value, wanted):
        raise TypeError(
            f"The component of run {run_id} takes a {wanted.__qualname__}, "
            f"not a {type(value).__qualname__}."
        )
    new_input = arg if isinstance(arg, Ref) else store.commit(arg)
    # The top-level record, asked with the new input and without its outcome:
    # the top call runs again and offers its recorded children to the calls
    # it makes. Not strict: a call that no record matches runs afresh.
    response = journal.response()
    top: Response[Any, Any] = Response(
        response.invokable, None, None, False, list(response.children)
    )
    request: Request[Any, Any] = Request(store.commit(component), new_input)
    branch = Invocation(store.commit(request), store.commit(top))
    return start_run(
        store,
        component,
        new_input,
        name=name,
        tags=tags,
        parent=run_id,
        relation="fork",
        replay_from=branch,
        strict=False,
        wait_for_input=wait_for_input,
    )


def branch_point(
    store: Store,
    run_id: str,
    num_calls: int,
    at: tuple[int, ...] | None,
    replace: Mapping[Any, Any] | None = None,
) -> tuple[Any, Ref[Any], Invocation[Any, Any]]:
    """What a branch of run ``run_id`` starts from: its component, its input
    and the journal to replay (rewound by ``num_calls`` top-level calls, or
    cut at the path ``at``), each object the journal reaches checked first,
    with the components of ``replace`` in place of the recorded ones.

    Reads refs: call it with ``store`` current.

    Raises:
        RunError: for a branch point the run does not have, or a replaced
            component the run does not hold.
        TypeError: if ``replace`` maps something that is not an invokable.
        RunDamaged: if an object its journal reaches is missing or damaged.
    """
    replacement = Replacement(replace or {})
    info = read_run(store.index, run_id)
    log = None if _has_ended(info) else step_log(store, run_id)
    check_journal(store, run_id, journal_roots(info, log), "fork")
    journal = durable_journal(store, info, log)
    branch = _cut(store, journal, run_id, num_calls, at)
    request = journal.request()
    component = request.invokable().deep_copy_resource()
    if replacement:
        component = replacement.apply(component)
        replacement.check_used(run_id)
        branch = replacement.journal(store, branch)
    return component, request.input, branch


def _cut(
    store: Store,
    journal: Invocation[Any, Any],
    run_id: str,
    num_calls: int,
    at: tuple[int, ...] | None,
) -> Invocation[Any, Any]:
    if at is not None:
        return _truncate(store, journal, tuple(at), run_id)
    if num_calls < 0:
        raise RunError("num_calls must be 0 or more.", run_id)
    made = len(journal.response().children)
    if num_calls > made:
        raise RunError(
            f"Run {run_id} made {made} top-level "
            f"{'call' if made == 1 else 'calls'}, so it cannot drop the "
            f"last {num_calls}: give at most {made} (0 replays it whole).",
            run_id,
        )
    return journal.rewind(num_calls)


def _truncate(
    store: Store,
    journal: Invocation[Any, Any],
    at: tuple[int, ...],
    run_id: str,
    above: tuple[int, ...] = (),
) -> Invocation[Any, Any]:
    """The journal with the call at path ``at`` and everything after it dropped.

    ``above`` is the path of ``journal`` itself, for messages.
    """
    if not at or any(type(i) is not int or i < 0 for i in at):
        raise RunError(
            f"A branch path is one or more child indices, got {at!r}.", run_id
        )
    response = journal.response()
    children = response.children
    index = at[0]
    here = ".".join(map(str, (*above, index)))
    # A branch may start just after the last call (to add a call), but a
    # deeper path must go through a call that exists.
    if index > len(children) or (len(at) > 1 and index == len(children)):
        raise RunError(
            f"Run {run_id} has no call at {here}: "
            f"{'.'.join(map(str, above)) or 'the top-level call'} has "
            f"{len(children)} child calls.",
            run_id,
        )
    kept = list(children[:index])
    if len(at) > 1:
        inner = _truncate(store, children[index](), at[1:], run_id, (*above, index))
        kept.append(store.commit(inner))
    rewound: Response[Any, Any] = Response(response.invokable, None, None, False, kept)
    return Invocation(journal.request, store.commit(rewound))
