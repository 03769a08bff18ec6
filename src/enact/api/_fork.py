"""Forks: resampling from a call on, with changed settings of the run's
components, or on a new input.

``GET /api/runs/{run}/components`` says what a fork may change; ``POST
/api/runs/{run}/fork`` takes ``at``, ``replace`` and ``input``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request

from enact import runs
from enact._runs.answers import build_answer
from enact.api import _service
from enact.api._models import (
    BranchBody,
    ErrorBody,
    HeldComponent,
    JobStarted,
    RunComponents,
    Setting,
)
from enact.api._routes import (
    _ERRORS,
    ApiError,
    RunId,
    _jobs,
    _run,
    _started,
    _using,
)
from enact.references import Store
from enact.ui._jobs import Jobs
from enact.ui._replace import SettingsError, held_components, replacements
from enact.wrappers import wrap

__all__ = ["fork_router", "fork_work"]

fork_router = APIRouter(prefix="/api")


def _component_and_input(run: runs.Run) -> tuple[Any, Any]:
    request = run.info().request.checkout()
    return request.invokable(), request.input()


def fork_work(
    run: runs.Run, body: BranchBody
) -> Callable[[Store, Jobs], _service.ChildRun]:
    """What a fork request asks for, checked first: a function that starts
    it (in a store, with the server's jobs).

    Raises:
        ApiError: for settings or an input that do not fit (422).
    """
    component, old_input = _component_and_input(run)
    try:
        swaps = replacements(component, body.replace or {})
    except SettingsError as error:
        raise ApiError(422, "bad settings", str(error)) from None
    replace = swaps or None
    if "input" in body.model_fields_set:
        if body.at is not None:
            raise ApiError(
                422,
                "invalid request",
                "A fork with a new input reruns the whole run (replaying what "
                "did not change): leave 'at' out.",
            )
        wanted = component.get_input_type() or type(wrap(old_input))
        value = build_answer(wanted, body.input, run.id, subject="The new input")
        return lambda store, jobs: _service.fork_with_input(
            store, jobs, run, value, replace=replace
        )
    at = None if body.at is None else tuple(body.at)
    return lambda store, jobs: _service.fork(store, jobs, run, at=at, replace=replace)


def _json_form(value: Any) -> Any:
    """A value as a fork's ``input`` takes it (None if it has no such form)."""
    builtin = getattr(type(value), "_builtin", None)
    if builtin is bytes:
        return bytes(value).decode("utf-8", "replace")
    if builtin in (str, int, float, bool):
        return builtin(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        shown = {}
        for field in dataclasses.fields(value):
            item = getattr(value, field.name)
            if item is None or isinstance(item, str | int | float | bool):
                shown[field.name] = item
        return shown
    return None


@fork_router.get(
    "/runs/{run_id}/components",
    response_model=RunComponents,
    responses=_ERRORS,
    summary="What a fork of a run may change",
)
def get_components(request: Request, run_id: RunId) -> RunComponents:
    """The components the run's component holds, by field path, with their
    settings (text, number and flag fields), and its input."""
    with _using(request) as store:
        run = _run(store, run_id)
        component, value = _component_and_input(run)
        held = held_components(component)
        input_type = component.get_input_type()
        return RunComponents(
            run_id=run.id,
            components=[
                HeldComponent(
                    where=each.where,
                    name=each.name,
                    settings=[
                        Setting(name=s.name, kind=s.kind, value=s.value)  # type: ignore[arg-type]
                        for s in each.settings
                    ],
                )
                for each in held
            ],
            input_type=None if input_type is None else str(input_type.type_id()),
            input=_json_form(value),
        )


@fork_router.post(
    "/runs/{run_id}/fork",
    response_model=JobStarted,
    status_code=202,
    responses={
        **_ERRORS,
        422: {"model": ErrorBody, "description": "Settings or input do not fit."},
    },
    summary="Fork a run: resample from a call on, change settings or the input",
)
def fork_run(
    request: Request, run_id: RunId, body: Annotated[BranchBody, Body()]
) -> JobStarted:
    """Starts a new run that keeps every call before ``at`` and resamples the
    rest, with the ``replace`` settings changed; or, with ``input``, reruns
    the run on a new input, replaying every call that did not change."""
    with _using(request) as store:
        run = _run(store, run_id)
        start = fork_work(run, body)
    return _started(start(store, _jobs(request)))
