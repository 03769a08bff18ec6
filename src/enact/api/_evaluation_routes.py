"""The evaluation endpoints: every evaluation of the store, and one in full
(each scorer's mean with its 95% confidence interval, a row per sample, the
best and the worst, every scoring with the run that did it)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field

from enact import evaluations
from enact.api import _service
from enact.api._models import ErrorBody
from enact.api._routes import ApiError, _using

__all__ = [
    "EvaluationDetail",
    "EvaluationSummary",
    "SampleRow",
    "ScorerMean",
    "Scoring",
    "evaluation_router",
]

evaluation_router = APIRouter(prefix="/api")

EvaluationId = Annotated[
    str,
    Path(description="An evaluation id (12 hex digits).", pattern=r"^[0-9a-f]{12}$"),
]


class ScorerMean(BaseModel):
    """One scorer's scores, summed up."""

    scorer: str
    count: int = Field(description="How many samples it scored.")
    mean: float | None
    low: float | None = Field(description="The 95% confidence interval's low end.")
    high: float | None
    missing: int = Field(description="Samples it gave no score (failed, or none).")


class Scoring(BaseModel):
    """One scorer's verdict on one sample."""

    run_id: str = Field(description="The scored run.")
    path: list[int] = Field(description="The scored call in it.")
    scorer: str
    score: float | None
    label: bool | str | None
    scoring_run: str = Field(description="The run that did the scoring.")
    status: str = Field(description="The scoring run's status.")
    error: str | None
    feedback_id: str | None = Field(description="The feedback it left, if any.")


class SampleRow(BaseModel):
    """One sample: its run and call, each scorer's score, their mean."""

    run: str
    path: list[int]
    scores: dict[str, float | None]
    mean: float | None


class EvaluationSummary(BaseModel):
    """An evaluation as the list shows it."""

    id: str
    created: float = Field(description="Seconds since the epoch.")
    scorers: list[str]
    samples: int
    summary: list[ScorerMean]


class EvaluationDetail(EvaluationSummary):
    """An evaluation in full."""

    rows: list[SampleRow] = Field(description="One per sample, in sample order.")
    best: list[SampleRow] = Field(description="The highest means (at most 3).")
    worst: list[SampleRow] = Field(description="The lowest means (at most 3).")
    scorings: list[Scoring]


def _means(found: evaluations.Evaluation) -> list[ScorerMean]:
    return [
        ScorerMean(
            scorer=each.scorer,
            count=each.count,
            mean=each.mean,
            low=each.low,
            high=each.high,
            missing=each.missing,
        )
        for each in found.summary()
    ]


def _row(found: evaluations.Evaluation, row: dict[str, Any]) -> SampleRow:
    return SampleRow(
        run=row["run"],
        path=list(row["path"]),
        scores={name: row.get(name) for name in found.scorers},
        mean=row["mean"],
    )


def _summary(found: evaluations.Evaluation) -> EvaluationSummary:
    return EvaluationSummary(
        id=found.id,
        created=found.created,
        scorers=list(found.scorers),
        samples=len(found.samples()),
        summary=_means(found),
    )


@evaluation_router.get(
    "/evaluations",
    response_model=list[EvaluationSummary],
    summary="Every evaluation, newest first",
)
def list_evaluations(request: Request) -> list[EvaluationSummary]:
    """Every evaluation made in the store, with each scorer's mean."""
    with _using(request) as store:
        return [_summary(found) for found in _service.list_evaluations(store)]


@evaluation_router.get(
    "/evaluations/{evaluation_id}",
    response_model=EvaluationDetail,
    responses={404: {"model": ErrorBody, "description": "No such evaluation."}},
    summary="One evaluation in full",
)
def get_evaluation(request: Request, evaluation_id: EvaluationId) -> EvaluationDetail:
    """An evaluation's scorers, a row per sample, the best and the worst, and
    every scoring with the run that did it."""
    with _using(request) as store:
        try:
            found = _service.open_evaluation(store, evaluation_id)
        except evaluations.EvaluationError as error:
            raise ApiError(404, "not found", str(error)) from None
    return EvaluationDetail(
        **_summary(found).model_dump(),
        rows=[_row(found, row) for row in found.samples()],
        best=[_row(found, row) for row in found.best(3)],
        worst=[_row(found, row) for row in found.worst(3)],
        scorings=[
            Scoring(
                run_id=each.run_id,
                path=list(each.path),
                scorer=each.scorer,
                score=each.score,
                label=each.label,
                scoring_run=each.scoring_run,
                status=each.status,
                error=each.error,
                feedback_id=each.feedback_id,
            )
            for each in found.scores
        ],
    )
