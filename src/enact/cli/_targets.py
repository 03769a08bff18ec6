"""What a command argument names: a run (by id or name) or an object (a ref).

A 64-digit hex digest, or the JSON ref id ``{"digest": "..."}``, names an
object in the store; anything else is a run: its id or name, ``last`` (the
most recent run) or the start of one run's id.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from enact import runs
from enact.cli._stores import CommandError, usage_error
from enact.invocations import Invocation
from enact.references import InvalidRefId, Ref, Store

__all__ = [
    "LAST",
    "Target",
    "format_path",
    "invocation_of",
    "parse_path",
    "resolve",
    "resolve_run",
]

_DIGEST = re.compile(r"[0-9a-f]{64}")


@dataclasses.dataclass(frozen=True)
class Target:
    """A run or an object named on the command line."""

    #: What the user typed.
    text: str
    #: The run, if the argument names one.
    run: runs.Run | None = None
    #: The object, if the argument is a ref.
    ref: Ref[Any] | None = None


def resolve(text: str, store: Store) -> Target:
    """The run or object ``text`` names.

    Raises:
        CommandError: if it names neither a run nor an object in ``store``.
    """
    ref = _as_ref(text)
    if ref is not None:
        if not store.has(ref):
            raise CommandError(f"no object {ref.digest} in store {store.location}")
        return Target(text, ref=ref)
    return Target(text, run=resolve_run(text))


#: The word for the most recently started run.
LAST = "last"
# How many candidates an ambiguous prefix lists.
_MAX_CANDIDATES = 10


def resolve_run(text: str) -> runs.Run:
    """The run ``text`` names in the current store.

    ``text`` is a run's id or name, ``last`` (the run started most recently,
    unless a run is named so) or the start of exactly one run's id.

    Raises:
        CommandError: if it names no run, or starts several runs' ids (the
            message lists them).
    """
    try:
        try:
            return runs.get_run(text)
        except runs.RunNotFound as not_found:
            found = runs.list_runs()
            if text == LAST:
                if not found:
                    raise CommandError("there are no runs in the store") from None
                return runs.get_run(found[0].id)
            matching = [info for info in found if text and info.id.startswith(text)]
            if len(matching) == 1:
                return runs.get_run(matching[0].id)
            if not matching:
                raise CommandError(str(not_found)) from None
            listed = ", ".join(
                f"{info.id} ({info.name})" if info.name else info.id
                for info in matching[:_MAX_CANDIDATES]
            )
            more = len(matching) - _MAX_CANDIDATES
            raise CommandError(
                f"{text!r} starts the ids of {len(matching)} runs: {listed}"
                f"{f' and {more} more' if more > 0 else ''}; type more of the id"
            ) from None
    except NotImplementedError:
        raise CommandError(
            "this version of enact cannot read its run index yet"
        ) from None


def _as_ref(text: str) -> Ref[Any] | None:
    stripped = text.strip()
    if _DIGEST.fullmatch(stripped.lower()):
        return Ref(stripped.lower())
    if stripped.startswith("{"):
        try:
            ref: Ref[Any] = Ref.from_id(stripped)
        except InvalidRefId as error:
            raise CommandError(str(error)) from None
        if not _DIGEST.fullmatch(ref.digest):
            raise CommandError(f"{ref.digest!r} is not a 64-digit hex digest")
        return ref
    return None


def invocation_of(target: Target) -> Invocation[Any, Any]:
    """The invocation a target stands for: a run's journal, or the object.

    Raises:
        CommandError: if the target is an object that is no invocation, or a
            run with no journal yet.
    """
    if target.run is not None:
        journal = target.run.journal()
        if journal is None:
            raise CommandError(f"run {target.run.id} has no journal yet")
        assert isinstance(journal, Invocation)
        return journal
    assert target.ref is not None
    value = target.ref.checkout()
    if not isinstance(value, Invocation):
        raise CommandError(
            f"{target.ref.digest} is a {type(value).__name__}, not an invocation"
        )
    return value


def parse_path(ctx: Any, text: str) -> tuple[int, ...]:
    """A child path from dotted indices: ``"2.0"`` is ``(2, 0)``.

    ``""`` and ``"root"`` are the top-level call, ``()``.

    Args:
        ctx: The command's click context (for the usage message).
        text: The path as typed.

    Raises:
        CommandError: with exit status 2 (a usage error) if it is no path.
    """
    text = text.strip()
    if text in ("", "root"):
        return ()
    try:
        path = tuple(int(part) for part in text.split("."))
    except ValueError:
        path = (-1,)
    if any(index < 0 for index in path):
        raise usage_error(
            ctx, f"{text!r} is not a call path (dotted child indices, e.g. 2.0)"
        )
    return path


def format_path(path: tuple[int, ...]) -> str:
    """The dotted form of a path; ``root`` for the top-level call."""
    return ".".join(map(str, path)) or "root"
