"""Incremental journaling: each finished call is durable the moment it ends.

A durable run's top-level call carries a :class:`Recorder`; every call under
it, at any depth, reports to it when it ends. The recorder writes the call's
objects to the store (they are already committed, but buffered by the run's
batch) and then appends one line to the run's step log in the index:

    {"d": [2, 0], "i": "<invocation digest>", "s": <start>, "e": <end>}

says that the call at path (2, 0) (first child of the third child of the top
call) finished with that invocation. Before the first line under an open call,
a begin line gives that call's request, so an incomplete tree can be rebuilt:

    {"b": [2], "r": "<request digest>"}

A call without children is followed by a *recovery line*, a JSON array of
the digests in its records (request, response, invokable, output, exception)
and whether it raised the exception itself, so a resume rebuilds them without
reading them (a shortcut only: stores may drop recovery lines once the run
has ended, see :meth:`~enact.backends.Backend.settle_steps`):

    ["<request>", "<response>", "<invokable>", "<output>", null, false]

Objects first, then the lines: a line never names an object that is not
stored. :func:`checkpoint` turns the lines back into an incomplete
:class:`~enact.invocations.Invocation` that replay continues from.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

import orjson

from enact._invocations.input_requests import InputRequest
from enact._invocations.journal import Builder
from enact._invocations.records import Invocation, Request, Response
from enact._runs.portability import warn_unimportable_type
from enact._runs.records import PendingInput
from enact.references import Ref, Store

__all__ = ["Recorder", "StepLog", "checkpoint", "describe_context", "pending_input"]

# Step lines are JSON (never a raw newline inside), each ending in a newline.
_LINE = orjson.OPT_APPEND_NEWLINE
# The records of a recovery line, in order (as keys of StepLog.leaves).
_RECORDS = ("r", "p", "k", "o", "x", "h")


class Recorder:
    """Writes the step log of one durable run as its calls end.

    Args:
        store: The run's store (one with a run index).
        run_id: The run.
        log: What the step log held already (when resuming): calls found
            there as finished are not written again.
    """

    def __init__(self, store: Store, run_id: str, log: StepLog | None = None) -> None:
        self.store = store
        self.run_id = run_id
        self._lock = threading.Lock()
        self._done: dict[tuple[int, ...], str] = dict(log.done) if log else {}
        self._begun: set[tuple[int, ...]] = set(log.begun) if log else set()
        #: The input requests raised in this run, not answered in place.
        self.pending: list[PendingInput] = []
        self._write = store.step_writer(run_id)

    # -- called by Builder ----------------------------------------------------

    def begin_root(self, builder: Builder) -> None:
        """Adopts the run's top-level call."""
        builder.recorder = self
        builder.path = ()
        builder.started_at = time.time()
        self._begun.add(())

    def begin(self, builder: Builder, parent: Builder) -> None:
        """Takes the child's slot in its parent and notes its path."""
        siblings = parent.children
        siblings.append(builder)  # atomic: concurrent calls each get a slot
        index = len(siblings) - 1
        if siblings[index] is not builder:  # another thread appended since
            index = next(i for i, c in enumerate(siblings) if c is builder)
        builder.path = (*parent.path, index)
        builder.recorder = self
        builder.started_at = time.time()

    def finished(
        self,
        builder: Builder,
        invocation_ref: Ref[Any],
        raised_ref: Ref[Any] | None,
        raised_here: bool,
    ) -> None:
        """Makes a finished call durable: its objects, then its step line."""
        path = builder.path
        digest = invocation_ref._digest  # not the property: hot
        if raised_here and raised_ref is not None:
            self._note_request(builder, raised_ref)
        if self._done and self._done.get(path) == digest:
            return  # replayed from this run's own log: already durable
        parent = builder.parent
        step, records = _step(builder, path, digest)
        line = orjson.dumps(step, option=_LINE)
        if parent is not None and parent.path not in self._begun:
            # The first call to end under an open call: begin lines first.
            line = b"".join(self._begin_lines(parent)) + line
        recovery = b"" if records is None else orjson.dumps(records, option=_LINE)
        # Objects first, then the lines that name them (one write).
        self._write(line, recovery)

    def _begin_lines(self, parent: Builder) -> list[bytes]:
        """Begin lines for the open calls above the first call to end under
        ``parent``, outermost first (once each, under the lock)."""
        lines: list[bytes] = []
        with self._lock:
            opened: list[Builder] = []
            ancestor: Builder | None = parent
            while ancestor is not None and ancestor.path not in self._begun:
                opened.append(ancestor)
                ancestor = ancestor.parent
            for ancestor in reversed(opened):
                self._begun.add(ancestor.path)
                lines.append(
                    orjson.dumps(
                        {"b": ancestor.path, "r": ancestor.request_ref().digest},
                        option=_LINE,
                    )
                )
        return lines

    def _note_request(self, builder: Builder, raised_ref: Ref[Any]) -> None:
        request = raised_ref.checkout()
        if not isinstance(request, InputRequest):
            return
        pending = pending_input(self.run_id, builder.path, raised_ref, request)
        with self._lock:
            self.pending = [p for p in self.pending if p.path != pending.path]
            self.pending.append(pending)


