"""Answering a waiting run's input request: check the value, claim the answer.

The answer is parsed into the requested type (:mod:`enact._runs.answers`),
stored, then claimed in the index under the request's key: claims are
write-once, so the first answer wins.
"""

from __future__ import annotations

from typing import Any

from enact._runs.access import find_run_id, read_run, within
from enact._runs.answers import parse_answer
from enact._runs.branches import resume_run
from enact._runs.errors import AlreadyAnswered, NoPendingInput
from enact._runs.records import PendingInput, RunStatus
from enact.references import Store

__all__ = ["answer_request"]


def answer_request(
    store: Store,
    run_id: str,
    value: Any,
    *,
    path: tuple[int, ...] | None,
    resume: bool,
) -> PendingInput:
    """Answers the input request of run ``run_id`` (id or name) of ``store``.

    See :func:`enact.runs.answer`.
    """
    return within(store, lambda: _answer(store, run_id, value, path, resume))


def _answer(
    store: Store,
    run_id: str,
    value: Any,
    path: tuple[int, ...] | None,
    resume: bool,
) -> PendingInput:
    index = store.index
    found = find_run_id(index, run_id)
    info = read_run(index, found)
    pending = [p for p in info.pending if info.stored_status is RunStatus.WAITING]
    if path is not None:
        pending = [p for p in pending if p.path == tuple(path)]
    if not pending:
        where = "" if path is None else f" at {'.'.join(map(str, path))}"
        raise NoPendingInput(
            f"Run {found} has no pending input request{where} (it is {info.status}).",
            found,
        )
    if len(pending) > 1:
        paths = ", ".join(".".join(map(str, p.path)) for p in pending)
        raise NoPendingInput(
            f"Run {found} waits for several inputs ({paths}): say which path.",
            found,
        )
    request = pending[0]
    parsed = parse_answer(request, value)
    answer_ref = store.commit(parsed)
    store.flush()  # the answer is stored before anyone can see the claim
    if not index.claim(request.key, answer_ref.digest.encode("ascii")):
        raise AlreadyAnswered(
            f"The input request {request.key} was already answered.", found
        )
    if resume and not info.is_live:
        resume_run(store, found, wait_for_input=False, strict=True)
    return request
