"""What the run layer lends the store layer below it.

A store cannot import the run layer (it sits above), yet ``Store.verify``
checks the run index's records and ``Store.push`` copies runs. The run layer
registers those here when it is imported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["add_index_check", "exchange", "index_checks", "set_exchange"]

#: Checks of what the run index holds, run by ``Store.verify`` after the
#: objects. Each takes the store, returns the damage it finds and never
#: raises for it.
_INDEX_CHECKS: list[Callable[[Any], Iterable[Any]]] = []

#: The run layer's push (``enact.exchange.push``), which ``Store.push`` calls.
_EXCHANGE: list[Callable[..., Any]] = []


def add_index_check(check: Callable[[Any], Iterable[Any]]) -> None:
    """Has every ``Store.verify`` run ``check`` too (once per check)."""
    if check not in _INDEX_CHECKS:
        _INDEX_CHECKS.append(check)


def index_checks() -> list[Callable[[Any], Iterable[Any]]]:
    """The index checks registered so far."""
    return list(_INDEX_CHECKS)


def set_exchange(push: Callable[..., Any]) -> None:
    """Makes ``Store.push`` call ``push(source, destination, runs, ...)``."""
    _EXCHANGE[:] = [push]


def exchange() -> Callable[..., Any]:
    """The registered push.

    Raises:
        NotImplementedError: if none is (``enact.exchange`` not imported).
    """
    if not _EXCHANGE:
        raise NotImplementedError("import enact.exchange to push runs")
    return _EXCHANGE[0]
