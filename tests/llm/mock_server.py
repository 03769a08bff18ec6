"""A chat completions server in memory, behind ``httpx.MockTransport``.

The real ``openai`` SDK talks to it over a real ``httpx`` client: requests are
encoded, sent and parsed as with any server. Replies are scripted (a queue of
responses or exceptions) or made up from the request: ``reply N to <last
user message>``, N counting the requests, so two samples differ.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

__all__ = ["MockChatServer", "completion", "error_body", "sse"]


def completion(
    content: str | None,
    *,
    model: str = "mock-model",
    finish_reason: str = "stop",
    tool_calls: list[dict[str, Any]] | None = None,
    response_id: str = "chatcmpl-1",
) -> dict[str, Any]:
    """A chat completion as a server sends it."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": response_id,
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
    }


def error_body(message: str, kind: str = "invalid_request_error") -> dict[str, Any]:
    """An OpenAI-style error body."""
    return {"error": {"message": message, "type": kind, "code": None}}


def sse(pieces: list[str], *, model: str = "mock-model") -> bytes:
    """A streamed reply: one chunk per piece, then the usage, then [DONE]."""
    events = []
    for index, piece in enumerate(pieces):
        delta: dict[str, Any] = {"content": piece}
        if index == 0:
            delta["role"] = "assistant"
        chunk = {
            "id": "chatcmpl-s",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
        }
        events.append(chunk)
    events.append(
        {
            "id": "chatcmpl-s",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": model,
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        }
    )
    events.append(
        {
            "id": "chatcmpl-s",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": model,
            "choices": [],
            "usage": {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6},
        }
    )
    text = "".join(f"data: {json.dumps(event)}\n\n" for event in events)
    return (text + "data: [DONE]\n\n").encode()


Scripted = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class MockChatServer:
    """Answers chat completion requests; records each request it gets."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.script: list[Scripted] = []

    @property
    def bodies(self) -> list[dict[str, Any]]:
        """The JSON bodies of the requests, in order."""
        return [json.loads(request.content) for request in self.requests]

    def then(self, *responses: Scripted) -> MockChatServer:
        """Answers the next requests with these, in order."""
        self.script.extend(responses)
        return self

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.script:
            scripted = self.script.pop(0)
            if isinstance(scripted, Exception):
                raise scripted
            if isinstance(scripted, httpx.Response):
                return scripted
            return scripted(request)
        body = json.loads(request.content)
        last = body["messages"][-1]["content"]
        reply = f"reply {len(self.requests)} to {last}"
        if body.get("stream"):
            words = reply.split(" ")
            pieces = [word + " " for word in words[:-1]] + [words[-1]]
            return httpx.Response(
                200,
                content=sse(pieces, model=body["model"]),
                headers={"content-type": "text/event-stream"},
            )
        return httpx.Response(200, json=completion(reply, model=body["model"]))

    async def handle_async(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        return self.handle(request)

    def client(self) -> httpx.Client:
        """An httpx client that sends to this server."""
        return httpx.Client(transport=httpx.MockTransport(self.handle))

    def async_client(self) -> httpx.AsyncClient:
        """An async httpx client that sends to this server."""
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle_async))
