"""Run records: what the run index keeps about each top-level run.

A record is a small JSON object in the store's :class:`~enact.backends.index.Index`,
replaced whole on every change. Refs are kept as digests. The status a record
stores is what its owner last wrote; :func:`RunInfo.status` turns a ``running``
run whose owning process is gone into ``crashed``.
"""

from __future__ import annotations

import dataclasses
import enum
import os
import socket
import time
from typing import Any

import orjson

from enact._runs.errors import RunError
from enact.references import Ref

__all__ = ["Owner", "PendingInput", "RunInfo", "RunStatus"]

_VERSION = 1


class RunStatus(enum.StrEnum):
    """Where a run is."""

    #: Executing in a live process.
    RUNNING = "running"
    #: Stopped at an input request until someone answers it.
    WAITING = "waiting"
    #: Returned an output.
    FINISHED = "finished"
    #: Raised an exception (other than an input request).
    FAILED = "failed"
    #: Its process died while it was running: resume it.
    CRASHED = "crashed"


@dataclasses.dataclass(frozen=True)
class Owner:
    """The process running a run: host name, pid and the pid's start time.

    The start time tells a live process from a later one that reuses the pid.
    """

    host: str
    pid: int
    start: int

    @classmethod
    def this_process(cls) -> Owner:
        """The owner record of the calling process."""
        global _THIS
        if _THIS is None or _THIS.pid != os.getpid():  # after a fork()
            _THIS = cls(socket.gethostname(), os.getpid(), _start_time(os.getpid()))
        return _THIS

    def is_alive(self) -> bool:
        """Whether the owning process still runs.

        A process on another host cannot be checked and counts as alive.
        """
        if self.host != socket.gethostname():
            return True
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass  # it exists, owned by another user
        start = _start_time(self.pid)
        return start == 0 or self.start == 0 or start == self.start


_THIS: Owner | None = None


