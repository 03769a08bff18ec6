"""Durable runs: incremental journals, a run index, resume and remote input.

:func:`run` invokes a component like :meth:`~enact.InvokableBase.invoke`, but
as it goes: every finished call is durable in the store the moment it ends, and
the store's run index lists the run with its status. If the process dies, the
run is listed as ``crashed`` and :meth:`Run.resume` continues it; calls that
had finished return their recorded results instead of running again.

A run that asks for input (:func:`enact.request_input`) waits in the index
with its pending request; any process that sees the store can list it
(:func:`pending_inputs`) and answer it (:func:`answer`). The run continues in
place if its process waits for answers (``wait_for_input=True``), or when
someone resumes it.

The implementation lives in :mod:`enact._runs`; this module is its public face.
"""

from enact import exchange  # noqa: F401 - gives Store.push its implementation
from enact._runs.answers import parse_answer
from enact._runs.api import (
    answer,
    get_run,
    list_runs,
    name_ref,
    named_refs,
    pending_inputs,
    resume,
    run,
    run_async,
)
from enact._runs.damage import DamagedRun, RunList
from enact._runs.errors import (
    AlreadyAnswered,
    NoPendingInput,
    RunDamaged,
    RunError,
    RunNotFound,
    RunNotResumable,
    UnimportableTypeWarning,
    WrongAnswerType,
)
from enact._runs.handle import Run
from enact._runs.paging import RunsCount, RunsPage, count_runs, page_runs
from enact._runs.records import Owner, PendingInput, RunInfo, RunStatus

__all__ = [
    "run",
    "run_async",
    "Run",
    "RunInfo",
    "RunStatus",
    "PendingInput",
    "Owner",
    "list_runs",
    "RunList",
    "page_runs",
    "RunsPage",
    "count_runs",
    "RunsCount",
    "DamagedRun",
    "get_run",
    "resume",
    "pending_inputs",
    "answer",
    "parse_answer",
    "name_ref",
    "named_refs",
    "RunError",
    "RunDamaged",
    "RunNotFound",
    "RunNotResumable",
    "NoPendingInput",
    "AlreadyAnswered",
    "WrongAnswerType",
    "UnimportableTypeWarning",
]
