"""Starting runs: the registered components, and a new run of one.

``GET /api/components`` lists the components this server's process knows
(registered invokable classes with a declared input type), with what their
fields and input must look like; ``POST /api/invoke`` makes one from JSON,
checked as answers are, and runs it on an input in the background.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, Field

from enact._runs.answers import build_answer, describe_answer
from enact.api import _service
from enact.api._models import ErrorBody, JobStarted
from enact.api._routes import ApiError, _jobs, _using
from enact.interfaces import NoneResource

__all__ = ["ComponentInfo", "InvokeBody", "invoke_router"]

invoke_router = APIRouter(prefix="/api")


class ComponentInfo(BaseModel):
    """A component a run can be started of."""

    type_id: str = Field(description="Its registered name: what 'invoke' takes.")
    name: str = Field(description="Its class name.")
    module: str
    doc: str
    fields: str = Field(description="What its fields must look like, in JSON.")
    input_type: str = Field(description="Its input's registered type id.")
    input_format: str = Field(description="What its input must look like, in JSON.")


class InvokeBody(BaseModel):
    """Which component to run, made how, on what."""

    component: str = Field(
        min_length=1, max_length=500, description="A type_id of GET /api/components."
    )
    fields: Any = Field(
        default_factory=dict,
        description="The component's fields, as a JSON object (checked like an "
        "answer).",
    )
    input: Any = Field(
        default=None, description="The input, in JSON (checked like an answer)."
    )


def _value(cls: Any, raw: Any, subject: str) -> Any:
    """A ``cls`` made from JSON (None for a component without input)."""
    if issubclass(cls, NoneResource) or raw is None:
        return None
    return build_answer(cls, raw, subject=subject)


@invoke_router.get(
    "/components",
    response_model=list[ComponentInfo],
    summary="The components a run can be started of",
)
def list_components(request: Request) -> list[ComponentInfo]:
    """The registered components this server's process knows (start it with
    ``--import`` to add your own), sorted by class name."""
    with _using(request):
        found = []
        for type_id, cls in _service.components():
            input_type = cls.get_input_type()
            found.append(
                ComponentInfo(
                    type_id=type_id,
                    name=cls.__name__,
                    module=cls.__module__,
                    doc=(cls.__doc__ or "").strip(),
                    fields=describe_answer(cls),
                    input_type=str(input_type.type_id()),
                    input_format=describe_answer(input_type),
                )
            )
        return found


@invoke_router.post(
    "/invoke",
    response_model=JobStarted,
    status_code=202,
    responses={
        404: {"model": ErrorBody, "description": "No such component."},
        409: {"model": ErrorBody, "description": "The run could not start."},
        422: {"model": ErrorBody, "description": "Fields or input do not fit."},
    },
    summary="Start a run of a registered component",
)
def invoke(request: Request, body: Annotated[InvokeBody, Body()]) -> JobStarted:
    """Makes the component from ``fields``, its input from ``input``, and
    starts a durable run of it in the server; answers with the new run."""
    with _using(request) as store:
        found = _service.find_component(body.component)
        if found is None:
            raise ApiError(
                404,
                "not found",
                f"No component {body.component[:200]!r} is registered in the "
                "server's process (see GET /api/components).",
            )
        fields = {} if body.fields is None else body.fields
        component = build_answer(
            found, fields, subject=f"The fields of {found.__name__}"
        )
        input_type = found.get_input_type()
        value = _value(input_type, body.input, f"The input of {found.__name__}")
    child = _service.start_run(store, _jobs(request), component, value)
    job = child.job
    if child.run_id is None and job.done.is_set() and job.error is not None:
        raise ApiError(409, "cannot run", job.error)
    return JobStarted(run_id=child.run_id, label=job.label)
