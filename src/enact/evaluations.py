"""Scorers and evaluations: score the calls of runs, journaled like any call.

A scorer is a component that looks at one call and says how good it was:

- a registered function of the call's input and output
  (``@enact.register def exact(input, output) -> float``), or
- an invokable taking a :class:`Sample` (the call's ``input`` and
  ``output``), such as a chat-model judge, or one that asks a person with
  :func:`enact.request_input`.

It returns a number (a score), ``True``/``False`` (thumbs up or down) or a
resource with ``score``, ``label`` and ``comment`` fields.

:func:`evaluate` runs every scorer on every selected call, each scoring as a
durable run of its own (so a judge is replayable and forkable like anything
else, and a person's scoring waits for their answer), attaches each result
to the scored call as feedback from ``scorer:<name>``, and returns an
:class:`Evaluation`: each scorer's mean with a 95% confidence interval, a
row per sample, and the best and worst samples.
"""

from __future__ import annotations

import dataclasses
import math
import re
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import orjson

from enact import feedback as feedback_api
from enact._datasets.calls import Call
from enact._datasets.select import Selection, selected_calls
from enact._invocations.calls import CallArgs
from enact._invocations.invokables import InvokableBase
from enact._invocations.records import invokable_name
from enact._runs.access import current_store
from enact._runs.damage import read_runs
from enact._runs.execution import start_run
from enact._runs.handle import Run
from enact._runs.records import RunInfo, RunStatus
from enact.errors import EnactError
from enact.interfaces import ResourceBase
from enact.references import Store
from enact.resource_registry import register as register_resource
from enact.resources import Resource
from enact.wrappers import unwrap

__all__ = [
    "Evaluation",
    "EvaluationError",
    "Sample",
    "SampleScore",
    "ScorerSummary",
    "confidence_interval",
    "evaluate",
    "get_evaluation",
    "list_evaluations",
]

# Each evaluation is kept in the store's index, a write-once claim per id.
_KEY = "ev:"
_ID = re.compile(r"[0-9a-f]{12}")

#: Two-sided 95% quantiles of Student's t for 1 to 30 degrees of freedom.
_T95 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip
_Z95 = 1.959964


class EvaluationError(EnactError, ValueError):
    """An evaluation that cannot run: no calls, or a scorer that is not one."""


@register_resource
@dataclasses.dataclass
class Sample(Resource):
    """What an invokable scorer is given: one call's input and output."""

    _enact_type_name = "enact.evaluations.Sample"

    #: The scored call's input.
    input: Any
    #: What it returned.
    output: Any


@dataclasses.dataclass(frozen=True)
class SampleScore:
    """One scorer's verdict on one call."""

    #: The scored call's run and path.
    run_id: str
    path: tuple[int, ...]
    #: The scorer's name.
    scorer: str
    #: The score (None if the scorer gave none, or failed).
    score: float | None
    #: The label it gave, if any.
    label: bool | str | None
    #: The run that journaled the scoring.
    scoring_run: str
    #: The scoring run's status (``finished``, ``failed``, ``waiting``).
    status: str
    #: Why there is no score, if there is none.
    error: str | None = None
    #: The feedback attached to the scored call, if any.
    feedback_id: str | None = None


@dataclasses.dataclass(frozen=True)
class ScorerSummary:
    """A scorer's scores over the samples."""

    scorer: str
    #: How many samples it scored.
    count: int
    mean: float | None
    #: The 95% confidence interval of the mean (Student's t).
    low: float | None
    high: float | None
    #: Samples it could not score (failed, or waiting for a person).
    missing: int


def _t_quantile(df: int) -> float:
    if df <= len(_T95):
        return _T95[df - 1]
    z = _Z95  # Cornish-Fisher expansion of t around the normal quantile
    return (
        z
        + (z**3 + z) / (4 * df)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3)
    )


