"""How the command prints: consoles, JSON, short values, one-line errors.

Results go to stdout, messages and progress to stderr, so ``--json`` output
can be piped. Values from the store are user data: they are always printed
as :class:`rich.text.Text` (never parsed as markup), so a value like
``[bold]`` or ``<script>`` prints literally.
"""

from __future__ import annotations

import contextvars
import datetime
import functools
import json
import math
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.text import Text

from enact.cli._stores import CommandError
from enact.errors import EnactError
from enact.pretty_print import PPrinter
from enact.resource_registry import ResourceNotFound
from enact.serialization import JsonSerializer
from enact.wrappers import wrap

__all__ = [
    "MAX_VALUE",
    "cut",
    "duration",
    "error_line",
    "fail",
    "full_values",
    "missing_type_line",
    "err",
    "out",
    "print_json",
    "progress_bar",
    "short",
    "status_style",
    "short_type",
    "spinner",
    "timestamp",
    "type_name",
    "value_json",
]

# The longest value shown inline in a tree or table; --full and --json show all.
MAX_VALUE = 60


# Lines are this wide when stdout is no terminal (a pipe, a file), unless
# $COLUMNS says otherwise: wide enough that tables and trees do not wrap.
_PIPE_WIDTH = 200


@functools.cache
def out() -> Console:
    """The console for results (stdout)."""
    console = Console(highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(highlight=False, width=_PIPE_WIDTH)
    return console


@functools.cache
def err() -> Console:
    """The console for messages and progress (stderr)."""
    return Console(stderr=True, highlight=False)


def print_json(data: Any) -> None:
    """Writes ``data`` as indented JSON to stdout (not through rich)."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


# The longest value short() shows by default; full_values() lifts the cut.
_limit: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "enact_cli_value_limit", default=MAX_VALUE
)


@contextmanager
def full_values() -> Iterator[None]:
    """Within it, :func:`short` cuts no value (``show --full``)."""
    token = _limit.set(None)
    try:
        yield
    finally:
        _limit.reset(token)


def short(value: Any, limit: int | None = None) -> str:
    """One line of text for a value: strings and numbers as literals, others
    pretty-printed (:mod:`enact.pretty_print`) and cut at ``limit`` (by
    default :data:`MAX_VALUE`, or nowhere inside :func:`full_values`)."""
    printer = PPrinter(max_ref_depth=2)
    if isinstance(value, (int, float, str, bytes)) or value is None:
        text = printer.primitive_to_str(value)
    else:
        try:
            text = printer.pformat(value)
        except AssertionError:  # not a field value: a plain value's repr
            text = repr(value)
        text = " ".join(part.strip() for part in text.splitlines())
    return cut(text, limit)


def cut(text: str, limit: int | None = None) -> str:
    """``text`` cut at ``limit`` with ``...`` (default as for :func:`short`)."""
    if limit is None:
        limit = _limit.get()
    if limit is not None and len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def timestamp(seconds: float | None) -> str:
    """A time as local ``YYYY-MM-DD HH:MM:SS``; ``-`` for None."""
    if seconds is None:
        return "-"
    return datetime.datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M:%S")


def duration(seconds: float) -> str:
    """A duration for people: ``12.5 ms``, ``3.20 s``, ``4.0 min``."""
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 120:
        return f"{seconds:.2f} s"
    return f"{seconds / 60:.1f} min"


def short_type(type_id: str) -> str:
    """The class name in a type id: ``Str`` for ``{"name": "enact...Str"}``."""
    return type_name(type_id).rsplit(".", 1)[-1]


def type_name(type_id: str) -> str:
    """The readable name in a type id (``{"name": "app.Flow"}`` JSON)."""
    try:
        name = json.loads(type_id).get("name")
    except (ValueError, AttributeError):
        return type_id
    return name if isinstance(name, str) else type_id


def value_json(value: Any) -> dict[str, Any]:
    """The machine form of a stored value.

    Returns:
        ``type`` (the class name), ``value`` (the value itself when it is
        JSON already, else its :class:`~enact.serialization.JsonSerializer`
        form, which names every type) and ``text`` (its pretty-printed form).
    """
    data: Any
    if isinstance(value, bool) or value is None or isinstance(value, str):
        data = str(value) if isinstance(value, str) else value
    elif isinstance(value, int):
        data = int(value)
    elif isinstance(value, float) and math.isfinite(value):
        data = float(value)
    else:
        try:
            data = JsonSerializer().to_json(wrap(value).to_resource_dict())
        except EnactError:
            data = None
    return {"type": type(value).__name__, "value": data, "text": short(value, 10**6)}


def error_line(error: BaseException) -> str:
    """One line saying what went wrong, with what to do where we know it."""
    if isinstance(error, ResourceNotFound):
        return missing_type_line(type_name(error.type_id))
    text = " ".join(str(error).split())
    if isinstance(error, (EnactError, CommandError)) and text:
        return text
    name = type(error).__name__
    return f"{name}: {text}" if text else name


def missing_type_line(name: str) -> str:
    """What to do about a type (by its recorded name) not registered here."""
    if name.startswith("__main__."):
        return (
            f"type {name} was defined in code run as __main__ that no other "
            "process can import, so this run cannot be resumed, forked or "
            "answered here; define the type in a module or a script file "
            "(run as `python flow.py`), start a new run and pass "
            "--import flow (or --import flow.py)"
        )
    module = name.rsplit(".", 1)[0] if "." in name else "MODULE"
    return (
        f"type {name} is not registered in this process: pass --import MODULE "
        f"(or set $ENACT_IMPORT) naming the module that defines it, e.g. "
        f"--import {module}, or its file, e.g. --import ./{module.replace('.', '/')}.py"
    )


def fail(message: str, exit_code: int = 1) -> CommandError:
    """A :class:`CommandError` to raise: ``raise fail("...")``."""
    return CommandError(message, exit_code)


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr (shown on terminals only), as a callback.

    Yields:
        ``update(done, total)``, to call as work proceeds.
    """
    from rich.progress import (  # only verify and gc draw progress bars
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    console = err()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as progress:
        task = progress.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


@contextmanager
def spinner(description: str) -> Iterator[None]:
    """A spinner on stderr while a call of unknown length runs (terminals only)."""
    console = err()
    if not console.is_terminal:
        yield
        return
    with console.status(Text(description)):
        yield


_STATUS_STYLES = {
    "finished": "green",
    "failed": "red",
    "crashed": "red",
    "waiting": "yellow",
    "running": "cyan",
}


def status_style(status: object) -> str:
    """The rich style a run status is shown in."""
    return _STATUS_STYLES.get(str(status), "")
