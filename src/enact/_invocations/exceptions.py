"""Exceptions that are resources, so a journal can record them
(docs/compatibility.md#exception-resources).

The input request, the one exception that continues a journal, lives in
:mod:`enact._invocations.input_requests`, above the journal's records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Self

from enact.errors import EnactError
from enact.interfaces import FieldValue, ResourceBase, ResourceError
from enact.resource_registry import register

__all__ = [
    "ExceptionResource",
    "IncompleteSubinvocationError",
    "InputChanged",
    "InputRequestOutsideInvocation",
    "InvocationError",
    "InvokableTypeError",
    "ReplayError",
    "RequestedTypeUndetermined",
    "WrappedException",
]


@register
class ExceptionResource(ResourceBase, Exception):
    """An exception that is also a resource: its one field is ``args``.

    Raise subclasses of it from components to have the exception recorded as
    itself in the journal (other exceptions are recorded as
    :class:`WrappedException`).
    """

    _enact_type_name = "enact.invocations.ExceptionResource"

    @classmethod
    def field_names(cls) -> Iterable[str]:
        return ("args",)

    def field_values(self) -> Iterable[FieldValue]:
        return (list(self.args),)

    def field_items(self) -> Iterable[tuple[str, FieldValue]]:
        return (("args", list(self.args)),)

    @classmethod
    def from_fields(cls, field_dict: Mapping[str, FieldValue]) -> Self:
        args = field_dict.get("args")
        if set(field_dict) != {"args"} or not isinstance(args, list):
            raise ResourceError(f"{cls.__name__} needs one field 'args', a list.")
        return cls(*args)


@register
class WrappedException(ExceptionResource):
    """A Python exception that is not a resource, recorded by its traceback."""

    _enact_type_name = "enact.invocations.WrappedException"


@register
class InputRequestOutsideInvocation(ExceptionResource):
    """``request_input`` was called outside a journaled invocation.

    Its args are ``(context, requested_type)``.
    """

    _enact_type_name = "enact.invocations.InputRequestOutsideInvocation"


@register
class InvocationError(ExceptionResource, EnactError):
    """Base of the errors ``invoke`` re-raises by default."""

    _enact_type_name = "enact.invocations.InvocationError"


@register
class InvokableTypeError(InvocationError, TypeError):
    """An invokable got or returned a value of the wrong type."""

    _enact_type_name = "enact.invocations.InvokableTypeError"


@register
class InputChanged(InvocationError):
    """An invokable changed its input; only the invokable itself may change."""

    _enact_type_name = "enact.invocations.InputChanged"


@register
class RequestedTypeUndetermined(InvocationError):
    """``request_input`` could not tell which type of answer it wants."""

    _enact_type_name = "enact.invocations.RequestedTypeUndetermined"


@register
class ReplayError(InvocationError):
    """A replay saw a call that differs from the recorded one."""

    _enact_type_name = "enact.invocations.ReplayError"


@register
class IncompleteSubinvocationError(InvocationError):
    """A call returned while one of its child calls was still pending.

    The child was started concurrently (an asyncio task, a thread) and not
    awaited or joined, or it is an async call that was never awaited.

    Args:
        message: What happened and what to do.
        index: The position of the pending child among the call's children.
    """

    _enact_type_name = "enact.invocations.IncompleteSubinvocationError"

    @property
    def index(self) -> int | None:
        """The position of the pending child among its parent's children."""
        return self.args[1] if len(self.args) > 1 else None
