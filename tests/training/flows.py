"""Components the data tests share (importable by subprocesses too).

``Message``, ``ChatRequest`` and ``ChatResponse`` have the shape of enact's
chat-model calls (``messages`` in, ``message`` out, each message with
``role`` and ``content``): exports recognise chat calls by those fields.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import enact


@enact.register
@dataclasses.dataclass
class Message(enact.Resource):
    _enact_type_name = "tests.training.Message"
    role: str
    content: str | None


@enact.register
@dataclasses.dataclass
class ChatRequest(enact.Resource):
    _enact_type_name = "tests.training.ChatRequest"
    messages: list[Any]


@enact.register
@dataclasses.dataclass
class ChatResponse(enact.Resource):
    _enact_type_name = "tests.training.ChatResponse"
    message: Any


ANSWERS = ("Paris", "Lyon", "Marseille", "Nice", "Lille", "Nantes")


@enact.typed_invokable(ChatRequest, ChatResponse)
@dataclasses.dataclass
class FakeChat(enact.Invokable[ChatRequest, ChatResponse]):
    """A chat model that samples an answer at random (forks resample it)."""

    _enact_type_name = "tests.training.FakeChat"

    def call(self, request: ChatRequest) -> ChatResponse:
        return ChatResponse(Message("assistant", random.choice(ANSWERS)))


@enact.typed_invokable(enact.Str, enact.Str)
@dataclasses.dataclass
class Ask(enact.Invokable[enact.Str, enact.Str]):
    """Asks the chat model one question (its child call) and returns the text."""

    _enact_type_name = "tests.training.Ask"

    model: FakeChat = dataclasses.field(default_factory=FakeChat)

    def call(self, question: enact.Str) -> enact.Str:
        request = ChatRequest(
            [Message("system", "Answer in one word."), Message("user", str(question))]
        )
        return enact.Str(self.model(request).message.content)


@enact.register
def step(text: str, number: int) -> str:
    return f"{text} step {number}"


@enact.typed_invokable(enact.Str, enact.Str)
@dataclasses.dataclass
class Solve(enact.Invokable[enact.Str, enact.Str]):
    """Makes ``steps`` child calls (a stepwise solution)."""

    _enact_type_name = "tests.training.Solve"

    steps: int = 3

    def call(self, problem: enact.Str) -> enact.Str:
        return enact.Str(" / ".join(step(str(problem), n) for n in range(self.steps)))


@enact.typed_invokable(enact.Int, enact.Bytes)
@dataclasses.dataclass
class Blob(enact.Invokable[enact.Int, enact.Bytes]):
    _enact_type_name = "tests.training.Blob"

    def call(self, size: enact.Int) -> enact.Bytes:
        return enact.Bytes(b"x" * int(size))


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class Many(enact.Invokable[enact.Int, enact.Int]):
    """Makes ``count`` calls of a leaf (exports of many calls)."""

    _enact_type_name = "tests.training.Many"

    def call(self, count: enact.Int) -> enact.Int:
        return enact.Int(sum(int(Leaf()(enact.Int(n))) for n in range(int(count))))


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class Leaf(enact.Invokable[enact.Int, enact.Int]):
    _enact_type_name = "tests.training.Leaf"

    def call(self, value: enact.Int) -> enact.Int:
        return enact.Int(int(value) + 1)


@enact.register
def exact(question: Any, answer: Any) -> float:
    """A scorer: 5 for Paris, 1 for anything else."""
    return 5.0 if str(answer) == "Paris" else 1.0


@enact.register
def broken(question: Any, answer: Any) -> float:
    raise ValueError("this scorer always fails")
