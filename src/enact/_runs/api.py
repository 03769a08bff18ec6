"""The public API of durable runs: start, list, resume, fork and answer."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from enact._invocations.answerers import offered_answerer
from enact._invocations.exceptions import InvocationError
from enact._invocations.input_requests import InputRequest
from enact._invocations.invokables import InvokableBase
from enact._invocations.journal import Builder, offered_recorder
from enact._invocations.records import Invocation, Request, Response
from enact._runs.answers import parse_answer
from enact._runs.damage import RunList, check_journal, journal_roots, read_runs
from enact._runs.errors import (
    AlreadyAnswered,
    NoPendingInput,
    RunError,
    RunNotFound,
    RunNotResumable,
)
from enact._runs.portability import warn_unimportable
from enact._runs.recorder import Recorder, StepLog, checkpoint, pending_input
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
from enact.contexts import NoActiveContext
from enact.interfaces import NoneResource, ResourceBase
from enact.references import Ref, Store

__all__ = [
    "Run",
    "answer",
    "get_run",
    "list_runs",
    "name_ref",
    "named_refs",
    "pending_inputs",
    "resume",
    "run",
]

_ENDED = (RunStatus.FINISHED, RunStatus.FAILED)


def _store() -> Store:
    store = Store.get_current()
    if store is None:
        raise NoActiveContext(
            "Runs live in a store: call this inside `with enact.FileStore(path):` "
            "(or another store)."
        )
    return store


def _current_index() -> Index:
    return _store().index


def _read(index: Index, run_id: str) -> RunInfo:
    try:
        data = index.get_run(run_id)
    except BackendError:
        data = None
    if data is None:
        raise RunNotFound(f"No run {run_id!r} in {index.location}.", run_id)
    return RunInfo.from_bytes(data, index.record_location(run_id), run_id)


def _update(index: Index, run_id: str, change: Callable[[RunInfo], RunInfo]) -> RunInfo:
    """Applies ``change`` to the run's record atomically (across processes)."""
    result: list[RunInfo] = []

    def update(old: bytes | None) -> bytes:
        if old is None:
            raise RunNotFound(f"No run {run_id!r} in {index.location}.", run_id)
        new = change(RunInfo.from_bytes(old, index.record_location(run_id), run_id))
        result.append(new)
        return new.to_bytes()

    index.update_run(run_id, update)
    return result[0]


def _new_run_id() -> str:
    # Sortable by start time, unique without coordination.
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:8]


def _component_name(component: Any) -> str:
    cls = type(component)
    name = getattr(cls, "type_name", None)
    return str(name()) if callable(name) else f"{cls.__module__}.{cls.__qualname__}"


