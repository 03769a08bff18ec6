"""The errors of durable runs."""

from __future__ import annotations

from enact.errors import EnactError

__all__ = [
    "AlreadyAnswered",
    "NoPendingInput",
    "RunDamaged",
    "RunError",
    "RunNotFound",
    "RunNotResumable",
    "WrongAnswerType",
]


class RunError(EnactError):
    """A durable run cannot do what was asked.

    Attributes:
        run_id: The run concerned, if any.
    """

    def __init__(self, message: str, run_id: str | None = None) -> None:
        self.run_id = run_id
        super().__init__(message)


class RunNotFound(RunError):
    """No run with this id or name is in the store's run index."""


class RunNotResumable(RunError):
    """The run is not crashed or waiting (it is running live, or finished)."""


class NoPendingInput(RunError):
    """The run has no pending input request (at that path)."""


class AlreadyAnswered(RunError):
    """Another answer to this input request was accepted first."""


class WrongAnswerType(RunError, TypeError):
    """The answer is not of the type the input request asked for."""


class RunDamaged(RunError):
    """A run's record, or an object its journal needs, is damaged or missing.

    Nothing was written: the run cannot be forked, replayed or resumed until
    the damage is dealt with (``store.verify()`` lists all of it).

    Attributes:
        run_id: The run.
        key: The digest of the damaged or missing object, if it is one.
        problem: What is wrong.
    """

    def __init__(self, message: str, run_id: str, key: str | None, problem: str):
        super().__init__(message, run_id)
        self.key = key
        self.problem = problem
