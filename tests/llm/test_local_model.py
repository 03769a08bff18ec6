"""Chat models against a real model: llama.cpp serving SmolLM2-135M.

Skipped where llama-cpp-python or the weights are missing (a failure with
``ENACT_REQUIRE_LLM=1``, as in CI); see ``local_server.py``.
"""

from __future__ import annotations

import asyncio
import dataclasses

import httpx
import pytest

import enact
from enact.llm import (
    AsyncChatModel,
    ChatModel,
    ChatModelError,
    ChatResponse,
    Message,
    streaming,
)
from llm.flows import AsyncSamples, Samples
from llm.local_server import MODEL, CountingTransport, LocalServer, free_port

PROMPT = [
    Message("system", "You are a helpful assistant."),
    Message("user", "Name three fruits."),
]


def local(server: LocalServer, **fields: object) -> ChatModel:
    return ChatModel(MODEL, base_url=server.base_url, max_tokens=24, **fields)  # type: ignore[arg-type]


def test_a_greedy_reply_repeats(
    local_model: LocalServer, counting: CountingTransport, files: enact.FileStore
) -> None:
    chat = local(local_model, temperature=0.0)
    first = chat(PROMPT)
    assert isinstance(first, ChatResponse) and first.text.strip()
    assert first.usage is not None and first.usage.completion_tokens > 0
    assert first.finish_reason in ("stop", "length")
    # A fork reaches the call and asks the server again: the same reply.
    run = enact.run(Samples(chat), enact.Int(2))
    again = run.fork(at=(1,))
    replies = set(again.output().split("\n")) | set(run.output().split("\n"))
    assert len(replies) == 1
    assert counting.count == 1 + 2 + 1


def test_a_seeded_sample_repeats(
    local_model: LocalServer, counting: CountingTransport
) -> None:
    chat = local(local_model, temperature=1.2, seed=1234)
    assert chat(PROMPT).text == chat(PROMPT).text
    assert counting.count == 2


def test_n_samples_are_n_invocations_with_different_replies(
    local_model: LocalServer, counting: CountingTransport, files: enact.FileStore
) -> None:
    chat = local(local_model, temperature=1.5, top_p=1.0)
    run = enact.run(Samples(chat), enact.Int(5))
    journal = run.journal()
    calls = [journal.get_child(i) for i in range(5)]
    assert len(journal.response().children) == 5
    texts = [call.get_output().text for call in calls]
    assert len(set(texts)) >= 2, texts
    assert counting.count == 5


def test_a_replay_sends_no_request(
    local_model: LocalServer, counting: CountingTransport, files: enact.FileStore
) -> None:
    run = enact.run(Samples(local(local_model, temperature=1.0)), enact.Int(3))
    assert counting.count == 3
    replay = run.replay()
    assert replay.output() == run.output()
    assert counting.count == 3
    fork = run.fork(at=(2,))  # resamples the last call only
    assert counting.count == 4
    assert fork.output().split("\n")[:2] == run.output().split("\n")[:2]


def test_a_streamed_reply_arrives_in_pieces_and_is_journaled_whole(
    local_model: LocalServer, counting: CountingTransport, files: enact.FileStore
) -> None:
    pieces: list[str] = []
    with streaming(pieces.append):
        run = enact.run(Samples(local(local_model, temperature=0.0)), enact.Int(1))
    reply = run.journal().get_child(0).get_output()
    assert len(pieces) > 1
    assert "".join(pieces) == reply.text
    assert len(reply.raw_json()) >= len(pieces)  # the chunks
    # The greedy streamed reply is the greedy reply.
    plain = local(local_model, temperature=0.0)("Name a colour.")
    assert plain.text == reply.text


def test_the_async_model_against_the_server(
    local_model: LocalServer, files: enact.FileStore
) -> None:
    chat = AsyncChatModel(
        MODEL, base_url=local_model.base_url, max_tokens=16, temperature=0.0
    )

    async def main() -> enact.Invocation:
        async with httpx.AsyncClient() as client:
            with enact.llm.using_http_client(client):
                return await AsyncSamples(chat).ainvoke(enact.commit(enact.Int(2)))

    invocation = asyncio.run(main())
    assert len(invocation.response().children) == 2
    assert all(invocation.get_child(i).get_output().text for i in range(2))


def test_a_refused_connection_is_a_clear_error() -> None:
    port = free_port()  # nothing listens there
    chat = ChatModel(MODEL, base_url=f"http://127.0.0.1:{port}/v1", retries=0)
    with pytest.raises(ChatModelError) as caught:
        chat("hi")
    assert caught.value.kind == "connection"
    assert f"Could not connect to http://127.0.0.1:{port}/v1" in str(caught.value)
    assert "is the server running?" in str(caught.value)


def test_a_timeout_is_a_clear_error_and_each_attempt_is_journaled(
    local_model: LocalServer, files: enact.FileStore
) -> None:
    chat = dataclasses.replace(
        local(local_model, temperature=0.0),
        max_tokens=256,
        timeout=0.001,
        retries=1,
        backoff=0.0,
    )
    invocation = Samples(chat).invoke(enact.commit(enact.Int(1)))
    error = invocation.response().raised()
    assert isinstance(error, ChatModelError)
    assert error.kind == "timeout"
    assert "within 0.001 s" in str(error)
    call = invocation.get_child(0)
    assert len(call.response().children) == 2


def test_the_async_model_makes_its_own_client_in_each_event_loop(
    local_model: LocalServer,
) -> None:
    chat = AsyncChatModel(
        MODEL, base_url=local_model.base_url, max_tokens=4, temperature=0.0
    )

    async def ask() -> str:
        reply: ChatResponse = await chat("Say yes.")
        return reply.text

    first = asyncio.run(ask())
    assert asyncio.run(ask()) == first  # connections of the first loop are not reused
