"""Store versions: one ordered list of migrations per storage family.

A store records the version of its layout (the file store: a file at its
root, from version 2 on; the SQLite store: ``PRAGMA user_version``). Opening
a store runs, in order, the migrations from its version to the newest this
code knows, and records the result where it can write. A store recorded
with a version *newer* than this code knows is refused
(:class:`StoreVersionError`): an older enact must not write a layout it does
not understand.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, NamedTuple, TypeVar

from enact.backends.base import BackendError

__all__ = ["Migration", "StoreVersionError", "check_version", "pending"]

T = TypeVar("T")


class Migration(NamedTuple, Generic[T]):
    """One step of a family's layout: from ``version - 1`` to ``version``."""

    #: The version the store has once the step ran.
    version: int
    #: What the step does, for messages and docs.
    description: str
    #: The step: gets what the family migrates (a directory, a connection).
    apply: Callable[[T], None]


class StoreVersionError(BackendError):
    """A store was written by a newer enact, in a layout this one does not know.

    Attributes:
        location: The store.
        found: The version the store records.
        supported: The newest version this enact knows.
    """

    def __init__(self, location: str, found: int, supported: int) -> None:
        self.found = found
        self.supported = supported
        super().__init__(
            f"the store {location} has layout version {found}, newer than "
            f"version {supported}, the newest this enact knows: upgrade enact "
            "to open it (opening it here could damage it)",
            location,
        )


def check_version(
    found: int, migrations: Sequence[Migration[T]], location: str
) -> None:
    """Refuses a store whose version is newer than the newest migration.

    Raises:
        StoreVersionError: naming the store and both versions.
    """
    supported = migrations[-1].version if migrations else 0
    if found > supported:
        raise StoreVersionError(location, found, supported)


def pending(found: int, migrations: Sequence[Migration[T]]) -> list[Migration[T]]:
    """The migrations a store of version ``found`` still needs, in order."""
    return [step for step in migrations if step.version > found]