def confidence_interval(values: Sequence[float]) -> tuple[float, float, float] | None:
    """The mean of ``values`` and its 95% confidence interval (Student's t).

    Returns:
        (mean, low, high); one value gives an interval of that value alone;
        None for no values.
    """
    count = len(values)
    if count == 0:
        return None
    mean = math.fsum(values) / count
    if count == 1:
        return mean, mean, mean
    variance = math.fsum((value - mean) ** 2 for value in values) / (count - 1)
    half = _t_quantile(count - 1) * math.sqrt(variance / count)
    return mean, mean - half, mean + half


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """What :func:`evaluate` found: every scoring, summed up per scorer."""

    #: The evaluation's id (tagged on its scoring runs as ``eval-<id>``).
    id: str
    #: Every scorer's name, in the order given.
    scorers: tuple[str, ...]
    #: One row per (sample, scorer), in sample order.
    scores: tuple[SampleScore, ...]
    #: When it was made (seconds since the epoch).
    created: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The evaluation as JSON (what the store keeps of it)."""
        return {
            "id": self.id,
            "scorers": list(self.scorers),
            "created": self.created,
            "scores": [
                {**dataclasses.asdict(each), "path": list(each.path)}
                for each in self.scores
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Evaluation:
        """An evaluation from :meth:`to_json`.

        Raises:
            EvaluationError: if ``data`` is not one.
        """
        try:
            scores = tuple(
                SampleScore(**{**each, "path": tuple(each["path"])})
                for each in data["scores"]
            )
            return cls(
                str(data["id"]),
                tuple(str(name) for name in data["scorers"]),
                scores,
                float(data.get("created", 0.0)),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise EvaluationError(f"not an evaluation record: {error}") from None

    def summary(self) -> list[ScorerSummary]:
        """Each scorer's mean score with its 95% confidence interval."""
        result = []
        for scorer in self.scorers:
            mine = [each for each in self.scores if each.scorer == scorer]
            values = [each.score for each in mine if each.score is not None]
            interval = confidence_interval(values)
            mean, low, high = interval if interval else (None, None, None)
            result.append(
                ScorerSummary(
                    scorer, len(values), mean, low, high, len(mine) - len(values)
                )
            )
        return result

    def samples(self) -> list[dict[str, Any]]:
        """One row per sample: its run, path and each scorer's score."""
        rows: dict[tuple[str, tuple[int, ...]], dict[str, Any]] = {}
        for each in self.scores:
            row = rows.setdefault(
                (each.run_id, each.path), {"run": each.run_id, "path": each.path}
            )
            row[each.scorer] = each.score
        for row in rows.values():
            values = [row[name] for name in self.scorers if row.get(name) is not None]
            row["mean"] = math.fsum(values) / len(values) if values else None
        return list(rows.values())

    def best(self, count: int = 3) -> list[dict[str, Any]]:
        """The samples with the highest mean score (ties in sample order)."""
        scored = [row for row in self.samples() if row["mean"] is not None]
        return sorted(scored, key=lambda row: -row["mean"])[:count]

    def worst(self, count: int = 3) -> list[dict[str, Any]]:
        """The samples with the lowest mean score (ties in sample order)."""
        scored = [row for row in self.samples() if row["mean"] is not None]
        return sorted(scored, key=lambda row: row["mean"])[:count]

    def to_text(self) -> str:
        """The summary as a plain-text table."""
        lines = [f"evaluation {self.id}: {len(self.samples())} samples"]
        lines.append(
            f"{'scorer':<24} {'n':>5} {'mean':>9} {'95% CI':>21} {'missing':>7}"
        )
        for each in self.summary():
            if each.mean is None:
                lines.append(
                    f"{each.scorer:<24} {0:>5} {'-':>9} {'-':>21} {each.missing:>7}"
                )
                continue
            interval = f"[{each.low:.3f}, {each.high:.3f}]"
            lines.append(
                f"{each.scorer:<24} {each.count:>5} {each.mean:>9.3f} "
                f"{interval:>21} {each.missing:>7}"
            )
        return "\n".join(lines)


