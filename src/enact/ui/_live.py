"""Live updates over server-sent events, for the web UI and the HTTP API.

A page (or a program) opens one long response, ``text/event-stream``, and
the server sends a ``state`` event whenever what it watches changes: how
many input requests wait in the Inbox and, for one run, its status, how many
calls its tree shows and how many requests it waits for. One watcher per
application reads the store for every open stream, twice a second
(``enact.api._watcher``); the page, told that something changed, fetches
the parts it shows again. Nothing in the stream is HTML: the page renders
nothing it is sent.

The pieces here are shared: :func:`read_state` (what is watched, read in a
fresh context so any thread can call it), its parts :func:`inbox_count`
and :func:`run_state`, and :class:`Changes` (what to send for a state just
read). One loop per stream on the server's event loop sends them, for the
API's ``/api/events`` and the UI's ``/events`` alike
(``enact.api._events.state_events``).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from enact import runs
from enact.contexts import new_contexts
from enact.references import Store
from enact.ui._tree import Node, build_tree

__all__ = [
    "EVERY",
    "KEEPALIVE",
    "LASTING",
    "RETRY",
    "Changes",
    "call_count",
    "inbox_count",
    "read_state",
    "run_key",
    "run_state",
    "run_tree",
]

#: How often the watcher reads the store for changes, in seconds.
EVERY = 0.5
#: A comment line after this many quiet seconds keeps proxies from closing.
KEEPALIVE = 15.0
#: A stream ends after this many seconds; the browser reconnects by itself
#: (so a forgotten tab never holds a connection for ever).
LASTING = 300.0
#: Sent first: how long a browser waits before reconnecting, in ms.
RETRY = b"retry: 2000\n\n"


def run_tree(run: runs.Run, info: runs.RunInfo) -> Node | None:
    """A run's call tree: the final invocation, else what is durable so far."""
    journal = run.invocation() if info.invocation is not None else None
    if journal is None:
        journal = run.journal()
    if journal is None:
        return None
    digest = None if info.invocation is None else info.invocation.digest
    return build_tree(journal, digest, run.timings())


def call_count(tree: Node | None) -> int:
    """How many calls a tree shows."""
    if tree is None:
        return 0
    count, stack = 0, [tree]
    while stack:
        node = stack.pop()
        count += 1
        stack.extend(node.children)
    return count


def run_key(status: str, calls: int, pending: int) -> str:
    """What a run page shows that can change, in one comparable string."""
    return f"{status}/{calls}/{pending}"


def read_state(store: Store, run_id: str | None) -> dict[str, Any]:
    """What live pages watch, now: the Inbox count and, if asked, one run.

    Raises:
        RunNotFound: if there is no run ``run_id``.
    """
    with new_contexts(), store:
        state: dict[str, Any] = {"inbox": inbox_count()}
        if run_id is not None:
            state["run"] = run_state(store, run_id)
    return state


def inbox_count() -> int:
    """How many input requests wait in the current store's Inbox."""
    return len(runs.pending_inputs())


def run_state(store: Store, run_id: str) -> dict[str, Any]:
    """What a live run page watches: the ``run`` part of a state.

    Raises:
        RunNotFound: if there is no run ``run_id``.
    """
    run = runs.get_run(run_id, store=store)
    info = run.info()
    try:
        calls = call_count(run_tree(run, info))
    except Exception:  # an unreadable journal: the page says why
        calls = 0
    status = info.status.value
    pending = len(info.pending)
    return {
        "id": run.id,
        "status": status,
        "calls": calls,
        "pending": pending,
        "ended": info.ended,
        "key": run_key(status, calls, pending),
    }


def event(name: str, data: Any) -> bytes:
    """One server-sent event (its data is one line of JSON)."""
    return (
        f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()
    )


@dataclasses.dataclass
class Changes:
    """Decides what to send for each state read: a ``state`` event when it
    differs from the last one sent, a keepalive comment after a quiet while,
    else nothing."""

    keepalive: float = KEEPALIVE
    _last: Any = None
    _sent_at: float | None = None

    def next(self, state: Any, now: float) -> bytes | None:
        """What to send now for ``state`` (None: nothing)."""
        if self._sent_at is None or state != self._last:
            self._last, self._sent_at = state, now
            return event("state", state)
        if now - self._sent_at >= self.keepalive:
            self._sent_at = now
            return b": keepalive\n\n"
        return None
