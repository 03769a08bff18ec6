"""The run index of a memory store: dicts under one lock."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from enact.backends.base import BackendError
from enact.backends.index import Index, check_claim_key, check_run_id

__all__ = ["MemoryIndex"]


class MemoryIndex(Index):
    """An index in process memory (for memory stores and tests)."""

    location = "memory"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._runs: dict[str, bytes] = {}
        self._steps: dict[str, list[bytes]] = {}
        self._names: dict[str, str] = {}
        self._claims: dict[str, bytes] = {}

    def get_run(self, run_id: str) -> bytes | None:
        return self._runs.get(check_run_id(run_id, self.location))

    def list_runs(self) -> list[tuple[str, bytes]]:
        with self._lock:
            return list(self._runs.items())

    def update_run(
        self, run_id: str, update: Callable[[bytes | None], bytes | None]
    ) -> bytes | None:
        check_run_id(run_id, self.location)
        with self._lock:
            new = update(self._runs.get(run_id))
            if new is None:
                self._runs.pop(run_id, None)
                self._steps.pop(run_id, None)
            else:
                self._runs[run_id] = bytes(new)
            return new

    def append_steps(self, run_id: str, lines: Sequence[bytes]) -> None:
        check_run_id(run_id, self.location)
        if any(b"\n" in line for line in lines):
            raise BackendError("a step line may not contain a newline", self.location)
        with self._lock:
            self._steps.setdefault(run_id, []).extend(bytes(line) for line in lines)

    def read_steps(self, run_id: str) -> list[bytes]:
        check_run_id(run_id, self.location)
        with self._lock:
            return list(self._steps.get(run_id, ()))

    def set_name(self, name: str, key: str | None) -> None:
        with self._lock:
            if key is None:
                self._names.pop(name, None)
            else:
                self._names[name] = key

    def names(self) -> dict[str, str]:
        with self._lock:
            return dict(self._names)

    def claim(self, key: str, value: bytes) -> bool:
        check_claim_key(key, self.location)
        with self._lock:
            if key in self._claims:
                return False
            self._claims[key] = bytes(value)
            return True

    def get_claim(self, key: str) -> bytes | None:
        return self._claims.get(check_claim_key(key, self.location))

    def claims(self, prefix: str = "") -> dict[str, bytes]:
        with self._lock:
            return {k: v for k, v in self._claims.items() if k.startswith(prefix)}
