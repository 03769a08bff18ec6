"""Batches: many durable runs of one component, on every executor and store."""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import os
import signal
import threading
from collections.abc import Callable
from typing import Any

import pytest

import enact
from batches import flows
from batches.flows import AsyncNoise, Die, Gated, Noise, Picky, Steps, Throws, echo
from enact import batches, runs

Counts = Callable[[], collections.Counter[str]]


def test_thirty_samples_of_one_input_are_thirty_runs(
    store: enact.Store, side_log: Counts
) -> None:
    with store:
        batch = enact.sample(Noise(), [enact.Int(5)], n=30).wait()
        sample_runs = batch.runs()
        assert len(sample_runs) == 30
        assert len({run.id for run in sample_runs}) == 30
        journals = {run.info().invocation for run in sample_runs}
        assert len(journals) == 30  # 30 journals: no result served twice
        outputs = [float(value) for value in batch.outputs()]
        assert len(set(outputs)) == 30
        assert all(5 <= value < 6 for value in outputs)
        assert [run.sample_index for run in sample_runs] == list(range(30))
        assert {run.batch_id for run in sample_runs} == {batch.id}
    assert sum(side_log().values()) == 30  # each sample drew once


EXECUTORS = ["asyncio", "threads", "processes", "thread pool", "process pool"]


