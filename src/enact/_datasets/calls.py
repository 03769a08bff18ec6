"""The calls of a run, one at a time: what feedback, scorers and exports read.

A run's journal is a tree of :class:`~enact.invocations.Invocation` records.
:func:`walk` visits it depth first, in call order, and reads each record
through a fresh ref (never the cached one inside its parent), so a walk holds
only the calls on the way from the top to the current one: a run of a
million calls is read in the memory of one branch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from enact._invocations.records import Invocation, Request, Response, invokable_name
from enact._runs.access import within
from enact._runs.errors import RunError
from enact._runs.handle import Run
from enact.errors import EnactError
from enact.references import Ref, Store

__all__ = ["Call", "call_at", "check_path", "children_of", "walk"]


@dataclasses.dataclass(frozen=True)
class Call:
    """One journaled call of a run, read from the store."""

    #: The run the call belongs to.
    run_id: str
    #: Child indices from the run's top-level call (``()`` is that call).
    path: tuple[int, ...]
    #: The digest of the call's :class:`~enact.invocations.Invocation`.
    invocation: str
    #: The digest of its request (the invokable and the input).
    request: str
    #: The component that was called.
    invokable: Any
    #: The digest of the component.
    invokable_digest: str
    #: The input it was called with.
    input: Any
    #: The digest of the input.
    input_digest: str
    #: What it returned (None if it raised).
    output: Any
    #: The digest of the output, or None if it raised.
    output_digest: str | None
    #: One line naming the exception it raised, if it raised.
    error: str | None
    #: The digests of its child invocations, in call order.
    children: tuple[str, ...]
    #: The input of the call that made this one (None for the top call).
    parent_input: Any = None

    @property
    def component(self) -> str:
        """How the component is named: its class, or a registered function's name."""
        return invokable_name(self.invokable)

    @property
    def component_type(self) -> str:
        """The registered type name of the component's class."""
        name = getattr(type(self.invokable), "type_name", None)
        return str(name()) if callable(name) else type(self.invokable).__qualname__


# Components recur in every call of theirs: decode each once (a few, small).
_COMPONENTS: dict[str, Any] = {}
_COMPONENTS_KEPT = 256


def _component(digest: str) -> Any:
    found = _COMPONENTS.get(digest)
    if found is None:
        found = Ref[Any](digest).checkout()
        if len(_COMPONENTS) >= _COMPONENTS_KEPT:
            _COMPONENTS.clear()
        _COMPONENTS[digest] = found
    return found


def _read(run_id: str, path: tuple[int, ...], digest: str, parent_input: Any) -> Call:
    invocation: Invocation[Any, Any] = Ref(digest).checkout()
    request: Request[Any, Any] = Ref(invocation.request.digest).checkout()
    response: Response[Any, Any] = Ref(invocation.response.digest).checkout()
    invokable = _component(request.invokable.digest)
    value: Any = Ref(request.input.digest).checkout()
    output: Any = None
    output_digest = None
    error = None
    if response.output is not None:
        output_digest = response.output.digest
        output = Ref[Any](output_digest).checkout()
    if response.raised is not None:
        raised: Any = Ref(response.raised.digest).checkout()
        error = " ".join(str(raised).split())[:500] or type(raised).__name__
    return Call(
        run_id=run_id,
        path=path,
        invocation=digest,
        request=invocation.request.digest,
        invokable=invokable,
        invokable_digest=request.invokable.digest,
        input=value,
        input_digest=request.input.digest,
        output=output,
        output_digest=output_digest,
        error=error,
        children=tuple(child.digest for child in response.children),
        parent_input=parent_input,
    )


def _top_digest(run: Run) -> str:
    info = run.info()
    if info.invocation is None or info.ended is None:
        raise RunError(
            f"Run {run.id} is {info.status}: only the calls of an ended run "
            "(finished, failed or waiting) can be read.",
            run.id,
        )
    return info.invocation.digest


def walk(run: Run) -> Iterator[Call]:
    """Every call of an ended run, depth first in call order (parents first).

    Reads through the run's store, whichever store is current.

    Raises:
        RunError: if the run has not ended.
    """
    top = _top_digest(run)
    store = run.store
    stack: list[tuple[tuple[int, ...], str, Any]] = [((), top, None)]
    while stack:
        path, digest, parent_input = stack.pop()
        call = _read_in(store, run.id, path, digest, parent_input)
        yield call
        for index in range(len(call.children) - 1, -1, -1):
            stack.append(((*path, index), call.children[index], call.input))


def _read_in(
    store: Store, run_id: str, path: tuple[int, ...], digest: str, parent_input: Any
) -> Call:
    try:
        current = Store.get_current()
    except EnactError:  # a thread whose contexts were never set up
        current = None
    if current is store:
        return _read(run_id, path, digest, parent_input)
    return within(store, lambda: _read(run_id, path, digest, parent_input))


def call_at(run: Run, path: tuple[int, ...]) -> Call:
    """The call at ``path`` of an ended run.

    Raises:
        RunError: if the run has not ended or has no call at ``path``.
    """
    digest = _top_digest(run)
    parent_input = None
    call = _read_in(run.store, run.id, (), digest, None)
    for depth, index in enumerate(path):
        if type(index) is not int or not 0 <= index < len(call.children):
            where = ".".join(map(str, path[:depth])) or "the top-level call"
            raise RunError(
                f"Run {run.id} has no call at path {list(path)}: {where} made "
                f"{len(call.children)} calls.",
                run.id,
            )
        parent_input = call.input
        call = _read_in(
            run.store, run.id, path[: depth + 1], call.children[index], parent_input
        )
    return call


def children_of(run: Run, call: Call) -> Iterator[Call]:
    """The calls ``call`` made (its children, not their children), in order."""
    for index, digest in enumerate(call.children):
        yield _read_in(run.store, run.id, (*call.path, index), digest, call.input)


def _children(digest: str) -> tuple[str, ...]:
    invocation: Invocation[Any, Any] = Ref(digest).checkout()
    response: Response[Any, Any] = Ref(invocation.response.digest).checkout()
    return tuple(child.digest for child in response.children)


def check_path(run: Run, path: tuple[int, ...]) -> str:
    """The invocation digest of the call at ``path``, read without its values.

    Only journal records are read (not the component, input or output), so
    this works in a process that has not imported the run's types.

    Raises:
        RunError: if the run has not ended or has no call at ``path``.
    """
    digest = _top_digest(run)

    def follow() -> str:
        current = digest
        for depth, index in enumerate(path):
            children = _children(current)
            if type(index) is not int or not 0 <= index < len(children):
                where = ".".join(map(str, path[:depth])) or "the top-level call"
                raise RunError(
                    f"Run {run.id} has no call at path {list(path)}: {where} made "
                    f"{len(children)} calls.",
                    run.id,
                )
            current = children[index]
        return current

    return within(run.store, follow)
