"""What one damaged copy of a store file cost: the record the damage checks
share (the object-file and run-index damage tests, and the census in
``bench/damage.py``).

A check damages one file of a store one way (a flipped byte, or the file cut
short), reads everything back through a fresh store, and records a
:class:`CopyOutcome`: which objects could no longer be read and how ``verify``
accounted for each, which reads returned a wrong value, and any other promise
broken. The tests assert that a copy has no :attr:`CopyOutcome.problems`; the
census counts the outcomes.
"""

from __future__ import annotations

import dataclasses
import enum
import os

# Set to 1 to try every byte of every file, however large (by default large
# files are tried at sampled positions).
EVERY_BYTE = os.environ.get("ENACT_DAMAGE_EVERY_BYTE") == "1"


class Accounted(enum.Enum):
    """How a store accounted for an object it could no longer read."""

    #: ``verify`` names the object's digest.
    DIGEST = "digest"
    #: The digest is in the damaged bytes: ``verify`` (or the error opening
    #: the store) names the damaged file and says its objects are lost.
    FILE = "file"
    #: Indistinguishable from a crash mid-write, as documented: a log or
    #: journal cut short just ends earlier, and what was after the cut is
    #: not stored (a resumed run does that work again).
    CRASH = "crash"
    #: Nothing names it: a broken promise.
    UNNAMED = "unnamed"


@dataclasses.dataclass
class CopyOutcome:
    """What a fresh reader made of one damaged copy of one file."""

    #: The store kind: "file" or "sqlite".
    store: str
    #: The kind of file damaged (e.g. "log", "pack index", "database file").
    file_type: str
    #: "flip" or "cut".
    damage: str
    #: Which file, and where: for messages.
    how: str
    #: Each object that could not be read, and how that was accounted for.
    lost: dict[str, Accounted] = dataclasses.field(default_factory=dict)
    #: Reads that returned a value other than the one committed.
    wrong: list[str] = dataclasses.field(default_factory=list)
    #: Whether listing the runs failed as a whole.
    list_runs_failed: bool = False
    #: Any other promise broken (an error that is not enact's, verify naming
    #: a readable object, verify finding nothing, ...).
    broken: list[str] = dataclasses.field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """Every broken promise, each with where the damage was."""
        found = [f"{key} cannot be read and nothing names it" for key in self.unnamed]
        found += [f"wrong value: {each}" for each in self.wrong]
        if self.list_runs_failed:
            found.append("list_runs failed")
        found += self.broken
        return [f"{self.how}: {each}" for each in found]

    @property
    def unnamed(self) -> list[str]:
        """The lost objects nothing names."""
        return [key for key, how in self.lost.items() if how is Accounted.UNNAMED]
