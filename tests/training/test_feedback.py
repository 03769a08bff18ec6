"""Feedback on calls: given, listed, edited, deleted, from two processes."""

from __future__ import annotations

import math
import os
import pathlib
import subprocess
import sys

import pytest

import enact
from enact import feedback
from enact.feedback import FeedbackError
from enact.runs import RunError
from training.flows import Ask, Solve

CHILD = str(pathlib.Path(__file__).with_name("child.py"))


def test_feedback_is_given_listed_edited_and_deleted(store: enact.Store) -> None:
    with store:
        run = enact.run(Solve(), enact.Str("2+2"))
        first = feedback.add(run, (1,), score=4, comment="fine", source="person:ann")
        second = feedback.add(run, label=True, source="person:bob")
    assert first.source == "person:ann" and first.created > 0
    assert [n.id for n in feedback.list_feedback(run)] == [first.id, second.id]
    assert [n.id for n in feedback.list_feedback(run, (1,))] == [first.id]
    assert feedback.list_feedback(run, (0,)) == []
    changed = feedback.edit(run, first.id, score=5, source="person:cy")
    assert (changed.score, changed.comment, changed.revision) == (5.0, "fine", 1)
    assert changed.source == "person:ann" and changed.updated_by == "person:cy"
    assert feedback.get(run, first.id).score == 5.0
    feedback.delete(run, first.id)
    assert [n.id for n in feedback.list_feedback(run)] == [second.id]
    assert [n.revision for n in feedback.history(run, first.id)] == [0, 1, 2]
    assert feedback.history(run, first.id)[-1].deleted
    with pytest.raises(FeedbackError, match="deleted"):
        feedback.edit(run, first.id, score=1)


def test_feedback_by_run_id_and_default_source(store: enact.Store) -> None:
    with store:
        run = enact.run(Solve(), enact.Str("x"))
        note = feedback.add(run.id, (0,), comment="hm")
        assert note.source.startswith("person:")
        assert feedback.list_feedback(run.id)[0].id == note.id


def test_bad_feedback_is_refused_with_the_reason(store: enact.Store) -> None:
    with store:
        run = enact.run(Solve(), enact.Str("x"))
        with pytest.raises(FeedbackError, match="a score is a number"):
            feedback.add(run, score="4")  # type: ignore[arg-type]
        with pytest.raises(FeedbackError, match="finite"):
            feedback.add(run, score=math.nan)
        with pytest.raises(FeedbackError, match="label"):
            feedback.add(run, label=3)  # type: ignore[arg-type]
        with pytest.raises(FeedbackError, match="needs a score"):
            feedback.add(run)
        with pytest.raises(RunError, match=r"no call at path \[7\]"):
            feedback.add(run, (7,), score=1)
        with pytest.raises(FeedbackError, match="output type Str, not Int"):
            feedback.add(run, correction=enact.Int(3))
        assert feedback.list_feedback(run) == []


def test_a_correction_is_a_committed_value_that_gc_keeps(store: enact.Store) -> None:
    with store:
        run = enact.run(Ask(), enact.Str("Capital of France?"))
        note = feedback.add(run, correction=enact.Str("Paris"))
        assert note.correction is not None
        store.gc()
        assert note.correction.checkout() == "Paris"
        feedback.edit(run, note.id, correction=None, comment="no, it was right")
        assert feedback.get(run, note.id).correction is None


def test_feedback_lives_apart_from_the_journal(store: enact.Store) -> None:
    with store:
        run = enact.run(Solve(), enact.Str("x"))
        before = run.info().invocation
        feedback.add(run, (0,), score=1)
        assert run.info().invocation == before
        assert not any(key.startswith("fb:") for key in store.index.names())


@pytest.mark.slow
@pytest.mark.parametrize("suffix", ["", ".db"], ids=["file", "sqlite"])
def test_two_processes_give_and_edit_feedback_at_once(
    tmp_path: pathlib.Path, suffix: str
) -> None:
    location = str(tmp_path / f"store{suffix}")
    store = enact.SQLiteStore(location) if suffix else enact.FileStore(location)
    with store:
        run = enact.run(Solve(), enact.Str("x"))
        shared = feedback.add(run, score=0, comment="start")
    store.close()
    go = tmp_path / "go"
    env = dict(os.environ)
    children = [
        subprocess.Popen(
            [sys.executable, CHILD, location, run.id, shared.id, name, str(go)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    ready = [tmp_path / f"ready-{name}" for name in ("a", "b")]
    # Both children are up (imports done) before either starts writing.
    for child, flag in zip(children, ready, strict=True):
        while not flag.exists():
            assert child.poll() is None, child.communicate()
            try:
                child.wait(timeout=0.01)
            except subprocess.TimeoutExpired:
                pass
    go.touch()
    for child in children:
        _, err = child.communicate(timeout=300)
        assert child.returncode == 0, err
    store = enact.SQLiteStore(location) if suffix else enact.FileStore(location)
    with store:
        notes = feedback.list_feedback(run.id)
        added = [n for n in notes if n.id != shared.id]
        assert sorted(n.comment for n in added) == sorted(
            f"{name}-{i}" for name in ("a", "b") for i in range(20)
        )
        revisions = feedback.history(run.id, shared.id)
        assert [n.revision for n in revisions] == list(range(41))
        assert sorted(n.updated_by for n in revisions[1:]) == sorted(
            ["person:a"] * 20 + ["person:b"] * 20
        )
        # Each edit adds 1 to the score it read: none was lost.
        assert feedback.get(run.id, shared.id).score == 40
    store.close()
