"""An invocation tree as plain records the templates render.

Every value becomes text here (:func:`enact.pformat`); the templates escape
it. A part of the journal that cannot be read in this process (an
unregistered class, a missing object) becomes a note on its node instead of
an error page.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from enact.interfaces import NoneResource, ResourceBase
from enact.invocations import InputRequest, Invocation, WrappedException
from enact.pretty_print import PPrinter, pformat
from enact.references import Ref

__all__ = ["MAX_NODES", "MAX_TEXT", "Node", "build_tree", "name_of", "short", "text"]

#: At most this many calls are shown in one tree; the rest are counted.
MAX_NODES = 2000
#: Longer values are cut, with a link to the whole value.
MAX_TEXT = 20_000
_MAX_SHORT = 60


@dataclasses.dataclass
class Asked:
    """An input request found in the tree."""

    type_name: str
    context: str


@dataclasses.dataclass
class Node:
    """One call in the tree."""

    path: tuple[int, ...]
    #: The invocation's digest, if known (the root's comes from the caller).
    digest: str | None
    name: str = "?"
    input_short: str = ""
    input_text: str = ""
    input_digest: str | None = None
    output_short: str | None = None
    output_text: str | None = None
    output_digest: str | None = None
    exception_short: str | None = None
    exception_text: str | None = None
    #: Whether the exception started in this call (not in a child).
    raised_here: bool = False
    asked: Asked | None = None
    start: float | None = None
    end: float | None = None
    children: list[Node] = dataclasses.field(default_factory=list)
    #: Children not shown (past :data:`MAX_NODES`).
    hidden: int = 0
    #: Why part of the call could not be read, if so.
    problem: str | None = None

    @property
    def duration(self) -> float | None:
        """Seconds the call took, if timed."""
        if self.start is None or self.end is None:
            return None
        return self.end - self.start

    @property
    def complete(self) -> bool:
        """Whether the call returned or raised."""
        return self.output_text is not None or self.exception_text is not None


def build_tree(
    invocation: Invocation[Any, Any],
    digest: str | None,
    timings: dict[tuple[int, ...], tuple[float, float]] | None = None,
) -> Node:
    """The tree of ``invocation``, at most :data:`MAX_NODES` calls.

    Args:
        invocation: The top-level call.
        digest: Its ref's digest, if known.
        timings: When each call started and ended, by path.
    """
    budget = [MAX_NODES]
    return _node(invocation, (), digest, timings or {}, budget)


def _node(
    invocation: Invocation[Any, Any],
    path: tuple[int, ...],
    digest: str | None,
    timings: dict[tuple[int, ...], tuple[float, float]],
    budget: list[int],
) -> Node:
    budget[0] -= 1
    node = Node(path, digest)
    timing = timings.get(path)
    if timing is not None:
        node.start, node.end = timing
    try:
        _fill(node, invocation)
        children = invocation.response().children
    except Exception as error:  # shown on the node: the page still renders
        node.problem = _problem(error)
        return node
    for index, child_ref in enumerate(children):
        if budget[0] <= 0:
            node.hidden = len(children) - index
            break
        child_path = (*path, index)
        try:
            child = child_ref()
        except Exception as error:
            node.children.append(
                Node(child_path, child_ref.digest, problem=_problem(error))
            )
            budget[0] -= 1
            continue
        node.children.append(
            _node(child, child_path, child_ref.digest, timings, budget)
        )
    return node


def _fill(node: Node, invocation: Invocation[Any, Any]) -> None:
    request = invocation.request()
    response = invocation.response()
    node.name = name_of(request.invokable)
    node.input_digest = request.input.digest
    value = request.input()
    node.input_short = short(value)
    node.input_text = text(value)
    if response.output is not None:
        node.output_digest = response.output.digest
        output = response.output()
        node.output_short = short(output)
        node.output_text = text(output)
    if response.raised is not None:
        raised = response.raised()
        node.raised_here = response.raised_here
        node.exception_text = (
            str(raised) if isinstance(raised, WrappedException) else text(raised)
        )
        node.exception_short = exception_short(raised)
        if isinstance(raised, InputRequest):
            node.asked = Asked(
                raised.requested_type.__name__,
                "" if raised.context is None else text(raised.context),
            )


def name_of(invokable_ref: Ref[Any]) -> str:
    """A component's display name: its class, or a registered function's name."""
    try:
        invokable = invokable_ref()
    except Exception:
        return f"<{invokable_ref.digest[:8]}>"
    name = getattr(invokable, "name", None)
    if type(invokable).type_id().startswith("enact.invocations.") and isinstance(
        name, str
    ):
        return name.rsplit(".", 1)[-1]
    return type(invokable).__name__


def text(value: Any) -> str:
    """A value as readable text (strings as they are), cut at :data:`MAX_TEXT`."""
    if isinstance(value, bytes):
        result = f"<{len(value)} bytes>"
    elif isinstance(value, str | int | float) and not isinstance(value, bool):
        result = str(value)
    elif value is None or isinstance(value, NoneResource):
        result = "None"
    else:
        result = pformat(value)
    if len(result) > MAX_TEXT:
        result = result[:MAX_TEXT] + f"\n... ({len(result) - MAX_TEXT} more characters)"
    return result


def short(value: Any) -> str:
    """A value on one line, at most 60 characters."""
    if isinstance(value, NoneResource) or value is None:
        return ""
    if isinstance(value, str | int | float | bytes):
        result = PPrinter().primitive_to_str(value)
    else:
        result = " ".join(part.strip() for part in pformat(value).splitlines())
    if len(result) > _MAX_SHORT:
        result = result[: _MAX_SHORT - 3] + "..."
    return result


def exception_short(error: ResourceBase) -> str:
    """An exception on one line."""
    if isinstance(error, InputRequest):
        return f"asks for a {error.requested_type.__name__}"
    if isinstance(error, WrappedException):
        lines = str(error).strip().splitlines()
        return lines[-1] if lines else "WrappedException"
    return f"{type(error).__name__}: {error}"


def _problem(error: Exception) -> str:
    return f"cannot be read here: {type(error).__name__}: {error}"
