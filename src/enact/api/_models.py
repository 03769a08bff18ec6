"""What the HTTP API sends and takes: the JSON documents, as pydantic models.

Each model is the schema of one response or request body, so the OpenAPI
description (``/openapi.json``, the ``/docs`` page) is exact and a client in
any language can be generated from it. Values (inputs, outputs, exceptions)
travel as readable text plus the digest of the stored object: the object
itself is at ``/api/objects/{digest}``, verified, in its canonical JSON form.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

__all__ = [
    "AnswerBody",
    "AnswerResult",
    "BranchBody",
    "CallDifference",
    "CallNode",
    "Comparison",
    "DamagedRecord",
    "ErrorBody",
    "HeldComponent",
    "InvocationTree",
    "JobStarted",
    "ObjectText",
    "PendingRequest",
    "RunDetail",
    "RunPage",
    "RunComponents",
    "RunSummary",
    "Setting",
    "TreePage",
]

#: A child index in a call path: a whole number, never a bool or a float.
ChildIndex = Annotated[int, Field(strict=True, ge=0, le=10**9)]

Status = Literal["running", "finished", "failed", "waiting", "crashed"]


class ErrorBody(BaseModel):
    """Every error response: what went wrong, in one line."""

    error: str = Field(description="The kind of error, e.g. 'not found'.")
    detail: str = Field(description="What is wrong, naming the run, path or field.")


class RunSummary(BaseModel):
    """One run as the runs list shows it."""

    id: str
    component: str = Field(description="The component's qualified class name.")
    status: Status
    started: float = Field(description="Seconds since the epoch.")
    ended: float | None
    name: str | None
    tags: list[str]
    parent: str | None = Field(description="The run it was forked or replayed from.")
    relation: str | None = Field(description="'fork' or 'replay', with parent.")
    pending: int = Field(description="How many input requests it waits for.")
    error: str | None = Field(description="One line: why a failed run failed.")
    resumed: int
    live: bool = Field(description="Whether a live process runs or waits on it.")


class DamagedRecord(BaseModel):
    """A run record the index holds but cannot read."""

    run_id: str | None
    where: str
    problem: str


class RunPage(BaseModel):
    """One page of runs, newest first."""

    runs: list[RunSummary]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null on the last page."
    )
    total: int | None = Field(
        description="How many runs match the filters in all (with ?count=true; "
        "else null)."
    )
    damaged: list[DamagedRecord] = Field(
        description="Records that could not be read (with ?count=true)."
    )


class PendingRequest(BaseModel):
    """An input request a waiting run is stopped at."""

    run_id: str
    component: str | None = Field(
        default=None, description="The waiting run's component (qualified name)."
    )
    path: list[int] = Field(description="Child indices from the top-level call.")
    requested_type: str = Field(description="The answer's registered type id.")
    context: Any = Field(description="What to ask, in JSON form.")
    context_text: str
    answer_format: str = Field(description="What an answer must look like.")
    request: str = Field(description="The digest of the InputRequest object.")


class RunDetail(RunSummary):
    """One run, with what it was asked and what it gave."""

    request: str = Field(description="Digest of the top-level Request object.")
    invocation: str | None = Field(description="Digest of the final Invocation.")
    input_text: str
    output_text: str | None
    exception_text: str | None
    requests: list[PendingRequest] = Field(
        description="The input requests nobody has answered yet."
    )


class CallNode(BaseModel):
    """One call of a run's tree (children are the next nodes, depth first)."""

    path: list[int]
    depth: int
    name: str
    digest: str | None = Field(description="The invocation's digest, if known.")
    input: str = Field(description="The input on one line.")
    input_digest: str | None
    output: str | None = Field(description="The output on one line.")
    output_digest: str | None
    exception: str | None = Field(description="The exception on one line.")
    raised_here: bool
    asked: str | None = Field(description="The type of input the call asked for.")
    start: float | None
    end: float | None
    children: int = Field(description="How many direct children it has.")
    problem: str | None = Field(description="Why part of it cannot be read here.")


