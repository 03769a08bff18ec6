"""Reaching a run's store: which store, its records, and running work in it.

Every operation on a run takes the store explicitly. The public functions of
:mod:`enact.runs` resolve the current store once (:func:`current_store`); a
:class:`~enact._runs.handle.Run` keeps the store it was made in. Work that
checks objects out or runs user code does so in that store (:func:`within`),
whatever store is current in the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from enact._runs.damage import read_runs
from enact._runs.errors import RunError, RunNotFound
from enact._runs.records import PendingInput, RunInfo, RunStatus
from enact.backends.base import BackendError
from enact.backends.index import Index
from enact.contexts import UNSET, NoActiveContext, variable, with_new_contexts
from enact.references import Store

__all__ = [
    "check_name_free",
    "current_store",
    "find_run_id",
    "read_run",
    "unanswered",
    "update_run",
    "within",
]

T = TypeVar("T")


def current_store() -> Store:
    """The current store, which runs live in.

    Raises:
        NoActiveContext: if no store is current.
    """
    store = Store.get_current()
    if store is None:
        raise NoActiveContext(
            "Runs live in a store: call this inside `with enact.FileStore(path):` "
            "(or another store)."
        )
    return store


def within(store: Store, work: Callable[[], T]) -> T:
    """Calls ``work`` with ``store`` current (entered) until it returns.

    Refs read while it runs are read from ``store``, and journaled calls
    commit to it. In a thread whose contexts were never set up (a plain
    :class:`threading.Thread`), ``work`` starts from no current context of
    any kind, as :func:`~enact.contexts.with_new_contexts` gives it.
    """
    if variable(Store).get() is UNSET:
        return with_new_contexts(_entered)(store, work)
    return _entered(store, work)


def _entered(store: Store, work: Callable[[], T]) -> T:
    with store:
        return work()


def read_run(index: Index, run_id: str) -> RunInfo:
    """The run's record, read now.

    Raises:
        RunNotFound: if the index holds no run ``run_id``.
    """
    try:
        data = index.get_run(run_id)
    except BackendError:
        data = None
    if data is None:
        raise RunNotFound(f"No run {run_id!r} in {index.location}.", run_id)
    return RunInfo.from_bytes(data, index.record_location(run_id), run_id)


def update_run(
    index: Index, run_id: str, change: Callable[[RunInfo], RunInfo]
) -> RunInfo:
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


def find_run_id(index: Index, run_id_or_name: str) -> str:
    """The id of the run with this id or name.

    Raises:
        RunNotFound: if there is none.
    """
    try:
        if index.get_run(run_id_or_name) is not None:
            return run_id_or_name
    except BackendError:
        pass  # not a valid id: perhaps a name
    for info in read_runs(index)[0]:
        if info.name == run_id_or_name:
            return info.id
    raise RunNotFound(
        f"No run with id or name {run_id_or_name!r} in {index.location}.",
        run_id_or_name,
    )


def check_name_free(index: Index, name: str | None, run_id: str) -> None:
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


def unanswered(index: Index, info: RunInfo) -> list[PendingInput]:
    """The input requests of a waiting run that nobody has answered yet."""
    if info.stored_status is not RunStatus.WAITING:
        return []
    return [p for p in info.pending if index.get_claim(p.key) is None]
