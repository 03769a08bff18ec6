"""What the batch and feedback endpoints send and take, as pydantic models.

Kept apart from :mod:`enact.api._models` (runs, trees, answers) so each
module stays one concept: batches of samples, and feedback on calls.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from enact.api._models import ChildIndex, RunSummary

__all__ = [
    "BatchDetail",
    "BatchSummary",
    "DistributionRow",
    "FailureRow",
    "FeedbackBody",
    "FeedbackEdit",
    "FeedbackItem",
    "SlowSample",
]

BatchStatus = Literal["running", "waiting", "finished", "failed", "incomplete"]
#: A finite score: NaN and infinities are refused before the handler runs.
Score = Annotated[float, Field(strict=True, allow_inf_nan=False)]
#: Strict: 0 and 1 are not thumbs, "true" is a word.
Label = (
    Annotated[bool, Field(strict=True)]
    | Annotated[str, Field(strict=True, min_length=1, max_length=100)]
)
Comment = Annotated[str, Field(max_length=20_000)]
Source = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        description="Who gives it: 'person:<name>' or 'scorer:<component>' "
        "(a bare name means a person); default: the server's user.",
    ),
]


class BatchSummary(BaseModel):
    """One batch of samples as the batches list shows it."""

    id: str
    name: str | None
    component: str = Field(description="The component's qualified class name.")
    size: int = Field(description="How many samples it has.")
    counts: dict[str, int] = Field(
        description="How many samples are in each run status, plus 'not started'."
    )
    status: BatchStatus
    started: float = Field(description="When it was made, seconds since the epoch.")
    ended: float | None = Field(
        description="When its last sample ended, once all have."
    )
    tags: list[str]
    parent: str | None = Field(
        description="For a fork batch, the run it branches from."
    )


class DistributionRow(BaseModel):
    """One bar of the outputs' distribution."""

    label: str = Field(description="A bin's range ('[0, 0.5)') or a value's text.")
    count: int


class FailureRow(BaseModel):
    """One distinct error of the failed samples."""

    error: str
    count: int
    first: int = Field(description="The first sample that failed with it.")


class SlowSample(BaseModel):
    """One of the slowest ended samples."""

    sample: int
    run: str
    seconds: float


class BatchDetail(BatchSummary):
    """One batch: its counts, the distribution of its outputs, failures, the
    slowest samples, and a page of its samples' runs."""

    distribution_kind: Literal["numbers", "values", "empty"]
    distribution: list[DistributionRow]
    stats: dict[str, float] = Field(
        description="For numbers: min, max, mean and stdev of the outputs."
    )
    failures: list[FailureRow]
    slowest: list[SlowSample]
    samples: list[RunSummary] = Field(
        description="The runs of started samples, in sample order, from offset."
    )
    next_offset: int | None


class FeedbackItem(BaseModel):
    """One piece of feedback on one call, at its latest revision."""

    id: str
    run_id: str
    path: list[int] = Field(description="The call's child indices ([]: the top call).")
    score: float | None
    label: bool | str | None = Field(description="Thumbs (true/false) or a word.")
    comment: str | None
    correction: str | None = Field(
        description="The digest of the corrected output, at /api/objects/{digest}."
    )
    correction_text: str | None = Field(description="The correction on one line.")
    source: str = Field(description="Who gave it.")
    created: float
    updated: float
    updated_by: str
    revision: int


class FeedbackBody(BaseModel):
    """Feedback on one call: at least one of score, label, comment, correction."""

    path: list[ChildIndex] = Field(
        default_factory=list, description="The call's child indices ([]: top call)."
    )
    score: Score | None = Field(default=None, description="A number, higher is better.")
    label: Label | None = Field(default=None, description="Thumbs or a short word.")
    comment: Comment | None = None
    correction: Any = Field(
        default=None,
        description="The output the call should have returned, in JSON form "
        "(checked against the call's output type, like an answer).",
    )
    source: Source | None = None


class FeedbackEdit(BaseModel):
    """A change to a feedback: only the fields sent change (null clears one)."""

    score: Score | None = None
    label: Label | None = None
    comment: Comment | None = None
    correction: Any = Field(
        default=None, description="A new correction in JSON form; null clears it."
    )
    source: Source | None = Field(default=None, description="Who makes the change.")
    expect_revision: Annotated[int, Field(strict=True, ge=0, le=10**9)] | None = Field(
        default=None,
        description="Change it only if it is still at this revision (else 409).",
    )
