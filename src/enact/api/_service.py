"""What the server does, once, for the API's endpoints and the UI's pages.

The API's routes (:mod:`enact.api._routes` and its neighbours) and the web
UI's pages (:mod:`enact.ui._pages` and its neighbours) read and change the
store through these functions only: finding runs, opening one, its call
tree, the pending input requests, answering, replaying, forking, resuming,
batches and feedback. Each works in the current store (the caller makes the
server's store current), takes and returns the library's objects (runs,
requests, jobs), and raises the library's errors; the API turns results into
its typed models and errors into JSON, the UI into HTML pages.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from enact import batches, evaluations, feedback, runs
from enact.contexts import new_contexts
from enact.invocations import Invocation
from enact.references import Ref, Store
from enact.ui._compare import Comparison, compare
from enact.ui._jobs import Job, Jobs, wait_for_new_run
from enact.ui._live import run_tree
from enact.ui._tree import Node, build_tree

__all__ = [
    "Answered",
    "ChildRun",
    "RunQuery",
    "answer",
    "call_tree",
    "child_runs",
    "compare_runs",
    "count_runs",
    "delete_feedback",
    "components",
    "edit_feedback",
    "find_component",
    "find_runs",
    "fork",
    "fork_with_input",
    "give_feedback",
    "invocation_tree",
    "list_batches",
    "list_evaluations",
    "list_feedback",
    "open_batch",
    "open_evaluation",
    "open_run",
    "pending_requests",
    "read_value",
    "person_source",
    "replay",
    "resume",
    "start_run",
    "waiting_components",
]


# -- runs ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RunQuery:
    """Which runs to list, and in what order (None: any)."""

    status: runs.RunStatus | str | None = None
    component: str | None = None
    tag: str | None = None
    parent: str | None = None
    since: float | None = None
    until: float | None = None
    #: Every word occurs in the run's id, name, tags, component or error.
    search: str | None = None
    #: One of ``enact._runs.listing.SORT_KEYS``.
    order_by: str = "started"
    descending: bool = True

    def filters(self) -> dict[str, Any]:
        """The filters, as ``runs.list_runs`` takes them."""
        return {
            "status": self.status,
            "component": self.component,
            "tag": self.tag,
            "parent": self.parent,
            "since": self.since,
            "until": self.until,
        }


def find_runs(
    store: Store, query: RunQuery, *, limit: int, cursor: str | None = None
) -> runs.RunsPage:
    """A page of the runs ``query`` asks for, from ``cursor`` on.

    Its cost grows with the page, not with the store.

    Raises:
        ValueError: for a cursor this store did not make.
    """
    return runs.page_runs(
        **query.filters(),
        search=query.search,
        order_by=query.order_by,
        descending=query.descending,
        limit=limit,
        cursor=cursor,
        store=store,
    )


def count_runs(query: RunQuery) -> tuple[int, list[runs.DamagedRun]]:
    """How many runs match (every page together), and the records that
    cannot be read (see :func:`enact.runs.count_runs`).

    Counted from the index's table of columns where it keeps one: the cost
    grows with the matching runs, not the store.
    """
    counted = runs.count_runs(**query.filters(), search=query.search)
    return counted.total, counted.damaged


def open_run(store: Store, run_id: str) -> runs.Run:
    """The run with this id, unique id prefix or name.

    Raises:
        RunNotFound: if there is none.
        RunError: if its record cannot be read (it is damaged).
    """
    run = runs.get_run(run_id, store=store)
    run.info()  # a missing or damaged record fails here, not halfway
    return run


def child_runs(run: runs.Run) -> list[runs.RunInfo]:
    """The runs forked or replayed from ``run``."""
    return list(runs.list_runs(parent=run.id))


def call_tree(run: runs.Run) -> Node | None:
    """The run's call tree: its final invocation, else what is durable so far
    (None before its first call is journaled)."""
    return run_tree(run, run.info())


def read_value(digest: str) -> Any:
    """The stored value ``digest`` names, from the current store (read,
    verified and decoded; a plain value unwrapped).

    Raises:
        NotFound: if the store does not hold it.
        CorruptObject: if its stored bytes do not hash to the digest.
    """
    return Ref(digest).checkout()


def invocation_tree(digest: str) -> Node | None:
    """The call tree of the stored invocation ``digest`` names; None if the
    object is no invocation.

    Raises:
        NotFound: if the store does not hold it.
    """
    value = read_value(digest)
    return build_tree(value, digest) if isinstance(value, Invocation) else None


def compare_runs(left: runs.Run, right: runs.Run) -> Comparison:
    """Two runs' journals call by call: kept, differing, where they diverge.

    Raises:
        RunError: if a run has no journal to compare yet.
    """
    return compare(left, right)


def pending_requests(run_id: str | None = None) -> list[runs.PendingInput]:
    """The unanswered input requests of one run, or of every waiting run."""
    return list(runs.pending_inputs(run_id))


def waiting_components() -> dict[str, str]:
    """The component of every waiting run, by run id.

    Through the index's query table, as :func:`pending_requests`: its cost
    grows with the runs that wait, not with the store."""
    waiting = runs.page_runs(status=runs.RunStatus.WAITING, limit=None).runs
    return {info.id: info.component for info in waiting}


# -- work in the background -----------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ChildRun:
    """A run started in the background from another one.

    Attributes:
        job: The background work.
        run_id: The new run's id, once it was seen (None if it had not
            started yet, or failed before it did: see ``job.error``).
    """

    job: Job
    run_id: str | None


def _start_child_run(
    store: Store, jobs: Jobs, run: runs.Run, label: str, work: Callable[[], Any]
) -> ChildRun:
    def known() -> set[str]:
        with new_contexts(), store:
            return {info.id for info in child_runs(run)}

    before = known()
    job = jobs.start(label, run.id, work)
    return ChildRun(job, wait_for_new_run(job, known, before))


def replay(store: Store, jobs: Jobs, run: runs.Run) -> ChildRun:
    """Starts a new run replaying ``run`` from its journal."""
    return _start_child_run(store, jobs, run, "replaying", run.replay)


def fork(
    store: Store,
    jobs: Jobs,
    run: runs.Run,
    *,
    at: tuple[int, ...] | None = None,
    num_calls: int | None = None,
    replace: dict[Any, Any] | None = None,
) -> ChildRun:
    """Starts a fork of ``run``: every call before ``at`` kept (or all but
    the last ``num_calls``; by default all but the last), the rest run
    again, with the components ``replace`` maps swapped."""
    changed = " with changed settings" if replace else ""
    if at is not None:
        label = f"forking at call {'.'.join(map(str, at))}{changed}"

        def work() -> Any:
            return run.fork(at=at, replace=replace)

    else:
        count = 1 if num_calls is None else num_calls
        label = (
            f"forking{changed}"
            if num_calls is None
            else f"forking without the last {count} calls{changed}"
        )

        def work() -> Any:
            return run.fork(count, replace=replace)

    return _start_child_run(store, jobs, run, label, work)


def fork_with_input(
    store: Store,
    jobs: Jobs,
    run: runs.Run,
    value: Any,
    *,
    replace: dict[Any, Any] | None = None,
) -> ChildRun:
    """Starts a rerun of ``run`` on a new input, replaying every call that
    did not change."""
    changed = " with changed settings" if replace else ""
    return _start_child_run(
        store,
        jobs,
        run,
        f"forking with a new input{changed}",
        lambda: run.fork_with_input(value, replace=replace),
    )


def resume(jobs: Jobs, run: runs.Run) -> Job:
    """Continues a crashed or waiting run in the background (the job already
    doing so, if there is one).

    Raises:
        RunNotResumable: if the run is neither crashed nor waiting.
    """
    status = run.status
    if status not in (runs.RunStatus.CRASHED, runs.RunStatus.WAITING):
        raise runs.RunNotResumable(
            f"Run {run.id} is {status.value}: nothing to resume.", run.id
        )
    running = jobs.running(run.id)
    if running is not None:
        return running
    return jobs.start("resuming", run.id, run.resume)


@dataclasses.dataclass(frozen=True)
class Answered:
    """An answer taken.

    Attributes:
        request: The input request it answered.
        job: The background work resuming the run, if this answer started
            it (None: not asked to, a live process took the answer, or the
            run was being resumed already).
    """

    request: runs.PendingInput
    job: Job | None


def answer(
    jobs: Jobs,
    run: runs.Run,
    value: Any,
    *,
    path: tuple[int, ...] | None = None,
    resume: bool = True,
) -> Answered:
    """Answers one of the run's input requests (the first answer wins); with
    ``resume``, then resumes the run in the background, unless a live
    process waits for the answer itself.

    Raises:
        NoPendingInput, AlreadyAnswered: if there is nothing (left) to answer.
        WrongAnswerType: if ``value`` is not of the requested type.
    """
    request = runs.answer(run.id, value, path=path, resume=False)
    job = None
    if resume and not run.info().is_live and jobs.running(run.id) is None:
        job = jobs.start("resuming after an answer", run.id, run.resume)
    return Answered(request, job)


def components() -> list[tuple[str, type[Any]]]:
    """The registered components a run can be started of (those with a
    declared input type), by persistent name, sorted by class name."""
    from enact.ui._forms import components as registered

    return list(registered())


def find_component(name: str) -> type[Any] | None:
    """The registered component of that persistent name, if there is one."""
    return dict(components()).get(name)


def start_run(store: Store, jobs: Jobs, component: Any, value: Any) -> ChildRun:
    """Starts a new run of ``component`` on ``value`` in the background."""
    name = type(component).__qualname__
    since = time.time()

    def known() -> set[str]:
        with new_contexts(), store:
            return {info.id for info in runs.list_runs(component=name, since=since)}

    before = known()
    job = jobs.start(f"running {name}", None, lambda: runs.run(component, value))
    return ChildRun(job, wait_for_new_run(job, known, before))


# -- batches ---------------------------------------------------------------------


def list_batches(store: Store) -> list[batches.BatchInfo]:
    """Every batch of the store, newest first."""
    return list(batches.list_batches(store=store))


def open_batch(store: Store, batch_id: str) -> batches.Batch:
    """The batch with this id or name.

    Raises:
        BatchNotFound: if there is none.
    """
    return batches.get_batch(batch_id, store=store)


# -- feedback --------------------------------------------------------------------


def person_source(name: str | None) -> str | None:
    """Who gives a feedback: a bare name is a person's (``person:ann``)."""
    if name is None:
        return None
    name = name.strip()
    if not name:
        return None
    return name if ":" in name else f"person:{name}"


