"""What a forked child does with the stores it inherited.

A process that forks while a store is open (``multiprocessing``'s "fork"
start method) gives the child copies of the store's objects, and with them
its parent's database connections, open files and locks. A connection used
from both sides interleaves two conversations on one socket; a SQLite
connection carried across a fork can corrupt the database (SQLite's own
rule: never use one in the child). So a backend that holds such a thing
registers with :func:`on_fork`, and in the child its ``_after_fork()``
drops what is the parent's (to be opened again when first needed).

What it drops is handed to :func:`keep`: held until the child exits,
never closed there, since closing a parent's SQLite connection or finishing
a PostgreSQL one from the child would act on the parent's behalf.
"""

from __future__ import annotations

import os
import weakref
from typing import Any, Protocol

__all__ = ["ForkAware", "keep", "on_fork"]


class ForkAware(Protocol):
    def _after_fork(self) -> None:
        """In the child: let go of what is the parent's."""


_registered: weakref.WeakSet[Any] = weakref.WeakSet()
_kept: list[Any] = []


def on_fork(owner: ForkAware) -> None:
    """Calls ``owner._after_fork()`` in the child of every later fork (as
    long as ``owner`` lives)."""
    _registered.add(owner)


def keep(resource: Any) -> None:
    """Holds a parent's resource until the child exits, never closing it."""
    _kept.append(resource)


def _in_child() -> None:
    for owner in list(_registered):
        try:
            owner._after_fork()
        except Exception:  # the others must still let go
            pass


os.register_at_fork(after_in_child=_in_child)
