"""The chat models: journaled calls of any OpenAI-compatible server.

A call of :class:`ChatModel` is one journaled call whose children are its
attempts (:class:`ChatAttempt`), one per request sent to the server: a
transient failure (a refused connection, a timeout, a rate limit, a server
error) is recorded as the attempt's :class:`ChatModelError`, and the next
attempt follows after a backoff. A replay answers the model call from its
record, so no request is sent; a fork that reaches the call resamples it.

:class:`AsyncChatModel` is the async twin; both share the settings, the
request they send and the retry policy (:func:`retry_delay`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import random
import time
from typing import Any

from enact._invocations.exceptions import InvocationError
from enact._invocations.invokables import (
    AsyncInvokable,
    Invokable,
    typed_invokable,
)
from enact.interfaces import NoneResource
from enact.llm._errors import ChatModelError, MissingExtra
from enact.llm._messages import ChatRequest, ChatResponse, as_request
from enact.llm._openai import (
    StreamAssembler,
    async_client,
    from_completion,
    request_arguments,
    sync_client,
    token_callback,
    translate_error,
)
from enact.resource_registry import register

__all__ = [
    "AsyncChatAttempt",
    "AsyncChatModel",
    "ChatAttempt",
    "ChatModel",
    "ChatSettings",
    "json_schema_format",
    "retry_delay",
]

#: The longest wait between two attempts, whatever the server asks.
MAX_DELAY = 60.0


@dataclasses.dataclass
class ChatSettings:
    """What a chat model sends: the fields of :class:`ChatModel`.

    The API key is not among them: it is read from the environment variable
    ``api_key_env`` names when the call is made, and never journaled.
    """

    #: The model's name on the server, e.g. ``gpt-4o-mini``.
    model: str
    #: The server's OpenAI-compatible endpoint, e.g.
    #: ``http://127.0.0.1:8080/v1``; None for OpenAI's.
    base_url: str | None = None
    #: Sampling temperature (the server's default if None).
    temperature: float | None = None
    #: Nucleus sampling mass (the server's default if None).
    top_p: float | None = None
    #: A seed, for servers that sample reproducibly with one.
    seed: int | None = None
    #: The most tokens to generate.
    max_tokens: int | None = None
    #: Texts that end the reply.
    stop: list[str] = dataclasses.field(default_factory=list)
    #: Tools the model may call, in the chat completions API's JSON form.
    tools: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    #: ``auto``, ``none``, ``required``, or one tool in the API's JSON form
    #: (the server's default if None).
    tool_choice: str | dict[str, Any] | None = None
    #: The reply's format, e.g. :func:`json_schema_format`'s result.
    response_format: dict[str, Any] | None = None
    #: Seconds to wait for a reply, per attempt.
    timeout: float = 60.0
    #: How many times to try again after a transient failure.
    retries: int = 2
    #: Seconds before the first retry; doubled for each further one.
    backoff: float = 0.5
    #: The environment variable holding the API key.
    api_key_env: str = "OPENAI_API_KEY"

    def __post_init__(self) -> None:
        # 0 and 0.0 are different values to the journal: one spelling each.
        for name in ("temperature", "top_p", "timeout", "backoff"):
            value = getattr(self, name)
            if isinstance(value, int) and not isinstance(value, bool):
                setattr(self, name, float(value))
        if self.retries < 0:
            raise ValueError(f"retries must be 0 or more, got {self.retries}.")


def json_schema_format(
    schema: dict[str, Any], name: str = "reply", *, strict: bool = True
) -> dict[str, Any]:
    """A ``response_format`` asking for JSON that fits ``schema``.

    Args:
        schema: A JSON schema.
        name: The schema's name (some providers show it to the model).
        strict: Ask the provider to keep to the schema exactly.
    """
    return {
        "type": "json_schema",
        "json_schema": {"name": name, "schema": schema, "strict": strict},
    }


def retry_delay(
    settings: ChatSettings, attempt: int, error: ChatModelError
) -> float | None:
    """Seconds to wait before trying again after ``attempt`` failed, or None
    to give up (the error is not transient, or no retries are left)."""
    if not error.retryable or attempt >= settings.retries:
        return None
    if error.retry_after is not None:
        return min(error.retry_after, MAX_DELAY)
    delay = settings.backoff * 2.0**attempt
    # Some jitter, so that many clients that failed together do not retry
    # together.
    return min(delay * random.uniform(0.75, 1.25), MAX_DELAY)


def _translated(error: BaseException, settings: ChatSettings) -> BaseException:
    translated = translate_error(error, settings)
    return error if translated is None else translated


@register(name="enact.llm.ChatModel")
@typed_invokable(ChatRequest, ChatResponse, register=False)
@dataclasses.dataclass
class ChatModel(ChatSettings, Invokable[ChatRequest, ChatResponse]):
    """A chat model on any OpenAI-compatible server, journaled.

    Call it with a string (one user message), a :class:`Message`, a list of
    messages or a :class:`ChatRequest`; it returns a :class:`ChatResponse`.

    Example::

        model = ChatModel("smollm2", base_url="http://127.0.0.1:8080/v1")
        reply = model("Name a colour.")
        print(reply.text)
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Calls the model; see the class docstring for what it takes.

        Raises:
            ChatModelError: if every attempt failed, or the server refused
                the call.
            TypeError: if the argument is not a conversation.
        """
        return super().__call__(as_request(*args, **kwargs))

    def call(self, request: ChatRequest) -> ChatResponse:
        attempt = 0
        while True:
            try:
                response: ChatResponse = ChatAttempt.of(self, request, attempt)()
                return response
            except ChatModelError as error:
                delay = retry_delay(self, attempt, error)
                if delay is None:
                    raise
            time.sleep(delay)
            attempt += 1


@register(name="enact.llm.ChatAttempt")
@typed_invokable(NoneResource, ChatResponse, register=False)
@dataclasses.dataclass
class ChatAttempt(Invokable[NoneResource, ChatResponse]):
    """One request of a :class:`ChatModel` call to its server.

    Its record is a child of the model call's: the model and the
    conversation are in the parent's record, so an attempt records only its
    number, and its reply or its error.
    """

    #: 0 for the first attempt, 1 for the first retry, ...
    attempt: int = 0

    @classmethod
    def of(cls, model: ChatModel, request: ChatRequest, attempt: int) -> ChatAttempt:
        """The attempt ``attempt`` of a call of ``model`` with ``request``."""
        made = cls(attempt)
        # Not a field: the parent's record holds both.
        vars(made)["_call"] = (model, request)
        return made

    def call(self, nothing: NoneResource) -> ChatResponse:
        settings, request = _call_of(self)
        callback = token_callback.get()
        try:
            client = sync_client(settings)
            arguments = request_arguments(settings, request)
            if callback is None:
                raw = client.chat.completions.with_raw_response.create(**arguments)
                return from_completion(raw.content)
            assembler = StreamAssembler()
            with client.chat.completions.create(
                **arguments, stream=True, stream_options={"include_usage": True}
            ) as stream:
                for chunk in stream:
                    text = assembler.add(chunk)
                    if text:
                        callback(text)
            return assembler.response()
        except (ChatModelError, MissingExtra):
            raise
        except Exception as error:
            raise _translated(error, settings) from None


def _call_of(attempt: Any) -> tuple[Any, ChatRequest]:
    """The model and request an attempt was made for (see ``of``)."""
    made = vars(attempt).get("_call")
    if made is None:
        raise InvocationError(
            f"A {type(attempt).__qualname__} is made by its model's call "
            "(the model and the conversation are in the model call's record); "
            "call the model instead."
        )
    return made  # type: ignore[no-any-return]


@register(name="enact.llm.AsyncChatModel")
@typed_invokable(ChatRequest, ChatResponse, register=False)
@dataclasses.dataclass
class AsyncChatModel(ChatSettings, AsyncInvokable[ChatRequest, ChatResponse]):
    """The async :class:`ChatModel`: ``await model("...")``.

    Calls made together (``asyncio.gather``) run concurrently and are
    journaled in the order they were made.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Calls the model: returns a coroutine for its :class:`ChatResponse`.

        Raises:
            TypeError: if the argument is not a conversation (at once).
        """
        return super().__call__(as_request(*args, **kwargs))

    async def call(self, request: ChatRequest) -> ChatResponse:
        attempt = 0
        while True:
            try:
                response: ChatResponse = await AsyncChatAttempt.of(
                    self, request, attempt
                )()
                return response
            except ChatModelError as error:
                delay = retry_delay(self, attempt, error)
                if delay is None:
                    raise
            await asyncio.sleep(delay)
            attempt += 1


@register(name="enact.llm.AsyncChatAttempt")
@typed_invokable(NoneResource, ChatResponse, register=False)
@dataclasses.dataclass
class AsyncChatAttempt(AsyncInvokable[NoneResource, ChatResponse]):
    """One request of an :class:`AsyncChatModel` call to its server."""

    #: 0 for the first attempt, 1 for the first retry, ...
    attempt: int = 0

    @classmethod
    def of(
        cls, model: AsyncChatModel, request: ChatRequest, attempt: int
    ) -> AsyncChatAttempt:
        """The attempt ``attempt`` of a call of ``model`` with ``request``."""
        made = cls(attempt)
        # Not a field: the parent's record holds both.
        vars(made)["_call"] = (model, request)
        return made

    async def call(self, nothing: NoneResource) -> ChatResponse:
        settings, request = _call_of(self)
        callback = token_callback.get()
        try:
            client = async_client(settings)
            arguments = request_arguments(settings, request)
            if callback is None:
                raw = await client.chat.completions.with_raw_response.create(
                    **arguments
                )
                return from_completion(raw.content)
            assembler = StreamAssembler()
            stream = await client.chat.completions.create(
                **arguments, stream=True, stream_options={"include_usage": True}
            )
            async with stream:
                async for chunk in stream:
                    text = assembler.add(chunk)
                    if text:
                        result = callback(text)
                        if inspect.isawaitable(result):
                            await result
            return assembler.response()
        except (ChatModelError, MissingExtra):
            raise
        except Exception as error:
            raise _translated(error, settings) from None
