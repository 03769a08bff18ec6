"""What every command shares: the chosen store, opened as the current store."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager

import typer

from enact.cli._stores import StoreChoice
from enact.references import Store

__all__ = ["Session", "open_store", "session"]


@dataclasses.dataclass(frozen=True)
class Session:
    """The global options, kept on the typer context (``ctx.obj``)."""

    #: The store the command works on.
    store: StoreChoice
    #: The modules imported for ``--import`` (and ``$ENACT_IMPORT``).
    imported: tuple[str, ...] = ()
    #: The ``--import`` values as given (for commands to suggest).
    import_options: tuple[str, ...] = ()


def session(ctx: typer.Context) -> Session:
    """The session of a command (set by the global options)."""
    obj = ctx.find_root().obj
    assert isinstance(obj, Session), "the global options did not run"
    return obj


@contextmanager
def open_store(ctx: typer.Context, *, create: bool = False) -> Iterator[Store]:
    """Opens the chosen store as the current store; closes it afterwards.

    Args:
        ctx: The command's context.
        create: Create the store if there is none (only ``enact demo``).

    Raises:
        CommandError: if there is no store and ``create`` is false.
    """
    store = session(ctx).store.open(create=create)
    try:
        with store:
            yield store
    finally:
        store.close()
