"""``GET /api/events``: live updates as server-sent events.

The same events as the web UI's ``/events`` (:mod:`enact.ui._live`): a
``state`` event with the Inbox count and, with ``?run=``, that run's status,
call count and open requests, sent at once and whenever it changes. The
application's one :class:`~enact.api._watcher.Watcher` reads the store for
every open stream (once a tick, in a worker thread); a stream waits on the
event loop for what it reads, so it holds no thread and reads nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from enact import runs
from enact.api._models import ErrorBody
from enact.api._routes import ApiError
from enact.api._watcher import Watcher
from enact.ui._live import EVERY, LASTING, RETRY, Changes, read_state

__all__ = ["events_router", "state_events"]

events_router = APIRouter(prefix="/api")


@events_router.get(
    "/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "Server-sent events: 'state', with data such as "
            '{"inbox": 2, "run": {"id": "...", "status": "running", "calls": 5, '
            '"pending": 0, "ended": null, "key": "running/5/0"}}.',
        },
        404: {"model": ErrorBody, "description": "No such run."},
    },
    summary="Live updates (server-sent events)",
)
async def events(
    request: Request,
    run: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=128,
            pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
            description="Also watch this run (id, unique prefix or name).",
        ),
    ] = None,
) -> StreamingResponse:
    """A stream of ``state`` events: sent at once, then whenever the Inbox
    count or the run changes; a comment line keeps a quiet stream open. It
    ends after five minutes (an ``EventSource`` reconnects by itself)."""
    store = request.app.state.store
    try:
        first = await run_in_threadpool(read_state, store, run)
    except runs.RunError as error:
        raise ApiError(404, "not found", str(error)) from None
    return state_events(request, first)


def state_events(request: Request, first: dict[str, Any]) -> StreamingResponse:
    """The stream of ``state`` events that begins with ``first`` (which was
    just read, with ``read_state``): for the API's ``/api/events`` and the
    UI's ``/events`` alike.

    A stream ends when the client goes away, after five minutes, or when the
    server closes (``app.state.closing`` is set), so shutting down never
    waits on an open page.
    """
    closing: threading.Event = request.app.state.closing
    watcher: Watcher = request.app.state.watcher
    run_id = first["run"]["id"] if "run" in first else None

    async def chunks() -> AsyncIterator[bytes]:
        yield RETRY
        changes = Changes()
        state: Any = first
        ends = time.monotonic() + LASTING
        with watcher.watch(run_id, first) as watch:
            while (
                not closing.is_set()
                and time.monotonic() < ends
                and not await request.is_disconnected()
            ):
                out = changes.next(state, time.monotonic())
                if out is not None:
                    yield out
                # A new state as soon as the watcher reads one; else, at
                # most EVERY seconds later, the same (a keepalive is due?).
                state = await watch.next(EVERY)

    return StreamingResponse(
        chunks(),
        media_type="text/event-stream",
        headers={"X-Accel-Buffering": "no"},
    )
