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
import re
import socket
import time
from typing import Any

import orjson

from enact._runs.errors import RunError
from enact.references import Ref

__all__ = ["OUTPUT_TEXT", "Owner", "PendingInput", "RunInfo", "RunStatus"]

_VERSION = 1
#: The most characters of its output a finished run's record keeps.
OUTPUT_TEXT = 200
_DIGEST = re.compile(r"[0-9a-f]{64}")


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
        fields = _stat_fields(self.pid)
        if fields[:1] in ([b"Z"], [b"X"]):
            return False  # dead, not yet reaped (a zombie)
        start = _start_time(self.pid, fields)
        return start == 0 or self.start == 0 or start == self.start


_THIS: Owner | None = None


def _stat_fields(pid: int) -> list[bytes]:
    """The fields of ``/proc/<pid>/stat`` after the command name, from the
    state on (empty where unknown)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            data = stat.read()
    except OSError:
        return []
    # The command name (field 2) is in parentheses and may contain spaces.
    return data[data.rfind(b")") + 2 :].split()


def _start_time(pid: int, fields: list[bytes] | None = None) -> int:
    """The process start time in clock ticks since boot (0 where unknown)."""
    fields = _stat_fields(pid) if fields is None else fields
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
        path = data["path"]
        if not isinstance(path, list) or not all(type(i) is int for i in path):
            raise TypeError("a pending request's path is not a list of numbers")
        return cls(
            run_id,
            tuple(path),
            Ref(_digest(data["request"])),
            _text(data["type"], "requested type"),
            data.get("context"),
            None if for_value is None else Ref(_digest(for_value)),
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
        batch: The batch the run is a sample of, if any.
        sample: Its index in that batch (from 0).
        output_text: The start of a finished run's output as text (at most
            :data:`OUTPUT_TEXT` characters), for searching runs; None for
            runs that have not finished, and for runs recorded before
            records kept it.
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
    batch: str | None = None
    sample: int | None = None
    output_text: str | None = None

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
        record: dict[str, Any] = {
            "v": _VERSION,
            "id": self.id,
            "component": self.component,
            "status": self.stored_status.value,
            "started": self.started,
            "ended": self.ended,
            "request": self.request.digest,
            "invocation": None if self.invocation is None else self.invocation.digest,
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
        if self.batch is not None:  # only samples carry these: older records stay
            record["batch"] = self.batch
            record["sample"] = self.sample
        if self.output_text is not None:  # as for batch: older records stay
            record["output_text"] = self.output_text
        return orjson.dumps(record)

    @classmethod
    def from_bytes(
        cls, data: bytes, location: str = "?", run_id: str | None = None
    ) -> RunInfo:
        """Reads a record.

        Args:
            data: The record's bytes, as the index holds them.
            location: Where the record is (a path, a row), for messages.
            run_id: The run id the index keeps the record under, if known: a
                record naming another id is damaged.

        Raises:
            RunError: naming the record and what is wrong with it, if it is
                damaged (its ``run_id`` is the id it is kept under).
        """
        try:
            raw = orjson.loads(data)
            if not isinstance(raw, dict):
                raise TypeError(f"a record is a JSON object, not {type(raw).__name__}")
            stored_id = raw["id"]
            if not isinstance(stored_id, str) or (
                run_id is not None and stored_id != run_id
            ):
                raise ValueError(f"it names the run {stored_id!r}")
            owner = raw.get("owner")
            invocation = raw.get("invocation")
            tags = raw.get("tags")
            tags = [] if tags is None else tags
            if not isinstance(tags, list) or not all(
                isinstance(tag, str) for tag in tags
            ):
                raise TypeError("its tags are not a list of strings")
            return cls(
                id=stored_id,
                component=_text(raw["component"], "component"),
                stored_status=RunStatus(raw["status"]),
                started=float(raw["started"]),
                ended=None if raw.get("ended") is None else float(raw["ended"]),
                request=Ref(_digest(raw["request"])),
                invocation=None if invocation is None else Ref(_digest(invocation)),
                parent=_optional_text(raw.get("parent"), "parent"),
                relation=_optional_text(raw.get("relation"), "relation"),
                name=_optional_text(raw.get("name"), "name"),
                tags=tuple(tags),
                pending=tuple(
                    PendingInput.from_json(stored_id, pending)
                    for pending in raw.get("pending") or ()
                ),
                error=_optional_text(raw.get("error"), "error"),
                owner=None
                if owner is None
                else Owner(str(owner["host"]), int(owner["pid"]), int(owner["start"])),
                live=bool(raw.get("live", False)),
                resumed=int(raw.get("resumed", 0)),
                batch=_optional_text(raw.get("batch"), "batch"),
                sample=_optional_index(raw.get("sample")),
                output_text=_optional_text(raw.get("output_text"), "output text"),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            what = "a run record" if run_id is None else f"the record of run {run_id}"
            reason = f"no field {error}" if isinstance(error, KeyError) else str(error)
            raise RunError(
                f"{what[0].upper()}{what[1:]} in {location} is damaged: {reason}",
                run_id,
            ) from None

    def replace(self, **changes: Any) -> RunInfo:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary (for command-line and web output)."""
        summary: dict[str, Any] = {
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
        if self.batch is not None:
            summary["batch"] = self.batch
            summary["sample"] = self.sample
        return summary


def _optional_index(value: Any) -> int | None:
    if value is None:
        return None
    if type(value) is not int or value < 0:
        raise TypeError("its sample index is not a whole number")
    return value


def _digest(value: Any) -> str:
    """A digest a record names, checked (64 lowercase hex digits)."""
    if not isinstance(value, str) or _DIGEST.fullmatch(value) is None:
        raise ValueError(f"{value!r} is not a digest")
    return value


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"its {field} is not a string")
    return value


def _optional_text(value: Any, field: str) -> str | None:
    return None if value is None else _text(value, field)


def now() -> float:
    """The current time for records (seconds since the epoch)."""
    return time.time()
