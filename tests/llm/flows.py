"""Flows over chat components, shared by the model tests."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import enact
from enact.llm import Message


@enact.register
@enact.typed_invokable(enact.Str, enact.Str, register=False)
@dataclasses.dataclass
class DraftCritiqueRevise(enact.Invokable):
    """Drafts with ``writer``, has ``critic`` critique it, revises."""

    writer: Any
    critic: Any

    def call(self, topic: enact.Str) -> enact.Str:
        draft = self.writer(f"Write one sentence about {topic}.")
        critique = self.critic(
            [
                Message("system", "You are a strict editor."),
                Message("user", f"Critique this sentence: {draft.text}"),
            ]
        )
        revised = self.writer(
            [
                Message("user", f"Write one sentence about {topic}."),
                draft.message,
                Message("user", f"Revise it given this critique: {critique.text}"),
            ]
        )
        return enact.Str(revised.text)


@enact.register
@enact.typed_invokable(enact.Int, enact.Str, register=False)
@dataclasses.dataclass
class Samples(enact.Invokable):
    """Asks ``model`` the same question ``n`` times; joins the replies."""

    model: Any

    def call(self, n: enact.Int) -> enact.Str:
        replies = [self.model("Name a colour.").text for _ in range(int(n))]
        return enact.Str("\n".join(replies))


@enact.register
@enact.typed_invokable(enact.Int, enact.Str, register=False)
@dataclasses.dataclass
class AsyncSamples(enact.AsyncInvokable):
    """Asks ``model`` ``n`` questions at once."""

    model: Any

    async def call(self, n: enact.Int) -> enact.Str:
        replies = await asyncio.gather(
            *(self.model(f"question {i}") for i in range(int(n)))
        )
        return enact.Str("\n".join(reply.text for reply in replies))
