"""The API's endpoints: runs, their trees, input requests and answers, objects."""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Callable, Iterator
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Body, Header, Path, Query, Request
from fastapi.responses import Response

from enact import runs
from enact.api import _service
from enact.api._models import (
    AnswerBody,
    AnswerResult,
    CallDifference,
    Comparison,
    ErrorBody,
    InvocationTree,
    JobStarted,
    ObjectText,
    PendingRequest,
    RunDetail,
    RunPage,
    TreePage,
)
from enact.api._views import (
    damaged_record,
    detail,
    flat_tree,
    hidden_calls,
    pending_request,
    summary,
)
from enact.contexts import new_contexts
from enact.invocations import Invocation
from enact.references import CorruptObject, NotFound, Store
from enact.resource_registry import ResourceNotFound
from enact.serialization import DeserializationError
from enact.ui._jobs import Jobs
from enact.ui._tree import Node, text

__all__ = ["ApiError", "router"]

_T = TypeVar("_T")

router = APIRouter(prefix="/api")

#: The largest object sent whole; ask for bigger ones in ranges.
MAX_OBJECT_BYTES = 16 * 1024 * 1024

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such run or object."},
    409: {"model": ErrorBody, "description": "The run is not in a state for this."},
}
RunId = Annotated[
    str,
    Path(
        description="A run id, a unique prefix of one, or a run's name.",
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
    ),
]
Digest = Annotated[
    str, Path(description="An object's SHA-256 digest.", pattern=r"^[0-9a-f]{64}$")
]
_RANGE = re.compile(r"bytes=(\d{0,15})-(\d{0,15})")


class ApiError(Exception):
    """An error the API answers with its status and one line."""

    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


@contextlib.contextmanager
def _using(request: Request) -> Iterator[Store]:
    """The API's store, current in this worker thread for the block."""
    store = _store(request)
    with new_contexts(), store:
        yield store


def _jobs(request: Request) -> Jobs:
    jobs: Jobs = request.app.state.jobs
    return jobs


def _run(store: Store, run_id: str) -> runs.Run:
    return _service.open_run(store, run_id)


# -- runs ---------------------------------------------------------------------


@router.get("/runs", response_model=RunPage, summary="List runs, newest first")
def list_runs(
    request: Request,
    status: Annotated[
        runs.RunStatus | None, Query(description="Only runs with this status.")
    ] = None,
    component: Annotated[
        str | None, Query(max_length=500, description="Component name contains.")
    ] = None,
    tag: Annotated[str | None, Query(max_length=500)] = None,
    parent: Annotated[str | None, Query(max_length=128)] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=500,
            description="Search: every word occurs in the run's id, name, "
            "tags, component, error or the start of its output (any case).",
        ),
    ] = None,
    since: Annotated[float | None, Query(description="Started at or after.")] = None,
    until: Annotated[float | None, Query(description="Started before.")] = None,
    sort: Annotated[
        Literal["started", "ended", "took", "component", "status", "name"],
        Query(description="What to order the runs by."),
    ] = "started",
    order: Annotated[
        Literal["desc", "asc"], Query(description="Newest (largest) first, or last.")
    ] = "desc",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=400, description="From a previous page.")
    ] = None,
    count: Annotated[
        bool,
        Query(
            description="Also count every match and name the records that "
            "cannot be read (from the index's table of columns: the cost grows "
            "with the matches, not the store)."
        ),
    ] = False,
) -> RunPage:
    """A page of the store's runs, newest first (or as ``sort`` and
    ``order`` say), filtered and searched.

    A page costs in proportion to its size, not to the store's. A cursor
    continues the order it was made in."""
    query = _service.RunQuery(
        status=status,
        component=component,
        tag=tag,
        parent=parent,
        since=since,
        until=until,
        search=q,
        order_by=sort,
        descending=order == "desc",
    )
    with _using(request) as store:
        try:
            page = _service.find_runs(store, query, limit=limit, cursor=cursor)
        except ValueError as error:
            if cursor is not None and "cursor" in str(error):
                raise ApiError(400, "bad cursor", str(error)) from None
            raise
        total, damaged = None, []
        if count:
            total, found = _service.count_runs(query)
            damaged = [damaged_record(d) for d in found]
    return RunPage(
        runs=[summary(info) for info in page.runs],
        next_cursor=page.next_cursor,
        total=total,
        damaged=damaged,
    )


@router.get(
    "/runs/{run_id}", response_model=RunDetail, responses=_ERRORS, summary="One run"
)
def get_run(request: Request, run_id: RunId) -> RunDetail:
    """A run's record, its input and output as text, and its open requests."""
    with _using(request) as store:
        return detail(_run(store, run_id), store)


