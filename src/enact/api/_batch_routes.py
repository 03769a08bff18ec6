"""The batch and feedback endpoints: batches of samples with their counts and
outcome, and feedback on a run's calls (list, give, edit, delete).

Changes are POSTs with JSON bodies, like every change the API takes (the
access checks in :mod:`enact.api._guard` rely on that): editing a feedback
is ``POST .../feedback/{id}``, deleting it ``POST .../feedback/{id}/delete``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request

from enact import batches, feedback, runs
from enact._datasets.calls import call_at
from enact._runs.answers import build_answer
from enact._runs.errors import RunError
from enact.api import _service
from enact.api._batch_models import (
    BatchDetail,
    BatchSummary,
    DistributionRow,
    FailureRow,
    FeedbackBody,
    FeedbackEdit,
    FeedbackItem,
    SlowSample,
)
from enact.api._models import ErrorBody
from enact.api._routes import ApiError, RunId, _run, _using
from enact.api._views import summary
from enact.ui._security import parse_path
from enact.ui._tree import text
from enact.wrappers import wrap

__all__ = ["batch_router"]

batch_router = APIRouter(prefix="/api")

BatchId = Annotated[
    str,
    Path(
        description="A batch id or name.",
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
    ),
]
FeedbackId = Annotated[
    str, Path(description="A feedback id (32 hex digits).", pattern=r"^[0-9a-f]{32}$")
]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such batch, run or feedback."},
}
_FEEDBACK_ERRORS: dict[int | str, dict[str, Any]] = {
    **_NOT_FOUND,
    409: {"model": ErrorBody, "description": "Changed meanwhile (expect_revision)."},
    422: {"model": ErrorBody, "description": "A bad value, or no such call."},
}


# -- batches ---------------------------------------------------------------------


def _batch_summary(info: batches.BatchInfo) -> BatchSummary:
    return BatchSummary(**_summary_fields(info))


def _summary_fields(info: batches.BatchInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "name": info.name,
        "component": info.component,
        "size": info.size,
        "counts": dict(info.counts),
        "status": info.status.value,
        "started": info.started,
        "ended": info.ended,
        "tags": list(info.tags),
        "parent": info.parent,
    }


@batch_router.get(
    "/batches", response_model=list[BatchSummary], summary="Every batch, newest first"
)
def list_batches(request: Request) -> list[BatchSummary]:
    """Every batch of samples in the store, with its samples' counts by status."""
    with _using(request) as store:
        return [_batch_summary(info) for info in _service.list_batches(store)]


@batch_router.get(
    "/batches/{batch_id}",
    response_model=BatchDetail,
    responses=_NOT_FOUND,
    summary="One batch: counts, outcome, samples",
)
def get_batch(
    request: Request,
    batch_id: BatchId,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    slowest: Annotated[int, Query(ge=0, le=100)] = 10,
) -> BatchDetail:
    """A batch's counts, the distribution of its outputs, its failures, its
    slowest samples, and a page of its samples' runs (``offset``, ``limit``)."""
    with _using(request) as store:
        try:
            found = _service.open_batch(store, batch_id)
        except batches.BatchNotFound as error:
            raise ApiError(404, "not found", str(error)) from None
        info = found.info()
        outcome = found.report(slowest=slowest)
        sample_runs = found.runs()
        page = [summary(run.info()) for run in sample_runs[offset : offset + limit]]
    more = offset + limit < len(sample_runs)
    distribution = outcome.distribution
    return BatchDetail(
        **_summary_fields(info),
        distribution_kind=distribution.kind,  # type: ignore[arg-type]
        distribution=[
            DistributionRow(label=label, count=count)
            for label, count in distribution.rows
        ],
        stats=dict(distribution.stats),
        failures=[
            FailureRow(error=error, count=count, first=first)
            for error, count, first in outcome.failures
        ],
        slowest=[
            SlowSample(sample=index, run=run_id, seconds=seconds)
            for index, run_id, seconds in outcome.slowest
        ],
        samples=page,
        next_offset=offset + limit if more else None,
    )


# -- feedback --------------------------------------------------------------------


def _item(note: feedback.Feedback) -> FeedbackItem:
    correction_text = None
    if note.correction is not None:
        try:
            correction_text = text(note.correction.checkout())
        except Exception as error:  # an unregistered type, say: still listed
            correction_text = f"(cannot be read here: {error})"
    return FeedbackItem(
        id=note.id,
        run_id=note.run_id,
        path=list(note.path),
        score=note.score,
        label=note.label,
        comment=note.comment,
        correction=None if note.correction is None else note.correction.digest,
        correction_text=correction_text,
        source=note.source,
        created=note.created,
        updated=note.updated,
        updated_by=note.updated_by,
        revision=note.revision,
    )


