"""The openai SDK behind the chat models: clients, requests, replies, errors.

Nothing here is journaled and nothing here is stored: the API key is read
from the environment when a client is made and lives only in that client.
The SDK's own retries are off (``max_retries=0``): the chat model retries
itself, so that every attempt is a call in the journal.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import re
import urllib.parse
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import orjson

from enact.llm._errors import ChatModelError, MissingExtra
from enact.llm._messages import ChatRequest, ChatResponse, Message, ToolCall, Usage

if TYPE_CHECKING:
    import openai

__all__ = [
    "StreamAssembler",
    "TokenCallback",
    "async_client",
    "from_completion",
    "request_arguments",
    "shown_url",
    "streaming",
    "sync_client",
    "token_callback",
    "translate_error",
    "using_http_client",
]

#: Receives the text of a streamed reply as it arrives (for an async model
#: it may return an awaitable, which is awaited).
TokenCallback = Callable[[str], object]

_http_client: contextvars.ContextVar[Any] = contextvars.ContextVar(
    "enact.llm.http_client", default=None
)
_async_http_client: contextvars.ContextVar[Any] = contextvars.ContextVar(
    "enact.llm.async_http_client", default=None
)
token_callback: contextvars.ContextVar[TokenCallback | None] = contextvars.ContextVar(
    "enact.llm.token_callback", default=None
)

#: The placeholder key sent to servers that need none (llama.cpp, vLLM, ...).
_NO_KEY = "no-key"


def _openai() -> Any:
    try:
        import openai
    except ImportError:
        raise MissingExtra(
            "enact's chat models need the openai package: pip install 'enact[llm]'"
        ) from None
    return openai


@contextlib.contextmanager
def using_http_client(client: Any) -> Iterator[None]:
    """Chat models called inside the block send through ``client``.

    ``client`` is an ``httpx.Client`` (for :class:`ChatModel`) or an
    ``httpx.AsyncClient`` (for :class:`AsyncChatModel`): a proxy, custom
    certificates, or, in tests, an ``httpx.MockTransport``. It is not part of
    the journal: a replay with another client replays the same calls.
    """
    import httpx

    variable = (
        _async_http_client if isinstance(client, httpx.AsyncClient) else _http_client
    )
    token = variable.set(client)
    try:
        yield
    finally:
        variable.reset(token)


@contextlib.contextmanager
def streaming(callback: TokenCallback) -> Iterator[None]:
    """Chat calls made inside the block stream their reply to ``callback``.

    ``callback(text)`` gets each piece of the reply as it arrives; the
    journal records the whole reply, as for a call that does not stream. A
    replayed call does not stream (its reply is recorded).
    """
    token = token_callback.set(callback)
    try:
        yield
    finally:
        token_callback.reset(token)


def shown_url(url: str | None) -> str:
    """``url`` fit to show: any password replaced by ``***``."""
    if url is None:
        return "https://api.openai.com/v1"
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username}:***@{host}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _api_key(settings: Any) -> str:
    key = os.environ.get(settings.api_key_env)
    if key:
        return key
    if settings.base_url is None:
        raise ChatModelError(
            f"No API key: set the environment variable {settings.api_key_env} "
            "(or name another one in the model's api_key_env field).",
            None,
            "config",
        )
    return _NO_KEY


# SDK clients by what they were made with; each keeps a connection pool, so
# models with equal settings share one. Bounded: HTTP clients given by
# using_http_client may come and go.
_clients: dict[tuple[Any, ...], Any] = {}
_MAX_CLIENTS = 64


def _cached(cache_key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
    client = _clients.get(cache_key)
    if client is None:
        if len(_clients) >= _MAX_CLIENTS:
            _clients.clear()
        client = _clients[cache_key] = make()
    return client


def sync_client(settings: Any) -> openai.OpenAI:
    """The (cached) SDK client for a chat model's settings."""
    http = _http_client.get()
    key = _api_key(settings)
    cache_key = (False, settings.base_url, key, settings.timeout, http)
    return _cached(  # type: ignore[no-any-return]
        cache_key,
        lambda: _openai().OpenAI(
            api_key=key,
            base_url=settings.base_url,
            timeout=settings.timeout,
            max_retries=0,
            http_client=http,
        ),
    )


def async_client(settings: Any) -> openai.AsyncOpenAI:
    """The (cached) async SDK client for a chat model's settings."""
    http = _async_http_client.get()
    key = _api_key(settings)
    # An async client's connections belong to the event loop they were made
    # in: one client per loop (asyncio.run makes a new loop each time).
    loop = asyncio.get_running_loop()
    cache_key = (loop, settings.base_url, key, settings.timeout, http)
    return _cached(  # type: ignore[no-any-return]
        cache_key,
        lambda: _openai().AsyncOpenAI(
            api_key=key,
            base_url=settings.base_url,
            timeout=settings.timeout,
            max_retries=0,
            http_client=http,
        ),
    )


def request_arguments(settings: Any, request: ChatRequest) -> dict[str, Any]:
    """The keyword arguments of ``chat.completions.create`` for a call."""
    arguments: dict[str, Any] = {
        "model": settings.model,
        "messages": [message.to_openai() for message in request.messages],
        "timeout": settings.timeout,
    }
    for name in ("temperature", "top_p", "seed", "max_tokens"):
        value = getattr(settings, name)
        if value is not None:
            arguments[name] = value
    if settings.stop:
        arguments["stop"] = list(settings.stop)
    if settings.tools:
        arguments["tools"] = list(settings.tools)
    if settings.tool_choice is not None:
        arguments["tool_choice"] = settings.tool_choice
    if settings.response_format is not None:
        arguments["response_format"] = settings.response_format
    return arguments


