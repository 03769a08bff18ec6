"""Who may use the server, and how responses protect the browser.

One set of rules for the whole application: the HTTP API (``/api/...``,
``/openapi.json``, ``/docs``) and, when ``enact ui`` serves it alongside, the
web UI's pages (every other path). The rules (docs/ui.md "Security"):

- Loopback without a token by default; any other address needs one, and every
  request then carries it: ``Authorization: Bearer <token>`` (programs), or
  the UI's cookie, or ``?token=`` (a browser). A page asked for with a right
  ``?token=`` answers with a redirect that drops it from the address bar and
  sets an ``HttpOnly``, ``SameSite=Strict`` cookie.
- Without a token the ``Host`` header must name this loopback server (no DNS
  rebinding).
- An API request that changes anything (POST) must send a JSON body
  (``Content-Type: application/json``): a page on another origin cannot send
  that without a CORS preflight, which this server never grants, so a browser
  cannot be made to post on a user's behalf. An ``Origin`` header, when sent,
  must be this server's.
- A page's POST is a form (``application/x-www-form-urlencoded``, at most
  1 MiB) carrying the server's CSRF token (checked by the page's route, which
  reads the form: :mod:`enact.ui._web`).
- Every response carries a strict Content-Security-Policy (pages load only
  this server's style sheet and script; JSON loads nothing), ``nosniff``, no
  referrer, no framing, and is never cached.

A refused page gets the UI's HTML error page, a refused API request a JSON
``ErrorBody``. The UI hands its error page to the guard as
``app.state.page_error``; without one (``enact serve``) every path is the
API's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Match

from enact.ui._security import (
    host_allowed,
    same_secret,
    token_cookie,
    token_from_cookie,
)

__all__ = [
    "API_CSP",
    "DOCS_CSP",
    "MAX_FORM_BYTES",
    "PAGE_CSP",
    "Guard",
    "PageError",
    "is_api_path",
]

#: JSON responses load nothing and may not be framed.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
#: The /docs page loads its script and styles from this server only.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'"
)
#: The UI's pages load this server's own style sheet and script only, post
#: forms only here, and open event streams only here.
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
#: The largest form a page takes.
MAX_FORM_BYTES = 1 << 20
#: Renders the UI's error page: status, title, message.
PageError = Callable[[int, str, str], Response]

# The API changes things only through POST; other methods get 405 from the
# router (and would be refused here the same way if they were ever added).
_UNSAFE = frozenset({"POST"})
_FORM = "application/x-www-form-urlencoded"


def is_api_path(path: str) -> bool:
    """Whether a path is the API's (the rest are the UI's pages)."""
    return path in ("/api", "/openapi.json", "/docs") or path.startswith(
        ("/api/", "/docs/")
    )


class Guard:
    """The access checks of one server (an ASGI-level HTTP middleware).

    Args:
        bound_host: The address the server listens on.
        token: The access token, or None (loopback only).
    """

    def __init__(self, bound_host: str, token: str | None) -> None:
        self._host = bound_host
        self._token = token

    async def __call__(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        path = request.url.path
        page_error: PageError | None = getattr(request.app.state, "page_error", None)
        if page_error is None or is_api_path(path):
            refused = self._api_refusal(request)
            is_docs = path in ("/docs", "/docs/") or path.startswith("/docs/static/")
            policy = DOCS_CSP if is_docs else API_CSP
        else:
            refused = self._page_refusal(request, page_error)
            policy = PAGE_CSP
        response = refused if refused is not None else await call_next(request)
        headers = response.headers
        headers["Content-Security-Policy"] = policy
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        headers["Cache-Control"] = "no-store"
        headers["X-Frame-Options"] = "DENY"
        return response

    def _api_refusal(self, request: Request) -> Response | None:
        headers = request.headers
        if self._token is None:
            if not host_allowed(headers.get("host"), self._host):
                return _error(
                    403,
                    "forbidden host",
                    "This server answers only requests addressed to its loopback "
                    "address.",
                )
        elif not self._has_token(request, query=True):
            return _error(
                401,
                "unauthorized",
                "Send the server's access token: 'Authorization: Bearer <token>'.",
            )
        if request.method in _UNSAFE and _routed(request):
            kind = headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if kind != "application/json":
                return _error(
                    415,
                    "unsupported media type",
                    "A request that changes anything must send a JSON body "
                    "(Content-Type: application/json).",
                )
            origin = headers.get("origin")
            if origin is not None and not _same_origin(origin, headers.get("host")):
                return _error(
                    403,
                    "forbidden origin",
                    f"Requests from {origin[:100]!r} are not accepted.",
                )
        return None

    def _page_refusal(self, request: Request, page_error: PageError) -> Response | None:
        if self._token is None:
            if not host_allowed(request.headers.get("host"), self._host):
                return page_error(403, "Forbidden", "Unexpected Host header.")
        elif same_secret(request.query_params.get("token"), self._token):
            if request.method in ("GET", "HEAD"):
                return _drop_token(request, self._token)
        elif not self._has_token(request, query=False):
            return page_error(
                403,
                "Access token needed",
                "Open the address `enact ui` printed, with its ?token=... part.",
            )
        if request.method == "POST":
            try:
                length = int(request.headers.get("content-length", "0"))
            except ValueError:
                length = -1
            if length < 0 or length > MAX_FORM_BYTES:
                return page_error(413, "Too large", "The form is too large.")
            kind = request.headers.get("content-type", "").split(";", 1)[0]
            if kind.strip().lower() != _FORM:
                return page_error(415, "Unsupported", "Send a form.")
        return None

    def _has_token(self, request: Request, *, query: bool) -> bool:
        assert self._token is not None
        given = request.headers.get("authorization", "")
        if given[:7].lower() == "bearer ":
            return same_secret(given[7:].strip(), self._token)
        cookie = token_from_cookie(request.headers.get("cookie"))
        if cookie is not None:
            return same_secret(cookie, self._token)
        return query and same_secret(request.query_params.get("token"), self._token)


def _drop_token(request: Request, token: str) -> Response:
    """The same page without ``?token=``, and the cookie that replaces it."""
    rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
    location = request.url.path + ("?" + urlencode(rest) if rest else "")
    if not location.startswith("/") or location.startswith("//"):
        location = "/"
    response = RedirectResponse(location, status_code=303)
    response.headers["Set-Cookie"] = token_cookie(token)
    return response


def _routed(request: Request) -> bool:
    """Whether a route takes this method at this path (else the router says 405)."""
    for route in request.app.routes:
        match, _ = route.matches(request.scope)
        if match is Match.FULL:
            return True
    return False


def _same_origin(origin: str, host: str | None) -> bool:
    if origin == "null" or not host:
        return False
    return urlsplit(origin).netloc.lower() == host.strip().lower()


def _error(status: int, error: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status)
