"""The errors of model calls, recorded in the journal as themselves.

::

    EnactError
     └── ChatModelError      (also an ExceptionResource: journaled as itself)
    EnactError, ImportError
     └── MissingExtra        (the openai package is not installed)
    EnactError, LookupError
     └── NoRecordedAnswer    (recorded answers hold none for a request)
"""

from __future__ import annotations

from typing import Any

from enact._invocations.exceptions import ExceptionResource
from enact.errors import EnactError
from enact.resource_registry import register

__all__ = ["ChatModelError", "MissingExtra", "NoRecordedAnswer"]


@register(name="enact.llm.ChatModelError")
class ChatModelError(ExceptionResource, EnactError):
    """A model call failed: the server refused it, or could not be reached.

    Args:
        message: What went wrong (the provider's message, if it sent one).
        status: The HTTP status, or None if no response came (refused
            connection, timeout).
        kind: A short name of the failure: ``connection``, ``timeout``,
            ``rate_limit``, ``server``, ``bad_request``, ``authentication``,
            ``not_found``, ``response`` or ``config``.
        retryable: Whether trying again may succeed.
        retry_after: Seconds the server asked to wait before trying again.
    """

    def __init__(
        self,
        message: str,
        status: int | None = None,
        kind: str = "server",
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status, kind, retryable, retry_after)

    @property
    def message(self) -> str:
        """What went wrong."""
        return str(self.args[0])

    @property
    def status(self) -> int | None:
        """The HTTP status, or None if no response came."""
        status: Any = self.args[1]
        return None if status is None else int(status)

    @property
    def kind(self) -> str:
        """A short name of the failure (``timeout``, ``rate_limit``, ...)."""
        return str(self.args[2])

    @property
    def retryable(self) -> bool:
        """Whether trying again may succeed."""
        return bool(self.args[3])

    @property
    def retry_after(self) -> float | None:
        """Seconds the server asked to wait, if it said."""
        after: Any = self.args[4]
        return None if after is None else float(after)

    def __str__(self) -> str:
        status = "" if self.status is None else f" (HTTP {self.status})"
        return f"{self.message}{status}"


class MissingExtra(EnactError, ImportError):
    """An optional package that a model component needs is not installed."""


class NoRecordedAnswer(EnactError, LookupError):
    """The recorded answers hold none for an input request.

    Args:
        message: Which request, and what was recorded.
        key: The request's invokable and input digests.
    """

    def __init__(self, message: str, key: tuple[str, str]) -> None:
        super().__init__(message)
        self.key = key
