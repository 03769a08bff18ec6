"""Runs, trees and requests turned into the API's documents.

Reading a value for display can fail in this process (an unregistered class,
a missing object); such a part becomes a ``problem`` note on its node, as in
the web UI, never an error response.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from enact import runs
from enact.api._models import (
    CallNode,
    DamagedRecord,
    PendingRequest,
    RunDetail,
    RunSummary,
)
from enact.api._service import pending_requests
from enact.references import Store
from enact.ui._tree import Node, text

__all__ = [
    "detail",
    "flat_tree",
    "pending_request",
    "summary",
    "damaged_record",
]


def summary(info: runs.RunInfo) -> RunSummary:
    """A run as the runs list shows it."""
    return RunSummary(**_summary_fields(info))


def _summary_fields(info: runs.RunInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "component": info.component,
        "status": info.status.value,
        "started": info.started,
        "ended": info.ended,
        "name": info.name,
        "tags": list(info.tags),
        "parent": info.parent,
        "relation": info.relation,
        "pending": len(info.pending),
        "error": info.error,
        "resumed": info.resumed,
        "live": info.is_live,
    }


def damaged_record(damaged: runs.DamagedRun) -> DamagedRecord:
    """A run record that cannot be read."""
    return DamagedRecord(
        run_id=damaged.run_id, where=damaged.where, problem=damaged.problem
    )


def pending_request(
    pending: runs.PendingInput, component: str | None = None
) -> PendingRequest:
    """An input request, with what its answer must look like (and the
    waiting run's component, if known)."""
    from enact._runs.answers import describe_answer
    from enact.resource_registry import Registry

    try:
        answer_format = describe_answer(Registry.get().lookup(pending.requested_type))
    except Exception:  # a type this process does not know: still answerable raw
        answer_format = f"a value of type {pending.requested_type}"
    context_text = "" if pending.context is None else _json_text(pending.context)
    return PendingRequest(
        run_id=pending.run_id,
        component=component,
        path=list(pending.path),
        requested_type=pending.requested_type,
        context=pending.context,
        context_text=context_text,
        answer_format=answer_format,
        request=pending.request.digest,
    )


def _json_text(value: Any) -> str:
    import json

    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        return repr(value)


def detail(run: runs.Run, store: Store) -> RunDetail:
    """One run: its record, its input and output as text, its open requests."""
    info = run.info()
    input_text = _readable(lambda: _request_input(info.request))
    output_text = exception_text = None
    if info.invocation is not None:
        try:
            invocation = info.invocation()
            response = invocation.response()
            if response.output is not None:
                output_text = text(response.output())
            if response.raised is not None:
                exception_text = text(response.raised())
        except Exception as error:
            output_text = f"(cannot be read here: {type(error).__name__}: {error})"
    with store:
        requests = [
            pending_request(p, info.component) for p in pending_requests(info.id)
        ]
    return RunDetail(
        **_summary_fields(info),
        request=info.request.digest,
        invocation=None if info.invocation is None else info.invocation.digest,
        input_text=input_text,
        output_text=output_text,
        exception_text=exception_text,
        requests=requests,
    )


def _request_input(request: Any) -> str:
    value = request()
    return text(value.input())


def _readable(read: Any) -> str:
    try:
        result: str = read()
    except Exception as error:
        return f"(cannot be read here: {type(error).__name__}: {error})"
    return result


def flat_tree(root: Node) -> Iterator[CallNode]:
    """The tree's calls depth first, each with its depth."""
    stack: list[tuple[Node, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        yield CallNode(
            path=list(node.path),
            depth=depth,
            name=node.name,
            digest=node.digest,
            input=node.input_short,
            input_digest=node.input_digest,
            output=node.output_short,
            output_digest=node.output_digest,
            exception=node.exception_short,
            raised_here=node.raised_here,
            asked=None if node.asked is None else node.asked.type_name,
            start=node.start,
            end=node.end,
            children=len(node.children) + node.hidden,
            problem=node.problem,
        )
        stack.extend((child, depth + 1) for child in reversed(node.children))


def hidden_calls(root: Node) -> int:
    """How many calls the tree left out (past its size limit)."""
    total = 0
    stack = [root]
    while stack:
        node = stack.pop()
        total += node.hidden
        stack.extend(node.children)
    return total
