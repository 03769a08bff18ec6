"""The journal: requests, responses and invocations (SPEC A11.2)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from enact._invocations.exceptions import ExceptionResource, InvocationError
from enact.interfaces import ResourceBase
from enact.references import Ref, commit
from enact.resource_registry import register
from enact.resources import Resource

if TYPE_CHECKING:
    from enact._invocations.invokables import InvokableBase

__all__ = ["ExceptionOverride", "Invocation", "Request", "Response"]

I = TypeVar("I", bound=ResourceBase)  # noqa: E741 - SPEC's name for input types
O = TypeVar("O", bound=ResourceBase)  # noqa: E741

ExceptionOverride = Callable[[Ref[ExceptionResource]], ResourceBase | None]


def _copy(ref: Any) -> Any:
    if ref is None:
        return None
    return type(ref)(ref.digest, ref._cache)


@register
@dataclasses.dataclass
class Request(Generic[I, O], Resource):
    """What was called: the invokable as it was before the call, and the input."""

    _enact_type_name = "enact.invocations.Request"

    invokable: Ref[InvokableBase[I, O]]
    input: Ref[I]


@register
@dataclasses.dataclass
class Response(Generic[I, O], Resource):
    """What happened: the invokable after the call, the outcome and child calls."""

    _enact_type_name = "enact.invocations.Response"

    invokable: Ref[InvokableBase[I, O]]
    #: The output, if the call returned.
    output: Ref[O] | None
    #: The exception, if one escaped the call.
    raised: Ref[ExceptionResource] | None
    #: Whether the exception started in this call rather than in a child.
    raised_here: bool
    #: The journaled nested calls, in call order.
    children: list[Ref[Invocation[Any, Any]]]

    def is_complete(self) -> bool:
        """Whether the call returned or raised."""
        return self.raised is not None or self.output is not None


@register
@dataclasses.dataclass
class Invocation(Generic[I, O], Resource):
    """One journaled call of an invokable, with its nested calls.

    Navigating it (``get_output``, ``get_child``, ...) reads from the refs'
    caches where possible and otherwise from the current store.
    """

    _enact_type_name = "enact.invocations.Invocation"

    request: Ref[Request[I, O]]
    response: Ref[Response[I, O]]

    def successful(self) -> bool:
        """Whether the call returned an output."""
        return self.response().output is not None

    def get_output(self) -> O:
        """The output of the call.

        Raises:
            AssertionError: if the call did not return.
        """
        output = self.response().output
        assert output is not None, "The invocation has no output."
        return output()

    def get_input(self) -> I:
        """The input of the call."""
        return self.request().input()

    def get_raised(self) -> ExceptionResource:
        """The exception that escaped the call.

        Raises:
            AssertionError: if none did.
        """
        raised = self.response().raised
        assert raised is not None, "The invocation raised no exception."
        return raised()

    def get_raised_here(self) -> bool:
        """Whether the exception started in this call (not in a child)."""
        response = self.response()
        assert response.raised is not None, "The invocation raised no exception."
        return response.raised_here

    def get_children(self) -> Iterator[Invocation[Any, Any]]:
        """The nested invocations, in call order, checked out one by one."""
        for child in self.response().children:
            yield child()

    def get_child(self, index: int) -> Invocation[Any, Any]:
        """The nested invocation at ``index`` (list indexing rules)."""
        return self.response().children[index]()

    def rewind(self, num_calls: int = 1) -> Invocation[I, O]:
        """A copy without its output and its last ``num_calls`` child calls.

        The exception, if any, is kept; this invocation is unchanged. Needs an
        active store (the shortened response is committed).
        """
        response = self.response()
        children = response.children
        if num_calls > 0:
            children = children[: max(0, len(children) - num_calls)]
        # New Ref objects, but with their caches: a replay of the copy reads
        # the recorded calls from memory instead of from the store.
        rewound = Response(
            _copy(response.invokable),
            None,
            _copy(response.raised),
            response.raised_here,
            [_copy(child) for child in children],
        )
        return Invocation(_copy(self.request), commit(rewound))

    def replay(
        self,
        exception_override: ExceptionOverride = lambda _: None,
        strict: bool = True,
    ) -> Invocation[I, O]:
        """Runs the call again, answering recorded child calls from the journal.

        Child calls are matched in order; calls beyond the journal run for
        real. Recorded exceptions are raised again unless
        ``exception_override`` returns a value to use instead.

        Args:
            exception_override: Maps a ref to a recorded exception to a
                resource to return in its place, or None to re-raise it.
            strict: Raise :class:`ReplayError` when a call differs from the
                recorded one (else skip non-matching records).
        """
        request = self.request()
        invokable = _replayable(request, is_async=False)
        return invokable.invoke(
            request.input,
            replay_from=self,
            exception_override=exception_override,
            strict=strict,
        )

    async def replay_async(
        self,
        exception_override: ExceptionOverride = lambda _: None,
        strict: bool = True,
    ) -> Invocation[I, O]:
        """Replays an invocation of an async invokable: the async :meth:`replay`.

        Raises:
            InvocationError: if the invocation is of a sync invokable.
        """
        request = self.request()
        invokable = _replayable(request, is_async=True)
        return await invokable.ainvoke(  # type: ignore[attr-defined,no-any-return]
            request.input,
            replay_from=self,
            exception_override=exception_override,
            strict=strict,
        )


def _replayable(request: Request[Any, Any], is_async: bool) -> InvokableBase[Any, Any]:
    """A copy of the recorded invokable (the live object must not change)."""
    recorded = request.invokable()
    if getattr(recorded, "_enact_async", False) != is_async:
        name = type(recorded).__qualname__
        raise InvocationError(
            f"This is an invocation of the async invokable {name}: use "
            "`await invocation.replay_async()`."
            if not is_async
            else f"This is an invocation of the sync invokable {name}: use "
            "invocation.replay()."
        )
    return recorded.deep_copy_resource()