def pending_input(
    run_id: str,
    path: tuple[int, ...],
    request_ref: Ref[Any],
    request: InputRequest,
) -> PendingInput:
    """What the run index keeps of an input request made at ``path``."""
    warn_unimportable_type(request.requested_type)
    return PendingInput(
        run_id,
        path,
        request_ref,
        request.requested_type.type_id(),
        describe_context(request.context),
        request.input,
    )


def _step(
    builder: Builder, path: tuple[int, ...], digest: str
) -> tuple[dict[str, Any], tuple[Any, ...] | None]:
    """The step line of a finished call (a dict) and, for a call without
    children, its recovery line (a tuple), for ``orjson.dumps``.

    From the records a resumed run rebuilds the call's request and response
    instead of reading and decoding two objects per finished call (checked
    against their digests when used). They are only a shortcut: a store may
    drop recovery lines once the run has ended.
    """
    step = {"d": path, "i": digest, "s": builder.started_at, "e": time.time()}
    invocation = builder.recorded
    replayed = builder.replayed
    if invocation is None and replayed is not None:
        invocation = replayed.invocation  # a replayed call reuses its record
    if invocation is None:
        return step, None
    response_ref = invocation.response
    response: Any = response_ref._cache
    if type(response) is not Response or response.children:
        return step, None
    # Ref._digest rather than the digest property: this runs for every call.
    output, raised = response.output, response.raised
    return step, (  # in the order of _RECORDS
        invocation.request._digest,
        response_ref._digest,
        response.invokable._digest,
        None if output is None else output._digest,
        None if raised is None else raised._digest,
        response.raised_here,
    )


def _leaf_ref(digest: str, step: dict[str, Any]) -> Ref[Any]:
    """The invocation of a step line, with its records rebuilt from the line.

    Nothing is trusted blindly: a ref checks its cached value against its
    digest when it is checked out, and reads the store instead on a mismatch.
    """
    try:
        output, raised = step["o"], step["x"]
        response: Response[Any, Any] = Response(
            Ref(step["k"]),
            None if output is None else Ref(output),
            None if raised is None else Ref(raised),
            bool(step["h"]),
            [],
        )
        return Ref(digest, Invocation(Ref(step["r"]), Ref(step["p"], response)))
    except (KeyError, TypeError, ValueError):
        return Ref(digest)


