"""Concurrency limits per component, held across a batch and its processes.

``enact.sample(..., limits={Chat: 4})`` lets at most four calls of a ``Chat``
run at once in the batch's store, whatever runs them: tasks, threads, worker
processes or Ray tasks on this machine, and other batches of the same store
that limit ``Chat`` too. A call answered from a journal takes no slot.

A limit of ``n`` is ``n`` slot files in the store's directory
(``limits/<type id>/<slot>`` for a file store, ``<database>.limits/...``
next to a SQLite database). A call runs once it holds an exclusive ``flock``
on one of them, and gives it back when it ends; a process that dies, even by
SIGKILL, gives its slots back with its files. Within one process a slot file
is opened once and slots are handed out under a lock, so a process's own
threads and tasks never contend on the kernel lock. A waiting call tries
again at a rising interval (1 to 20 ms): a slot freed in another process is
noticed within that, one freed in this process at once (sync callers are
woken; async ones look again on the next try).

On a PostgreSQL store a slot is an advisory lock of the database instead
(``enact.backends.postgres.slots``): the limit then holds across every
machine that opens the store, and a dead process's slots are freed with its
connection.

A store with neither (a memory store, or one composed of parts) has nothing
to lock: its limits hold among the calls of this process only.

A call of a limited component made inside another call of the same
component takes no second slot, so a limit of 1 cannot deadlock on itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import fcntl
import os
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, Protocol

from enact._invocations.gates import CallGate
from enact.backends.files import FileObjects
from enact.backends.postgres import PostgresObjects
from enact.backends.sqlite import SQLiteObjects
from enact.interfaces import ResourceBase
from enact.references import Store

__all__ = [
    "Limits",
    "SlotLocks",
    "limit_key",
    "limits_directory",
    "normalize_limits",
    "slot_locks",
]

_FIRST_WAIT = 0.001
_LONGEST_WAIT = 0.02


def limit_key(component: Any) -> str:
    """The key a limit is given by: the registered type id of a component's
    class (the class itself, an instance of it, or its type id).

    Raises:
        TypeError: for anything else.
    """
    if isinstance(component, str):
        return component
    cls = component if isinstance(component, type) else type(component)
    if isinstance(cls, type) and issubclass(cls, ResourceBase):
        return str(cls.type_id())
    raise TypeError(
        "limits= maps components (a class, an instance or a type id) to the "
        f"most calls at once; got the key {component!r}."
    )


def normalize_limits(limits: Mapping[Any, int] | None) -> dict[str, int]:
    """``limits`` keyed by type id, each checked.

    Raises:
        TypeError: for a key that is not a component.
        ValueError: for a limit that is not a whole number of at least 1.
    """
    found: dict[str, int] = {}
    for component, most in (limits or {}).items():
        key = limit_key(component)
        if type(most) is not int or most < 1:
            raise ValueError(
                f"The limit of {key} must be a whole number of at least 1, "
                f"got {most!r}."
            )
        found[key] = most
    return found


def limits_directory(store: Store) -> str | None:
    """Where a store's slot files live, or None for a store without a
    directory."""
    backend = store.backend
    if isinstance(backend, FileObjects):
        return os.path.join(backend.root, "limits")
    if isinstance(backend, SQLiteObjects):
        return f"{backend.path}.limits"
    return None


class SlotLocks(Protocol):
    """Numbered locks other processes see: what makes a slot held."""

    def try_lock(self, slot: int) -> bool:
        """Takes lock ``slot`` unless another process holds it."""

    def unlock(self, slot: int) -> None:
        """Gives lock ``slot`` back."""


class _FileLocks:
    """Slots as files locked with ``flock`` (freed when their process dies)."""

    def __init__(self, directory: str) -> None:
        self._directory = directory
        self._files: dict[int, int] = {}
        os.makedirs(directory, exist_ok=True)

    def try_lock(self, slot: int) -> bool:
        fd = self._files.get(slot)
        if fd is None:
            path = os.path.join(self._directory, str(slot))
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            self._files[slot] = fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # held by another process
        return True

    def unlock(self, slot: int) -> None:
        fd = self._files.get(slot)
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)


def _place(store: Store) -> str:
    """Where a store's slots live, as a key of this process's table of them."""
    backend = store.backend
    if isinstance(backend, PostgresObjects):
        return f"{backend.location}#{backend.schema}"
    directory = limits_directory(store)
    return f"store-{id(store)}" if directory is None else directory


def slot_locks(store: Store, key: str) -> SlotLocks | None:
    """The locks of the slots of ``key`` in a store (None: a store whose
    limits hold in this process only)."""
    backend = store.backend
    if isinstance(backend, PostgresObjects):
        return backend.slots(key)
    directory = limits_directory(store)
    if directory is None:
        return None
    return _FileLocks(os.path.join(directory, _file_name(key)))


class _Slots:
    """The ``size`` slots of one key, as this process sees them.

    Handed out under a lock of this process first, so that its own threads
    and tasks never contend on the other processes' locks.
    """

    def __init__(self, locks: SlotLocks | None, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._freed = threading.Condition(self._lock)
        self._held: set[int] = set()
        self._locks = locks

    def try_take(self) -> int | None:
        """A free slot, now held, or None if all are taken (here or in
        another process)."""
        with self._lock:
            return self._take_locked()

    def _take_locked(self) -> int | None:
        for slot in range(self.size):
            if slot in self._held:
                continue
            if self._locks is not None and not self._locks.try_lock(slot):
                continue  # held by another process
            self._held.add(slot)
            return slot
        return None

    def take(self) -> int:
        """A slot, waiting (blocking this thread) until one is free."""
        wait = _FIRST_WAIT
        with self._lock:
            while True:
                slot = self._take_locked()
                if slot is not None:
                    return slot
                # Woken at once by a slot this process frees; another
                # process's is seen on the next try.
                self._freed.wait(wait)
                wait = min(wait * 2, _LONGEST_WAIT)

    async def take_async(self) -> int:
        """A slot, awaiting (never blocking the loop) until one is free."""
        wait = _FIRST_WAIT
        while True:
            slot = self.try_take()
            if slot is not None:
                return slot
            await asyncio.sleep(wait)
            wait = min(wait * 2, _LONGEST_WAIT)

    def give_back(self, slot: int) -> None:
        with self._lock:
            if self._locks is not None:
                self._locks.unlock(slot)
            self._held.discard(slot)
            self._freed.notify()


def _file_name(key: str) -> str:
    """A type id as a directory name (ids are dotted names, but may hold
    anything)."""
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in key)


# The keys a context holds, so that a nested call of a limited component
# takes no second slot.
_holding: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar(
    "enact.limits_holding", default=frozenset()
)

# The slots of this process, by (where they live, key): shared by every
# batch of one store, so that two batches limiting one component share it.
_all_slots: dict[tuple[str, str], _Slots] = {}
_all_slots_lock = threading.Lock()
_pid = os.getpid()


def _slots_for(store: Store, key: str, size: int) -> _Slots:
    global _pid
    with _all_slots_lock:
        if os.getpid() != _pid:  # a forked child must not share its parent's
            _all_slots.clear()
            _pid = os.getpid()
        place = _place(store)
        slots = _all_slots.get((place, key))
        if slots is None or slots.size != size:
            slots = _all_slots[(place, key)] = _Slots(slot_locks(store, key), size)
        return slots


class Limits(CallGate):
    """The gate of one batch's samples: a slot per call of a limited
    component.

    Args:
        store: The batch's store (its directory holds the slot files, or
            its database the advisory locks).
        limits: The most calls at once, by type id.
    """

    def __init__(self, store: Store, limits: Mapping[str, int]) -> None:
        self._slots = {
            key: _slots_for(store, key, most) for key, most in limits.items()
        }
        self._keys: dict[type, str | None] = {}

    def _key(self, invokable: Any) -> str | None:
        cls = type(invokable)
        try:
            return self._keys[cls]
        except KeyError:
            pass
        key: str | None = None
        type_id = getattr(cls, "type_id", None)
        if type_id is not None:
            found = str(type_id())
            key = found if found in self._slots else None
        self._keys[cls] = key
        return key

    def hold(self, invokable: Any) -> contextlib.AbstractContextManager[Any] | None:
        key = self._key(invokable)
        if key is None or key in _holding.get():
            return None
        return self._held(key)

    def hold_async(
        self, invokable: Any
    ) -> contextlib.AbstractAsyncContextManager[Any] | None:
        key = self._key(invokable)
        if key is None or key in _holding.get():
            return None
        return self._held_async(key)

    @contextlib.contextmanager
    def _held(self, key: str) -> Iterator[None]:
        slots = self._slots[key]
        slot = slots.take()
        token = _holding.set(_holding.get() | {key})
        try:
            yield
        finally:
            _holding.reset(token)
            slots.give_back(slot)

    @contextlib.asynccontextmanager
    async def _held_async(self, key: str) -> AsyncIterator[None]:
        slots = self._slots[key]
        slot = await slots.take_async()
        token = _holding.set(_holding.get() | {key})
        try:
            yield
        finally:
            _holding.reset(token)
            slots.give_back(slot)