class Run:
    """A handle on one run in the current store's run index.

    Every method reads the index afresh: another process may have changed it.
    """

    def __init__(self, run_id: str) -> None:
        self.id = run_id

    def __repr__(self) -> str:
        return f"Run({self.id!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Run) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def info(self) -> RunInfo:
        """The run's record, read now.

        Raises:
            RunNotFound: if the run is no longer in the index.
        """
        return _read(_current_index(), self.id)

    @property
    def status(self) -> RunStatus:
        """The run's status now (``crashed`` if its process died running it)."""
        return self.info().status

    def invocation(self) -> Invocation[Any, Any] | None:
        """The top-level :class:`~enact.invocations.Invocation` once the run has
        ended (finished, failed or waiting), else None."""
        info = self.info()
        if info.invocation is None or info.stored_status is RunStatus.RUNNING:
            return None
        result: Invocation[Any, Any] = info.invocation.checkout()
        return result

    def journal(self) -> Invocation[Any, Any]:
        """The run's journal as far as it is durable.

        The final invocation of an ended run; for a running or crashed one, an
        incomplete invocation holding every call that had finished (what
        :meth:`resume` replays).
        """
        store = _store()
        info = _read(store.index, self.id)
        if info.invocation is not None and info.stored_status is not RunStatus.RUNNING:
            result: Invocation[Any, Any] = info.invocation.checkout()
            return result
        return checkpoint(store, info.request, self._log(store))

    def _log(self, store: Store) -> StepLog:
        return StepLog(store.index.read_steps(self.id))

    def timings(self) -> dict[tuple[int, ...], tuple[float, float]]:
        """When each finished call started and ended (epoch seconds), by path.

        Paths are child indices from the top-level call; ``()`` is the run as
        a whole, from its start to its end (including any time it spent
        crashed or waiting for input).
        """
        store = _store()
        info = _read(store.index, self.id)
        timings = dict(self._log(store).timings)
        if info.ended is not None:
            timings[()] = (info.started, info.ended)
        return timings

    def output(self) -> Any:
        """The output of a finished run.

        Raises:
            RunError: if the run has not finished.
        """
        info = self.info()
        if info.stored_status is not RunStatus.FINISHED or info.invocation is None:
            raise RunError(
                f"Run {self.id} has no output: it is {info.status}.", self.id
            )
        invocation: Invocation[Any, Any] = info.invocation.checkout()
        return invocation.get_output()

    def pending(self) -> tuple[PendingInput, ...]:
        """The unanswered input requests the run waits for."""
        store = _store()
        info = _read(store.index, self.id)
        return tuple(_unanswered(store.index, info))

    def resume(self, *, wait_for_input: bool = False, strict: bool = True) -> Run:
        """Continues a crashed or waiting run in this process (same run id).

        Calls that had finished return their recorded results; answered input
        requests return their answers; the rest runs. The parent code of those
        calls runs again, so it must make the same calls given the same
        results (as for any replay).

        Args:
            wait_for_input: As for :func:`run`.
            strict: Whether a call that differs from the record is an error.

        Raises:
            RunNotResumable: if the run is finished, failed, or live elsewhere.
        """
        store = _store()
        index = store.index
        owner = Owner.this_process()

        def take(info: RunInfo) -> RunInfo:
            if info.stored_status in _ENDED:
                raise RunNotResumable(
                    f"Run {self.id} is {info.stored_status}: nothing to resume "
                    "(fork it to run it again).",
                    self.id,
                )
            if info.is_live:
                where = "" if info.owner is None else f" (pid {info.owner.pid})"
                raise RunNotResumable(
                    f"Run {self.id} is {info.stored_status} live in another "
                    f"process{where}; answer its input request instead.",
                    self.id,
                )
            return info.replace(
                stored_status=RunStatus.RUNNING,
                owner=owner,
                live=False,
                ended=None,
                resumed=info.resumed + 1,
            )

        previous = _read(index, self.id)
        take(previous)  # refuses an ended or live run before any decoding
        log = self._log(store)
        ended = previous.invocation is not None and previous.stored_status is not (
            RunStatus.RUNNING
        )
        # Before anything is written: a damaged run stays as it was.
        check_journal(
            store, self.id, journal_roots(previous, None if ended else log), "resume"
        )
        if previous.invocation is not None and previous.stored_status is not (
            RunStatus.RUNNING
        ):
            journal: Invocation[Any, Any] = previous.invocation.checkout()
        else:
            journal = checkpoint(store, previous.request, log)
        # Decoded before the run is taken, so that a type this process does
        # not know leaves the run as it was (not running, then crashed).
        request: Request[Any, Any] = previous.request.checkout()
        component = request.invokable().deep_copy_resource()
        info = _update(index, self.id, take)
        _execute(
            store,
            info,
            component,
            request.input,
            journal,
            log,
            wait_for_input=wait_for_input,
            strict=strict,
        )
        return self

    def fork(
        self,
        num_calls: int = 1,
        *,
        at: tuple[int, ...] | None = None,
        strict: bool = True,
        name: str | None = None,
        tags: Iterable[str] = (),
        wait_for_input: bool = False,
    ) -> Run:
        """A new run branching from this one: its journal rewound, then replayed.

        Calls from the branch point on run afresh (a random component
        resamples); every call before it keeps its recorded result.

        Args:
            num_calls: How many of the last top-level child calls to drop
                (0 replays the whole run).
            at: Instead of ``num_calls``, the path of the first call to run
                afresh (child indices from the top, e.g. ``(2, 0)``); every
                call before it, at every depth, keeps its recorded result.
            strict: Whether a call that differs from the record is an error.
            name: A name for the new run.
            tags: Tags for the new run.
            wait_for_input: As for :func:`run`.

        Returns:
            The new run (``parent`` is this run, ``relation`` ``"fork"``).
        """
        return self._branch(num_calls, at, strict, name, tags, "fork", wait_for_input)

    def replay(
        self,
        *,
        strict: bool = True,
        name: str | None = None,
        tags: Iterable[str] = (),
    ) -> Run:
        """A new run replaying this one in full (``relation`` ``"replay"``)."""
        return self._branch(0, None, strict, name, tags, "replay", False)

    def _branch(
        self,
        num_calls: int,
        at: tuple[int, ...] | None,
        strict: bool,
        name: str | None,
        tags: Iterable[str],
        relation: str,
        wait_for_input: bool,
    ) -> Run:
        store = _store()
        info = _read(store.index, self.id)
        ended = info.invocation is not None and info.stored_status is not (
            RunStatus.RUNNING
        )
        # Before anything is written (the branch itself is committed): a
        # damaged run gives no new run, not even a failed one.
        log = None if ended else self._log(store)
        check_journal(store, self.id, journal_roots(info, log), relation)
        journal = self.journal()
        if at is None:
            if num_calls < 0:
                raise RunError("num_calls must be 0 or more.", self.id)
            made = len(journal.response().children)
            if num_calls > made:
                raise RunError(
                    f"Run {self.id} made {made} top-level "
                    f"{'call' if made == 1 else 'calls'}, so it cannot drop the "
                    f"last {num_calls}: give at most {made} (0 replays it whole).",
                    self.id,
                )
            branch = journal.rewind(num_calls)
        else:
            branch = _truncate(store, journal, tuple(at), self.id)
        request = journal.request()
        component = request.invokable().deep_copy_resource()
        return _start(
            store,
            component,
            request.input,
            name=name,
            tags=tags,
            parent=self.id,
            relation=relation,
            replay_from=branch,
            strict=strict,
            wait_for_input=wait_for_input,
        )

    def answer(
        self, value: Any, path: tuple[int, ...] | None = None, *, resume: bool = False
    ) -> PendingInput:
        """Answers the run's pending input request (see :func:`answer`)."""
        return answer(self.id, value, path=path, resume=resume)

    def set_name(self, name: str | None) -> None:
        """Names the run (unique in the store) or, with None, unnames it.

        Raises:
            RunError: if another run has the name.
        """
        index = _current_index()

        def rename(info: RunInfo) -> RunInfo:
            _check_name_free(index, name, self.id)
            return info.replace(name=name)

        _update(index, self.id, rename)

    def tag(self, *tags: str) -> None:
        """Adds tags to the run."""
        _update(
            _current_index(),
            self.id,
            lambda info: info.replace(tags=tuple(dict.fromkeys((*info.tags, *tags)))),
        )

    def untag(self, *tags: str) -> None:
        """Removes tags from the run."""
        _update(
            _current_index(),
            self.id,
            lambda info: info.replace(
                tags=tuple(t for t in info.tags if t not in tags)
            ),
        )

    def delete(self) -> None:
        """Removes the run from the index (its objects go at the next gc).

        Raises:
            RunError: if the run is live in a process.
        """
        index = _current_index()

        def remove(old: bytes | None) -> None:
            if old is not None and RunInfo.from_bytes(old, index.location).is_live:
                raise RunError(f"Run {self.id} is live; it cannot be deleted.", self.id)
            return None

        index.update_run(self.id, remove)