def describe_context(context: Any) -> Any:
    """The JSON form of a request's context: plain JSON values as they are,
    anything else as its text."""
    if context is None or isinstance(context, (str, int, float, bool)):
        return context
    if isinstance(context, (list, tuple)) and all(
        isinstance(item, (str, int, float, bool, type(None))) for item in context
    ):
        return list(context)
    if isinstance(context, dict) and all(
        isinstance(key, str) and isinstance(value, (str, int, float, bool, type(None)))
        for key, value in context.items()
    ):
        return dict(context)
    return str(context)


class StepLog:
    """A run's step log, read: finished calls, open calls and timings.

    Later lines win over earlier ones for the same path (a resumed run writes
    the calls it ran afresh).
    """

    def __init__(self, lines: Iterable[bytes]) -> None:
        self.done: dict[tuple[int, ...], str] = {}
        # The records of finished calls without children (recovery lines).
        self.leaves: dict[tuple[int, ...], dict[str, Any]] = {}
        self.begun: dict[tuple[int, ...], str] = {}
        self.timings: dict[tuple[int, ...], tuple[float, float]] = {}
        #: The numbers (from 0) of the lines that could not be read.
        self.damaged: list[int] = []
        # The path of the step line just read: a recovery line belongs to it.
        last: tuple[int, ...] | None = None
        for number, line in enumerate(lines):
            try:
                if line[:1] == b"[":
                    if last is not None:
                        self.leaves[last] = dict(
                            zip(_RECORDS, orjson.loads(line), strict=True)
                        )
                    last = None
                    continue
                last = None
                step = orjson.loads(line)
                if "d" in step:
                    path = tuple(step["d"])
                    self.done[path] = step["i"]
                    last = path
                    if "p" in step:  # the records in the line itself (an older form)
                        self.leaves[path] = step
                    else:
                        self.leaves.pop(path, None)
                    if step.get("s") is not None and step.get("e") is not None:
                        self.timings[path] = (float(step["s"]), float(step["e"]))
                elif "b" in step:
                    self.begun[tuple(step["b"])] = step["r"]
                else:
                    raise KeyError("d")
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                # A damaged line loses one step, never the run.
                self.damaged.append(number)


def checkpoint(store: Store, request: Ref[Any], log: StepLog) -> Invocation[Any, Any]:
    """The incomplete invocation of a run from its step log.

    Each open call becomes an invocation with neither output nor exception,
    holding its finished children (and its open child, in turn) in call
    order: replaying it returns what finished and runs the rest.
    """
    children: dict[tuple[int, ...], dict[int, Ref[Any]]] = {}

    def slot(path: tuple[int, ...]) -> dict[int, Ref[Any]]:
        return children.setdefault(path, {})

    # A finished call holds its whole subtree: skip lines under it.
    finished = set(log.done)

    def under_finished(path: tuple[int, ...]) -> bool:
        return any(path[:depth] in finished for depth in range(1, len(path)))

    for path, digest in log.done.items():
        if path and not under_finished(path):
            leaf = log.leaves.get(path)
            ref = Ref(digest) if leaf is None else _leaf_ref(digest, leaf)
            slot(path[:-1])[path[-1]] = ref
    open_paths = sorted(
        (
            path
            for path in log.begun
            if path not in finished and not under_finished(path)
        ),
        key=len,
        reverse=True,
    )
    built: dict[tuple[int, ...], Ref[Any]] = {}
    for path in [*open_paths, ()]:
        if path in built:
            continue
        own = slot(path)
        for child_path, child_ref in built.items():
            if child_path[:-1] == path:
                own.setdefault(child_path[-1], child_ref)
        request_ref = request if path == () else Ref(log.begun[path])
        recorded: Request[Any, Any] = request_ref.checkout()
        response: Response[Any, Any] = Response(
            recorded.invokable,
            None,
            None,
            False,
            [own[index] for index in sorted(own)],
        )
        invocation = Invocation(request_ref, store.commit(response))
        if path == ():
            return invocation
        built[path] = store.commit(invocation)
    raise AssertionError("unreachable")  # pragma: no cover
