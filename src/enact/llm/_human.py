"""People in place of models: a chat component that asks a person, and an
answerer that answers input requests from what was answered before.

:class:`HumanChat` takes the calls a :class:`~enact.llm.ChatModel` takes and
returns the same :class:`~enact.llm.ChatResponse`, so a flow swaps a model
for a person by changing one field. Its call asks through an input request:
the run waits, ``enact answer`` or the web UI shows the conversation so far
and takes the reply, and the run goes on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from enact._invocations.input_requests import InputRequest
from enact._invocations.inputs import (
    AsyncRequestInput,
    RequestInput,
    request_input,
    request_input_async,
)
from enact._invocations.invokables import (
    AsyncInvokable,
    Invokable,
    typed_invokable,
)
from enact._invocations.records import Invocation
from enact._runs.access import within
from enact._runs.handle import Run
from enact._runs.records import RunStatus
from enact.interfaces import ResourceBase
from enact.llm._errors import NoRecordedAnswer
from enact.llm._messages import (
    ChatRequest,
    ChatResponse,
    Message,
    as_request,
    transcript,
)
from enact.resource_registry import register
from enact.resource_types import Str

__all__ = ["AsyncHumanChat", "HumanChat", "RecordedAnswers"]


def _question(instructions: str, request: ChatRequest) -> str:
    conversation = transcript(request.messages)
    head = instructions.strip() or "Reply as the assistant to this conversation."
    return f"{head}\n\n{conversation}"


def _reply(name: str, text: Any) -> ChatResponse:
    return ChatResponse(Message("assistant", str(text)), "stop", None, name, None, "")


@register(name="enact.llm.HumanChat")
@typed_invokable(ChatRequest, ChatResponse, register=False)
@dataclasses.dataclass
class HumanChat(Invokable[ChatRequest, ChatResponse]):
    """A person answering chat calls, in place of a model.

    The call asks for a :class:`~enact.Str` through an input request whose
    context is ``instructions`` and the conversation so far; the reply comes
    back as a :class:`ChatResponse` (``model`` is ``name``).
    """

    #: What the person is asked to do (shown above the conversation).
    instructions: str = ""
    #: Who answers, recorded as the response's ``model``.
    name: str = "human"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Asks the person; takes what :class:`ChatModel` takes."""
        return super().__call__(as_request(*args, **kwargs))

    def call(self, request: ChatRequest) -> ChatResponse:
        text = request_input(
            Str, for_value=request, context=_question(self.instructions, request)
        )
        return _reply(self.name, text)


@register(name="enact.llm.AsyncHumanChat")
@typed_invokable(ChatRequest, ChatResponse, register=False)
@dataclasses.dataclass
class AsyncHumanChat(AsyncInvokable[ChatRequest, ChatResponse]):
    """The async :class:`HumanChat`, in place of an ``AsyncChatModel``."""

    #: What the person is asked to do (shown above the conversation).
    instructions: str = ""
    #: Who answers, recorded as the response's ``model``.
    name: str = "human"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Asks the person: returns a coroutine for the reply."""
        return super().__call__(as_request(*args, **kwargs))

    async def call(self, request: ChatRequest) -> ChatResponse:
        text = await request_input_async(
            Str, for_value=request, context=_question(self.instructions, request)
        )
        return _reply(self.name, text)


Key = tuple[str, str]


class RecordedAnswers:
    """Answers input requests with the answers a journal recorded.

    A request is answered by a recorded answer to the same question: the
    same asker (requested type and context) about the same value. Equal
    questions asked several times take their answers in recorded order.
    Use it as the answerer of an :class:`~enact.InvocationGenerator`
    (``generator.set_input(answers(request))``), or let :meth:`answer_run`
    answer a waiting durable run until it ends.

    Args:
        answers: ``((asker digest, value digest), answer)`` pairs.
    """

    def __init__(self, answers: Iterable[tuple[Key, ResourceBase]] = ()) -> None:
        self._answers: dict[Key, list[ResourceBase]] = {}
        for key, value in answers:
            self._answers.setdefault(key, []).append(value)

    @classmethod
    def from_journal(cls, journal: Invocation[Any, Any]) -> RecordedAnswers:
        """The answers recorded in ``journal`` (read with its store current)."""
        return cls(_recorded(journal))

    @classmethod
    def from_run(cls, run: Run) -> RecordedAnswers:
        """The answers recorded in a run's journal (in its store)."""
        return within(run.store, lambda: cls(_recorded(run.journal())))

    def __len__(self) -> int:
        return sum(len(values) for values in self._answers.values())

    def __call__(self, request: InputRequest) -> ResourceBase:
        """The next recorded answer to ``request``.

        Raises:
            NoRecordedAnswer: if none is left.
        """
        key = (request.invokable.digest, request.input.digest)
        values = self._answers.get(key)
        if not values:
            raise NoRecordedAnswer(
                f"No recorded answer is left for the request "
                f"{str(request.context)[:80]!r} (asker {key[0][:12]}, about "
                f"{key[1][:12]}); {len(self)} recorded answers are left for "
                "other questions.",
                key,
            )
        return values.pop(0)

    def answer_run(self, run: Run, *, resume: bool = True) -> Run:
        """Answers a waiting run's requests from the record, resuming it
        until it ends or asks something the record does not answer.

        Args:
            run: A durable run.
            resume: Resume the run after answering (else only answer).

        Returns:
            ``run``.

        Raises:
            NoRecordedAnswer: at a request the record does not answer (the
                run keeps waiting for it).
        """
        while run.status is RunStatus.WAITING:
            pending = run.pending()
            for each in pending:
                request: InputRequest = within(run.store, each.request.checkout)
                run.answer(self(request), each.path)
            if not resume:
                break
            run.resume()
        return run


def _recorded(journal: Invocation[Any, Any]) -> list[tuple[Key, ResourceBase]]:
    found: list[tuple[Key, ResourceBase]] = []
    stack = [journal]
    while stack:
        invocation = stack.pop()
        request = invocation.request()
        response = invocation.response()
        if response.output is not None and isinstance(
            request.invokable(), (RequestInput, AsyncRequestInput)
        ):
            key = (request.invokable.digest, request.input.digest)
            found.append((key, response.output()))
            continue
        # Children in reverse, so that they are visited in call order.
        stack.extend(child() for child in reversed(response.children))
    return found