@router.get(
    "/runs/{run_id}/tree",
    response_model=TreePage,
    responses=_ERRORS,
    summary="A run's call tree, paged",
)
def get_tree(
    request: Request,
    run_id: RunId,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=2000)] = 200,
) -> TreePage:
    """The run's calls depth first (the final journal, else what is durable)."""
    with _using(request) as store:
        run = _run(store, run_id)
        root = _service.call_tree(run)
        if root is None:
            return TreePage(
                run_id=run.id, nodes=[], total=0, hidden=0, next_offset=None
            )
        return TreePage(run_id=run.id, **_tree_slice(root, offset, limit))


def _tree_slice(root: Node, offset: int, limit: int) -> dict[str, Any]:
    """The fields of a page of a call tree: its nodes from ``offset``."""
    nodes = list(flat_tree(root))
    more = offset + limit < len(nodes)
    return {
        "nodes": nodes[offset : offset + limit],
        "total": len(nodes),
        "hidden": hidden_calls(root),
        "next_offset": offset + limit if more else None,
    }


def _started(child: _service.ChildRun) -> JobStarted:
    """What the API says of a run started in the background."""
    job = child.job
    if job.done.is_set() and job.error is not None and child.run_id is None:
        verb = job.label.split()[0].removesuffix("ing")
        raise ApiError(409, f"cannot {verb}", job.error)
    return JobStarted(run_id=child.run_id, label=job.label)


@router.post(
    "/runs/{run_id}/replay",
    response_model=JobStarted,
    status_code=202,
    responses=_ERRORS,
    summary="Replay a run",
)
def replay_run(
    request: Request, run_id: RunId, body: Annotated[dict[str, Any], Body()]
) -> JobStarted:
    """Starts a new run replaying this one from its journal (send ``{}``)."""
    del body
    with _using(request) as store:
        run = _run(store, run_id)
    return _started(_service.replay(store, _jobs(request), run))


@router.post(
    "/runs/{run_id}/resume",
    response_model=JobStarted,
    status_code=202,
    responses=_ERRORS,
    summary="Resume a crashed or waiting run",
)
def resume_run(
    request: Request, run_id: RunId, body: Annotated[dict[str, Any], Body()]
) -> JobStarted:
    """Continues a crashed or answered run in the server (send ``{}``)."""
    del body
    with _using(request) as store:
        job = _service.resume(_jobs(request), _run(store, run_id))
    return JobStarted(run_id=job.run_id, label=job.label)


@router.get(
    "/compare",
    response_model=Comparison,
    responses=_ERRORS,
    summary="Compare two runs call by call",
)
def compare_runs(
    request: Request,
    left: Annotated[str, Query(min_length=1, max_length=128)],
    right: Annotated[str, Query(min_length=1, max_length=128)],
) -> Comparison:
    """Which calls two runs share (kept), which differ, and where they diverge."""
    with _using(request) as store:
        compared = _service.compare_runs(_run(store, left), _run(store, right))
    return Comparison(
        left=compared.left.id,
        right=compared.right.id,
        divergence=None if compared.divergence is None else list(compared.divergence),
        kept=compared.kept,
        differing=compared.differing,
        calls=[
            CallDifference(
                path=list(row.path),
                kind=row.kind,  # type: ignore[arg-type]
                changes=list(row.changes),
                left=None if row.left is None else row.left.digest,
                right=None if row.right is None else row.right.digest,
            )
            for row in compared.rows
        ],
    )


# -- input requests -------------------------------------------------------------


@router.get(
    "/requests",
    response_model=list[PendingRequest],
    summary="Every unanswered input request",
)
def list_requests(request: Request) -> list[PendingRequest]:
    """The input requests of every waiting run that nobody has answered yet."""
    with _using(request):
        components = _service.waiting_components()
        return [
            pending_request(p, components.get(p.run_id))
            for p in _service.pending_requests()
        ]


@router.post(
    "/runs/{run_id}/answer",
    response_model=AnswerResult,
    status_code=201,
    responses={
        **_ERRORS,
        422: {"model": ErrorBody, "description": "Not of the requested type."},
    },
    summary="Answer a waiting run's input request (the first answer wins)",
)
def answer(
    request: Request, run_id: RunId, body: Annotated[AnswerBody, Body()]
) -> AnswerResult:
    """Takes an answer, checked against the requested type, once."""
    path = None if body.path is None else tuple(body.path)
    with _using(request) as store:
        run = _run(store, run_id)
        answered = _service.answer(
            _jobs(request), run, body.value, path=path, resume=body.resume
        )
    return AnswerResult(
        run_id=run.id,
        path=list(answered.request.path),
        resumed=answered.job is not None,
    )


