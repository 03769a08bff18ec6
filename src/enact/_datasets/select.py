"""Which calls an export reads: a :class:`Selection`, and its calls in order.

Calls are read run by run, oldest run first (ties by run id), and within a
run depth first in call order, so the same store gives the same rows in the
same order every time. Feedback is read once for the whole store (it is
small: a record per feedback) and joined to each call by run and path.
"""

from __future__ import annotations

import dataclasses
import itertools
import operator
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

import orjson

from enact import feedback as feedback_api
from enact._datasets.calls import (
    Call,
    PartsAt,
    call_of,
    component_type_of,
    parts_at,
    units_of,
    walk_parts,
)
from enact._datasets.records import CallParts, RecordReader
from enact._datasets.values import DatasetError
from enact._invocations.records import invokable_name
from enact._runs.access import find_run_id
from enact._runs.errors import RunError, RunNotFound
from enact._runs.handle import Run
from enact._runs.records import RunInfo
from enact.feedback import Feedback
from enact.references import Store

__all__ = [
    "Lineage",
    "OnRun",
    "Picked",
    "Piece",
    "Selected",
    "Selection",
    "lineage_of",
    "chunk_picks",
    "parse_feedback_filter",
    "picked_calls",
    "runs_of",
    "selected_calls",
    "selected_of",
]

_CONDITION = re.compile(
    r"\s*(score|label|thumbs|source|comment)\s*(>=|<=|==|!=|=|>|<)\s*(.*?)\s*"
)
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "=": operator.eq,
    "==": operator.eq,
    "!=": operator.ne,
}
_WORDS = {
    "true": True,
    "up": True,
    "yes": True,
    "false": False,
    "down": False,
    "no": False,
}


@dataclasses.dataclass(frozen=True)
class Selection:
    """Which calls of a store go into a dataset.

    Every given criterion must hold; with none, every call of every ended
    run is selected.

    Attributes:
        component: Only calls of this component: its class's registered name
            (``flows.Poem``), the class name alone (``Poem``), or a
            registered function's name.
        runs: Only calls of these runs (ids or names).
        tag: Only runs with this tag.
        feedback: Only calls whose feedback meets this: conditions such as
            ``score>=4``, ``label=true``, ``thumbs=up``, ``source=person:ann``,
            joined by commas (all must hold). A call's score is the mean of
            its scores, its label the latest one given.
        batch: Only runs of this batch (the ``batch`` of a run record).
        at: Only calls at this path of their runs.
        store: The store; the current store if None.
    """

    component: str | None = None
    runs: tuple[str, ...] | None = None
    tag: str | None = None
    feedback: str | None = None
    batch: str | None = None
    at: tuple[int, ...] | None = None
    store: Store | None = None


@dataclasses.dataclass(frozen=True)
class Lineage:
    """Where a row comes from: the columns every exported row carries."""

    #: The run the call belongs to (the run whose journal holds it).
    run: str
    #: The call's path in the run's tree.
    path: tuple[int, ...]
    #: The digest of the call's invocation record.
    invocation: str
    #: The component's name (class, or registered function).
    component: str
    #: The registered type name of the component's class.
    component_type: str
    #: The digest of the component (its class and fields).
    component_digest: str
    #: The run this one was forked or replayed from, if any.
    parent_run: str | None
    #: The batch the run belongs to, if the run record names one.
    batch: str | None
    #: The run's sample index in its batch, if the run record names one.
    sample: int | None

    def to_json(self) -> dict[str, Any]:
        """The lineage columns, in order."""
        return {
            "run": self.run,
            "path": list(self.path),
            "invocation": self.invocation,
            "component": self.component,
            "component_type": self.component_type,
            "component_digest": self.component_digest,
            "parent_run": self.parent_run,
            "batch": self.batch,
            "sample": self.sample,
        }


@dataclasses.dataclass(frozen=True)
class Selected:
    """A selected call with its lineage and feedback."""

    call: Call
    lineage: Lineage
    #: Live feedback on the call, oldest first.
    feedback: tuple[Feedback, ...]
    #: :func:`enact.feedback.summary` of it.
    summary: dict[str, Any]
    #: The run's handle.
    run: Run
    #: Every live feedback of the store, by (run id, path).
    store_feedback: dict[tuple[str, tuple[int, ...]], list[Feedback]] = (
        dataclasses.field(default_factory=dict, repr=False)
    )


Condition = Callable[[dict[str, Any], tuple[Feedback, ...]], bool]


