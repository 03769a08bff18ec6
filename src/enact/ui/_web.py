"""The web UI's pages as routes of the HTTP API's application.

:func:`ui_app` makes the API's FastAPI application
(:func:`enact.api.create_app`) and adds the UI to it: its pages, its two
static files and its ``/events`` stream. One application, one set of access
checks (:class:`enact.api._guard.Guard` knows both kinds of path), one set of
background jobs. Starlette routes and parses each request; the route turns it
into the pages' own :class:`~enact.ui._http.Request`, checks the form's CSRF
token, and runs the page in a worker thread in the server's store.
"""

from __future__ import annotations

import inspect
import logging
import re
import secrets
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request as WebRequest
from starlette.responses import Response as WebResponse
from starlette.routing import Route

from enact import runs
from enact.api._app import create_app
from enact.api._events import state_events
from enact.api._guard import MAX_FORM_BYTES, is_api_path
from enact.contexts import with_new_contexts
from enact.references import Store
from enact.ui import _security
from enact.ui._batch_pages import BatchPages
from enact.ui._feedback import FeedbackPages
from enact.ui._fork_pages import ForkPages
from enact.ui._http import Request, Response
from enact.ui._live import read_state
from enact.ui._pages import Pages
from enact.ui._render import static_file

__all__ = ["ui_app"]

_log = logging.getLogger("enact.ui")

Handler = Callable[..., Response]

# What each path parameter must look like, else the page is not found.
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_PARAMETERS: dict[str, re.Pattern[str]] = {
    "run_id": _ID,
    "batch_id": _ID,
    "digest": re.compile(r"[0-9a-f]{64}"),
    "feedback_id": re.compile(r"[0-9a-f]{32}"),
    "evaluation_id": re.compile(r"[0-9a-f]{12}"),
}


def ui_app(store: Store, *, host: str, token: str | None) -> FastAPI:
    """The HTTP API's application with the web UI's pages added.

    Args:
        store: The store the UI and the API show.
        host: The address the server listens on.
        token: The access token, or None (loopback only).

    Returns:
        The application; ``app.state.csrf`` is the token every posted form
        must carry (new for each application).
    """
    app = create_app(store, host=host, token=token)
    csrf = secrets.token_urlsafe(32)
    pages = Pages(store, app.state.jobs, csrf)
    web = _Web(store, pages, csrf)
    app.state.csrf = csrf
    app.state.page_error = web.error
    batch_pages = BatchPages(pages)
    rated = FeedbackPages(pages)
    forks = ForkPages(pages)
    table: list[tuple[str, str, Handler]] = [
        ("GET", "/", pages.runs_list),
        ("GET", "/runs/{run_id}", pages.run_page),
        ("POST", "/runs/{run_id}/answer", pages.answer),
        ("POST", "/runs/{run_id}/fork", pages.fork),
        ("POST", "/runs/{run_id}/fork-settings", forks.fork_settings),
        ("POST", "/runs/{run_id}/fork-input", forks.fork_input),
        ("POST", "/runs/{run_id}/replay", pages.replay),
        ("POST", "/runs/{run_id}/resume", pages.resume),
        ("GET", "/compare", pages.compare_page),
        ("GET", "/batches", batch_pages.batches_list),
        ("GET", "/batches/{batch_id}", batch_pages.batch_page),
        ("GET", "/inbox", pages.inbox),
        ("GET", "/invoke", pages.invoke_page),
        ("POST", "/invoke", pages.invoke),
        ("GET", "/invocations/{digest}", pages.invocation_page),
        ("GET", "/objects/{digest}", pages.object_page),
        ("POST", "/runs/{run_id}/feedback", rated.add),
        ("POST", "/runs/{run_id}/feedback/{feedback_id}/edit", rated.edit),
        ("POST", "/runs/{run_id}/feedback/{feedback_id}/delete", rated.delete),
        ("GET", "/evaluations", rated.evaluations_list),
        ("GET", "/evaluations/{evaluation_id}", rated.evaluation_page),
    ]
    routes = [
        Route(path, web.endpoint(handler), methods=[method], include_in_schema=False)
        for method, path, handler in table
    ]
    routes.append(Route("/events", web.events, methods=["GET"]))
    routes.append(Route("/static/{name}", web.static, methods=["GET"]))
    app.router.routes.extend(routes)
    _page_errors(app, web)
    return app