@pytest.mark.parametrize("executor", EXECUTORS)
def test_every_executor_on_file_and_sqlite_stores(
    shared_store: enact.Store, executor: str, side_log: Counts
) -> None:
    given: Any = executor
    if executor == "thread pool":
        given = concurrent.futures.ThreadPoolExecutor(3)
    elif executor == "process pool":
        given = concurrent.futures.ProcessPoolExecutor(2)
    component = AsyncNoise() if executor == "asyncio" else Noise()
    inputs = [enact.Int(i * 10) for i in range(4)]
    with shared_store:
        batch = enact.sample(
            component, inputs, n=3, executor=given, name=f"on {executor}", tags=["t"]
        )
        batch.wait(timeout=120)
        info = batch.info()
        assert info.counts == {"finished": 12}
        assert info.status is batches.BatchStatus.FINISHED
        assert info.ended is not None and info.ended >= info.started
        outputs = [float(value) for value in batch.outputs()]
        # Sample i takes input i // n.
        assert [int(value) // 10 for value in outputs] == [i // 3 for i in range(12)]
        assert len(set(outputs)) == 12
        assert all("t" in run.info().tags for run in batch.runs())
    if isinstance(given, concurrent.futures.Executor):
        given.shutdown()
    draws = 24 if executor == "asyncio" else 12
    assert sum(side_log().values()) == draws


def test_a_registered_async_function_is_sampled(store: enact.Store) -> None:
    with store:
        batch = enact.sample(echo, [1, 2, 3], n=2).wait()
        assert batch.outputs() == [1, 1, 2, 2, 3, 3]


def test_a_failing_sample_is_a_failed_run_and_the_batch_goes_on(
    store: enact.Store,
) -> None:
    with store:
        batch = enact.sample(Picky(), [enact.Int(i) for i in range(6)]).wait()
        info = batch.info()
        assert info.counts == {"finished": 3, "failed": 3}
        assert info.status is batches.BatchStatus.FAILED
        assert [int(value) for value in batch.outputs()] == [0, 1, 2]
        failed = [run for run in batch.runs() if run.status is runs.RunStatus.FAILED]
        assert [run.sample_index for run in failed] == [1, 3, 5]
        assert failed[0].info().error == "ValueError: 1 is odd"


def test_batches_are_listed_and_found_from_another_store_object(
    shared_store: enact.Store,
) -> None:
    with shared_store:
        first = enact.sample(Noise(), [enact.Int(1)], n=2, name="first").wait()
        second = enact.sample(Picky(), [enact.Int(1)], tags=["odd"]).wait()
        with pytest.raises(runs.RunError, match="taken"):
            enact.sample(Noise(), [enact.Int(1)], name="first")
    other = (
        enact.SQLiteStore(shared_store.location)
        if shared_store.location.endswith(".db")
        else enact.FileStore(shared_store.location)
    )
    with other:
        listed = batches.list_batches()
        assert [info.id for info in listed] == [second.id, first.id]
        assert listed[1].name == "first"
        assert listed[1].component == "batches.flows.Noise"
        assert listed[1].size == 2 and listed[1].counts == {"finished": 2}
        assert listed[0].status is batches.BatchStatus.FAILED
        assert listed[0].tags == ("odd",)
        found = batches.get_batch("first")
        assert found.id == first.id
        assert batches.get_batch(first.id).outputs() == first.outputs()
        assert found.info().to_json()["counts"] == {"finished": 2}
        with pytest.raises(batches.BatchNotFound, match="nothing"):
            batches.get_batch("nothing")


def test_runs_of_a_batch_are_durable_runs(store: enact.Store) -> None:
    with store:
        batch = enact.sample(Steps(), [enact.Int(1)], n=3).wait()
        assert len(runs.list_runs()) == 3
        run = batch.run(2)
        assert run.info().batch == batch.id and run.info().sample == 2
        assert run.info().to_json()["sample"] == 2
        assert len(run.journal().response().children) == 3
        with pytest.raises(runs.RunNotFound):
            enact.sample(Steps(), [enact.Int(1)]).wait().run(1)


def test_an_unshippable_component_fails_before_any_sample_starts(
    shared_store: enact.Store,
) -> None:
    @enact.typed_invokable(enact.Int, enact.Int)
    @dataclasses.dataclass
    class Local(enact.Invokable[enact.Int, enact.Int]):
        def call(self, value: enact.Int) -> enact.Int:
            return value

    with shared_store:
        with pytest.raises(batches.NotShippable, match="inside a function"):
            enact.sample(Local(), [enact.Int(1)], executor="processes")
        assert batches.list_batches() == [] and len(runs.list_runs()) == 0
        # On threads it needs no shipping.
        assert enact.sample(Local(), [enact.Int(1)]).wait().outputs() == [enact.Int(1)]


def test_worker_processes_need_a_store_they_can_open() -> None:
    with enact.InMemoryStore():
        with pytest.raises(batches.NotShippable, match="cannot open it"):
            enact.sample(Noise(), [enact.Int(1)], executor="processes")


def test_bad_arguments_are_refused(store: enact.Store) -> None:
    with store:
        with pytest.raises(ValueError, match="n must be"):
            enact.sample(Noise(), [enact.Int(1)], n=0)
        with pytest.raises(ValueError, match="at least one input"):
            enact.sample(Noise(), [])
        with pytest.raises(ValueError, match="Unknown executor"):
            enact.sample(Noise(), [enact.Int(1)], executor="fibers")
        with pytest.raises(TypeError, match="registered"):
            enact.sample(print, [1])


def test_fork_with_n_grows_a_batch_of_branches(
    store: enact.Store, side_log: Counts
) -> None:
    with store:
        run = enact.run(Steps(), enact.Int(2))
        before = side_log()
        branches = run.fork(at=(1,), n=8, name="branches").wait()
        assert branches.info().parent == run.id
        assert branches.info().counts == {"finished": 8}
        for branch in branches.runs():
            info = branch.info()
            assert info.parent == run.id and info.relation == "fork"
            kept = branch.journal().response().children[0]
            assert kept == run.journal().response().children[0]
        grown = side_log() - before
        # Each branch kept the first call and rolled the next two again.
        assert grown == {"roll": 16}
        assert {int(value) // 1000 for value in branches.outputs()} == {2}


@pytest.mark.parametrize("executor", ["threads", "processes"])
def test_fork_with_n_and_replace_grows_branches_with_the_new_component(
    shared_store: enact.Store, side_log: Counts, executor: str
) -> None:
    with shared_store:
        run = enact.run(Throws(), enact.Int(2))
        before = side_log()
        with pytest.raises(runs.RunError, match="Die"):
            run.fork(at=(1,), n=3, replace={Die(7): Die(100)})
        branches = run.fork(
            at=(1,), n=5, replace={Die(6): Die(100)}, executor=executor
        ).wait(timeout=120)
        assert len(batches.list_batches()) == 1  # the refused fork made none
        assert branches.info().parent == run.id
        assert branches.info().counts == {"finished": 5}
        for branch in branches.runs():
            info = branch.info()
            assert info.parent == run.id and info.relation == "fork"
            assert branch.journal().request().invokable() == Throws(Die(100))
            kept = branch.journal().response().children[0]
            assert kept().response().output == (
                run.journal().response().children[0]().response().output
            )
        # Each branch kept the first call and threw the new die twice.
        assert side_log() - before == {"die-100": 10}
        assert {int(value) // 1000 for value in branches.outputs()} == {2}
        # Resuming or forking a branch again needs no replacement.
        again = branches.runs()[0].fork(at=(2,))
        assert again.info().status == "finished"
    assert side_log() - before == {"die-100": 11}


def test_ctrl_c_while_waiting_stops_cleanly_then_resume_finishes(
    store: enact.Store, side_log: Counts
) -> None:
    flows.GATE.clear()
    inputs = [enact.Int(i) for i in range(6)]
    with store:
        batch = enact.sample(Gated(), inputs, executor="threads", concurrency=3)

        def interrupt_when_blocked() -> None:
            # Sample 0 finished, and samples 1-3 are blocked at the gate
            # (three threads: no other sample starts until one ends).
            while side_log()["gated-wait"] < 3 or side_log()["gated-0"] < 1:
                threading.Event().wait(0.01)
            os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C does

        helper = threading.Thread(target=interrupt_when_blocked)
        helper.start()
        with pytest.raises(KeyboardInterrupt):
            batch.wait(timeout=60)
        helper.join()
        info = batch.info()
        assert info.status is batches.BatchStatus.INCOMPLETE
        assert info.counts["finished"] == 1
        assert info.counts["crashed"] == 3
        assert info.counts["not started"] == 2
        assert "KeyboardInterrupt" in (batch.run(1).info().error or "")
        flows.GATE.set()
        batch.resume().wait(timeout=60)
        assert batch.info().counts == {"finished": 6}
        assert [int(value) for value in batch.outputs()] == list(range(6))
        # A finished sample never ran again.
        assert all(side_log()[f"gated-{i}"] == 1 for i in range(6))
        assert all(
            run.info().resumed == (1 if run.sample_index in (1, 2, 3) else 0)
            for run in batch.runs()
        )


def test_resume_of_a_finished_batch_runs_nothing(
    store: enact.Store, side_log: Counts
) -> None:
    with store:
        batch = enact.sample(Noise(), [enact.Int(1)], n=5).wait()
        assert batch.unfinished() == []
        batch.resume().wait()
        assert sum(side_log().values()) == 5


def test_a_batch_of_ten_thousand_samples() -> None:
    with enact.InMemoryStore():
        batch = enact.sample(echo, range(100), n=100, concurrency=500)
        batch.wait(timeout=600)
        info = batch.info()
        assert info.size == 10_000 and info.counts == {"finished": 10_000}
        outputs = batch.outputs()
        assert collections.Counter(outputs) == dict.fromkeys(range(100), 100)
        assert len({run.id for run in batch.runs()}) == 10_000
