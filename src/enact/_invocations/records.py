"""The journal: requests, responses and invocations
(docs/compatibility.md#journal-records)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from enact._identity import fields
from enact._invocations.exceptions import ExceptionResource, InvocationError
from enact.digests import digest, hash_bytes
from enact.interfaces import ResourceBase
from enact.references import Ref, commit
from enact.resource_registry import register
from enact.resources import Resource

__all__ = [
    "ExceptionOverride",
    "Invocation",
    "Request",
    "Response",
    "invokable_name",
    "no_override",
    "request_digest",
]

I = TypeVar("I", bound=ResourceBase)  # noqa: E741 - the 0.4.0.dev1 name for input types
O = TypeVar("O", bound=ResourceBase)  # noqa: E741

ExceptionOverride = Callable[[Ref[ExceptionResource]], ResourceBase | None]


def no_override(_: Ref[ExceptionResource]) -> ResourceBase | None:
    """The default exception override: raise every recorded exception again."""
    return None


def invokable_name(invokable: Any) -> str:
    """How messages and summaries name an invokable: by its class, or, for
    the wrapper of a registered function, by the function (``roll_dice``)."""
    call_name = getattr(invokable, "_enact_call_name", None)
    if call_name is not None:
        try:
            return str(call_name())
        except Exception:  # a name is for messages: never fail making one
            pass
    return type(invokable).__qualname__


def _copy(ref: Any) -> Any:
    if ref is None:
        return None
    return type(ref)(ref._digest, ref._cache)


@register
@dataclasses.dataclass
class Request(Generic[I, O], Resource):
    """What was called: the invokable as it was before the call, and the input."""

    _enact_type_name = "enact.invocations.Request"

    #: The invokable before the call: an InvokableBase, typed loosely because
    #: invokables are built on these records (their module imports this one).
    invokable: Ref[Any]
    input: Ref[I]


@register
@dataclasses.dataclass
class Response(Generic[I, O], Resource):
    """What happened: the invokable after the call, the outcome and child calls."""

    _enact_type_name = "enact.invocations.Response"

    #: The invokable after the call (an InvokableBase, as in Request).
    invokable: Ref[Any]
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
        rewound: Response[I, O] = Response(
            _copy(response.invokable),
            None,
            _copy(response.raised),
            response.raised_here,
            [
                Ref(child._digest, child._cache) if type(child) is Ref else _copy(child)
                for child in children
            ],
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
        replayed: Invocation[I, O] = invokable.invoke(
            request.input,
            replay_from=self,
            exception_override=exception_override,
            strict=strict,
        )
        return replayed

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
        replayed: Invocation[I, O] = await invokable.ainvoke(
            request.input,
            replay_from=self,
            exception_override=exception_override,
            strict=strict,
        )
        return replayed


# The records' fields, declared for their flat encoders (enact._identity:
# every journaled call commits one of each, and a replay re-checks the
# recorded ones). The order is that of the memo key; request_digest looks
# requests up by theirs.
fields.declare(Request, invokable=fields.REF, input=fields.REF)
fields.declare(Invocation, request=fields.REF, response=fields.REF)
fields.declare(
    Response,
    invokable=fields.REF,
    output=fields.OPTIONAL_REF,
    raised=fields.OPTIONAL_REF,
    raised_here=fields.BOOL,
    children=fields.REFS,
)


def request_digest(invokable: Ref[Any], input: Ref[Any]) -> str:
    """The digest of ``Request(invokable, input)``, from the memo if it is there.

    Replay matches a call by its request digest: most often the very request
    it journaled before, so the encoding is remembered.
    """
    if type(invokable) is Ref and type(input) is Ref:
        data = fields.pair_encoding(Request, invokable._digest, input._digest)
        if data is not None:
            return hash_bytes(data)
    return digest(Request(invokable, input))


def _replayable(request: Request[Any, Any], is_async: bool) -> Any:
    """A copy of the recorded invokable (the live object must not change).

    Its ``invoke`` (or ``ainvoke``) runs the replay: records only know that
    the recorded object has one.
    """
    recorded = request.invokable()
    if getattr(recorded, "_enact_async", False) != is_async:
        name = invokable_name(recorded)
        raise InvocationError(
            f"This is an invocation of the async invokable {name}: use "
            "`await invocation.replay_async()`."
            if not is_async
            else f"This is an invocation of the sync invokable {name}: use "
            "invocation.replay()."
        )
    return recorded.deep_copy_resource()