def _verdict(value: Any) -> tuple[float | None, bool | str | None, str | None]:
    value = unwrap(value)
    if isinstance(value, bool):
        return None, value, None
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value), None, None
    if isinstance(value, ResourceBase) or dataclasses.is_dataclass(value):
        score = getattr(value, "score", None)
        label = getattr(value, "label", None)
        comment = getattr(value, "comment", None)
        score = unwrap(score)
        if score is not None and (
            isinstance(score, bool)
            or not isinstance(score, (int, float))
            or not math.isfinite(score)
        ):
            raise EvaluationError(f"a scorer's score is a number, not {score!r}")
        return (
            None if score is None else float(score),
            unwrap(label),
            None if comment is None else str(comment),
        )
    raise EvaluationError(
        f"a scorer returns a number, True/False or a resource with a score, "
        f"not {type(value).__qualname__}"
    )


def _scoring(scorer: Any, call: Call) -> tuple[Any, Any]:
    """The invokable and the input of the run that scores ``call``."""
    wrapper = getattr(scorer, "_enact_wrapper", None)
    if isinstance(wrapper, InvokableBase):  # a registered function
        return wrapper, CallArgs([call.input, call.output], {})
    if isinstance(scorer, InvokableBase):
        return scorer, Sample(call.input, call.output)
    raise EvaluationError(
        f"{scorer!r} is not a scorer: use a function registered with "
        "@enact.register, or an invokable that takes an enact.evaluations.Sample"
    )


def _name(scorer: Any) -> str:
    wrapper = getattr(scorer, "_enact_wrapper", None)
    return invokable_name(wrapper if wrapper is not None else scorer)


def evaluate(
    runs: Iterable[Run | RunInfo | str] | str | None,
    scorers: Sequence[Any] | Any,
    *,
    at: str | Iterable[int] | None = None,
    feedback: bool = True,
    tags: Iterable[str] = (),
    store: Store | None = None,
) -> Evaluation:
    """Scores calls of runs with each scorer, each scoring a run of its own.

    Args:
        runs: The runs whose calls are scored (handles, ids or names), or a
            batch id (a string naming no run), or None for every run.
        scorers: One scorer or several (see the module's docs).
        at: Which call of each run: a component (its name, as for
            :class:`~enact.datasets.Selection`) or a path; the top-level call
            if None.
        feedback: Attach each score as feedback (source ``scorer:<name>``).
        tags: Tags for the scoring runs (besides ``eval`` and ``eval-<id>``).
        store: The store; the current store if None.

    Raises:
        EvaluationError: if a scorer is not one, or there is nothing to score.
    """
    store = current_store() if store is None else store
    chosen = [scorers] if not isinstance(scorers, (list, tuple)) else list(scorers)
    if not chosen:
        raise EvaluationError("evaluate needs at least one scorer")
    names = tuple(_name(scorer) for scorer in chosen)
    selection = _selection(runs, at, store)
    evaluation_id = uuid.uuid4().hex[:12]
    run_tags = ("eval", f"eval-{evaluation_id}", *tags)
    scores: list[SampleScore] = []
    for selected in list(selected_calls(selection, store)):
        call = selected.call
        if call.output_digest is None:
            continue  # a call that raised has no output to score
        for scorer, name in zip(chosen, names, strict=True):
            component, arg = _scoring(scorer, call)
            run_id = start_run(store, component, arg, name=None, tags=run_tags)
            scores.append(_score(store, call, name, run_id, feedback))
    if not scores:
        raise EvaluationError("no call to score: the selection has no finished call")
    result = Evaluation(evaluation_id, names, tuple(scores), time.time())
    store.index.claim(_KEY + evaluation_id, orjson.dumps(result.to_json()))
    return result


