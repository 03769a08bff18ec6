"""Pages from Jinja2 templates, with every value escaped.

Autoescaping is on for every template, so a value holding ``<script>`` renders
as text. Nothing here marks a value safe.
"""

from __future__ import annotations

import datetime
import importlib.resources
from typing import Any

import jinja2

__all__ = ["STATIC_FILES", "render", "static_file"]

#: The only files the server reads from disk: the package's own assets, by
#: name. A URL never names a path.
STATIC_FILES: dict[str, str] = {
    "style.css": "text/css; charset=utf-8",
    "enhance.js": "text/javascript; charset=utf-8",
}

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("enact.ui", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


_NONE = "\N{EN DASH}"


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return _NONE
    moment = datetime.datetime.fromtimestamp(timestamp)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _when_short(timestamp: float | None) -> str:
    """The time alone for today, else the date and the minute."""
    if timestamp is None:
        return _NONE
    moment = datetime.datetime.fromtimestamp(timestamp)
    if moment.date() == datetime.date.today():
        return moment.strftime("%H:%M:%S")
    return moment.strftime("%Y-%m-%d %H:%M")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return _NONE
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min"


def _path(path: tuple[int, ...]) -> str:
    return ".".join(map(str, path))


_ENV.filters["when"] = _when
_ENV.filters["when_short"] = _when_short
_ENV.filters["duration"] = _duration
_ENV.filters["path"] = _path


def render(template: str, **context: Any) -> bytes:
    """Renders a template to UTF-8 bytes."""
    return _ENV.get_template(template).render(**context).encode()


def static_file(name: str) -> tuple[bytes, str] | None:
    """The bytes and content type of an allow-listed asset, else None."""
    content_type = STATIC_FILES.get(name)
    if content_type is None:
        return None
    data = importlib.resources.files("enact.ui").joinpath("static", name).read_bytes()
    return data, content_type