def list_feedback(
    run: runs.Run | str, path: tuple[int, ...] | None = None
) -> list[feedback.Feedback]:
    """The run's feedback (on one call, with ``path``), deleted ones left out."""
    return list(feedback.list_feedback(run, path))


def give_feedback(
    run: runs.Run,
    path: tuple[int, ...],
    *,
    score: float | None = None,
    label: Any = None,
    comment: str | None = None,
    correction: Any = None,
    source: str | None = None,
) -> feedback.Feedback:
    """Gives feedback on one of the run's calls (``source``: see
    :func:`person_source`).

    Raises:
        FeedbackError: for a bad value; RunError: for no such call.
    """
    return feedback.add(
        run,
        path,
        score=score,
        label=label,
        comment=comment,
        correction=correction,
        source=person_source(source),
    )


def edit_feedback(
    run: runs.Run,
    feedback_id: str,
    changes: dict[str, Any],
    *,
    source: str | None = None,
    expect_revision: int | None = None,
) -> feedback.Feedback:
    """Changes the fields ``changes`` names, as a new revision.

    Raises:
        FeedbackConflict: if it changed since ``expect_revision``.
        FeedbackError: for a bad value or no such feedback.
    """
    return feedback.edit(
        run,
        feedback_id,
        source=person_source(source),
        expect_revision=expect_revision,
        **changes,
    )


def delete_feedback(
    run: runs.Run, feedback_id: str, *, source: str | None = None
) -> feedback.Feedback:
    """Deletes a feedback.

    Raises:
        FeedbackError: if there is no such feedback.
    """
    return feedback.delete(run, feedback_id, source=person_source(source))


# -- evaluations -----------------------------------------------------------------


def list_evaluations(store: Store) -> list[evaluations.Evaluation]:
    """Every evaluation made in the store, newest first."""
    return list(evaluations.list_evaluations(store))


def open_evaluation(store: Store, evaluation_id: str) -> evaluations.Evaluation:
    """One evaluation, by id.

    Raises:
        EvaluationError: if there is none (or its record is damaged).
    """
    return evaluations.get_evaluation(evaluation_id, store)
