"""One line per call: what ran in a journaled invocation, at a glance.

Example::

    ->RollDice(3) = 11
      ->RollDie() = 4
      ->RollDie() = 6
      ->RollDie() = 1

Calls of registered functions name the function and show its arguments as
written in a call: ``->roll_dice(3) = 11``, ``->greet('Ada', loud=True)``.
"""

from __future__ import annotations

from typing import Any

from enact._invocations.records import invokable_name
from enact.interfaces import NoneResource, ResourceBase
from enact.invocations import (
    CallArgs,
    ExceptionResource,
    InputRequest,
    Invocation,
    WrappedException,
)
from enact.pretty_print import PPrinter

__all__ = ["invocation_summary"]

_MAX_VALUE = 60


def invocation_summary(
    invocation: Invocation[Any, Any],
    indent: int = 0,
    show_input: bool = True,
    show_output: bool = True,
    max_depth: int | None = None,
) -> str:
    """Renders an invocation tree as one line per call.

    Each line is ``->Name(input) = output``, ``->Name(input) raised ...`` or
    ``->Name(input) incomplete``; children are indented by two spaces. A
    registered function's call reads ``->name(a, b, k=v)``.

    Args:
        invocation: The journaled call.
        indent: Spaces before the first line.
        show_input: Show inputs (else ``...``).
        show_output: Show outputs and exceptions.
        max_depth: Stop after this many levels of children.
    """
    lines: list[str] = []
    _summarize(invocation, indent, show_input, show_output, max_depth, lines)
    return "\n".join(lines)


def _summarize(
    invocation: Invocation[Any, Any],
    indent: int,
    show_input: bool,
    show_output: bool,
    depth_left: int | None,
    lines: list[str],
) -> None:
    request = invocation.request()
    response = invocation.response()
    name = _name(request.invokable)
    if show_input:
        argument = request.input()
        text = _arguments(argument)
    else:
        text = "..."
    line = f"{' ' * indent}->{name}({text})"
    if show_output:
        if response.output is not None:
            line += f" = {_short(response.output())}"
        elif response.raised is not None:
            line += f" raised {_exception(response.raised())}"
        else:
            line += " incomplete"
    lines.append(line)
    if depth_left is not None and depth_left <= 0:
        if response.children:
            lines.append(f"{' ' * (indent + 2)}... {len(response.children)} calls")
        return
    for child in response.children:
        _summarize(
            child(),
            indent + 2,
            show_input,
            show_output,
            None if depth_left is None else depth_left - 1,
            lines,
        )


def _name(ref: Any) -> str:
    try:
        invokable = ref()
    except Exception:  # an unregistered class in another process, say
        return f"<{ref.digest[:8]}>"
    if hasattr(invokable, "_enact_call_name"):  # a registered function's call
        return invokable_name(invokable)
    return type(invokable).__name__


def _arguments(argument: ResourceBase) -> str:
    """The input as a call shows it: nothing, one value, or a function's
    arguments (``a, b, k=v``)."""
    if isinstance(argument, NoneResource):
        return ""
    if isinstance(argument, CallArgs):
        args, kwargs = argument.plain_args()
        parts = [_short(value) for value in args]
        parts += [f"{key}={_short(value)}" for key, value in kwargs.items()]
        return ", ".join(parts)
    return _short(argument)


def _short(value: Any) -> str:
    printer = PPrinter()
    if value is None or isinstance(value, (int, float, str, bytes)):
        # Int, Str, ... and plain arguments: as values
        return printer.primitive_to_str(value)
    text = printer.pformat(value)
    text = " ".join(part.strip() for part in text.splitlines())
    if len(text) > _MAX_VALUE:
        text = text[: _MAX_VALUE - 3] + "..."
    return text


def _exception(error: ExceptionResource) -> str:
    if isinstance(error, InputRequest):
        context = f", {error.context!r}" if error.context else ""
        return f"InputRequest({error.requested_type.__name__}{context})"
    if isinstance(error, WrappedException):
        lines = str(error).strip().splitlines()
        return lines[-1] if lines else "WrappedException"
    return f"{type(error).__name__}: {error}"
