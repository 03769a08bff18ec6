"""An invocation tree for the terminal (rich) and for machines (JSON).

Each call shows its component, input, and output, exception or input
request, with its duration when the run recorded timings. A value whose type
is not registered in this process is shown as unavailable (and the command
suggests ``--import``) instead of failing the whole tree.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from rich.text import Text
from rich.tree import Tree

from enact.cli._output import cut, duration, short, type_name, value_json
from enact.cli._targets import format_path
from enact.interfaces import NoneResource
from enact.invocations import ExceptionResource, InputRequest, Invocation
from enact.references import NotFound, Ref
from enact.resource_registry import ResourceNotFound

__all__ = ["CallView", "Unavailable", "build", "call_line", "to_json", "to_rich"]

Timings = dict[tuple[int, ...], tuple[float, float]]


@dataclasses.dataclass(frozen=True)
class Unavailable:
    """A value that cannot be read here, and why."""

    reason: str
    #: Whether a registered type is missing (``--import`` would help).
    unregistered: bool = False


@dataclasses.dataclass
class CallView:
    """One call of an invocation tree, read from the store."""

    #: Child indices from the top-level call.
    path: tuple[int, ...]
    #: The digest of the call's invocation.
    ref: str
    #: The class name of the invokable (or why it cannot be read).
    component: str
    #: The input (or an :class:`Unavailable`).
    input: Any
    #: ``returned``, ``raised``, ``asked`` (an input request started here),
    #: ``waiting`` (one started below) or ``incomplete``.
    outcome: str
    #: The output of a call that returned.
    output: Any = None
    #: The exception (or input request) that escaped the call.
    raised: Any = None
    #: Whether it started in this call rather than in a child.
    raised_here: bool = False
    #: When the call started and ended, if the run recorded it.
    timing: tuple[float, float] | None = None
    #: The child calls shown.
    children: list[CallView] = dataclasses.field(default_factory=list)
    #: How many children are not shown (beyond the depth limit).
    hidden: int = 0
    #: The invokable before the call (or why it cannot be read).
    invokable: Any = None

    def unavailable(self) -> bool:
        """Whether some type in this subtree is not registered here."""
        values = (self.invokable, self.input, self.output, self.raised)
        return any(
            isinstance(value, Unavailable) and value.unregistered for value in values
        ) or any(child.unavailable() for child in self.children)


def build(
    invocation: Invocation[Any, Any] | Ref[Any],
    depth: int | None = None,
    timings: Timings | None = None,
) -> CallView:
    """Reads an invocation tree into views.

    Args:
        invocation: The top-level call, or a ref to it.
        depth: Show children only this many levels deep (None: all).
        timings: Start and end times by path, from ``Run.timings()``.
    """
    ref = invocation if isinstance(invocation, Ref) else Ref.from_resource(invocation)
    return _build(ref, (), depth, timings or {})


def _build(
    ref: Ref[Any], path: tuple[int, ...], depth: int | None, timings: Timings
) -> CallView:
    invocation = ref.checkout()
    request = invocation.request()
    response = invocation.response()
    invokable = _read(request.invokable)
    component = (
        f"<{invokable.reason}>"
        if isinstance(invokable, Unavailable)
        else type(invokable).__name__
    )
    view = CallView(
        path=path,
        ref=ref.digest,
        component=component,
        input=_read(request.input),
        outcome="incomplete",
        timing=timings.get(path),
        invokable=invokable,
    )
    if response.output is not None:
        view.outcome = "returned"
        view.output = _read(response.output)
    elif response.raised is not None:
        view.raised = _read(response.raised)
        view.raised_here = response.raised_here
        if isinstance(view.raised, InputRequest):
            view.outcome = "asked" if response.raised_here else "waiting"
        else:
            view.outcome = "raised"
    children = response.children
    if depth is not None and depth <= 0:
        view.hidden = len(children)
        return view
    deeper = None if depth is None else depth - 1
    view.children = [
        _build(child, (*path, index), deeper, timings)
        for index, child in enumerate(children)
    ]
    return view


def _read(ref: Ref[Any]) -> Any:
    try:
        return ref.checkout()
    except ResourceNotFound as error:
        return Unavailable(f"{type_name(error.type_id)}: not registered", True)
    except NotFound:
        return Unavailable(f"missing object {ref.digest[:12]}")


# -- rendering ---------------------------------------------------------------


def to_rich(view: CallView, label: Text | None = None) -> Tree:
    """The tree as a :class:`rich.tree.Tree`, user values as plain text.

    Args:
        view: The top-level call.
        label: A heading line above the top-level call.
    """
    if label is not None:
        tree = Tree(label)
        _add(tree, view)
        return tree
    tree = Tree(call_line(view))
    _add_children(tree, view)
    return tree


def _add(parent: Tree, view: CallView) -> None:
    _add_children(parent.add(call_line(view)), view)


def _add_children(node: Tree, view: CallView) -> None:
    for child in view.children:
        _add(node, child)
    if view.hidden:
        node.add(Text(f"... {view.hidden} calls (raise --depth to see them)", "dim"))


def call_line(view: CallView, *, with_path: bool = True) -> Text:
    """One call as a line: ``path Component(input) = output`` (or the
    exception, or the input request), and its duration if timed."""
    line = Text()
    if with_path:
        line.append(f"{format_path(view.path)} ", "dim")
    line.append(view.component, "bold")
    argument = "" if isinstance(view.input, NoneResource) else _text(view.input)
    line.append(f"({argument})")
    if view.outcome == "returned":
        line.append(" = ")
        line.append(_text(view.output), "green")
    elif view.outcome == "asked":
        request = view.raised
        line.append(" asks for input: ", "yellow bold")
        line.append(request.requested_type.__name__, "yellow")
        if request.context:
            line.append(f" {short(request.context)}", "yellow")
    elif view.outcome == "waiting":
        line.append(" waiting for input", "yellow")
    elif view.outcome == "raised":
        line.append(" raised ", "red")
        line.append(_exception(view.raised), "red")
        if not view.raised_here:
            line.append(" (from a child call)", "dim")
    else:
        line.append(" incomplete", "dim")
    if view.timing is not None:
        start, end = view.timing
        line.append(f"  {duration(end - start)}", "dim")
    return line


def _text(value: Any) -> str:
    if isinstance(value, Unavailable):
        return f"<{value.reason}>"
    return short(value)


def _exception(error: Any) -> str:
    if isinstance(error, Unavailable):
        return f"<{error.reason}>"
    lines = str(error).strip().splitlines()
    if type(error).__name__ == "WrappedException" and lines:
        text = lines[-1]
    else:
        text = f"{type(error).__name__}: {' '.join(lines)}"
    return cut(text)


def to_json(view: CallView) -> dict[str, Any]:
    """The tree as nested JSON-ready dicts.

    Each call has ``path``, ``ref``, ``component``, ``input``, ``outcome``,
    ``output``, ``raised`` (type, message, whether it started here),
    ``input_request`` (for ``asked``: the requested type and context),
    ``started``/``ended`` when timed, ``children`` and ``hidden_children``.
    """
    data: dict[str, Any] = {
        "path": list(view.path),
        "ref": view.ref,
        "component": view.component,
        "input": _json(view.input),
        "outcome": view.outcome,
        "output": None if view.outcome != "returned" else _json(view.output),
        "raised": None,
        "input_request": None,
    }
    if view.raised is not None:
        data["raised"] = _raised_json(view.raised, view.raised_here)
        if view.outcome == "asked":
            request = view.raised
            data["input_request"] = {
                "type": request.requested_type.__name__,
                "type_id": request.requested_type.type_id(),
                "context": _json(request.context),
            }
    if view.timing is not None:
        data["started"], data["ended"] = view.timing
    data["children"] = [to_json(child) for child in view.children]
    data["hidden_children"] = view.hidden
    return data


def _json(value: Any) -> Any:
    if isinstance(value, Unavailable):
        return {"unavailable": value.reason}
    return value_json(value)


def _raised_json(error: Any, here: bool) -> dict[str, Any]:
    if isinstance(error, Unavailable):
        return {"unavailable": error.reason, "here": here}
    if isinstance(error, InputRequest):
        message = short(error.context, 10**6) if error.context else ""
    elif isinstance(error, ExceptionResource):
        message = str(error).strip()
    else:
        message = ""
    return {"type": type(error).__name__, "message": message, "here": here}
