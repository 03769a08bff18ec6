"""The typed records of a chat: messages, the request and the response.

They are plain dataclass resources, so a model call's journal record holds
the conversation (``ChatRequest.messages``) and the reply
(``ChatResponse.message``) as values anyone can read back, with or without
the ``openai`` package.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from enact.interfaces import ResourceBase
from enact.resource_registry import register
from enact.resource_types import Str
from enact.resources import Resource

__all__ = [
    "ChatRequest",
    "ChatResponse",
    "Message",
    "ToolCall",
    "Usage",
    "as_request",
    "transcript",
]

#: The roles a message may have in the chat completions API.
ROLES = ("system", "developer", "user", "assistant", "tool")


@register(name="enact.llm.ToolCall")
@dataclasses.dataclass
class ToolCall(Resource):
    """A function call the model asks for in an assistant message."""

    #: The provider's id of the call (a tool message answers it by this id).
    id: str
    #: The function's name.
    name: str
    #: The arguments, as the JSON text the model wrote.
    arguments: str


@register(name="enact.llm.Message")
@dataclasses.dataclass
class Message(Resource):
    """One message of a conversation.

    Example::

        Message("system", "You are terse.")
        Message("user", "Name a colour.")
    """

    #: ``system``, ``developer``, ``user``, ``assistant`` or ``tool``.
    role: str
    #: The text; None for an assistant message that only calls tools.
    content: str | None = None
    #: The function calls of an assistant message.
    tool_calls: list[ToolCall] = dataclasses.field(default_factory=list)
    #: An optional name of the speaker.
    name: str | None = None
    #: For a ``tool`` message: the id of the call it answers.
    tool_call_id: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(
                f"A message's role is one of {', '.join(ROLES)}, got {self.role!r}."
            )

    def to_openai(self) -> dict[str, Any]:
        """The message as the chat completions API takes it."""
        data: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            data["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
                for call in self.tool_calls
            ]
        if self.name is not None:
            data["name"] = self.name
        if self.tool_call_id is not None:
            data["tool_call_id"] = self.tool_call_id
        return data


@register(name="enact.llm.ChatRequest")
@dataclasses.dataclass
class ChatRequest(Resource):
    """The input of a chat call: the conversation so far."""

    messages: list[Message]


@register(name="enact.llm.Usage")
@dataclasses.dataclass
class Usage(Resource):
    """Token counts the provider reported for one completion."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


@register(name="enact.llm.ChatResponse")
@dataclasses.dataclass
class ChatResponse(Resource):
    """The output of a chat call: the reply and what came with it."""

    #: The reply (role ``assistant``).
    message: Message
    #: Why the reply ended: ``stop``, ``length``, ``tool_calls``, ...
    finish_reason: str | None = None
    #: Token counts, if the provider reported them.
    usage: Usage | None = None
    #: The model that answered, as the provider names it.
    model: str = ""
    #: The provider's id of the response.
    response_id: str | None = None
    #: The provider's response, as the JSON text it sent (for a streamed
    #: call: a JSON list of its chunks); "" if there was none (a person's).
    raw: str = ""

    @property
    def text(self) -> str:
        """The reply's text ("" if it has none)."""
        return self.message.content or ""

    def raw_json(self) -> Any:
        """The provider's response, parsed (None if there was none)."""
        return orjson.loads(self.raw) if self.raw else None


def as_request(*args: Any, **kwargs: Any) -> ChatRequest:
    """The :class:`ChatRequest` a chat component is called with.

    Takes a ``ChatRequest``, a ``Message``, a list of messages, a plain
    string (one user message) or ``messages=[...]``.

    Raises:
        TypeError: for anything else, saying what is accepted.
    """
    if kwargs:
        if args or set(kwargs) != {"messages"}:
            raise TypeError(
                "A chat component takes one argument: a string, a Message, a "
                f"list of messages or a ChatRequest (got keywords {sorted(kwargs)})."
            )
        args = (kwargs["messages"],)
    if len(args) != 1:
        raise TypeError(
            "A chat component takes one argument: a string, a Message, a list "
            f"of messages or a ChatRequest (got {len(args)} arguments)."
        )
    arg = args[0]
    if isinstance(arg, ChatRequest):
        return arg
    if isinstance(arg, (str, Str)):
        return ChatRequest([Message("user", str(arg))])
    if isinstance(arg, Message):
        return ChatRequest([arg])
    if isinstance(arg, Sequence) and all(isinstance(m, Message) for m in arg):
        if not arg:
            raise TypeError("A chat needs at least one message, got an empty list.")
        return ChatRequest(list(arg))
    shown = type(arg).__qualname__
    if isinstance(arg, ResourceBase) or not isinstance(arg, Sequence):
        raise TypeError(
            "A chat component takes a string, a Message, a list of messages or "
            f"a ChatRequest, got a {shown}."
        )
    wrong = next(type(m).__qualname__ for m in arg if not isinstance(m, Message))
    raise TypeError(f"Each message of a chat must be a Message, got a {wrong}.")


def transcript(messages: Iterable[Message]) -> str:
    """The conversation as text, one ``role: content`` block per message."""
    blocks = []
    for message in messages:
        speaker = (
            message.role if message.name is None else f"{message.role} ({message.name})"
        )
        body = message.content or ""
        for call in message.tool_calls:
            body += f"\n[calls {call.name}({call.arguments})]"
        blocks.append(f"{speaker}: {body.strip()}")
    return "\n\n".join(blocks)
