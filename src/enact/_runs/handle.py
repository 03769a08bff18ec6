"""The :class:`Run` handle: one run of one store, read and changed through it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from enact._invocations.records import Invocation
from enact._runs.access import (
    check_name_free,
    current_store,
    read_run,
    unanswered,
    update_run,
    within,
)
from enact._runs.answering import answer_request
from enact._runs.branches import (
    branch_run,
    branch_with_input,
    durable_journal,
    resume_run,
    resume_run_async,
    step_log,
)
from enact._runs.errors import RunError
from enact._runs.recorder import StepLog
from enact._runs.records import PendingInput, RunInfo, RunStatus
from enact.backends.memory import MemoryObjects
from enact.references import Store

__all__ = ["Run", "fork_batch_starter"]

#: Starts a batch of forks for ``Run.fork(n=...)``: installed by the batches
#: layer above this one when it is imported (``import enact`` imports it).
fork_batch_starter: Callable[..., Any] | None = None


class Run:
    """A handle on one run in a store's run index.

    The handle keeps the store it was made in (the current store then, or
    ``store``), and every method works in that store, whichever store is
    current where it is called, and in any thread: reading the record and the
    journal, answering, resuming and forking (whose calls are journaled in
    the run's store). Every method reads the index afresh: another process
    may have changed it.

    Args:
        run_id: The run's id.
        store: The store the run is in; the current store if None.

    Raises:
        NoActiveContext: if ``store`` is None and no store is current.
    """

    def __init__(self, run_id: str, store: Store | None = None) -> None:
        self.id = run_id
        self._store = current_store() if store is None else store

    @property
    def store(self) -> Store:
        """The store the run is in."""
        return self._store

    def __repr__(self) -> str:
        return f"Run({self.id!r}, store={self._store.location!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Run)
            and other.id == self.id
            and _same_store(other._store, self._store)
        )

    def __hash__(self) -> int:
        return hash(self.id)

    def info(self) -> RunInfo:
        """The run's record, read now.

        Raises:
            RunNotFound: if the run is no longer in the index.
        """
        return read_run(self._store.index, self.id)

    @property
    def status(self) -> RunStatus:
        """The run's status now (``crashed`` if its process died running it)."""
        return self.info().status

    @property
    def batch_id(self) -> str | None:
        """The id of the batch this run is a sample of (None if it is not)."""
        return self.info().batch

    @property
    def sample_index(self) -> int | None:
        """The run's index in its batch, from 0 (None if it is not a sample)."""
        return self.info().sample

    def invocation(self) -> Invocation[Any, Any] | None:
        """The top-level :class:`~enact.invocations.Invocation` once the run has
        ended (finished, failed or waiting), else None."""
        info = self.info()
        final = info.invocation
        if final is None or info.stored_status is RunStatus.RUNNING:
            return None
        result: Invocation[Any, Any] = within(self._store, final.checkout)
        return result

    def journal(self) -> Invocation[Any, Any]:
        """The run's journal as far as it is durable.

        The final invocation of an ended run; for a running or crashed one, an
        incomplete invocation holding every call that had finished (what
        :meth:`resume` replays).
        """
        store = self._store
        info = read_run(store.index, self.id)
        return within(store, lambda: durable_journal(store, info))

    def _log(self) -> StepLog:
        return step_log(self._store, self.id)

    def timings(self) -> dict[tuple[int, ...], tuple[float, float]]:
        """When each finished call started and ended (epoch seconds), by path.

        Paths are child indices from the top-level call; ``()`` is the run as
        a whole, from its start to its end (including any time it spent
        crashed or waiting for input).
        """
        info = self.info()
        timings = dict(self._log().timings)
        if info.ended is not None:
            timings[()] = (info.started, info.ended)
        return timings

    def output(self) -> Any:
        """The output of a finished run.

        Raises:
            RunError: if the run has not finished.
        """
        info = self.info()
        final = info.invocation
        if info.stored_status is not RunStatus.FINISHED or final is None:
            raise RunError(
                f"Run {self.id} has no output: it is {info.status}.", self.id
            )
        return within(self._store, lambda: final.checkout().get_output())

    def pending(self) -> tuple[PendingInput, ...]:
        """The unanswered input requests the run waits for."""
        index = self._store.index
        return tuple(unanswered(index, read_run(index, self.id)))

    def resume(self, *, wait_for_input: bool = False, strict: bool = True) -> Run:
        """Continues a crashed or waiting run in this process (same run id).

        Calls that had finished return their recorded results; answered input
        requests return their answers; the rest runs, journaled in the run's
        store. The parent code of those calls runs again, so it must make the
        same calls given the same results (as for any replay).

        Args:
            wait_for_input: As for :func:`~enact.runs.run`.
            strict: Whether a call that differs from the record is an error.

        Returns:
            This handle.

        Raises:
            RunNotResumable: if the run is finished, failed, or live elsewhere.
            RunDamaged: if an object its journal reaches is missing or damaged.
        """
        resume_run(self._store, self.id, wait_for_input=wait_for_input, strict=strict)
        return self

    async def resume_async(
        self, *, wait_for_input: bool = False, strict: bool = True
    ) -> Run:
        """The async :meth:`resume`: an async run continues on the caller's
        event loop (a sync one in a worker thread).

        Args, Returns and Raises: as for :meth:`resume`.
        """
        await resume_run_async(
            self._store, self.id, wait_for_input=wait_for_input, strict=strict
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
        replace: Mapping[Any, Any] | None = None,
        n: int | None = None,
        executor: Any = None,
        concurrency: int | None = None,
        limits: Mapping[Any, int] | None = None,
    ) -> Any:
        """A new run branching from this one: its journal rewound, then replayed.

        Calls from the branch point on run afresh (a random component
        resamples); every call before it keeps its recorded result. The new
        run is in this run's store. With ``n``, ``n`` branches from the same
        point grow at once, as a batch (see :func:`enact.sample`).

        Args:
            num_calls: How many of the last top-level child calls to drop
                (0 replays the whole run).
            at: Instead of ``num_calls``, the path of the first call to run
                afresh (child indices from the top, e.g. ``(2, 0)``); every
                call before it, at every depth, keeps its recorded result.
            strict: Whether a call that differs from the record is an error.
            name: A name for the new run.
            tags: Tags for the new run.
            wait_for_input: As for :func:`~enact.runs.run`.
            replace: ``{old: new}`` components: the fork runs with ``new``
                wherever the run's component held ``old`` (equal by
                content, at any depth of its fields), e.g. another model or
                temperature, or a person (``enact.llm.HumanChat``) in place
                of a model. Calls before the branch point keep their
                recorded results.
            n: Grow this many branches as a :class:`~enact.batches.Batch`
                (running when it is returned; ``name`` and ``tags`` are the
                batch's) instead of one run.
            executor: With ``n``: where the branches run (as for
                :func:`enact.sample`).
            concurrency: With ``n``: the most branches running at once.
            limits: With ``n``: the most calls at once of a component, by
                its class (as for :func:`enact.sample`).

        Returns:
            The new run (``parent`` is this run, ``relation`` ``"fork"``), or
            with ``n`` the batch of branches (each such a run).

        Raises:
            RunError: for a branch point the run does not have, or a
                replaced component the run does not hold.
            TypeError: if ``replace`` maps something that is not an
                invokable.
            RunDamaged: if an object its journal reaches is missing or damaged.
        """
        if n is None and limits:
            raise RunError(
                "fork(limits=...) limits the calls of a batch of branches: "
                "give n= too.",
                self.id,
            )
        if n is not None:
            if fork_batch_starter is None:  # pragma: no cover - enact imports it
                raise RunError("Batches are not loaded: import enact.batches.")
            return fork_batch_starter(
                self,
                num_calls,
                at,
                n,
                name=name,
                tags=tags,
                executor=executor,
                concurrency=concurrency,
                replace=replace,
                limits=limits,
            )
        return self._branch(
            num_calls, at, strict, name, tags, "fork", wait_for_input, replace
        )

    def fork_with_input(
        self,
        value: Any,
        *,
        name: str | None = None,
        tags: Iterable[str] = (),
        wait_for_input: bool = False,
        replace: Mapping[Any, Any] | None = None,
    ) -> Run:
        """A new run of this run's component on another input, replaying
        what does not change.

        Every call the new run makes that this run made too (the same
        component and input, at the same place in the tree) keeps its
        recorded result, subtree and all; the others run afresh. So an edit
        that changes what only one step sees reruns that step and what
        depends on it, and the rest is not paid for (or resampled) again.

        Args:
            value: The new input: a resource of the component's input type
                (or a ref to one).
            name: A name for the new run.
            tags: Tags for the new run.
            wait_for_input: As for :func:`~enact.runs.run`.
            replace: ``{old: new}`` components, as for :meth:`fork`; calls
                that hold a replaced component run afresh.

        Returns:
            The new run (``parent`` is this run, ``relation`` ``"fork"``).

        Raises:
            TypeError: if ``value`` is not of the component's input type.
            RunError: for a replaced component the run does not hold.
            RunDamaged: if an object its journal reaches is missing or damaged.
        """
        new_id = branch_with_input(
            self._store,
            self.id,
            value,
            name=name,
            tags=tags,
            wait_for_input=wait_for_input,
            replace=replace,
        )
        return Run(new_id, self._store)

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
        replace: Mapping[Any, Any] | None = None,
    ) -> Run:
        new_id = branch_run(
            self._store,
            self.id,
            num_calls,
            at,
            strict=strict,
            name=name,
            tags=tags,
            relation=relation,
            wait_for_input=wait_for_input,
            replace=replace,
        )
        return Run(new_id, self._store)

    def answer(
        self, value: Any, path: tuple[int, ...] | None = None, *, resume: bool = False
    ) -> PendingInput:
        """Answers the run's pending input request (see
        :func:`~enact.runs.answer`), in the run's store."""
        return answer_request(self._store, self.id, value, path=path, resume=resume)

    def set_name(self, name: str | None) -> None:
        """Names the run (unique in the store) or, with None, unnames it.

        Raises:
            RunError: if another run has the name.
        """
        index = self._store.index

        def rename(info: RunInfo) -> RunInfo:
            check_name_free(index, name, self.id)
            return info.replace(name=name)

        update_run(index, self.id, rename)

    def tag(self, *tags: str) -> None:
        """Adds tags to the run."""
        update_run(
            self._store.index,
            self.id,
            lambda info: info.replace(tags=tuple(dict.fromkeys((*info.tags, *tags)))),
        )

    def untag(self, *tags: str) -> None:
        """Removes tags from the run."""
        update_run(
            self._store.index,
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
        index = self._store.index

        def remove(old: bytes | None) -> None:
            if old is not None and RunInfo.from_bytes(old, index.location).is_live:
                raise RunError(f"Run {self.id} is live; it cannot be deleted.", self.id)
            return None

        index.update_run(self.id, remove)


def _same_store(one: Store, other: Store) -> bool:
    """Whether two store objects are one store: the same files or database,
    or the same objects in memory (every memory store has one location)."""
    if one is other or one.backend is other.backend:
        return True
    return one.location == other.location and not isinstance(one.backend, MemoryObjects)
