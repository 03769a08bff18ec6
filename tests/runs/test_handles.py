"""Run handles keep their store: made under one store, used under another."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import enact
from enact import runs
from enact.contexts import NoActiveContext, with_new_contexts
from enact.runs import RunStatus
from runs.flows import CURRENT_STORES, AskPoint, Interrupt, Pipeline, StoreProbe

#: Where a handle is used: under another store, or under none.
Elsewhere = Callable[[], contextlib.AbstractContextManager[Any]]


@pytest.fixture(params=["another store", "no store"])
def elsewhere(request: pytest.FixtureRequest) -> Iterator[Elsewhere]:
    """Enters another (empty) store, or hides every store; checks the other
    store is still empty at the end."""
    other = enact.InMemoryStore()
    if request.param == "another store":
        yield lambda: other
    else:
        yield enact.Store.top_level
    assert list(other.iter_refs()) == []
    assert other.index.list_runs() == []


@pytest.fixture(autouse=True)
def _no_probes() -> Iterator[None]:
    CURRENT_STORES.clear()
    yield
    CURRENT_STORES.clear()


def started(store: enact.Store, component: Any, arg: Any = None) -> runs.Run:
    """A run of ``component`` started (and ended) with ``store`` current."""
    with store:
        return enact.run(component, arg)


def test_every_method_reads_and_writes_the_handles_store(
    store: enact.Store, elsewhere: Elsewhere, calls: collections.Counter[str]
) -> None:
    finished = started(store, Pipeline(stages=2, width=2), enact.Int(0))
    waiting = started(store, AskPoint())
    with elsewhere():
        assert finished.store is store and waiting.store is store
        assert finished.status is RunStatus.FINISHED
        assert finished.info().id == finished.id
        assert finished.output() == sum(2 * i for i in range(4))
        invocation = finished.invocation()
        assert invocation is not None
        assert finished.journal() == invocation
        assert set(finished.timings()) >= {(), (0,), (1,), (0, 0)}
        finished.set_name("kept")
        finished.tag("a", "b")
        finished.untag("a")
        assert (finished.info().name, finished.info().tags) == ("kept", ("b",))

        (point,) = waiting.pending()
        assert point.path == (0,)
        waiting.answer({"x": 1, "y": 2})
        waiting.resume()  # waits again, for the scale
        assert [p.path for p in waiting.pending()] == [(1,)]
        waiting.answer("3", resume=True)
        assert waiting.status is RunStatus.FINISHED and waiting.output() == 9

        fork = finished.fork(1, name="fork")
        replay = finished.replay()
        assert fork.store is store and replay.store is store
        assert fork.output() == finished.output() == replay.output()
        assert fork.info().parent == finished.id
        assert replay.info().relation == "replay"
        replay.delete()

    with store:  # every change went to the handle's store
        assert runs.get_run("kept") == finished
        assert runs.get_run("fork") == fork
        assert runs.get_run(waiting.id).output() == 9
        assert {info.id for info in runs.list_runs()} == {
            finished.id,
            waiting.id,
            fork.id,
        }


def test_a_resume_journals_into_the_handles_store(
    store: enact.Store, elsewhere: Elsewhere, calls: collections.Counter[str]
) -> None:
    with store, pytest.raises(Interrupt):
        enact.run(StoreProbe(crash_at=2), enact.Int(4))
    with store:
        (info,) = runs.list_runs()
        run = runs.get_run(info.id)
    assert run.status is RunStatus.CRASHED
    CURRENT_STORES.clear()
    with elsewhere():
        run.resume()
    assert run.status is RunStatus.FINISHED
    assert run.output() == 1 + 2 + 3 + 4
    # The calls that ran again (from the one that was cut off) saw the run's
    # store as the current one, and their records are in it.
    assert CURRENT_STORES == [store, store]
    with store:
        assert [c.get_output() for c in run.journal().get_children()] == [1, 2, 3, 4]


def test_a_fork_journals_into_the_handles_store(
    store: enact.Store, elsewhere: Elsewhere
) -> None:
    run = started(store, StoreProbe(), enact.Int(3))
    CURRENT_STORES.clear()
    with elsewhere():
        fork = run.fork(at=(1,))
    assert CURRENT_STORES == [store, store]  # calls 1 and 2 ran again
    info = fork.info()
    assert info.status is RunStatus.FINISHED and info.parent == run.id
    assert info.invocation is not None and store.has(info.invocation)
    assert fork.output() == 6


def test_a_handle_works_with_no_store_current(store: enact.Store) -> None:
    run = started(store, Pipeline(stages=1, width=2), enact.Int(1))
    assert enact.Store.get_current() is None
    assert run.output() == 2 * (1 + 2)
    assert run.replay().output() == run.output()
    assert enact.Store.get_current() is None  # nothing stays entered
    found = runs.get_run(run.id, store=store)
    assert found == run and found.store is store
    with pytest.raises(NoActiveContext):
        runs.Run(run.id)  # no store to keep
    with pytest.raises(NoActiveContext):
        runs.get_run(run.id)


def test_the_repr_names_the_store(store: enact.Store) -> None:
    run = started(store, Pipeline(stages=1, width=1), enact.Int(0))
    assert repr(run) == f"Run({run.id!r}, store={store.location!r})"


def test_handles_of_one_run_in_two_stores_differ(
    store: enact.Store, reopen_store: Callable[[], enact.Store]
) -> None:
    run = started(store, Pipeline(stages=1, width=1), enact.Int(0))
    assert runs.Run(run.id, store) == run
    assert runs.Run(run.id, reopen_store()) == run  # the same files or objects
    assert runs.Run(run.id, enact.InMemoryStore()) != run


def test_a_handle_works_in_other_threads(store: enact.Store) -> None:
    run = started(store, StoreProbe(), enact.Int(2))
    results: dict[str, Any] = {}
    errors: list[BaseException] = []

    def use(label: str) -> None:
        try:
            results[label] = (run.output(), run.fork(at=(1,)).output())
        except BaseException as error:  # reported below
            errors.append(error)

    @with_new_contexts
    def under_another_store() -> None:
        with enact.InMemoryStore():
            use("another store")

    threads = [
        # A plain thread: its contexts were never set up.
        threading.Thread(target=use, args=("plain",)),
        threading.Thread(target=under_another_store),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive()
    assert errors == []
    assert results == {"plain": (3, 3), "another store": (3, 3)}
    assert CURRENT_STORES[2:] == [store, store]  # each fork ran call 1 again
    with store:
        assert len(runs.list_runs(parent=run.id)) == 2


def test_a_handle_works_in_asyncio_tasks_under_another_store(
    store: enact.Store,
) -> None:
    run = started(store, StoreProbe(), enact.Int(2))

    async def main() -> tuple[int, int]:
        with enact.InMemoryStore() as other:
            output = run.output()
            fork = await asyncio.to_thread(run.fork, at=(0,))
            assert list(other.iter_refs()) == []
            return int(output), int(fork.output())

    assert asyncio.run(main()) == (3, 3)
    assert fork_parents(store) == [run.id]


def fork_parents(store: enact.Store) -> list[str | None]:
    with store:
        return [info.parent for info in runs.list_runs() if info.parent]
