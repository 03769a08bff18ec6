"""The calls of a run: what feedback, scorers and exports read.

A run's journal is a tree of :class:`~enact.invocations.Invocation` records.
:func:`walk` visits it depth first, in call order, reading sibling calls a
batch at a time (:mod:`enact._datasets.records`) and never through the refs
cached inside their parents, so a walk holds a batch of calls per level on
the way from the top to the current call: a run of a million calls is read
in the memory of one branch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from enact._datasets.records import CallParts, RecordReader
from enact._invocations.records import Invocation, Response, invokable_name
from enact._runs.access import within
from enact._runs.errors import RunError
from enact._runs.handle import Run
from enact.references import Ref

__all__ = [
    "Call",
    "PartsAt",
    "call_at",
    "call_of",
    "check_path",
    "children_of",
    "component_type_of",
    "parts_at",
    "units_of",
    "walk",
    "walk_parts",
]


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
        return component_type_of(self.invokable)


def component_type_of(invokable: Any) -> str:
    """The registered type name of a component's class."""
    name = getattr(type(invokable), "type_name", None)
    return str(name()) if callable(name) else type(invokable).__qualname__


def call_of(
    run_id: str, path: tuple[int, ...], parts: CallParts, parent_input: Any
) -> Call:
    return Call(
        run_id=run_id,
        path=path,
        invocation=parts.invocation,
        request=parts.request,
        invokable=parts.invokable,
        invokable_digest=parts.invokable_digest,
        input=parts.input,
        input_digest=parts.input_digest,
        output=parts.output,
        output_digest=parts.output_digest,
        error=parts.error,
        children=parts.children,
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


#: A call as a walk reads it: its path, its records and values, and those
#: of the call that made it (None for the top-level call).
PartsAt = tuple[tuple[int, ...], CallParts, CallParts | None]


def walk_parts(
    run: Run, reader: RecordReader, first: int = 0, stop: int | None = None
) -> Iterator[PartsAt]:
    """What :func:`walk` reads, as the reader gives it (no :class:`Call` built).

    Args:
        run: The run.
        reader: Reads the calls.
        first: The first of the run's units to visit: unit 0 is the top-level
            call alone, unit ``k`` the call tree of the top-level call's
            child ``k - 1`` (see :func:`units_of`).
        stop: The unit after the last to visit (None: to the end).

    Raises:
        RunError: if the run has not ended.
    """
    parts = reader.read_top(_top_digest(run))
    count = len(parts.children)
    end = count if stop is None else min(count, stop - 1)
    if first == 0:
        yield (), parts, None
    stack: list[Iterator[PartsAt]] = []
    if max(first - 1, 0) < end:
        stack.append(_children_parts(reader, (), parts, max(first - 1, 0), end))
    while stack:
        found = next(stack[-1], None)
        if found is None:
            stack.pop()
            continue
        yield found
        path, parts, _ = found
        if parts.children:
            stack.append(_children_parts(reader, path, parts))


def units_of(parts: CallParts) -> int:
    """How many units a run whose top-level call is ``parts`` has: the call
    itself, and the call tree of each of its children."""
    return 1 + len(parts.children)


def _children_parts(
    reader: RecordReader,
    path: tuple[int, ...],
    parent: CallParts,
    start: int = 0,
    end: int | None = None,
) -> Iterator[PartsAt]:
    number = start
    children = (
        parent.children if start == 0 and end is None else (parent.children[start:end])
    )
    for batch in reader.batches(children):
        for parts in batch:
            yield (*path, number), parts, parent
            number += 1


def walk(run: Run, reader: RecordReader | None = None) -> Iterator[Call]:
    """Every call of an ended run, depth first in call order (parents first).

    Reads through the run's store, whichever store is current: sibling calls
    a batch at a time, so the walk holds a batch of calls per level of the
    tree on the way to the current call.

    Args:
        run: The run.
        reader: Reads the calls (and keeps shared objects decoded); give one
            reader to the walks of one export.

    Raises:
        RunError: if the run has not ended.
    """
    for path, parts, parent in walk_parts(run, reader or RecordReader(run.store)):
        yield call_of(run.id, path, parts, None if parent is None else parent.input)


def _children_read(reader: RecordReader, run_id: str, call: Call) -> Iterator[Call]:
    number = 0
    for batch in reader.batches(call.children):
        for parts in batch:
            yield call_of(run_id, (*call.path, number), parts, call.input)
            number += 1


def parts_at(run: Run, path: tuple[int, ...], reader: RecordReader) -> PartsAt:
    """What :func:`call_at` reads, as the reader gives it.

    Raises:
        RunError: if the run has not ended or has no call at ``path``.
    """
    digest = _top_digest(run)
    parts = reader.read([digest])[0]
    parent: CallParts | None = None
    for depth, index in enumerate(path):
        if type(index) is not int or not 0 <= index < len(parts.children):
            where = ".".join(map(str, path[:depth])) or "the top-level call"
            raise RunError(
                f"Run {run.id} has no call at path {list(path)}: {where} made "
                f"{len(parts.children)} calls.",
                run.id,
            )
        parent = parts
        (parts,) = reader.read([parts.children[index]])
    return path, parts, parent


def call_at(
    run: Run, path: tuple[int, ...], reader: RecordReader | None = None
) -> Call:
    """The call at ``path`` of an ended run.

    Raises:
        RunError: if the run has not ended or has no call at ``path``.
    """
    _, parts, parent = parts_at(run, path, reader or RecordReader(run.store))
    return call_of(run.id, path, parts, None if parent is None else parent.input)


def children_of(run: Run, call: Call) -> Iterator[Call]:
    """The calls ``call`` made (its children, not their children), in order."""
    return _children_read(RecordReader(run.store), run.id, call)


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
