"""The input request: the exception that asks for a value from outside.

:func:`~enact.invocations.request_input` raises it inside a journaled run;
:meth:`InputRequest.continue_invocation` replays the journal with the answer.
It needs the journal's records, so it lives above them (the other exceptions
are below: the records name them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from enact._invocations.exceptions import ExceptionResource
from enact._invocations.records import Invocation
from enact.interfaces import FieldValue, ResourceBase
from enact.references import Ref, Store, commit
from enact.resource_registry import register

__all__ = ["InputRequest"]


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
