"""Durable runs on every store: start, list, fail, wait, answer, resume, fork."""

from __future__ import annotations

import collections
import threading
import time

import pytest

import enact
from enact import runs
from enact.runs import RunStatus
from runs.flows import (
    AskPoint,
    CrashingPipeline,
    Dice,
    Die,
    Fails,
    Greet,
    Interrupt,
    Pipeline,
    Point,
)


def test_a_finished_run_is_listed_with_its_journal(
    active: enact.Store, calls: collections.Counter[str]
) -> None:
    run = enact.run(Pipeline(stages=2, width=3), enact.Int(0), name="p", tags=["x"])
    info = run.info()
    assert info.status is RunStatus.FINISHED
    assert run.output() == sum(2 * i for i in range(6))
    assert info.component.endswith("Pipeline")
    assert info.name == "p" and info.tags == ("x",)
    assert info.ended is not None and info.ended >= info.started
    invocation = run.invocation()
    assert invocation is not None
    assert [c.get_output() for c in invocation.get_children()] == [6, 24]
    # Every call has a timing, at every depth.
    timings = run.timings()
    assert set(timings) == {(), (0,), (1,)} | {(s, i) for s in (0, 1) for i in range(3)}
    assert all(start <= end for start, end in timings.values())
    assert [i.id for i in runs.list_runs()] == [run.id]
    assert runs.get_run("p") == run


def test_a_failing_run_records_the_error(active: enact.Store) -> None:
    run = enact.run(Fails())
    info = run.info()
    assert info.status is RunStatus.FAILED
    assert "the dice were loaded" in (info.error or "")
    with pytest.raises(runs.RunError, match="no output"):
        run.output()
    with pytest.raises(runs.RunNotResumable, match="failed"):
        run.resume()


def test_input_requests_wait_and_are_answered(
    active: enact.Store, calls: collections.Counter[str]
) -> None:
    run = enact.run(Greet())
    assert run.status is RunStatus.WAITING
    (pending,) = runs.pending_inputs()
    assert pending.run_id == run.id and pending.path == (2,)
    assert pending.context == "Who is playing?"
    assert enact.Str.type_id() == pending.requested_type
    assert run.invocation() is not None  # the journal so far is stored
    with pytest.raises(runs.WrongAnswerType, match="Str"):
        runs.answer(run.id, 42)
    assert run.status is RunStatus.WAITING  # a wrong answer changes nothing
    runs.answer(run.id, "Ada")
    assert runs.pending_inputs() == []
    with pytest.raises(runs.AlreadyAnswered):
        runs.answer(run.id, "Bob")
    assert calls["die"] == 2
    run.resume()
    assert run.status is RunStatus.FINISHED
    assert str(run.output()).startswith("Ada rolled")
    assert calls["die"] == 2  # the rolls were not made again
    assert run.info().resumed == 1


def test_answer_with_resume_finishes_the_run(active: enact.Store) -> None:
    run = enact.run(Greet())
    runs.answer(run.id, enact.Str("Cy"), resume=True)
    assert run.status is RunStatus.FINISHED


def test_answers_are_parsed_into_the_requested_type(active: enact.Store) -> None:
    run = enact.run(AskPoint())
    (pending,) = run.pending()
    assert pending.context == {"question": "where?"}
    assert runs.parse_answer(pending, {"x": 1, "y": 2}) == Point(1, 2)
    assert runs.parse_answer(pending, '{"x": 3, "y": 4}') == Point(3, 4)
    with pytest.raises(runs.WrongAnswerType, match="Point"):
        runs.parse_answer(pending, {"x": 1})
    with pytest.raises(runs.WrongAnswerType):
        runs.parse_answer(pending, enact.Str("no"))
    run.answer({"x": 1, "y": 2}, resume=True)
    (scale,) = run.pending()
    assert scale.path == (1,)
    assert runs.parse_answer(scale, "3") == 3
    with pytest.raises(runs.WrongAnswerType, match="whole number"):
        runs.parse_answer(scale, 2.5)
    with pytest.raises(runs.WrongAnswerType):
        runs.parse_answer(scale, "three")
    run.answer("3", resume=True)
    assert run.output() == 9


def test_nothing_to_answer(active: enact.Store) -> None:
    run = enact.run(Die())
    with pytest.raises(runs.NoPendingInput, match="finished"):
        runs.answer(run.id, 1)
    with pytest.raises(runs.RunNotFound, match="nope"):
        runs.answer("nope", 1)


