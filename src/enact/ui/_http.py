"""Requests and responses as the pages see them, apart from the web framework.

The UI's routes (:mod:`enact.ui._web`) turn each Starlette request into a
:class:`Request` and each :class:`Response` back into Starlette's, so a page
is a plain function of a parsed request, testable without a server.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from urllib.parse import quote

__all__ = ["Request", "Response", "redirect"]

HTML = "text/html; charset=utf-8"


@dataclasses.dataclass(frozen=True)
class Request:
    """One request, parsed.

    Attributes:
        method: ``GET`` or ``POST``.
        path: The URL path, still percent-encoded.
        query: The query parameters (the first value of each).
        form: The fields of a POSTed form (the first value of each).
    """

    method: str
    path: str
    query: Mapping[str, str]
    form: Mapping[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Response:
    """What to send back: a status, a body and its headers."""

    status: int
    body: bytes = b""
    content_type: str = HTML
    headers: list[tuple[str, str]] = dataclasses.field(default_factory=list)


def redirect(location: str) -> Response:
    """A 303 redirect to a path on this server (after a POST, say)."""
    if not location.startswith("/") or location.startswith("//"):
        location = "/"
    return Response(303, headers=[("Location", quote(location, safe="/?=&.-_%"))])
