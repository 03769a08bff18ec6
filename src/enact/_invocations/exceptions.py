"""Exceptions that are resources, so a journal can record them (SPEC A11.1)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Self

from enact.errors import EnactError
from enact.interfaces import FieldValue, ResourceBase, ResourceError
from enact.references import Ref, Store, commit
from enact.resource_registry import register

if TYPE_CHECKING:
    from enact._invocations.records import Invocation

__all__ = [
    "ExceptionResource",
    "IncompleteSubinvocationError",
    "InputChanged",
    "InputRequest",
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
class InputRequest(ExceptionResource):
    """Raised by :func:`request_input` to ask for a value from outside.

    Args:
        invokable: Ref to the invokable asking (the ``RequestInput``).
        input: Ref to the resource for which input is requested.
        requested_output: The resource type of the answer.
        context: Anything that helps whoever answers.

    Raises:
        NoActiveContext: if no store is active (also when decoded).
    """

    _enact_type_name = "enact.invocations.InputRequest"

    def __init__(
        self,
        invokable: Ref[Any],
        input: Ref[Any],
        requested_output: type[ResourceBase],
        context: FieldValue,
    ) -> None:
        Store.current()
        super().__init__(invokable, input, requested_output, context)

    @property
    def invokable(self) -> Ref[Any]:
        """Ref to the invokable that asked."""
        return self.args[0]  # type: ignore[no-any-return]

    @property
    def input(self) -> Ref[Any]:
        """Ref to the resource for which input is requested."""
        return self.args[1]  # type: ignore[no-any-return]

    for_value = input

    @property
    def requested_type(self) -> type[ResourceBase]:
        """The resource type the answer must have."""
        return self.args[2]  # type: ignore[no-any-return]

    @property
    def context(self) -> FieldValue:
        """What the asker said about the request."""
        return self.args[3]  # type: ignore[no-any-return]

    def continue_invocation(
        self, invocation: Invocation[Any, Any], value: ResourceBase, strict: bool = True
    ) -> Invocation[Any, Any]:
        """Replays ``invocation`` with ``value`` as the answer to this request.

        Args:
            invocation: The journal that raised this request.
            value: The answer; it becomes the output of the asking call.
            strict: Replay strictly (see :class:`ReplayContext`).

        Returns:
            The new invocation, which may raise further requests.
        """
        request_ref = commit(self)
        return invocation.replay(
            exception_override=_answer(request_ref, value), strict=strict
        )

    async def continue_invocation_async(
        self, invocation: Invocation[Any, Any], value: ResourceBase, strict: bool = True
    ) -> Invocation[Any, Any]:
        """The async :meth:`continue_invocation`, for async invokables."""
        request_ref = commit(self)
        return await invocation.replay_async(
            exception_override=_answer(request_ref, value), strict=strict
        )


def _answer(
    request_ref: Ref[Any], value: ResourceBase
) -> Callable[[Ref[Any]], ResourceBase | None]:
    def override(raised: Ref[Any]) -> ResourceBase | None:
        return value if raised.digest == request_ref.digest else None

    return override


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