def from_completion(text: bytes) -> ChatResponse:
    """The :class:`ChatResponse` of a completion's JSON text.

    Raises:
        ChatModelError: if the text is not a chat completion.
    """
    try:
        data = orjson.loads(text)
        choice = data["choices"][0]
        message = choice["message"]
        calls = [
            ToolCall(
                call["id"], call["function"]["name"], call["function"]["arguments"]
            )
            for call in message.get("tool_calls") or ()
        ]
        reply = Message(
            message.get("role") or "assistant", message.get("content"), calls
        )
        return ChatResponse(
            reply,
            choice.get("finish_reason"),
            _usage(data.get("usage")),
            data.get("model") or "",
            data.get("id"),
            text.decode("utf-8"),
        )
    except (KeyError, IndexError, TypeError, ValueError) as error:
        shown = text[:200].decode("utf-8", "replace")
        raise ChatModelError(
            f"The server's reply is not a chat completion ({error!r}): {shown}",
            None,
            "response",
        ) from None


def _usage(data: Any) -> Usage | None:
    if not data:
        return None
    prompt = int(data.get("prompt_tokens") or 0)
    completion = int(data.get("completion_tokens") or 0)
    return Usage(
        prompt, completion, int(data.get("total_tokens") or prompt + completion)
    )


class StreamAssembler:
    """Puts a streamed reply together from its chunks."""

    def __init__(self) -> None:
        self.chunks: list[dict[str, Any]] = []
        self._content: list[str] = []
        self._calls: dict[int, dict[str, str]] = {}
        self._finish: str | None = None
        self._role = "assistant"

    def add(self, chunk: Any) -> str:
        """Takes one chunk (an SDK object); returns its new text."""
        data = chunk.model_dump(mode="json", exclude_unset=True)
        self.chunks.append(data)
        text = ""
        for choice in data.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            self._role = delta.get("role") or self._role
            text += delta.get("content") or ""
            for call in delta.get("tool_calls") or ():
                slot = self._calls.setdefault(
                    call.get("index", 0), {"id": "", "name": "", "arguments": ""}
                )
                function = call.get("function") or {}
                slot["id"] = call.get("id") or slot["id"]
                slot["name"] += function.get("name") or ""
                slot["arguments"] += function.get("arguments") or ""
            self._finish = choice.get("finish_reason") or self._finish
        if text:
            self._content.append(text)
        return text

    def response(self) -> ChatResponse:
        """The whole reply, once the stream has ended."""
        calls = [
            ToolCall(slot["id"], slot["name"], slot["arguments"])
            for _, slot in sorted(self._calls.items())
        ]
        content = "".join(self._content) if self._content or not calls else None
        last = self.chunks[-1] if self.chunks else {}
        usage = next(
            (chunk["usage"] for chunk in reversed(self.chunks) if chunk.get("usage")),
            None,
        )
        return ChatResponse(
            Message(self._role, content, calls),
            self._finish,
            _usage(usage),
            last.get("model") or "",
            last.get("id"),
            orjson.dumps(self.chunks).decode("utf-8"),
        )


_SECRET = re.compile(r"\b(sk-[A-Za-z0-9_*-]{2})[A-Za-z0-9_*-]+")


def _scrubbed(text: str, settings: Any) -> str:
    """``text`` without the API key (or anything shaped like one)."""
    key = os.environ.get(settings.api_key_env)
    if key:
        text = text.replace(key, "***")
    return _SECRET.sub(r"\1***", text)


def translate_error(error: BaseException, settings: Any) -> ChatModelError | None:
    """The :class:`ChatModelError` for an exception of the SDK, else None
    (the caller raises anything else as it is)."""
    openai = _openai()
    where = shown_url(settings.base_url)
    if isinstance(error, openai.APITimeoutError):
        return ChatModelError(
            f"No reply from {where} within {settings.timeout:g} s "
            f"(model {settings.model}); raise the model's timeout if it is slow.",
            None,
            "timeout",
            True,
        )
    if isinstance(error, openai.APIConnectionError):
        cause = error.__cause__ or error.__context__
        reason = f": {cause}" if cause is not None and str(cause) else ""
        return ChatModelError(
            _scrubbed(
                f"Could not connect to {where}{reason} (is the server running?)",
                settings,
            ),
            None,
            "connection",
            True,
        )
    if isinstance(error, openai.APIStatusError):
        status = error.status_code
        message = _provider_message(error)
        kind, retryable = _classify(status)
        retry_after = _retry_after(error)
        return ChatModelError(
            _scrubbed(
                f"{where} refused the call to {settings.model}: {message}", settings
            ),
            status,
            kind,
            retryable,
            retry_after,
        )
    if isinstance(error, openai.OpenAIError):
        return ChatModelError(_scrubbed(str(error), settings), None, "response")
    return None


def _provider_message(error: Any) -> str:
    body = error.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return str(error.message)


def _classify(status: int) -> tuple[str, bool]:
    if status == 429:
        return "rate_limit", True
    if status in (408, 409) or status >= 500:
        return "server", True
    if status in (401, 403):
        return "authentication", False
    if status == 404:
        return "not_found", False
    return "bad_request", False


def _retry_after(error: Any) -> float | None:
    header = error.response.headers.get("retry-after")
    if header is None:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        return None
