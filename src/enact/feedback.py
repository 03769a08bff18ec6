"""Feedback on journaled calls: scores, labels, comments and corrections.

Feedback is what people and scorers say about a call after it ran: a
``score`` (a number), a ``label`` (``True``/``False`` for thumbs up and
down, or a word), a ``comment`` and a ``correction`` (the output the call
should have returned, a value of its output type). It names the call by its
run and its path in the run's tree, and says who gave it (``source``) and
when.

The journal itself never changes: feedback is kept in the store's index,
apart from the immutable objects (a correction is committed as an object and
the feedback holds its digest). Every change is a new revision written as a
write-once claim (``fb:<run>:<feedback id>:<revision>``), so two processes
adding or editing feedback at once never lose each other's work: of two edits
of the same revision one wins the claim and the other is applied on top of
it. A deleted feedback keeps its history (the revisions before the deletion)
until the run is deleted and the store collected.

Example::

    with enact.FileStore("runs"):
        run = enact.run(Poem(), enact.Str("moon"))
        note = enact.feedback.add(run, (0,), score=4, comment="nice rhyme")
        enact.feedback.edit(run, note.id, score=5)
        enact.feedback.list_feedback(run)          # every call's feedback
"""

from __future__ import annotations

import dataclasses
import getpass
import math
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from enact._datasets.calls import call_at, check_path
from enact._runs.access import current_store, find_run_id, within
from enact._runs.handle import Run
from enact._runs.records import RunInfo
from enact.errors import EnactError
from enact.references import Ref, Store, commit
from enact.wrappers import wrap

__all__ = [
    "Feedback",
    "FeedbackConflict",
    "FeedbackError",
    "add",
    "all_feedback",
    "default_source",
    "delete",
    "edit",
    "get",
    "history",
    "list_feedback",
    "summary",
]

_PREFIX = "fb:"
#: How often an edit is retried when another process edits the same feedback.
_MAX_ATTEMPTS = 1000
_LABEL_LIMIT = 200
_UNSET: Any = object()


class FeedbackError(EnactError, ValueError):
    """Feedback that cannot be given, found or changed, with the reason."""


class FeedbackConflict(FeedbackError):
    """An edit that expected a revision another change has replaced.

    Attributes:
        latest: The revision the feedback is at now.
    """

    def __init__(self, message: str, latest: int) -> None:
        super().__init__(message)
        self.latest = latest