def _correction(run: runs.Run, path: tuple[int, ...], raw: Any) -> Any:
    """The correction as a value of the call's output type (None: none)."""
    if raw is None:
        return None
    try:
        call = call_at(run, path)
    except RunError as error:
        raise ApiError(422, "no such call", str(error)) from None
    if call.output_digest is None:
        raise ApiError(
            422,
            "nothing to correct",
            f"The call at {list(path)} of run {run.id} returned nothing to correct.",
        )
    wanted = type(wrap(call.output))
    return build_answer(wanted, raw, run.id, subject="The correction")


def _existing(run: runs.Run, feedback_id: str) -> feedback.Feedback:
    try:
        return feedback.get(run, feedback_id)
    except feedback.FeedbackError:
        raise ApiError(
            404, "not found", f"Run {run.id} has no feedback {feedback_id}."
        ) from None


@batch_router.get(
    "/runs/{run_id}/feedback",
    response_model=list[FeedbackItem],
    responses=_NOT_FOUND,
    summary="A run's feedback",
)
def list_feedback(
    request: Request,
    run_id: RunId,
    path: Annotated[
        str | None,
        Query(
            max_length=2000,
            pattern=r"^(\d{1,9}(\.\d{1,9})*)?$",
            description="Only on this call, dotted ('2.0'; empty: the top call).",
        ),
    ] = None,
) -> list[FeedbackItem]:
    """The feedback on the run's calls (deleted ones are not listed)."""
    wanted = None if path is None else parse_path(path)
    with _using(request) as store:
        run = _run(store, run_id)
        return [_item(note) for note in _service.list_feedback(run, wanted)]


@batch_router.post(
    "/runs/{run_id}/feedback",
    response_model=FeedbackItem,
    status_code=201,
    responses=_FEEDBACK_ERRORS,
    summary="Give feedback on one of a run's calls",
)
def add_feedback(
    request: Request, run_id: RunId, body: Annotated[FeedbackBody, Body()]
) -> FeedbackItem:
    """Gives a score, a label, a comment and/or a corrected output to a call
    of an ended run."""
    path = tuple(body.path)
    with _using(request) as store:
        run = _run(store, run_id)
        correction = _correction(run, path, body.correction)
        try:
            note = _service.give_feedback(
                run,
                path,
                score=body.score,
                label=body.label,
                comment=body.comment,
                correction=correction,
                source=body.source,
            )
        except (feedback.FeedbackError, RunError) as error:
            raise ApiError(422, "bad feedback", str(error)) from None
        return _item(note)


@batch_router.post(
    "/runs/{run_id}/feedback/{feedback_id}",
    response_model=FeedbackItem,
    responses=_FEEDBACK_ERRORS,
    summary="Change a feedback (only the fields sent)",
)
def edit_feedback(
    request: Request,
    run_id: RunId,
    feedback_id: FeedbackId,
    body: Annotated[FeedbackEdit, Body()],
) -> FeedbackItem:
    """Changes the fields the body names (null clears one), as a new revision."""
    given = body.model_fields_set
    with _using(request) as store:
        run = _run(store, run_id)
        note = _existing(run, feedback_id)
        changes: dict[str, Any] = {
            name: getattr(body, name)
            for name in ("score", "label", "comment")
            if name in given
        }
        if "correction" in given:
            changes["correction"] = _correction(run, note.path, body.correction)
        try:
            changed = _service.edit_feedback(
                run,
                feedback_id,
                changes,
                source=body.source,
                expect_revision=body.expect_revision,
            )
        except feedback.FeedbackConflict as error:
            raise ApiError(409, "changed meanwhile", str(error)) from None
        except feedback.FeedbackError as error:
            raise ApiError(422, "bad feedback", str(error)) from None
        return _item(changed)


@batch_router.post(
    "/runs/{run_id}/feedback/{feedback_id}/delete",
    response_model=FeedbackItem,
    responses=_FEEDBACK_ERRORS,
    summary="Delete a feedback",
)
def delete_feedback(
    request: Request,
    run_id: RunId,
    feedback_id: FeedbackId,
    body: Annotated[dict[str, Any], Body()],
) -> FeedbackItem:
    """Deletes a feedback (send ``{}``, or ``{"source": ...}``: who deletes it)."""
    who = body.get("source")
    if who is not None and (not isinstance(who, str) or not who.strip()):
        raise ApiError(422, "bad feedback", "source: a non-empty name")
    with _using(request) as store:
        run = _run(store, run_id)
        _existing(run, feedback_id)
        try:
            deleted = _service.delete_feedback(run, feedback_id, source=who)
        except feedback.FeedbackError as error:
            raise ApiError(422, "bad feedback", str(error)) from None
        return _item(deleted)
