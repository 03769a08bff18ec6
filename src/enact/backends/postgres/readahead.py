"""Read-ahead along a step log: one query for the objects a resume will read.

Resuming a run replays its finished calls one at a time, and each replayed
call reads its records: on a server that is one round trip per call. So when
a run's step log is read, the digests it names are noted in order; the first
read of one of them fetches it and the next few thousand named after it in
one query, and later reads of those are served from memory; so, a batch
later, are the objects those refer to (a call's request and response). Each prefetched
object is served once, then forgotten (objects are immutable, and every read
is checked against its digest above, so a prefetched copy is as good as a
fresh one). What is held is bounded in count and bytes.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence

__all__ = ["BULK", "ReadAhead"]

_DIGEST = re.compile(rb"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")
# A reference inside an object (how a Ref is encoded).
_REFERENCE = re.compile(rb'"digest"\s*:\s*"([0-9a-f]{64})"')
# Digests noted from step logs (the latest logs read win).
_NOTED_LIMIT = 200_000
# Objects fetched ahead per query, and the most held at once.
_BATCH = 2000
_HELD_BYTES = 64 << 20
#: A read of at least this many keys fetches nothing ahead.
BULK = 256
# Larger objects are not fetched ahead: they cost more than a round trip.
_LARGE = 1 << 20


class ReadAhead:
    """Objects named by recently read step logs, fetched in batches.

    Args:
        fetch: Reads objects by key (the store's query; absent keys are
            left out of its result).
    """

    def __init__(self, fetch: Callable[[Sequence[str]], dict[str, bytes]]) -> None:
        self._fetch = fetch
        self._lock = threading.Lock()
        # digest -> its place in the order noted
        self._noted: dict[str, int] = {}
        self._order: list[str] = []
        self._held: dict[str, bytes] = {}
        self._held_bytes = 0

    def note(self, lines: Sequence[bytes]) -> None:
        """Notes the digests named in ``lines``, in order."""
        found = [match.decode() for line in lines for match in _DIGEST.findall(line)]
        with self._lock:
            self._note(found)

    def _note(self, found: list[str]) -> None:
        if len(self._order) + len(found) > _NOTED_LIMIT:
            self._noted.clear()
            self._order.clear()
        for key in found[:_NOTED_LIMIT]:
            if key not in self._noted and key not in self._held:
                self._noted[key] = len(self._order)
                self._order.append(key)

    def take(self, keys: Sequence[str]) -> dict[str, bytes]:
        """The objects of ``keys`` held or worth fetching ahead; the rest the
        caller reads itself. A read of :data:`BULK` keys or more takes only
        what is held."""
        taken: dict[str, bytes] = {}
        ahead: list[str] = []
        with self._lock:
            if not self._noted and not self._held:
                return taken
            for key in keys:
                data = self._held.pop(key, None)
                if data is not None:
                    self._held_bytes -= len(data)
                    taken[key] = data
            if len(keys) >= BULK:
                # A bulk read (a journal's check, a verify) names its own
                # keys: the order noted is left for the reads one call at a
                # time (a replay's, after the check).
                return taken
            missing = [key for key in keys if key not in taken and key in self._noted]
            if missing:
                start = min(self._noted[key] for key in missing)
                ahead = [
                    key
                    for key in self._order[start : start + _BATCH]
                    if self._noted.pop(key, None) is not None
                ]
        if not ahead:
            return taken
        wanted = set(missing)
        fetched = self._fetch(sorted(set(ahead) | wanted))
        # What the fetched objects refer to is read next (a call's record
        # names its request and response): noted after them.
        referred = [
            match.decode()
            for data in fetched.values()
            if len(data) < _LARGE
            for match in _REFERENCE.findall(data)
        ]
        with self._lock:
            self._note(referred)
            for key, data in fetched.items():
                if key in wanted:
                    taken[key] = data
                elif (
                    len(data) < _LARGE
                    and self._held_bytes + len(data) <= _HELD_BYTES
                    and key not in taken
                ):
                    self._held[key] = data
                    self._held_bytes += len(data)
        return taken
