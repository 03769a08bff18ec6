"""Endpoints in your own FastAPI app that run a component, journaled.

:func:`post` and :func:`get` add a route to a FastAPI application; each
request runs the component as a durable run in the given store (so every
call the API serves is listed by ``enact runs`` and in the web UI, and can be
replayed and forked) and answers with its output::

    app = fastapi.FastAPI()
    enact.fastapi.post(app, "/greet", Greeter(), store)

The component's input and output types must be declared and concrete: a
dataclass resource whose resource fields are its dataclass fields (the input
may also be ``NoneResource``, for a component without input). ``get`` is for
components without input. A request body is parsed as the input dataclass
(a missing or invalid one is HTTP 400); a failed run answers HTTP 500 with
the exception's message; the response is the output dataclass. The route is
named after the component's class, and described by its docstring.

Needs FastAPI (the ``ui`` extra); ``import enact`` does not import it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from enact.interfaces import NoneResource, ResourceBase
from enact.references import Store
from enact.resources import Resource

__all__ = ["get", "post"]


def post(app: Any, route: str, invokable: Any, store: Store) -> None:
    """Adds ``POST route`` to ``app``: runs ``invokable`` on the request body.

    Raises:
        ValueError: if the invokable's types are missing or not concrete
            dataclass resources.
    """
    input_type, output_type = _checked_types(invokable, allow_input=True)
    _add(app, "POST", route, invokable, store, input_type, output_type)


def get(app: Any, route: str, invokable: Any, store: Store) -> None:
    """Adds ``GET route`` to ``app``: runs ``invokable`` (which takes no input).

    Raises:
        ValueError: if the invokable takes input, or its output type is
            missing or not a concrete dataclass resource.
    """
    input_type, output_type = _checked_types(invokable, allow_input=False)
    _add(app, "GET", route, invokable, store, input_type, output_type)


def _checked_types(
    invokable: Any, *, allow_input: bool
) -> tuple[type[ResourceBase] | None, type[ResourceBase]]:
    name = type(invokable).__name__
    get_input = getattr(invokable, "get_input_type", None)
    get_output = getattr(invokable, "get_output_type", None)
    if get_input is None or get_output is None:
        raise ValueError(f"{name} is not an invokable (it has no declared types).")
    input_type = get_input()
    output_type = get_output()
    if input_type is None:
        raise ValueError(f"{name} declares no input type; declare one to serve it.")
    takes_input = not issubclass(input_type, NoneResource)
    if takes_input and not allow_input:
        raise ValueError(
            f"{name} takes a {input_type.__name__}: a GET endpoint is only for "
            "components without input (use enact.fastapi.post)."
        )
    if output_type is None:
        raise ValueError(f"{name} declares no output type; declare one to serve it.")
    if takes_input:
        _check_dataclass(name, "input", input_type)
    _check_dataclass(name, "output", output_type)
    return (input_type if takes_input else None), output_type


def _check_dataclass(name: str, role: str, cls: type[ResourceBase]) -> None:
    if cls in (Resource, ResourceBase):
        raise ValueError(
            f"{name}'s {role} type is the generic {cls.__name__}; declare a "
            "specific dataclass resource."
        )
    if not (isinstance(cls, type) and issubclass(cls, Resource)) or not (
        dataclasses.is_dataclass(cls)
    ):
        raise ValueError(
            f"{name}'s {role} type {cls.__name__} is not a dataclass resource."
        )
    dataclass_fields = [field.name for field in dataclasses.fields(cls)]
    if list(cls.field_names()) != dataclass_fields:
        raise ValueError(
            f"{name}'s {role} type {cls.__name__} has resource fields "
            f"{list(cls.field_names())} that differ from its dataclass fields "
            f"{dataclass_fields}."
        )


def _add(
    app: Any,
    method: str,
    route: str,
    invokable: Any,
    store: Store,
    input_type: type[ResourceBase] | None,
    output_type: type[ResourceBase],
) -> None:
    from fastapi import HTTPException, Request

    def run(arg: Any) -> Any:
        from enact import runs

        with store:
            handle = runs.run(invokable, arg, tags=("http",))
            info = handle.info()
            if info.status is not runs.RunStatus.FINISHED:
                raise HTTPException(
                    500, info.error or f"run {handle.id} is {info.status.value}"
                )
            return handle.output()

    if input_type is None:

        def endpoint() -> Any:
            return run(None)

    else:
        cls = input_type

        async def endpoint(request: Request) -> Any:  # type: ignore[misc]
            body = await request.body()
            if not body.strip():
                raise HTTPException(400, f"The request needs a {cls.__name__} body.")
            try:
                arg = _parse(cls, await request.json())
            except Exception as error:
                raise HTTPException(
                    400, f"The body is not a {cls.__name__}: {_problems(error)}"
                ) from None
            from starlette.concurrency import run_in_threadpool

            return await run_in_threadpool(run, arg)

        # Names imported here are not module globals, where FastAPI would
        # look up the (string) annotations.
        endpoint.__annotations__ = {"request": Request, "return": Any}

    app.add_api_route(
        route,
        endpoint,
        methods=[method],
        name=type(invokable).__name__,
        description=type(invokable).__doc__ or "",
        response_model=output_type,
        openapi_extra=None
        if input_type is None
        else {
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _schema_of(input_type)}},
            }
        },
    )


def _problems(error: Exception) -> str:
    errors = getattr(error, "errors", None)
    if not callable(errors):
        return str(error)
    parts = []
    for item in errors()[:5]:
        where = ".".join(str(part) for part in item.get("loc", ())) or "body"
        parts.append(f"{where}: {item.get('msg', 'invalid')}")
    return "; ".join(parts)


def _parse(cls: type[ResourceBase], data: Any) -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(cls).validate_python(data)


def _schema_of(cls: type[ResourceBase]) -> dict[str, Any]:
    from pydantic import TypeAdapter

    schema: dict[str, Any] = TypeAdapter(cls).json_schema()
    return schema