class TreePage(BaseModel):
    """A slice of a run's call tree, depth first."""

    run_id: str
    nodes: list[CallNode]
    total: int = Field(description="How many calls the tree shows in all.")
    hidden: int = Field(description="Calls past the tree's size limit, not shown.")
    next_offset: int | None


class InvocationTree(BaseModel):
    """A slice of a stored invocation's call tree, depth first."""

    digest: str = Field(description="The invocation's digest.")
    nodes: list[CallNode]
    total: int = Field(description="How many calls the tree shows in all.")
    hidden: int = Field(description="Calls past the tree's size limit, not shown.")
    next_offset: int | None


class ObjectText(BaseModel):
    """A stored value as readable text."""

    digest: str
    type: str = Field(description="The value's Python type, by name.")
    invocation: bool = Field(
        description="Whether it is an invocation (its calls: /api/invocations)."
    )
    text: str = Field(description="The value pretty-printed, cut if very long.")


class AnswerBody(BaseModel):
    """An answer to a waiting run's input request."""

    value: Any = Field(
        description="The answer in JSON form: a string, number, or an object "
        "with the requested type's fields."
    )
    path: list[ChildIndex] | None = Field(
        default=None, description="Which request, if the run waits for several."
    )
    resume: bool = Field(
        default=True,
        description="Resume the run in the server if no process waits for it.",
    )


class AnswerResult(BaseModel):
    """An accepted answer."""

    run_id: str
    path: list[int]
    resumed: bool = Field(description="Whether the server started resuming the run.")


ComponentPath = Annotated[
    str, Field(max_length=500, pattern=r"^([A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*)?$")
]


class BranchBody(BaseModel):
    """How to fork a run: where to resample from, which settings of its
    components to change, or a new input."""

    at: list[ChildIndex] | None = Field(
        default=None,
        description="Child indices of the first call to run afresh; every call "
        "before it keeps its recorded result. Default: the last top-level call.",
    )
    replace: dict[ComponentPath, dict[str, Any]] | None = Field(
        default=None,
        description="By component path ('' the run's component, 'model' one "
        "of its fields; see /components): settings to change, e.g. "
        '{"model": {"temperature": 0.2}}. Each value is checked against '
        "its field.",
    )
    input: Any = Field(
        default=None,
        description="A new input for the run's component, in JSON form (as an "
        "answer). When given, the fork reruns the component on it and every "
        "call that did not change keeps its recorded result; 'at' must then "
        "be left out.",
    )


class Setting(BaseModel):
    """A field of a component that a fork may change."""

    name: str
    kind: Literal["text", "int", "float", "bool"]
    value: Any


class HeldComponent(BaseModel):
    """A component in a run's component tree."""

    where: str = Field(description="Its field path from the run's component.")
    name: str = Field(description="Its class name.")
    settings: list[Setting]


class RunComponents(BaseModel):
    """What a fork of a run may change: its components' settings, its input."""

    run_id: str
    components: list[HeldComponent]
    input_type: str | None = Field(description="The registered type id of its input.")
    input: Any = Field(description="Its input in JSON form (as a fork takes one).")


class CallDifference(BaseModel):
    """How the call at one path compares in two runs."""

    path: list[int]
    kind: Literal["same", "changed", "only-left", "only-right"]
    changes: list[str] = Field(
        description="For 'changed': which parts differ (invokable, input, "
        "output, raised, state, children)."
    )
    left: str | None = Field(description="The left call's invocation digest.")
    right: str | None = Field(description="The right call's invocation digest.")


class Comparison(BaseModel):
    """Two runs' journals compared call by call (kept calls are not descended)."""

    left: str
    right: str
    divergence: list[int] | None = Field(
        description="The first differing call with nothing differing below it; "
        "null if the journals are equal."
    )
    kept: int
    differing: int
    calls: list[CallDifference]


class JobStarted(BaseModel):
    """Work the server started in the background."""

    run_id: str | None = Field(description="The run the work is on, once known.")
    label: str