def list_evaluations(store: Store | None = None) -> list[Evaluation]:
    """The evaluations made in a store, newest first.

    A record that cannot be read (damaged) is left out.
    """
    store = current_store() if store is None else store
    found = []
    for data in store.index.claims(_KEY).values():
        try:
            found.append(Evaluation.from_json(orjson.loads(data)))
        except (EvaluationError, orjson.JSONDecodeError):
            continue
    return sorted(found, key=lambda each: (-each.created, each.id))


def get_evaluation(evaluation_id: str, store: Store | None = None) -> Evaluation:
    """One evaluation of a store, by id.

    Raises:
        EvaluationError: if the store has none of that id (or it is damaged).
    """
    store = current_store() if store is None else store
    data = None
    if _ID.fullmatch(evaluation_id):
        data = store.index.get_claim(_KEY + evaluation_id)
    if data is None:
        raise EvaluationError(f"no evaluation {evaluation_id!r} in {store.location}")
    try:
        return Evaluation.from_json(orjson.loads(data))
    except orjson.JSONDecodeError as error:
        raise EvaluationError(
            f"the record of evaluation {evaluation_id} is damaged: {error}"
        ) from None


def _selection(
    runs: Iterable[Run | RunInfo | str] | str | None,
    at: str | Iterable[int] | None,
    store: Store,
) -> Selection:
    component = at if isinstance(at, str) else None
    path = None if at is None or isinstance(at, str) else tuple(at)
    if component is None and path is None:
        path = ()
    if isinstance(runs, str):
        if store.index.get_run(runs) is None:
            return Selection(component=component, at=path, batch=runs, store=store)
        runs = [runs]
    if runs is None:  # every run but the scorings of earlier evaluations
        ids = tuple(_not_scorings(read_runs(store.index)[0]))
    else:
        ids = tuple(
            each.id if isinstance(each, (Run, RunInfo)) else str(each) for each in runs
        )
    return Selection(component=component, runs=ids, at=path, store=store)


def _not_scorings(infos: Iterable[RunInfo]) -> Iterator[str]:
    """The ids of runs that are no scoring: neither tagged ``eval`` nor made
    from one (a replay or fork of a scoring run is a scoring too)."""
    by_id = {info.id: info for info in infos}
    known: dict[str, bool] = {}

    def scoring(run_id: str) -> bool:
        chain = []
        current: str | None = run_id
        found = False
        while current is not None and current in by_id:
            if current in known:
                found = known[current]
                break
            info = by_id[current]
            chain.append(current)
            if "eval" in info.tags:
                found = True
                break
            current = info.parent
            if current in chain:  # a damaged record naming itself
                break
        for each in chain:
            known[each] = found
        return found

    for run_id in by_id:
        if not scoring(run_id):
            yield run_id


def _score(
    store: Store, call: Call, name: str, run_id: str, attach: bool
) -> SampleScore:
    scoring = Run(run_id, store)
    info = scoring.info()
    if info.stored_status is not RunStatus.FINISHED:
        why = info.error or f"the scoring run is {info.status}"
        return SampleScore(
            run_id=call.run_id,
            path=call.path,
            scorer=name,
            score=None,
            label=None,
            scoring_run=run_id,
            status=str(info.status),
            error=why,
        )
    try:
        score, label, comment = _verdict(scoring.output())
    except EvaluationError as error:
        return SampleScore(
            run_id=call.run_id,
            path=call.path,
            scorer=name,
            score=None,
            label=None,
            scoring_run=run_id,
            status="failed",
            error=str(error),
        )
    feedback_id = None
    if attach and (score is not None or label is not None):
        note = feedback_api.add(
            Run(call.run_id, store),
            call.path,
            score=score,
            label=label,
            comment=comment or f"scored by run {run_id}",
            source=f"scorer:{name}",
        )
        feedback_id = note.id
    return SampleScore(
        run_id=call.run_id,
        path=call.path,
        scorer=name,
        score=score,
        label=label,
        scoring_run=run_id,
        status="finished",
        feedback_id=feedback_id,
    )
