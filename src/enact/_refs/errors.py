"""What reading a store reports: a missing object, a corrupt one, damage.

:class:`~enact._refs.ref.RefError`, the root of the ref errors, lives with
:class:`~enact._refs.ref.Ref`, which raises it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from enact._refs.ref import Ref, RefError
from enact.errors import EnactError

__all__ = ["CorruptObject", "Damage", "NotFound"]


class CorruptObject(RefError):
    """Stored bytes do not hash to the digest they are stored under.

    Attributes:
        ref: The reference that was checked out.
        location: The store's location.
        actual: The digest the stored bytes actually have.
    """

    def __init__(self, ref: Ref[Any], location: str, actual: str) -> None:
        self.ref = ref
        self.location = location
        self.actual = actual
        super().__init__(
            f"Object {ref.digest} in store {location} is corrupt: its stored bytes "
            f"hash to {actual[:12]}... (modified or truncated on disk?). "
            "store.verify() lists every damaged object."
        )


class NotFound(EnactError):
    """No object is stored under a reference.

    Attributes:
        ref: The missing reference.
        location: The store's location.
    """

    def __init__(self, ref: Ref[Any] | str, location: str = "?") -> None:
        self.ref = ref
        self.location = location
        digest_text = ref.digest if isinstance(ref, Ref) else ref
        super().__init__(
            f"Object {digest_text} is missing from store {location} (was it "
            "committed to another store, or garbage-collected?)."
        )


class Damage(NamedTuple):
    """A problem :meth:`Store.verify` found."""

    #: The digest of the object that cannot be read, or None for damage in a
    #: storage file that costs no object or hides which objects it costs.
    key: str | None
    #: What is wrong.
    problem: str
    #: The damaged storage file, where the store knows it.
    path: str | None = None
    #: Where in ``path`` the damage starts.
    offset: int | None = None
