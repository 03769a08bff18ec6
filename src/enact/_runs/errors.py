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
    "UnimportableTypeWarning",
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


class UnimportableTypeWarning(UserWarning):
    """A run records a type that no other process can import.

    The class was defined in code run as ``__main__`` that is not importable
    under another name (``python -c``, standard input, an interactive
    session, a file name that is no identifier). Its runs cannot be resumed,
    forked or answered from the command line, the web UI or another script.

    Attributes:
        type_name: The recorded name, ``__main__.<qualname>``.
    """

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name
        super().__init__(
            f"This run records the type {type_name}, defined in code run as "
            "__main__ that no other process can import, so no other process can "
            "resume, fork or answer the run. Define it in a module (or a script "
            "file with an identifier for a name, run as `python flow.py`) and "
            "pass that module to `enact --import`."
        )


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
