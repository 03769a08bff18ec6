"""The step log: what a crashed run's journal is rebuilt from."""

from __future__ import annotations

import collections

import orjson
import pytest

import enact
from enact import runs
from enact._runs.recorder import StepLog, checkpoint
from runs.flows import CrashingPipeline, Interrupt


@pytest.fixture
def crashed(
    active: enact.Store, calls: collections.Counter[str]
) -> tuple[enact.Store, enact.Run]:
    with pytest.raises(Interrupt):
        enact.run(CrashingPipeline(at=6), enact.Int(0), name="crashed")
    return active, runs.get_run("crashed")


def test_the_log_names_finished_and_open_calls(
    crashed: tuple[enact.Store, enact.Run],
) -> None:
    store, run = crashed
    log = StepLog(store.index.read_steps(run.id))
    # Stage 0 finished whole; in stage 1, leaves 4 and 5 finished.
    assert set(log.done) == {(0,), (0, 0), (0, 1), (0, 2), (0, 3), (1, 0), (1, 1)}
    assert set(log.begun) == {(0,), (1,)}  # each had a finished child
    assert set(log.timings) == set(log.done)
    # Calls without children carry their records, for a fast resume.
    assert set(log.leaves) == set(log.done) - {(0,)}


def test_damaged_and_torn_lines_lose_only_themselves(
    crashed: tuple[enact.Store, enact.Run],
) -> None:
    store, run = crashed
    lines = store.index.read_steps(run.id)
    log = StepLog([b"{not json", *lines, b'{"d": "x"}', b'{"d": [9], "i": 1'])
    assert set(log.done) == set(StepLog(lines).done)


def test_a_wrong_leaf_record_is_never_trusted(
    crashed: tuple[enact.Store, enact.Run],
) -> None:
    store, run = crashed
    lines: list[bytes] = []
    changed = 0
    for line in store.index.read_steps(run.id):
        if line[:1] == b"[" and lines and orjson.loads(lines[-1])["d"] == [1, 1]:
            records = orjson.loads(line)
            records[3] = "0" * 64  # claims another output than the stored one
            line = orjson.dumps(records)
            changed += 1
        lines.append(line)
    assert changed == 1
    journal = checkpoint(store, run.info().request, StepLog(lines))
    stage1 = journal.get_child(1)
    # The cached record does not match its digest: the store's copy is used.
    assert stage1.get_child(1).get_output() == 10


def test_without_recovery_lines_the_records_are_read(
    crashed: tuple[enact.Store, enact.Run], calls: collections.Counter[str]
) -> None:
    store, run = crashed
    lines = [line for line in store.index.read_steps(run.id) if line[:1] != b"["]
    log = StepLog(lines)
    assert log.leaves == {}
    journal = checkpoint(store, run.info().request, log)
    assert journal.get_child(0).get_output() == 2 * sum(range(4))
    assert journal.get_child(1).get_child(1).get_output() == 10


def test_recovery_lines_belong_to_the_step_line_before_them() -> None:
    digest = "a" * 64
    records = b'["%s", "%s", "%s", null, null, false]' % ((digest.encode(),) * 3)
    log = StepLog(
        [
            records,  # nothing before it: ignored
            b'{"d": [0], "i": "%s", "s": 1, "e": 2}' % digest.encode(),
            records,
            b'{"b": [1], "r": "%s"}' % digest.encode(),
            records,  # after a begin line: ignored
            # The older form: the records in the step line itself.
            b'{"d": [2], "i": "%s", "r": "%s", "p": "%s", "k": "%s", "o": null, '
            b'"x": null, "h": false}' % ((digest.encode(),) * 4),
        ]
    )
    assert set(log.leaves) == {(0,), (2,)}
    assert log.leaves[(0,)]["k"] == digest and log.leaves[(2,)]["p"] == digest


def test_the_checkpoint_replays_to_the_same_result(
    crashed: tuple[enact.Store, enact.Run], calls: collections.Counter[str]
) -> None:
    _, run = crashed
    journal = run.journal()
    assert not journal.response().is_complete()
    stage0 = journal.get_child(0)
    assert stage0.get_output() == 2 * sum(range(4))
    executed = dict(calls)
    run.resume()
    assert run.output() == 2 * sum(range(8))
    assert {k for k in calls if calls[k] != executed.get(k)} == {
        "leaf-6",
        "leaf-7",
    }