class _Web:
    """The UI's side of each request: parameters, form, CSRF, the page call."""

    def __init__(self, store: Store, pages: Pages, csrf: str) -> None:
        self._store = store
        self._pages = pages
        self._csrf = csrf

    def error(self, status: int, title: str, message: str) -> WebResponse:
        """The UI's error page, as a response."""
        return _to_web(self._pages.error(status, title, message))

    def endpoint(self, handler: Handler) -> Callable[[WebRequest], Any]:
        """The route's endpoint for a page."""

        async def endpoint(request: WebRequest) -> WebResponse:
            return await self._respond(request, handler)

        endpoint.__name__ = getattr(handler, "__name__", "page")
        return endpoint

    async def _respond(self, request: WebRequest, handler: Handler) -> WebResponse:
        arguments = dict(request.path_params)
        for name, value in arguments.items():
            if _PARAMETERS[name].fullmatch(value) is None:
                return self.error(404, "Not found", "There is no such page.")
        form: dict[str, str] = {}
        if request.method == "POST":
            read = await _read_form(request)
            if read is None:
                return self.error(413, "Too large", "The form is too large.")
            form = read
            if not _security.same_secret(form.get(_security.CSRF_FIELD), self._csrf):
                return self.error(
                    403,
                    "Form expired",
                    "This form does not come from this server (or the server was "
                    "restarted): reload the page and try again.",
                )
        method = "GET" if request.method == "HEAD" else request.method
        parsed = Request(method, request.url.path, _first_values(request), form)
        response = await run_in_threadpool(self._call, handler, parsed, arguments)
        return _to_web(response)

    def _call(
        self, handler: Handler, request: Request, arguments: Mapping[str, str]
    ) -> Response:
        """Calls a page in the server's store, in fresh contexts (a worker
        thread has none set up); an unexpected error is logged, never sent."""
        store = self._store

        @with_new_contexts
        def call() -> Response:
            with store:
                return handler(request, **arguments)

        try:
            response: Response = call()
        except Exception:
            _log.exception("unexpected error serving %s", request.path)
            return self._pages.error(500, "Something went wrong", "See the server log.")
        return response

    async def events(self, request: WebRequest) -> WebResponse:
        """``GET /events[?run=<id>]``: live updates, as server-sent events
        (the API's ``/api/events`` stream, with the UI's error pages)."""
        run_id = request.query_params.get("run") or None
        if run_id is not None and not _security.valid_run_id(run_id):
            return self.error(404, "No such run", "Not a run id.")
        try:
            first = await run_in_threadpool(read_state, self._store, run_id)
        except runs.RunError as error:
            return self.error(404, "No such run", str(error))
        return state_events(request, first)

    async def static(self, request: WebRequest) -> WebResponse:
        """``GET /static/<name>``: the UI's style sheet and script, nothing else."""
        found = static_file(request.path_params["name"])
        if found is None:
            return self.error(404, "Not found", "No such file.")
        return _to_web(Response(200, found[0], found[1]))


def _page_errors(app: FastAPI, web: _Web) -> None:
    """Pages that are not found, or not for this method, get the UI's error
    page; the API's paths keep their JSON errors."""
    api_error = app.exception_handlers[HTTPException]

    async def http_error(request: WebRequest, error: Exception) -> WebResponse:
        if is_api_path(request.url.path) or not isinstance(error, HTTPException):
            answer = api_error(request, error)
            if inspect.isawaitable(answer):
                answer = await answer
            return answer
        if error.status_code == 404:
            return web.error(404, "Not found", "There is no such page.")
        if error.status_code == 405:
            return web.error(405, "Method not allowed", "Use the page's buttons.")
        return web.error(error.status_code, "Cannot do that", str(error.detail))

    app.exception_handlers[HTTPException] = http_error


async def _read_form(request: WebRequest) -> dict[str, str] | None:
    """The posted form's fields (the first value of each); None if it is
    larger than a form may be (whatever its Content-Length said)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    form: dict[str, str] = {}
    text = body.decode("utf-8", "replace")
    for key, value in parse_qsl(text, keep_blank_values=True):
        form.setdefault(key, value)
    return form


def _first_values(request: WebRequest) -> dict[str, str]:
    query: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        query.setdefault(key, value)
    return query


def _to_web(response: Response) -> WebResponse:
    web = WebResponse(response.body, status_code=response.status)
    web.headers["Content-Type"] = response.content_type
    for name, value in response.headers:
        web.headers.append(name, value)
    return web