def _start_time(pid: int) -> int:
    """The process start time in clock ticks since boot (0 where unknown)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            data = stat.read()
    except OSError:
        return 0
    # The command name (field 2) is in parentheses and may contain spaces.
    fields = data[data.rfind(b")") + 2 :].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return 0


@dataclasses.dataclass(frozen=True)
class PendingInput:
    """An input request a waiting run is stopped at.

    Attributes:
        run_id: The waiting run.
        path: Where in the run's tree the request was made: child indices
            from the top-level call (``(2, 0)`` is the first child of its
            third child).
        request: The :class:`~enact.invocations.InputRequest` (a ref).
        requested_type: The type id of the answer's type (its registered
            name), e.g. ``enact.resource_types.Str``.
        context: The request's context in JSON form (what to ask).
        for_value: The value the input is about, if any (a ref).
    """

    run_id: str
    path: tuple[int, ...]
    request: Ref[Any]
    requested_type: str
    context: Any
    for_value: Ref[Any] | None

    @property
    def key(self) -> str:
        """The claim key of the answer: ``<run id>:<path>``."""
        return answer_key(self.run_id, self.path)

    def to_json(self) -> dict[str, Any]:
        """The JSON form kept in the run record."""
        return {
            "path": list(self.path),
            "request": self.request.digest,
            "type": self.requested_type,
            "context": self.context,
            "for": None if self.for_value is None else self.for_value.digest,
        }

    @classmethod
    def from_json(cls, run_id: str, data: dict[str, Any]) -> PendingInput:
        """Reads the JSON form."""
        for_value = data.get("for")
        return cls(
            run_id,
            tuple(data["path"]),
            Ref(data["request"]),
            data["type"],
            data.get("context"),
            None if for_value is None else Ref(for_value),
        )


def answer_key(run_id: str, path: tuple[int, ...]) -> str:
    """The claim key of the answer to the request at ``path`` of a run."""
    return f"{run_id}:{'.'.join(map(str, path)) or 'root'}"


@dataclasses.dataclass(frozen=True)
class RunInfo:
    """What the run index knows about one top-level run.

    Attributes:
        id: The run id (unique in the store).
        component: The qualified class name of the invoked component.
        stored_status: The status the run's process last recorded.
        started: When it started (seconds since the epoch).
        ended: When it finished, failed or stopped to wait; None while running.
        request: What was called: a ref to the top-level
            :class:`~enact.invocations.Request` (invokable and input).
        invocation: The top-level invocation, once the run has ended
            (finished, failed or waiting); None while it runs.
        parent: The run this one was forked or replayed from.
        relation: How it came from ``parent``: ``"fork"`` or ``"replay"``.
        name: A unique name given to the run, if any.
        tags: Labels given to the run.
        pending: The input requests it waits for.
        error: A one-line description of the exception of a failed run.
        owner: The process that runs (or last ran) it.
        live: Whether that process is waiting for an answer in place (the
            run then continues there as soon as it is answered).
        resumed: How many times the run was resumed.
    """

    id: str
    component: str
    stored_status: RunStatus
    started: float
    ended: float | None
    request: Ref[Any]
    invocation: Ref[Any] | None = None
    parent: str | None = None
    relation: str | None = None
    name: str | None = None
    tags: tuple[str, ...] = ()
    pending: tuple[PendingInput, ...] = ()
    error: str | None = None
    owner: Owner | None = None
    live: bool = False
    resumed: int = 0

    @property
    def status(self) -> RunStatus:
        """The status, with ``crashed`` for a running run whose process died.

        (A run waiting in place whose process died is still waiting: its
        request is in the record, and an answer resumes it from the store.)
        """
        status = self.stored_status
        dead = self.owner is not None and not self.owner.is_alive()
        if status is RunStatus.RUNNING and dead:
            return RunStatus.CRASHED
        return status

    @property
    def is_live(self) -> bool:
        """Whether a live process is running the run or waiting in place."""
        status = self.stored_status
        if status is RunStatus.RUNNING or (status is RunStatus.WAITING and self.live):
            return self.owner is None or self.owner.is_alive()
        return False

    def to_bytes(self) -> bytes:
        """The record's JSON form, as stored in the index."""
        owner = self.owner
        return orjson.dumps(
            {
                "v": _VERSION,
                "id": self.id,
                "component": self.component,
                "status": self.stored_status.value,
                "started": self.started,
                "ended": self.ended,
                "request": self.request.digest,
                "invocation": None
                if self.invocation is None
                else self.invocation.digest,
                "parent": self.parent,
                "relation": self.relation,
                "name": self.name,
                "tags": list(self.tags),
                "pending": [pending.to_json() for pending in self.pending],
                "error": self.error,
                "owner": None
                if owner is None
                else {"host": owner.host, "pid": owner.pid, "start": owner.start},
                "live": self.live,
                "resumed": self.resumed,
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes, location: str = "?") -> RunInfo:
        """Reads a record.

        Raises:
            RunError: naming the index location, if the record is damaged.
        """
        try:
            raw = orjson.loads(data)
            run_id = raw["id"]
            owner = raw.get("owner")
            invocation = raw.get("invocation")
            return cls(
                id=run_id,
                component=str(raw["component"]),
                stored_status=RunStatus(raw["status"]),
                started=float(raw["started"]),
                ended=None if raw.get("ended") is None else float(raw["ended"]),
                request=Ref(raw["request"]),
                invocation=None if invocation is None else Ref(invocation),
                parent=raw.get("parent"),
                relation=raw.get("relation"),
                name=raw.get("name"),
                tags=tuple(raw.get("tags") or ()),
                pending=tuple(
                    PendingInput.from_json(run_id, pending)
                    for pending in raw.get("pending") or ()
                ),
                error=raw.get("error"),
                owner=None
                if owner is None
                else Owner(str(owner["host"]), int(owner["pid"]), int(owner["start"])),
                live=bool(raw.get("live", False)),
                resumed=int(raw.get("resumed", 0)),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise RunError(
                f"A run record in {location} is damaged ({type(error).__name__}: "
                f"{error}): {bytes(data[:200])!r}"
            ) from None

    def replace(self, **changes: Any) -> RunInfo:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary (for command-line and web output)."""
        return {
            "id": self.id,
            "component": self.component,
            "status": self.status.value,
            "started": self.started,
            "ended": self.ended,
            "request": self.request.digest,
            "invocation": None if self.invocation is None else self.invocation.digest,
            "parent": self.parent,
            "relation": self.relation,
            "name": self.name,
            "tags": list(self.tags),
            "pending": [
                {**pending.to_json(), "key": pending.key} for pending in self.pending
            ],
            "error": self.error,
            "pid": None if self.owner is None else self.owner.pid,
            "resumed": self.resumed,
        }


def now() -> float:
    """The current time for records (seconds since the epoch)."""
    return time.time()