@dataclasses.dataclass(frozen=True)
class Feedback:
    """One piece of feedback on one call, at its latest revision."""

    #: The feedback's id (unique in the store).
    id: str
    #: The run of the call.
    run_id: str
    #: The call's path in the run's tree (``()`` is the top-level call).
    path: tuple[int, ...]
    #: A number (higher is better), or None.
    score: float | None = None
    #: ``True`` / ``False`` (thumbs up and down) or a word, or None.
    label: bool | str | None = None
    #: Free text, or None.
    comment: str | None = None
    #: The output the call should have returned (a ref), or None.
    correction: Ref[Any] | None = None
    #: Who gave it: a person (``person:alice``) or a scorer (``scorer:...``).
    source: str = ""
    #: When it was given (seconds since the epoch).
    created: float = 0.0
    #: When it last changed.
    updated: float = 0.0
    #: Who made the last change.
    updated_by: str = ""
    #: How many times it changed (0: as given).
    revision: int = 0
    #: Whether it was deleted (only in :func:`history`).
    deleted: bool = False

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form (the correction as its digest)."""
        return {
            "id": self.id,
            "run": self.run_id,
            "path": list(self.path),
            "score": self.score,
            "label": self.label,
            "comment": self.comment,
            "correction": None if self.correction is None else self.correction.digest,
            "source": self.source,
            "created": self.created,
            "updated": self.updated,
            "updated_by": self.updated_by,
            "revision": self.revision,
            "deleted": self.deleted,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Feedback:
        """Reads :meth:`to_json`'s form.

        Raises:
            FeedbackError: if a field is missing or of the wrong kind.
        """
        try:
            correction = data.get("correction")
            path = data["path"]
            if not isinstance(path, list) or not all(type(i) is int for i in path):
                raise TypeError("its path is not a list of numbers")
            return cls(
                id=str(data["id"]),
                run_id=str(data["run"]),
                path=tuple(path),
                score=None if data.get("score") is None else float(data["score"]),
                label=data.get("label"),
                comment=data.get("comment"),
                correction=None if correction is None else Ref(str(correction)),
                source=str(data.get("source", "")),
                created=float(data.get("created", 0.0)),
                updated=float(data.get("updated", 0.0)),
                updated_by=str(data.get("updated_by", "")),
                revision=int(data.get("revision", 0)),
                deleted=bool(data.get("deleted", False)),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise FeedbackError(f"a feedback record is damaged: {error}") from None


def default_source() -> str:
    """Who gives feedback when no ``source`` is named: ``person:<login name>``."""
    try:
        return f"person:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name (a container without a user)
        return "person:unknown"


def _handle(run: Run | RunInfo | str, store: Store | None) -> Run:
    if isinstance(run, Run):
        return run
    if isinstance(run, RunInfo):
        run = run.id
    if not isinstance(run, str):
        raise TypeError(f"run must be a Run or a run id, not {type(run).__name__}")
    store = current_store() if store is None else store
    return Run(find_run_id(store.index, run), store)


def _check_path(path: Iterable[int]) -> tuple[int, ...]:
    result = tuple(path)
    if not all(type(i) is int and i >= 0 for i in result):
        raise FeedbackError(
            f"a call's path is child indices (whole numbers >= 0), got {list(result)}"
        )
    return result


def _check_score(score: Any) -> float | None:
    if score is None:
        return None
    if isinstance(score, bool) or not isinstance(score, (int, float)):
        raise FeedbackError(f"a score is a number, not {score!r}")
    if not math.isfinite(score):
        raise FeedbackError(f"a score must be finite, got {score!r}")
    return float(score)


def _check_label(label: Any) -> bool | str | None:
    if label is None or isinstance(label, bool):
        return label
    if isinstance(label, str) and label.strip() and len(label) <= _LABEL_LIMIT:
        return label
    raise FeedbackError(
        f"a label is True or False (thumbs up or down) or a short word, not {label!r}"
    )


def _check_text(value: Any, what: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise FeedbackError(f"a {what} is text, not {type(value).__name__}")


def _commit_correction(run: Run, path: tuple[int, ...], correction: Any) -> Ref[Any]:
    call = call_at(run, path)
    if call.output is not None:
        expected = type(wrap(call.output))
        given = type(wrap(correction))
        if not issubclass(given, expected):
            raise FeedbackError(
                f"the correction of the call at {list(path)} of run {run.id} must be "
                f"of its output type {expected.__name__}, not {given.__name__}"
            )
    ref: Ref[Any] = within(run.store, lambda: commit(correction))
    return ref


def add(
    run: Run | RunInfo | str,
    path: Iterable[int] = (),
    *,
    score: float | None = None,
    label: bool | str | None = None,
    comment: str | None = None,
    correction: Any = None,
    source: str | None = None,
    store: Store | None = None,
) -> Feedback:
    """Gives feedback on the call at ``path`` of a run.

    Args:
        run: The run (a handle, or an id or name in ``store``).
        path: The call's child indices from the top-level call (``()``: the
            run's top-level call itself).
        score: A number, higher is better.
        label: ``True`` or ``False`` (thumbs up or down), or a short word.
        comment: Free text.
        correction: The output the call should have returned: a value of the
            call's output type, committed to the run's store.
        source: Who gives it: ``person:<name>`` or ``scorer:<component>``;
            by default the login name of this process's user.
        store: The store of a run named by id; the current store if None.

    Returns:
        The new feedback.

    Raises:
        FeedbackError: for a bad value, or if nothing is given.
        RunError: if the run has no call at ``path`` or has not ended.
    """
    handle = _handle(run, store)
    where = _check_path(path)
    checked_score = _check_score(score)
    checked_label = _check_label(label)
    checked_comment = _check_text(comment, "comment")
    if (
        checked_score is None
        and checked_label is None
        and checked_comment is None
        and correction is None
    ):
        raise FeedbackError(
            "feedback needs a score, a label, a comment or a correction"
        )
    check_path(handle, where)  # the call must exist
    fixed = (
        None if correction is None else _commit_correction(handle, where, correction)
    )
    who = default_source() if source is None else _source(source)
    now = time.time()
    note = Feedback(
        id=uuid.uuid4().hex,
        run_id=handle.id,
        path=where,
        correction=fixed,
        source=who,
        created=now,
        updated=now,
        updated_by=who,
        score=checked_score,
        label=checked_label,
        comment=checked_comment,
    )
    if not handle.store.index.claim(_key(note.run_id, note.id, 0), _encode(note)):
        raise FeedbackError(f"feedback id {note.id} is taken (try again)")
    return note


def _source(source: Any) -> str:
    if not isinstance(source, str) or not source.strip():
        raise FeedbackError(f"a feedback source is a non-empty name, not {source!r}")
    return source


def _key(run_id: str, feedback_id: str, revision: int) -> str:
    return f"{_PREFIX}{run_id}:{feedback_id}:{revision}"


def _encode(note: Feedback) -> bytes:
    return orjson.dumps(note.to_json())


def _revisions(store: Store, run_id: str, feedback_id: str) -> list[Feedback]:
    prefix = f"{_PREFIX}{run_id}:{feedback_id}:"
    found = store.index.claims(prefix)
    notes = [_decode(value) for value in found.values()]
    return sorted(notes, key=lambda note: note.revision)


def _decode(value: bytes) -> Feedback:
    try:
        data = orjson.loads(value)
    except orjson.JSONDecodeError as error:
        raise FeedbackError(f"a feedback record is damaged: {error}") from None
    if not isinstance(data, dict):
        raise FeedbackError("a feedback record is damaged: not a JSON object")
    return Feedback.from_json(data)


def history(
    run: Run | RunInfo | str, feedback_id: str, *, store: Store | None = None
) -> list[Feedback]:
    """Every revision of one feedback, oldest first (a deletion last).

    Raises:
        FeedbackError: if the run has no such feedback.
    """
    handle = _handle(run, store)
    revisions = _revisions(handle.store, handle.id, feedback_id)
    if not revisions:
        raise FeedbackError(f"run {handle.id} has no feedback {feedback_id!r}")
    return revisions


def get(
    run: Run | RunInfo | str, feedback_id: str, *, store: Store | None = None
) -> Feedback:
    """One feedback at its latest revision.

    Raises:
        FeedbackError: if the run has no such feedback, or it was deleted.
    """
    latest = history(run, feedback_id, store=store)[-1]
    if latest.deleted:
        raise FeedbackError(f"feedback {feedback_id} was deleted")
    return latest


def edit(
    run: Run | RunInfo | str,
    feedback_id: str,
    *,
    score: float | None = _UNSET,
    label: bool | str | None = _UNSET,
    comment: str | None = _UNSET,
    correction: Any = _UNSET,
    source: str | None = None,
    expect_revision: int | None = None,
    store: Store | None = None,
) -> Feedback:
    """Changes some fields of a feedback (None clears a field).

    The change is a new revision; an edit that meets another process's edit
    of the same feedback is applied on top of it, unless ``expect_revision``
    says which revision the change was computed from.

    Args:
        source: Who makes the change (by default this process's user); the
            feedback's ``source`` stays who gave it.
        expect_revision: Change it only if it is still at this revision
            (read, compute, write without losing a concurrent change).

    Returns:
        The feedback as changed.

    Raises:
        FeedbackError: for a bad value, or if there is no such feedback.
        FeedbackConflict: if it is no longer at ``expect_revision``.
    """
    handle = _handle(run, store)
    changes: dict[str, Any] = {}
    if score is not _UNSET:
        changes["score"] = _check_score(score)
    if label is not _UNSET:
        changes["label"] = _check_label(label)
    if comment is not _UNSET:
        changes["comment"] = _check_text(comment, "comment")
    if correction is not _UNSET:
        latest = get(handle, feedback_id)
        changes["correction"] = (
            None
            if correction is None
            else _commit_correction(handle, latest.path, correction)
        )
    return _change(
        handle, feedback_id, changes, source, deleted=False, expect=expect_revision
    )


def delete(
    run: Run | RunInfo | str,
    feedback_id: str,
    *,
    source: str | None = None,
    store: Store | None = None,
) -> Feedback:
    """Deletes a feedback (its earlier revisions stay in :func:`history`).

    Returns:
        The deletion (its last revision).

    Raises:
        FeedbackError: if there is no such feedback, or it was deleted.
    """
    return _change(_handle(run, store), feedback_id, {}, source, deleted=True)


def _change(
    run: Run,
    feedback_id: str,
    changes: dict[str, Any],
    source: str | None,
    *,
    deleted: bool,
    expect: int | None = None,
) -> Feedback:
    who = default_source() if source is None else _source(source)
    index = run.store.index
    for _ in range(_MAX_ATTEMPTS):
        latest = history(run, feedback_id)[-1]
        if latest.deleted:
            raise FeedbackError(f"feedback {feedback_id} was deleted")
        if expect is not None and latest.revision != expect:
            raise FeedbackConflict(
                f"feedback {feedback_id} is at revision {latest.revision}, "
                f"not {expect}: read it again",
                latest.revision,
            )
        new = dataclasses.replace(
            latest,
            **changes,
            revision=latest.revision + 1,
            updated=time.time(),
            updated_by=who,
            deleted=deleted,
        )
        if not deleted and all(
            getattr(new, field) is None
            for field in ("score", "label", "comment", "correction")
        ):
            raise FeedbackError(
                "feedback needs a score, a label, a comment or a correction "
                "(delete it instead)"
            )
        if index.claim(_key(run.id, feedback_id, new.revision), _encode(new)):
            return new
        # Another change took this revision: apply ours on top of it.
    raise FeedbackError(
        f"feedback {feedback_id} changes too often to edit "
        f"(tried {_MAX_ATTEMPTS} times)"
    )


def list_feedback(
    run: Run | RunInfo | str,
    path: Iterable[int] | None = None,
    *,
    store: Store | None = None,
) -> list[Feedback]:
    """The feedback on a run's calls (or on the call at ``path``), oldest first.

    Deleted feedback is left out.
    """
    handle = _handle(run, store)
    wanted = None if path is None else _check_path(path)
    found = _latest(handle.store.index.claims(f"{_PREFIX}{handle.id}:").items())
    return [
        note
        for note in sorted(found, key=lambda note: (note.created, note.id))
        if wanted is None or note.path == wanted
    ]


def _latest(claims: Iterable[tuple[str, bytes]]) -> Iterator[Feedback]:
    latest: dict[str, tuple[int, bytes]] = {}
    for key, value in claims:
        head, _, revision = key.rpartition(":")
        try:
            number = int(revision)
        except ValueError:
            continue  # not a feedback revision
        if head not in latest or latest[head][0] < number:
            latest[head] = (number, value)
    for _, value in latest.values():
        note = _decode(value)
        if not note.deleted:
            yield note


def all_feedback(
    store: Store | None = None,
) -> dict[tuple[str, tuple[int, ...]], list[Feedback]]:
    """Every live feedback in a store, by (run id, path), oldest first."""
    store = current_store() if store is None else store
    by_call: dict[tuple[str, tuple[int, ...]], list[Feedback]] = {}
    for note in _latest(store.index.claims(_PREFIX).items()):
        by_call.setdefault((note.run_id, note.path), []).append(note)
    for notes in by_call.values():
        notes.sort(key=lambda note: (note.created, note.id))
    return by_call


def summary(notes: Iterable[Feedback]) -> dict[str, Any]:
    """What several feedbacks on one call add up to.

    Returns:
        ``score``: the mean score (None without scores); ``label``: the
        latest label; ``correction``: the latest correction (a ref);
        ``count``: how many feedbacks.
    """
    ordered = sorted(notes, key=lambda note: (note.updated, note.id))
    scores = [note.score for note in ordered if note.score is not None]
    labels = [note.label for note in ordered if note.label is not None]
    fixes = [note.correction for note in ordered if note.correction is not None]
    return {
        "score": sum(scores) / len(scores) if scores else None,
        "label": labels[-1] if labels else None,
        "correction": fixes[-1] if fixes else None,
        "count": len(ordered),
    }
