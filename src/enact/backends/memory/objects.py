"""Objects in a dict, for tests and short-lived work."""

from __future__ import annotations

import threading
import time
from collections.abc import Collection, Iterable, Iterator, Sequence

from enact.backends import gc as garbage
from enact.backends import sessions
from enact.backends.backend import Backend
from enact.backends.base import Parts, check_key
from enact.backends.index import Index
from enact.backends.memory.index import MemoryIndex

__all__ = ["MemoryObjects"]


class MemoryObjects(Backend):
    """Objects in process memory.

    Only this process can reach them, so garbage collection knows no other
    sessions: its cutoff is now (minus the margin).
    """

    location = "memory"

    def __init__(self) -> None:
        self._objects: dict[str, bytes] = {}
        # When each object was written (sessions.clock()), for the gc cutoff.
        self._written: dict[str, float] = {}
        # A key stored before this time is written again (re-stamped): see
        # enact.backends.gc. Moves forward when a collection starts.
        self._fresh_after = sessions.clock()
        self._lock = threading.Lock()
        self._index = MemoryIndex()

    def index(self) -> Index:
        return self._index

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        get = self._objects.get
        return [get(key) for key in keys]

    def put_many(self, items: Sequence[tuple[str, Parts]]) -> None:
        for key, _ in items:
            check_key(key, self.location)
        now = sessions.clock()
        objects, written, fresh_after = self._objects, self._written, self._fresh_after
        with self._lock:
            for key, parts in items:
                if key not in objects:
                    objects[key] = parts[0] if len(parts) == 1 else b"".join(parts)
                    written[key] = now
                elif written[key] < fresh_after:
                    written[key] = now

    def has_many(self, keys: Sequence[str]) -> list[bool]:
        return [key in self._objects for key in keys]

    def iter_keys(self) -> Iterator[str]:
        return iter(list(self._objects))

    def __len__(self) -> int:
        return len(self._objects)

    def gc(
        self, dry_run: bool = False, progress: garbage.Progress | None = None
    ) -> garbage.GCReport:
        started = time.monotonic()
        now = sessions.clock()
        with self._lock:
            self._fresh_after = now
        cutoff = now - sessions.MARGIN
        return garbage.collect(
            index=self._index,
            heap=_MemoryHeap(self, cutoff),
            cutoff=cutoff,
            held_back_by=(),
            dry_run=dry_run,
            progress=progress,
            started=started,
            location=self.location,
        )


class _MemoryHeap(garbage.Heap):
    def __init__(self, objects: MemoryObjects, cutoff: float) -> None:
        self._backend = objects
        self._cutoff = cutoff
        with objects._lock:
            self._written = dict(objects._written)

    def keys(self) -> Collection[str]:
        return self._written.keys()

    def young(self) -> Iterable[str]:
        cutoff = self._cutoff
        return [key for key, when in self._written.items() if when >= cutoff]

    def read(self, keys: Sequence[str]) -> list[bytes | None]:
        return garbage.read_intact(self._backend, keys)

    def sweep(self, marked: set[str], dry_run: bool) -> tuple[int, int]:
        backend, cutoff = self._backend, self._cutoff
        removed = freed = 0
        with backend._lock:
            for key in self._written:
                when = backend._written.get(key)
                # Looked at again under the lock: a writer may have re-stamped it.
                if key in marked or when is None or when >= cutoff:
                    continue
                removed += 1
                freed += len(backend._objects[key])
                if not dry_run:
                    del backend._objects[key]
                    del backend._written[key]
        return removed, freed
