"""Objects in a dict, for tests and short-lived work."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from enact.backends.base import Backend, Parts, check_key
from enact.backends.index import Index, MemoryIndex

__all__ = ["MemoryObjects"]


class MemoryObjects(Backend):
    """Objects in process memory."""

    location = "memory"

    def __init__(self) -> None:
        self._objects: dict[str, bytes] = {}
        self._index = MemoryIndex()

    def index(self) -> Index:
        return self._index

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        get = self._objects.get
        return [get(key) for key in keys]

    def put_many(self, items: Sequence[tuple[str, Parts]]) -> None:
        objects = self._objects
        for key, _ in items:
            check_key(key, self.location)
        for key, parts in items:
            if key not in objects:
                objects[key] = parts[0] if len(parts) == 1 else b"".join(parts)

    def has_many(self, keys: Sequence[str]) -> list[bool]:
        return [key in self._objects for key in keys]

    def iter_keys(self) -> Iterator[str]:
        return iter(list(self._objects))

    def __len__(self) -> int:
        return len(self._objects)
