"""Who may use the API, and how responses protect the browser.

The rules are the web UI's (docs/ui.md, "Security"), for programs:

- Loopback without a token by default; any other address needs one, and every
  request then carries it: ``Authorization: Bearer <token>`` (programs), or
  the UI's cookie, or ``?token=`` once (a browser).
- Without a token the ``Host`` header must name this loopback server (no DNS
  rebinding).
- A request that changes anything (POST, PUT, PATCH, DELETE) must send a
  JSON body (``Content-Type: application/json``): a page on another origin
  cannot send that without a CORS preflight, which this server never grants,
  so a browser cannot be made to post on a user's behalf. An ``Origin``
  header, when sent, must be this server's.
- Every response carries a strict Content-Security-Policy, ``nosniff``, no
  referrer, and is never cached.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match

from enact.ui._security import (
    host_allowed,
    same_secret,
    token_from_cookie,
)

__all__ = ["Guard", "API_CSP", "DOCS_CSP"]

#: JSON responses load nothing and may not be framed.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
#: The /docs page loads its script and styles from this server only.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'"
)
# The API changes things only through POST; other methods get 405 from the
# router (and would be refused here the same way if they were ever added).
_UNSAFE = frozenset({"POST"})


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
        refused = self._refusal(request)
        response = refused if refused is not None else await call_next(request)
        headers = response.headers
        is_docs = request.url.path in (
            "/docs",
            "/docs/",
        ) or request.url.path.startswith("/docs/static/")
        headers["Content-Security-Policy"] = DOCS_CSP if is_docs else API_CSP
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        headers["Cache-Control"] = "no-store"
        headers["X-Frame-Options"] = "DENY"
        return response

    def _refusal(self, request: Request) -> Response | None:
        headers = request.headers
        if self._token is None:
            if not host_allowed(headers.get("host"), self._host):
                return _error(
                    403,
                    "forbidden host",
                    "This server answers only requests addressed to its loopback "
                    "address.",
                )
        elif not self._has_token(request):
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

    def _has_token(self, request: Request) -> bool:
        assert self._token is not None
        given = request.headers.get("authorization", "")
        if given[:7].lower() == "bearer ":
            return same_secret(given[7:].strip(), self._token)
        cookie = token_from_cookie(request.headers.get("cookie"))
        if cookie is not None:
            return same_secret(cookie, self._token)
        return same_secret(request.query_params.get("token"), self._token)


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
