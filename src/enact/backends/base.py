"""The words every storage interface shares: errors, keys, parts, damage."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import NamedTuple

from enact.errors import EnactError

__all__ = [
    "BackendError",
    "FileDamage",
    "Parts",
    "StepWriter",
    "check_key",
]

# A stored value arrives as parts to concatenate, so large values are hashed and
# written without first being joined into one more copy.
Parts = Sequence[bytes]

_KEY = re.compile(r"[0-9a-f]{64}")

#: Writes one durable run's finished calls (see
#: :meth:`enact.backends.journals.Journals.step_writer`):
#: ``writer(items, lines, recovery)`` writes the objects, then appends the
#: lines and the recovery lines.
StepWriter = Callable[[Sequence[tuple[str, "Parts"]], bytes, bytes], None]


class BackendError(EnactError):
    """A backend cannot read or write its storage.

    Attributes:
        location: The store's location (a path or ``memory``).
        key: The object key concerned, if any.
    """

    def __init__(self, message: str, location: str, key: str | None = None) -> None:
        self.location = location
        self.key = key
        super().__init__(message)


class FileDamage(NamedTuple):
    """Damage found in a store's own files (see ``Objects.scan_damage``)."""

    #: What is wrong, and what it costs.
    problem: str
    #: The damaged file.
    path: str
    #: Where in the file the damage starts.
    offset: int | None = None
    #: The object that can no longer be read because of it; None if none
    #: is lost, or if which is unknown (then every object the file held
    #: from ``offset`` on may be).
    key: str | None = None


def check_key(key: str, location: str) -> str:
    """Returns ``key`` if it is a 64-digit lowercase hex digest.

    Keys become file names, so anything else (``../x``) is refused.
    """
    if type(key) is not str or _KEY.fullmatch(key) is None:
        raise BackendError(
            f"{key!r} is not a valid object key (64 lowercase hex digits)",
            location,
            None,
        )
    return key