def parse_feedback_filter(text: str) -> Condition:
    """A test of a call's feedback, from ``score>=4,label=true``.

    Raises:
        DatasetError: naming the part that is not a condition.
    """
    tests: list[Condition] = []
    for part in text.split(","):
        match = _CONDITION.fullmatch(part)
        if match is None or not match.group(3):
            raise DatasetError(
                f"{part.strip()!r} is not a feedback condition: write e.g. "
                "'score>=4', 'label=true', 'thumbs=up' or 'source=person:ann'"
            )
        tests.append(_condition(*match.groups()))
    return lambda summary, notes: all(test(summary, notes) for test in tests)


def _condition(field: str, sign: str, text: str) -> Condition:
    compare = _COMPARE[sign]
    if field == "score":
        try:
            wanted = float(text)
        except ValueError:
            raise DatasetError(f"score{sign}{text}: {text!r} is not a number") from None
        return lambda summary, _: (
            summary["score"] is not None and compare(summary["score"], wanted)
        )
    if sign not in ("=", "==", "!="):
        raise DatasetError(f"{field} can only be compared with = or !=, not {sign}")
    if field in ("label", "thumbs"):
        label: bool | str = _WORDS.get(text.lower(), text)
        if field == "thumbs" and not isinstance(label, bool):
            raise DatasetError(f"thumbs is 'up' or 'down', not {text!r}")
        return lambda summary, _: (
            summary["label"] is not None and compare(summary["label"], label)
        )
    return lambda _, notes: (
        any(compare(getattr(note, field), text) for note in notes)
        if sign != "!="
        else all(getattr(note, field) != text for note in notes)
    )


def _matches_component(name: str, type_name: str, component: str) -> bool:
    if component in (name, type_name):
        return True
    return type_name.rpartition(".")[2] == component or (
        name.rpartition(".")[2] == component
    )


def runs_of(store: Store, selection: Selection) -> list[tuple[RunInfo, dict[str, Any]]]:
    """The ended runs the selection names (each with its record as JSON),
    oldest first, ties by run id: the export's order of runs.

    Raises:
        DatasetError: for a run the selection names that the store has not.
    """
    index = store.index
    wanted: set[str] | None = None
    if selection.runs is not None:
        wanted = set()
        for each in selection.runs:
            try:
                wanted.add(find_run_id(index, each))
            except RunNotFound as error:
                raise DatasetError(str(error)) from None
    found = []
    for run_id, data in index.scan_runs().records:
        if wanted is not None and run_id not in wanted:
            continue
        try:
            info = RunInfo.from_bytes(data, index.record_location(run_id), run_id)
            raw = orjson.loads(data)
        except (RunError, orjson.JSONDecodeError):
            continue  # a damaged record: `enact verify` names it
        if info.invocation is None or info.ended is None:
            continue  # still running, or crashed before it ended: no journal yet
        if selection.tag is not None and selection.tag not in info.tags:
            continue
        batch = raw.get("batch")
        if selection.batch is not None and str(batch) != selection.batch:
            continue
        found.append((info, raw))
    found.sort(key=lambda pair: (pair[0].started, pair[0].id))
    return found


def _extra(raw: dict[str, Any], key: str, kind: type) -> Any:
    value = raw.get(key)
    if isinstance(value, dict):  # {"id": ..., "index": ...} or similar
        value = value.get("id" if kind is str else "index")
    if kind is int:
        return value if type(value) is int else None
    return None if value is None else str(value)


class Picked(NamedTuple):
    """A selected call as the reader gave it, with what the export adds."""

    info: RunInfo
    batch: str | None
    sample: int | None
    path: tuple[int, ...]
    parts: CallParts
    #: The call that made it (None for a run's top-level call).
    parent: CallParts | None
    component: str
    component_type: str
    #: Live feedback on the call, oldest first.
    notes: tuple[Feedback, ...]
    #: :func:`enact.feedback.summary` of the notes (None when there are none).
    summary: dict[str, Any] | None