# -- objects ---------------------------------------------------------------------


@router.get(
    "/objects/{digest}",
    responses={
        200: {
            "content": {"application/json": {}},
            "description": "The object's canonical bytes (JSON), verified.",
        },
        206: {"description": "The asked-for byte range of the object."},
        404: {"model": ErrorBody, "description": "No such object."},
        413: {"model": ErrorBody, "description": "Too large: ask for a Range."},
        416: {"model": ErrorBody, "description": "The range is not satisfiable."},
    },
    summary="An object's canonical bytes, verified against its digest",
)
def get_object(
    request: Request,
    digest: Digest,
    range_: Annotated[
        str | None, Header(alias="range", max_length=100, description="bytes=A-B")
    ] = None,
) -> Response:
    """The stored bytes of an object (its canonical JSON encoding).

    Every read is verified: the bytes hash to the digest or the answer is an
    error. Objects over 16 MiB are sent only in ranges.
    """
    data = _read_object(_store(request), digest)
    size = len(data)
    if range_ is None:
        if size > MAX_OBJECT_BYTES:
            raise ApiError(
                413,
                "too large",
                f"Object {digest} has {size} bytes; ask for at most "
                f"{MAX_OBJECT_BYTES} at a time with a Range header.",
            )
        return Response(data, media_type="application/json")
    match = _RANGE.fullmatch(range_.strip())
    if match is None or match.group(1) == match.group(2) == "":
        raise ApiError(416, "bad range", f"{range_[:100]!r} is not 'bytes=A-B'.")
    first_text, last_text = match.groups()
    if first_text == "":  # the last N bytes
        first, last = max(0, size - int(last_text)), size - 1
    else:
        first = int(first_text)
        last = size - 1 if last_text == "" else min(int(last_text), size - 1)
    if first > last or first >= size or last - first + 1 > MAX_OBJECT_BYTES:
        raise ApiError(
            416,
            "bad range",
            f"Object {digest} has {size} bytes; {range_[:100]!r} is outside it or "
            f"longer than {MAX_OBJECT_BYTES} bytes.",
        )
    return Response(
        data[first : last + 1],
        status_code=206,
        media_type="application/octet-stream",
        headers={"Content-Range": f"bytes {first}-{last}/{size}"},
    )


@router.get(
    "/objects/{digest}/text",
    response_model=ObjectText,
    responses={404: {"model": ErrorBody, "description": "No such object."}},
    summary="A stored value as readable text",
)
def get_object_text(request: Request, digest: Digest) -> ObjectText:
    """The value an object holds, decoded and pretty-printed (what the web
    UI's object page shows)."""
    with _using(request):
        value = _read(digest, _service.read_value)
        return ObjectText(
            digest=digest,
            type=type(value).__name__,
            invocation=isinstance(value, Invocation),
            text=text(value),
        )


@router.get(
    "/invocations/{digest}/tree",
    response_model=InvocationTree,
    responses={404: {"model": ErrorBody, "description": "No such invocation."}},
    summary="A stored invocation's call tree, paged",
)
def get_invocation_tree(
    request: Request,
    digest: Digest,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=2000)] = 200,
) -> InvocationTree:
    """The calls of any stored invocation, depth first (a run's are at
    ``/api/runs/{run_id}/tree``)."""
    with _using(request):
        root = _read(digest, _service.invocation_tree)
        if root is None:
            raise ApiError(404, "not found", f"Object {digest} is no invocation.")
        return InvocationTree(digest=digest, **_tree_slice(root, offset, limit))


def _read(digest: str, read: Callable[[str], _T]) -> _T:
    """What ``read`` (a service function) gives for an object of the
    current store, or the API's error for one that cannot be read."""
    try:
        return read(digest)
    except NotFound:
        raise ApiError(404, "not found", f"No object {digest} in this store.") from None
    except CorruptObject:
        raise ApiError(
            500,
            "damaged object",
            f"Object {digest} in this store is damaged: its bytes do not hash to "
            "its digest (run `enact verify`).",
        ) from None
    except (DeserializationError, ResourceNotFound) as error:
        raise ApiError(422, "cannot be read here", str(error)) from None


def _read_object(store: Store, digest: str) -> bytes:
    found = store.objects.get_many([digest])[0]
    if found is None:
        raise ApiError(404, "not found", f"No object {digest} in this store.")
    data = bytes(found)
    if hashlib.sha256(data).hexdigest() != digest:
        raise ApiError(
            500,
            "damaged object",
            f"Object {digest} in this store is damaged: its bytes do not hash to "
            "its digest (run `enact verify`).",
        )
    return data