def test_a_crashed_run_resumes_without_rerunning_finished_calls(
    active: enact.Store, calls: collections.Counter[str]
) -> None:
    # Leaf 5 (second stage, second leaf) interrupts the run, as a crash would.
    with pytest.raises(Interrupt):
        enact.run(CrashingPipeline(at=5), enact.Int(0), name="c")
    run = runs.get_run("c")
    assert run.status is RunStatus.CRASHED
    assert run.invocation() is None
    journal = run.journal()  # the first stage and leaf 4 finished
    stage0, stage1 = journal.response().children
    assert stage0().get_output() == 2 * sum(range(4))
    assert [c.get_output() for c in stage1().get_children()] == [8]
    assert {k: v for k, v in calls.items() if k.startswith("leaf")} == {
        f"leaf-{i}": 1 for i in range(5)
    }
    run.resume()
    assert run.status is RunStatus.FINISHED
    assert run.output() == 2 * sum(range(8))
    assert all(calls[f"leaf-{i}"] == 1 for i in range(8))


def test_fork_at_a_path_keeps_what_came_before(
    active: enact.Store, calls: collections.Counter[str]
) -> None:
    run = enact.run(Pipeline(stages=3, width=2), enact.Int(0))
    calls.clear()
    fork = run.fork(at=(1, 1), tags=["branch"])
    info = fork.info()
    assert info.parent == run.id and info.relation == "fork"
    assert fork.output() == run.output()
    # Only leaf 3 (stage 1, call 1) and the last stage ran again.
    assert dict(calls) == {"leaf-3": 1, "leaf-4": 1, "leaf-5": 1}
    original, forked = run.invocation(), fork.invocation()
    assert original is not None and forked is not None
    assert original.response().children[0] == forked.response().children[0]
    assert runs.list_runs(parent=run.id) == [info]
    with pytest.raises(runs.RunError, match="no call at 7"):
        run.fork(at=(7,))


def test_fork_resamples_and_replay_reproduces(
    active: enact.Store, calls: collections.Counter[str]
) -> None:
    original = enact.run(Dice(count=3))
    assert calls["die"] == 3
    replay = original.replay()
    assert replay.info().relation == "replay"
    assert replay.output() == original.output()
    assert calls["die"] == 3  # nothing ran again
    forks = [original.fork(1) for _ in range(3)]
    assert calls["die"] == 6  # each fork rolled the last die again
    first_two = [c.get_output() for c in original.journal().get_children()][:2]
    for fork in forks:
        rolls = [c.get_output() for c in fork.journal().get_children()]
        assert rolls[:2] == first_two
    assert len({int(f.output()) for f in forks} | {int(original.output())}) >= 2


def test_names_tags_filters_and_delete(active: enact.Store) -> None:
    first = enact.run(Die(), name="one")
    time.sleep(0.01)
    second = enact.run(Fails(), tags=["bad"])
    with pytest.raises(runs.RunError, match="taken"):
        enact.run(Die(), name="one")
    with pytest.raises(runs.RunError, match="taken"):
        second.set_name("one")
    second.set_name("two")
    second.tag("x", "y")
    second.untag("bad")
    assert runs.get_run("two").info().tags == ("x", "y")
    assert [i.id for i in runs.list_runs(status="failed")] == [second.id]
    assert [i.id for i in runs.list_runs(tag="x")] == [second.id]
    assert [i.id for i in runs.list_runs(component="Die")] == [first.id]
    assert [i.id for i in runs.list_runs(until=second.info().started)] == [first.id]
    assert [i.id for i in runs.list_runs(since=second.info().started)] == [second.id]
    with pytest.raises(ValueError):
        runs.list_runs(status="sleeping")
    first.delete()
    with pytest.raises(runs.RunNotFound):
        first.info()
    assert [i.id for i in runs.list_runs()] == [second.id]


def test_named_refs(active: enact.Store) -> None:
    ref = enact.commit(enact.Str("keep me"))
    runs.name_ref("best", ref)
    assert runs.named_refs() == {"best": ref}
    runs.name_ref("best", None)
    assert runs.named_refs() == {}


def test_a_run_waits_in_place_for_an_answer(active: enact.Store) -> None:
    result: list[enact.Run] = []
    waiter = threading.Thread(
        target=enact.contexts.with_current_contexts(
            lambda: result.append(
                enact.run(Greet(), wait_for_input=True, poll_interval=0.01)
            )
        )
    )
    waiter.start()
    deadline = time.monotonic() + 20
    while not runs.pending_inputs() and time.monotonic() < deadline:
        time.sleep(0.01)
    (pending,) = runs.pending_inputs()
    info = runs.get_run(pending.run_id).info()
    assert info.status is RunStatus.WAITING and info.live and info.is_live
    with pytest.raises(runs.RunNotResumable, match="live"):
        runs.get_run(pending.run_id).resume()
    runs.answer(pending.run_id, "Live")
    waiter.join(20)
    assert result and result[0].status is RunStatus.FINISHED
    assert str(result[0].output()).startswith("Live rolled")


def test_runs_need_a_store_with_an_index() -> None:
    with pytest.raises(enact.contexts.NoActiveContext):
        enact.run(Die())
    with pytest.raises(TypeError, match="invokable"):
        with enact.InMemoryStore():
            enact.run(lambda: 1)