def _check_name_free(index: Index, name: str | None, run_id: str) -> None:
    """Refuses a run name another run has.

    Called inside an index update, which excludes every other update, so two
    runs cannot take one name at once.
    """
    if name is None:
        return
    if not isinstance(name, str) or not name.strip():
        raise RunError(f"A run name must be a non-empty string, got {name!r}.")
    for other in read_runs(index)[0]:
        if other.id != run_id and other.name == name:
            raise RunError(f"The name {name!r} is taken by run {other.id}.", run_id)


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


def _start(
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
) -> Run:
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
        _check_name_free(index, name, info.id)
        return info.to_bytes()

    index.update_run(info.id, create)
    _execute(
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
    return Run(info.id)


def _execute(
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

    The store is in use (entered) until then: its session, which keeps what
    the run committed but has not recorded yet from garbage collection, lasts
    at least as long as the run, whatever ``with`` blocks exit meanwhile.
    """
    with store:
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
            _update(
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

        _update(index, info.id, end)


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
        value: ResourceBase = Ref(claimed.decode("ascii")).checkout()
        return value

    def _wait(self, path: tuple[int, ...], request: InputRequest, key: str) -> bytes:
        store = self.store
        request_ref = store.commit(request)
        store.flush()
        pending = pending_input(self.run_id, path, request_ref, request)
        _update(
            self.index,
            self.run_id,
            lambda old: old.replace(
                stored_status=RunStatus.WAITING, live=True, pending=(pending,)
            ),
        )
        while True:
            claimed = self.index.get_claim(key)
            if claimed is not None:
                break
            time.sleep(self.poll_interval)
        _update(
            self.index,
            self.run_id,
            lambda old: old.replace(
                stored_status=RunStatus.RUNNING, live=False, pending=()
            ),
        )
        return claimed


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
    waiting for input.

    Args:
        component: The invokable to call.
        arg: Its input: a ref, a resource (or plain value), or None.
        name: A unique name for the run.
        tags: Labels for the run.
        wait_for_input: At an input request, wait in place for an answer from
            any process (polling the index) instead of ending the run as
            ``waiting``.
        poll_interval: Seconds between polls while waiting.

    Returns:
        The run.

    Raises:
        NoActiveContext: if no store is active.
        TypeError: if ``component`` is not an invokable.
        RunError: if the name is taken.
    """
    return _start(
        _store(),
        component,
        arg,
        name=name,
        tags=tags,
        wait_for_input=wait_for_input,
        poll_interval=poll_interval,
    )


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
    infos, damaged = read_runs(_current_index())
    found = RunList(damaged=damaged)
    for info in infos:
        if (
            (wanted is None or info.status is wanted)
            and (component is None or component in info.component)
            and (tag is None or tag in info.tags)
            and (since is None or info.started >= since)
            and (until is None or info.started < until)
            and (parent is None or info.parent == parent)
        ):
            found.append(info)
    found.sort(key=lambda info: (info.started, info.id), reverse=True)
    return found


def get_run(run_id_or_name: str) -> Run:
    """The run with this id or name.

    Raises:
        RunNotFound: if there is none.
    """
    index = _current_index()
    try:
        if index.get_run(run_id_or_name) is not None:
            return Run(run_id_or_name)
    except BackendError:
        pass  # not a valid id: perhaps a name
    for info in read_runs(index)[0]:
        if info.name == run_id_or_name:
            return Run(info.id)
    raise RunNotFound(
        f"No run with id or name {run_id_or_name!r} in {index.location}.",
        run_id_or_name,
    )


def resume(run_id: str, *, wait_for_input: bool = False) -> Run:
    """Resumes a crashed or waiting run (see :meth:`Run.resume`)."""
    return get_run(run_id).resume(wait_for_input=wait_for_input)


def _unanswered(index: Index, info: RunInfo) -> list[PendingInput]:
    if info.stored_status is not RunStatus.WAITING:
        return []
    return [p for p in info.pending if index.get_claim(p.key) is None]


def pending_inputs(run_id: str | None = None) -> list[PendingInput]:
    """The unanswered input requests of waiting runs (of one run, if given)."""
    index = _current_index()
    if run_id is not None:
        return _unanswered(index, _read(index, get_run(run_id).id))
    found: list[PendingInput] = []
    for info in list_runs(status=RunStatus.WAITING):
        found.extend(_unanswered(index, info))
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
    store = _store()
    index = store.index
    handle = get_run(run_id)
    info = _read(index, handle.id)
    pending = [p for p in info.pending if info.stored_status is RunStatus.WAITING]
    if path is not None:
        pending = [p for p in pending if p.path == tuple(path)]
    if not pending:
        where = "" if path is None else f" at {'.'.join(map(str, path))}"
        raise NoPendingInput(
            f"Run {handle.id} has no pending input request{where} (it is "
            f"{info.status}).",
            handle.id,
        )
    if len(pending) > 1:
        paths = ", ".join(".".join(map(str, p.path)) for p in pending)
        raise NoPendingInput(
            f"Run {handle.id} waits for several inputs ({paths}): say which path.",
            handle.id,
        )
    request = pending[0]
    parsed = parse_answer(request, value)
    answer_ref = store.commit(parsed)
    store.flush()  # the answer is stored before anyone can see the claim
    if not index.claim(request.key, answer_ref.digest.encode("ascii")):
        raise AlreadyAnswered(
            f"The input request {request.key} was already answered.", handle.id
        )
    if resume and not info.is_live:
        handle.resume()
    return request


def name_ref(name: str, ref: Ref[Any] | None) -> None:
    """Names an object in the current store (a gc root); None removes the name."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"A name must be a non-empty string, got {name!r}.")
    _current_index().set_name(name, None if ref is None else ref.digest)


def named_refs() -> dict[str, Ref[Any]]:
    """Every named object in the current store."""
    return {name: Ref(key) for name, key in _current_index().names().items()}
