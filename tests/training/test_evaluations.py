"""Evaluations: scorers journaled as runs, scores as feedback, the table."""

from __future__ import annotations

import dataclasses
import math
import random

import pytest

import enact
from enact import evaluations, feedback
from enact.evaluations import EvaluationError, Sample, confidence_interval
from training.flows import Ask, broken, exact


@enact.typed_invokable(Sample, enact.Float)
@dataclasses.dataclass
class Length(enact.Invokable[Sample, enact.Float]):
    """An invokable scorer: the answer's length."""

    _enact_type_name = "tests.training.Length"

    def call(self, sample: Sample) -> enact.Float:
        return enact.Float(len(str(sample.output)))


def test_the_confidence_interval_of_a_mean() -> None:
    mean, low, high = confidence_interval([1, 2, 3, 4, 5])
    half = 2.776 * math.sqrt(2.5 / 5)
    assert (
        mean == 3 and low == pytest.approx(3 - half) and high == pytest.approx(3 + half)
    )
    assert confidence_interval([2.0]) == (2.0, 2.0, 2.0)
    assert confidence_interval([]) is None
    many = confidence_interval([float(n % 2) for n in range(1000)])
    assert many is not None and many[2] - many[1] == pytest.approx(
        2 * 1.962 * math.sqrt(0.25025 / 1000), rel=1e-3
    )


def test_evaluate_scores_calls_as_runs_and_attaches_feedback(
    store: enact.Store,
) -> None:
    random.seed(11)
    with store:
        runs = [enact.run(Ask(), enact.Str(f"q{n}")) for n in range(5)]
        result = enact.evaluate(runs, [exact, Length()], at="Ask")
        assert result.scorers == ("exact", "Length")
        assert len(result.scores) == 10
        summary = {each.scorer: each for each in result.summary()}
        lengths = [len(run.output()) for run in runs]
        assert summary["Length"].mean == pytest.approx(sum(lengths) / 5)
        assert summary["Length"].low <= summary["Length"].mean <= summary["Length"].high
        assert summary["exact"].count == 5 and summary["exact"].missing == 0
        rows = result.samples()
        assert [row["run"] for row in rows] == [run.id for run in runs]
        assert result.best(1)[0]["mean"] == max(row["mean"] for row in rows)
        assert result.worst(1)[0]["mean"] == min(row["mean"] for row in rows)
        assert "95% CI" in result.to_text()
        # The scorings of an evaluation are not scored by the next one.
        again = enact.evaluate(None, exact)
        assert {s.run_id for s in again.scores} == {run.id for run in runs}
        for score in result.scores:
            scoring = enact.runs.get_run(score.scoring_run)
            assert "eval" in scoring.info().tags
            assert float(scoring.output()) == score.score
            assert float(scoring.replay().output()) == score.score  # replayable
        notes = feedback.list_feedback(runs[0], ())
        assert {note.source for note in notes} == {"scorer:exact", "scorer:Length"}


def test_a_failing_scorer_leaves_the_sample_unscored(store: enact.Store) -> None:
    with store:
        run = enact.run(Ask(), enact.Str("q"))
        result = enact.evaluate([run], [broken])
        (score,) = result.scores
        assert score.score is None and score.status == "failed"
        assert "always fails" in (score.error or "")
        assert result.summary()[0].missing == 1
        assert feedback.list_feedback(run) == []


def test_what_is_not_a_scorer(store: enact.Store) -> None:
    with store:
        run = enact.run(Ask(), enact.Str("q"))
        with pytest.raises(EvaluationError, match="not a scorer"):
            enact.evaluate([run], [len])
        with pytest.raises(EvaluationError, match="at least one scorer"):
            enact.evaluate([run], [])
        assert evaluations.Evaluation("x", (), ()).samples() == []


def test_replays_of_scorings_are_not_scored_later(store: enact.Store) -> None:
    random.seed(12)
    with store:
        runs = [enact.run(Ask(), enact.Str(f"q{n}")) for n in range(2)]
        first = enact.evaluate(runs, exact, at="Ask")
        scoring = enact.runs.get_run(first.scores[0].scoring_run)
        replayed = scoring.replay()
        scoring.fork(0)  # a fork of a scoring is a scoring too
        again = enact.evaluate(None, exact)
        scored = {each.run_id for each in again.scores}
        assert scored == {run.id for run in runs}
        assert replayed.id not in scored


def test_evaluations_are_kept_and_listed(store: enact.Store) -> None:
    random.seed(13)
    with store:
        runs = [enact.run(Ask(), enact.Str(f"q{n}")) for n in range(3)]
        first = enact.evaluate(runs, [exact, Length()], at="Ask")
        second = enact.evaluate(runs[:1], exact, at="Ask")
        listed = evaluations.list_evaluations()
        assert [each.id for each in listed] == [second.id, first.id]
        kept = evaluations.get_evaluation(first.id)
        assert kept == first
        assert kept.summary() == first.summary()
        with pytest.raises(evaluations.EvaluationError, match="no evaluation"):
            evaluations.get_evaluation("0" * 12)
        with pytest.raises(evaluations.EvaluationError, match="no evaluation"):
            evaluations.get_evaluation("../x")