class _Picker:
    """Picks the selected calls of a run from what a walk reads."""

    def __init__(
        self,
        selection: Selection,
        notes_by_call: dict[tuple[str, tuple[int, ...]], list[Feedback]],
    ) -> None:
        self.selection = selection
        self.notes_by_call = notes_by_call
        self.condition = (
            None
            if selection.feedback is None
            else parse_feedback_filter(selection.feedback)
        )
        self.unrated = feedback_api.summary(())
        # A component's names, and whether it is the one selected, by digest.
        self.names: dict[str, tuple[str, str, bool]] = {}

    def picks(
        self, info: RunInfo, raw: dict[str, Any], calls: Iterable[PartsAt]
    ) -> Iterator[Picked]:
        selection, names = self.selection, self.names
        notes_by_call, condition = self.notes_by_call, self.condition
        batch = _extra(raw, "batch", str)
        sample = _extra(raw, "sample", int)
        for path, parts, parent in calls:
            named = names.get(parts.invokable_digest)
            if named is None:
                name = invokable_name(parts.invokable)
                type_name = component_type_of(parts.invokable)
                named = names[parts.invokable_digest] = (
                    name,
                    type_name,
                    selection.component is None
                    or _matches_component(name, type_name, selection.component),
                )
            component, component_type, wanted = named
            if not wanted:
                continue
            found = notes_by_call.get((info.id, path)) if notes_by_call else None
            notes = tuple(found) if found else ()
            summary = feedback_api.summary(notes) if notes else None
            if condition is not None and not condition(summary or self.unrated, notes):
                continue
            yield Picked(
                info,
                batch,
                sample,
                path,
                parts,
                parent,
                component,
                component_type,
                notes,
                summary,
            )


#: Told each selected run's number of units (see :func:`~enact._datasets.
#: calls.units_of`) before its first call is picked.
OnRun = Callable[[int], None]


def picked_calls(
    selection: Selection,
    store: Store,
    reader: RecordReader,
    notes_by_call: dict[tuple[str, tuple[int, ...]], list[Feedback]],
    on_run: OnRun | None = None,
) -> Iterator[Picked]:
    """The selected calls, in the export's order, as the reader gives them."""
    picker = _Picker(selection, notes_by_call)
    for info, raw in runs_of(store, selection):
        calls = _calls(Run(info.id, store), selection, reader)
        if on_run is not None:
            if selection.at is None:
                top = next(iter(calls))  # a walk reads the top-level call first
                on_run(units_of(top[1]))
                calls = itertools.chain([top], calls)
            else:
                on_run(1)
        yield from picker.picks(info, raw, calls)


class Piece(NamedTuple):
    """Consecutive units of one run's calls: a part of an export's chunk."""

    run: str
    #: The first unit (0: the run's top-level call).
    first: int
    #: The unit after the last.
    stop: int


def chunk_picks(
    selection: Selection,
    store: Store,
    reader: RecordReader,
    notes_by_call: dict[tuple[str, tuple[int, ...]], list[Feedback]],
    runs: dict[str, tuple[RunInfo, dict[str, Any]]],
    pieces: Iterable[Piece],
) -> Iterator[Picked]:
    """The selected calls of ``pieces`` (of the runs ``runs``), in order."""
    picker = _Picker(selection, notes_by_call)
    for piece in pieces:
        found = runs.get(piece.run)
        if found is None:
            raise DatasetError(
                f"run {piece.run} left the store (or stopped matching the "
                "selection) while it was exported"
            )
        info, raw = found
        run = Run(info.id, store)
        calls: Iterable[PartsAt]
        if selection.at is None:
            calls = walk_parts(run, reader, piece.first, piece.stop)
        else:
            calls = _calls(run, selection, reader)
        yield from picker.picks(info, raw, calls)


def lineage_of(picked: Picked) -> Lineage:
    """The lineage columns of a picked call."""
    return Lineage(
        run=picked.info.id,
        path=picked.path,
        invocation=picked.parts.invocation,
        component=picked.component,
        component_type=picked.component_type,
        component_digest=picked.parts.invokable_digest,
        parent_run=picked.info.parent,
        batch=picked.batch,
        sample=picked.sample,
    )


def selected_of(
    picked: Picked,
    store: Store,
    notes_by_call: dict[tuple[str, tuple[int, ...]], list[Feedback]],
) -> Selected:
    """A picked call as a :class:`Selected` (its :class:`Call` built)."""
    parent = picked.parent
    call = call_of(
        picked.info.id,
        picked.path,
        picked.parts,
        None if parent is None else parent.input,
    )
    summary = picked.summary
    return Selected(
        call,
        lineage_of(picked),
        picked.notes,
        feedback_api.summary(()) if summary is None else summary,
        Run(picked.info.id, store),
        notes_by_call,
    )


def selected_calls(selection: Selection, store: Store) -> Iterator[Selected]:
    """The selected calls, in the export's order."""
    notes_by_call = feedback_api.all_feedback(store)
    reader = RecordReader(store)  # components and requests recur across runs
    for picked in picked_calls(selection, store, reader, notes_by_call):
        yield selected_of(picked, store, notes_by_call)


def _calls(run: Run, selection: Selection, reader: RecordReader) -> Iterable[PartsAt]:
    if selection.at is None:
        return walk_parts(run, reader)
    try:
        return [parts_at(run, selection.at, reader)]
    except RunError:
        return []  # this run has no call there
