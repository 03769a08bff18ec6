"""One reader of the store for every live stream of an application.

Each open event stream (:mod:`enact.api._events`) holds a :class:`Watch`:
the latest state read for it. A single :class:`Watcher` per application
reads what all of them watch once per tick, in a worker thread, and offers
every watch its state, so 50 open pages cost one read a tick, not 50.

What a tick reads, cheaply:

- the index's mark of the run records (:meth:`Index.run_changes_mark`);
  when it has not moved since the last tick, no record changed;
- the Inbox count, again only if the mark moved (or the index cannot tell)
  or some request waits (an answer is a claim, which moves no mark);
- each watched run once, however many streams watch it, again only if the
  mark moved or the run is running (its tree grows by step lines, which
  move no mark either).

Where the index hears of writes as they commit (PostgreSQL's ``LISTEN``,
:meth:`Index.listen_for_changes`), a thread of the watcher listens and a
new run record or an answer wakes the watcher at once instead of at its
next tick (with a rest of 50 ms between reads, however busy the store).

A watch keeps one state, never a queue: a slow client skips to the latest.
The watcher starts with the first stream and stops once no stream is open
or the server closes (its listening thread a moment later: nobody waits
for it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import anyio
from starlette.concurrency import run_in_threadpool

from enact import runs
from enact.contexts import new_contexts
from enact.references import Store
from enact.ui._live import EVERY, inbox_count, run_state

__all__ = ["Watch", "Watcher"]

_log = logging.getLogger(__name__)

#: Seconds between two reads at least, when changes wake the watcher.
_REST = 0.05


class Watch:
    """What one open stream sees: the latest state read for it.

    Args:
        run_id: The run it watches besides the Inbox (its full id), or None.
        state: The state it starts from (as :func:`~enact.ui._live.read_state`
            reads it).
    """

    def __init__(self, run_id: str | None, state: dict[str, Any]) -> None:
        self.run_id = run_id
        #: The latest state.
        self.state = state
        self._changed = asyncio.Event()

    def offer(self, state: dict[str, Any]) -> None:
        """Makes ``state`` the latest (replacing one not yet taken)."""
        if state != self.state:
            self.state = state
            self._changed.set()

    async def next(self, timeout: float) -> dict[str, Any]:
        """The latest state, once it changes or after ``timeout`` seconds."""
        with anyio.move_on_after(timeout):
            await self._changed.wait()
        self._changed.clear()
        return self.state


class Watcher:
    """Reads what the open streams of one application watch, for all of them.

    Args:
        store: The application's store.
        closing: Set when the server closes: the watcher stops.
        every: Seconds between reads.
    """

    def __init__(
        self, store: Store, closing: threading.Event, every: float = EVERY
    ) -> None:
        self._store = store
        self._closing = closing
        self._every = every
        self._watches: set[Watch] = set()
        self._task: asyncio.Task[None] | None = None
        # What the last tick read: the mark, the Inbox count, each run.
        self._mark: str | None = None
        self._inbox: int | None = None
        self._runs: dict[str, dict[str, Any]] = {}

    @contextlib.contextmanager
    def watch(self, run_id: str | None, state: dict[str, Any]) -> Iterator[Watch]:
        """A watch offered each new state while the block runs (on the
        event loop); the watcher starts if it is not running."""
        watch = Watch(run_id, state)
        self._watches.add(watch)
        self._start()
        try:
            yield watch
        finally:
            self._watches.discard(watch)

    def _start(self) -> None:
        loop = asyncio.get_running_loop()
        task = self._task
        if task is None or task.done() or task.get_loop() is not loop:
            self._task = loop.create_task(self._loop(), name="enact live updates")

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        woken = asyncio.Event()
        stop = threading.Event()

        def heard() -> None:  # in the listening thread
            try:
                loop.call_soon_threadsafe(woken.set)
            except RuntimeError:  # the event loop has closed
                stop.set()

        threading.Thread(
            target=self._listen, args=(heard, stop), name="enact live", daemon=True
        ).start()
        try:
            while self._watches and not self._closing.is_set():
                # The next tick, or sooner if the store tells of a change.
                with anyio.move_on_after(self._every):
                    await woken.wait()
                woken.clear()
                if not self._watches or self._closing.is_set():
                    break
                try:
                    await self.tick()
                except Exception:  # a failed read: the next tick reads it all
                    self._mark = None
                    _log.exception("live updates could not read the store")
                # However often the store tells, a short rest between reads.
                await anyio.sleep(_REST)
        finally:
            stop.set()

    def _listen(self, heard: Callable[[], None], stop: threading.Event) -> None:
        # Returns at once for an index that cannot hear of changes.
        try:
            self._store.index.listen_for_changes(heard, stop)
        except Exception:
            _log.exception("live updates cannot listen: they read every tick")

    async def tick(self) -> None:
        """Reads what the open streams watch, once, and offers each its state."""
        watched = {w.run_id for w in self._watches if w.run_id is not None}
        inbox, states = await run_in_threadpool(self._read, watched)
        for watch in list(self._watches):
            state: dict[str, Any] = {"inbox": inbox}
            if watch.run_id is not None:
                # A run gone since (deleted): its last state stands.
                state["run"] = states.get(watch.run_id, watch.state.get("run"))
            watch.offer(state)

    def _read(self, watched: set[str]) -> tuple[int, dict[str, dict[str, Any]]]:
        # The mark first: a record written during the reads moves it again.
        mark = self._store.index.run_changes_mark()
        same = mark is not None and mark == self._mark
        with new_contexts(), self._store:
            if not same or self._inbox is None or self._inbox > 0:
                self._inbox = inbox_count()
            for run_id in watched:
                last = self._runs.get(run_id)
                if same and last is not None and last["status"] != "running":
                    continue
                try:
                    self._runs[run_id] = run_state(self._store, run_id)
                except runs.RunError:
                    self._runs.pop(run_id, None)
        for run_id in set(self._runs) - watched:
            del self._runs[run_id]
        self._mark = mark
        return self._inbox, dict(self._runs)
