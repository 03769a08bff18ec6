"""Requests and responses as the pages see them, apart from the HTTP server."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
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
    """What to send back: a body, or a stream of chunks (server-sent events)
    written as they come, until it ends or the client goes away."""

    status: int
    body: bytes = b""
    content_type: str = HTML
    headers: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    stream: Iterator[bytes] | None = None


def redirect(location: str) -> Response:
    """A 303 redirect to a path on this server (after a POST, say)."""
    if not location.startswith("/") or location.startswith("//"):
        location = "/"
    return Response(303, headers=[("Location", quote(location, safe="/?=&.-_%"))])
