"""The API application: routes, access checks, errors as one-line JSON."""

from __future__ import annotations

import logging
import pathlib
import threading
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from enact import runs
from enact.api._batch_routes import batch_router
from enact.api._evaluation_routes import evaluation_router
from enact.api._events import events_router
from enact.api._fork import fork_router
from enact.api._guard import Guard
from enact.api._invoke_routes import invoke_router
from enact.api._routes import ApiError, router
from enact.api._watcher import Watcher
from enact.errors import EnactError
from enact.references import Store
from enact.ui._jobs import Jobs

__all__ = ["create_app"]

_log = logging.getLogger("enact.api")

# Which errors of the runs API mean what to a client.
_STATUS: tuple[tuple[type[Exception], int, str], ...] = (
    (runs.RunNotFound, 404, "not found"),
    (runs.NoPendingInput, 409, "nothing to answer"),
    (runs.AlreadyAnswered, 409, "already answered"),
    (runs.RunNotResumable, 409, "not resumable"),
    (runs.WrongAnswerType, 422, "wrong answer type"),
    (runs.RunDamaged, 500, "damaged run"),
)


def create_app(
    store: Store, *, host: str = "127.0.0.1", token: str | None = None
) -> FastAPI:
    """The HTTP API over one store, as a FastAPI application.

    Serve it with :func:`enact.api.serve` (or any ASGI server). Run work the
    API starts (forks, replays, resumed runs) runs in background threads of
    the serving process, in ``store``.

    Args:
        store: The store the API reads and writes.
        host: The address the server listens on (requests must name it when
            there is no token).
        token: The access token every request must carry; None serves
            loopback only.
    """
    app = FastAPI(
        title="enact",
        summary="Runs, their call trees, input requests and answers, objects.",
        version=_version(),
        docs_url=None,
        redoc_url=None,
    )
    app.state.store = store
    app.state.jobs = Jobs(store)
    #: Set when the server closes: event streams end.
    app.state.closing = threading.Event()
    #: Reads the store for every open event stream.
    app.state.watcher = Watcher(store, app.state.closing)
    app.include_router(router)
    app.include_router(batch_router)
    app.include_router(evaluation_router)
    app.include_router(events_router)
    app.include_router(fork_router)
    app.include_router(invoke_router)
    app.middleware("http")(Guard(host, token))
    _add_error_handlers(app)
    _add_docs(app)
    _describe_errors(app)
    return app


def _describe_errors(app: FastAPI) -> None:
    """Makes the OpenAPI description say what errors really look like.

    Every error, a rejected request included, is an ``ErrorBody``; and every
    endpoint may answer 401 (no token), 403 (a foreign host or origin) and
    415 (a change without a JSON body).
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        error = {"content": {"application/json": {"schema": _ERROR_REF}}}
        for operations in schema.get("paths", {}).values():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                if "422" in responses:
                    responses["422"] = {"description": "Invalid request.", **error}
                responses.setdefault("400", {"description": "Bad request.", **error})
                responses.setdefault("401", {"description": "No token.", **error})
                responses.setdefault(
                    "403", {"description": "Foreign host or origin.", **error}
                )
                if method in ("post", "put", "patch", "delete"):
                    responses.setdefault(
                        "415", {"description": "Not a JSON body.", **error}
                    )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _allowed(request: Request) -> list[str]:
    """Every method some route takes at this request's path."""
    found = []
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.routes):
            found.append(method)
    return found


_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}


def _version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("enact")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _error(status: int, error: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> Response:
        return _error(error.status, error.error, error.detail)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        response = _error(error.status_code, "http error", str(error.detail))
        response.headers.update(error.headers or {})
        if error.status_code == 405:
            # Starlette names only the first matching route's methods; a
            # path served by two routes (GET and POST) allows both.
            response.headers["Allow"] = ", ".join(_allowed(request))
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        problems = []
        for item in error.errors()[:5]:
            where = ".".join(str(part) for part in item.get("loc", ()))
            problems.append(f"{where}: {item.get('msg', 'invalid')}")
        return _error(422, "invalid request", "; ".join(problems) or "invalid")

    async def known(request: Request, error: Exception) -> Response:
        for kind, status, label in _STATUS:
            if isinstance(error, kind):
                return _error(status, label, str(error))
        return _error(400, "bad request", str(error) or type(error).__name__)

    app.add_exception_handler(EnactError, known)
    app.add_exception_handler(ValueError, known)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        # Never a traceback to the client: the server's log has it.
        _log.exception("unexpected error serving %s", request.url.path)
        return _error(500, "internal error", type(error).__name__)


_DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>enact API</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script src="/docs/static/init.js"></script></body></html>
"""
# No inline script: the page's policy allows scripts from this server only.
_DOCS_INIT = (
    'window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui"});\n'
)
_DOCS_FILES = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
}


def _add_docs(app: FastAPI) -> None:
    @app.get("/docs", include_in_schema=False)
    def docs() -> Response:
        if _swagger_dir() is None:
            return _error(
                404,
                "not found",
                "The /docs page needs the swagger-ui-bundle package "
                "(pip install 'enact[ui]'); /openapi.json has the description.",
            )
        return HTMLResponse(_DOCS_PAGE)

    @app.get("/docs/static/{name}", include_in_schema=False)
    def docs_file(name: str) -> Response:
        if name == "init.js":
            return Response(_DOCS_INIT, media_type="text/javascript")
        folder = _swagger_dir()
        kind = _DOCS_FILES.get(name)
        if folder is None or kind is None:
            return _error(404, "not found", f"No file {name[:100]!r}.")
        return Response((folder / name).read_bytes(), media_type=kind)


def _swagger_dir() -> pathlib.Path | None:
    try:
        import swagger_ui_bundle
    except ImportError:
        return None
    return pathlib.Path(swagger_ui_bundle.swagger_ui_path)
