"""Chat models through the real openai SDK, against an in-memory server."""

from __future__ import annotations

import asyncio
import pathlib

import httpx
import pytest

import enact
from enact.llm import (
    AsyncChatModel,
    ChatAttempt,
    ChatModel,
    ChatModelError,
    ChatRequest,
    ChatResponse,
    Message,
    json_schema_format,
    streaming,
)
from llm.conftest import SECRET_KEY
from llm.flows import AsyncSamples, DraftCritiqueRevise, Samples
from llm.mock_server import MockChatServer, completion, error_body

URL = "http://models.test/v1"


def model(**fields: object) -> ChatModel:
    return ChatModel("mock-model", base_url=URL, backoff=0.0, **fields)  # type: ignore[arg-type]


def test_a_string_is_one_user_message_and_the_reply_is_typed(
    mock: MockChatServer,
) -> None:
    reply = model(temperature=0.5, seed=3, max_tokens=20)("Hello?")
    assert isinstance(reply, ChatResponse)
    assert reply.message == Message("assistant", "reply 1 to Hello?")
    assert reply.text == "reply 1 to Hello?"
    assert (reply.finish_reason, reply.model, reply.response_id) == (
        "stop",
        "mock-model",
        "chatcmpl-1",
    )
    assert reply.usage is not None and reply.usage.total_tokens == 8
    assert reply.raw_json()["choices"][0]["message"]["content"] == reply.text
    assert '"chatcmpl-1"' in reply.raw  # the JSON text the server sent
    (body,) = mock.bodies
    assert body == {
        "model": "mock-model",
        "messages": [{"role": "user", "content": "Hello?"}],
        "temperature": 0.5,
        "seed": 3,
        "max_tokens": 20,
    }
    assert mock.requests[0].url == URL + "/chat/completions"


def test_messages_tools_and_a_json_schema_are_sent_as_the_api_takes_them(
    mock: MockChatServer,
) -> None:
    tool = {
        "type": "function",
        "function": {"name": "add", "parameters": {"type": "object"}},
    }
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "add", "arguments": '{"a": 1}'},
    }
    mock.then(
        httpx.Response(
            200, json=completion(None, finish_reason="tool_calls", tool_calls=[call])
        )
    )
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    chat = model(
        tools=[tool], tool_choice="auto", response_format=json_schema_format(schema)
    )
    reply = chat([Message("system", "Be brief."), Message("user", "1+1?")])
    assert reply.finish_reason == "tool_calls"
    assert reply.message.content is None
    (tool_call,) = reply.message.tool_calls
    assert (tool_call.id, tool_call.name, tool_call.arguments) == (
        "call_1",
        "add",
        '{"a": 1}',
    )
    body = mock.bodies[0]
    assert body["tools"] == [tool] and body["tool_choice"] == "auto"
    assert body["response_format"]["json_schema"]["schema"] == schema
    # The reply, with its tool call, goes back into the conversation as is.
    chat(
        [
            Message("user", "1+1?"),
            reply.message,
            Message("tool", "2", tool_call_id="call_1"),
        ]
    )
    sent = mock.bodies[1]["messages"]
    assert sent[1]["tool_calls"] == [call]
    assert sent[2] == {"role": "tool", "content": "2", "tool_call_id": "call_1"}


def test_bad_arguments_are_refused_with_what_is_accepted() -> None:
    with pytest.raises(TypeError, match="a string, a Message, a list"):
        model()(42)
    with pytest.raises(TypeError, match="must be a Message, got a str"):
        model()([Message("user", "a"), "b"])
    with pytest.raises(ValueError, match="role is one of"):
        Message("robot", "hi")


def test_a_call_is_journaled_with_its_attempt_and_the_key_is_stored_nowhere(
    mock: MockChatServer, files: enact.FileStore, tmp_path: pathlib.Path
) -> None:
    run = enact.run(
        DraftCritiqueRevise(model(), model(temperature=1.0)), enact.Str("tea")
    )
    assert run.status is enact.RunStatus.FINISHED
    assert run.output() == enact.Str(
        "reply 3 to Revise it given this critique: reply 2 to Critique this "
        "sentence: reply 1 to Write one sentence about tea."
    )
    journal = run.journal()
    calls = [journal.get_child(i) for i in range(3)]
    for call in calls:
        request = call.request()
        assert isinstance(request.invokable(), ChatModel)
        assert isinstance(request.input(), ChatRequest)
        assert all(isinstance(m, Message) for m in request.input().messages)
        (attempt,) = [call.get_child(0)]
        assert isinstance(attempt.request().invokable(), ChatAttempt)
        assert attempt.get_output() == call.get_output()
    # The key went to the server, and into no stored object.
    assert {r.headers["authorization"] for r in mock.requests} == {
        f"Bearer {SECRET_KEY}"
    }
    stored = b"".join(
        path.read_bytes() for path in (tmp_path / "store").rglob("*") if path.is_file()
    )
    assert b"tea" in stored
    assert SECRET_KEY.encode() not in stored
    assert SECRET_KEY not in enact.pformat(journal)


def test_a_replay_sends_no_request_and_a_fork_resamples(
    mock: MockChatServer, files: enact.FileStore
) -> None:
    run = enact.run(Samples(model(temperature=1.0)), enact.Int(3))
    assert len(mock.requests) == 3
    replay = run.replay()
    assert len(mock.requests) == 3
    assert replay.output() == run.output()
    fork = run.fork(at=(1,))
    assert len(mock.requests) == 5
    first, second, third = fork.output().split("\n")
    assert first == run.output().split("\n")[0]
    assert (second, third) == ("reply 4 to Name a colour.", "reply 5 to Name a colour.")


def test_a_fork_can_put_another_model_in_place_of_the_recorded_one(
    mock: MockChatServer, files: enact.FileStore
) -> None:
    writer, critic = model(), model(temperature=1.0)
    run = enact.run(DraftCritiqueRevise(writer, critic), enact.Str("tea"))
    other = ChatModel("other-model", base_url=URL, temperature=0.2)
    fork = run.fork(at=(1,), replace={critic: other})
    assert fork.status is enact.RunStatus.FINISHED
    # The draft is kept; the critique and the revision ran again.
    assert [b["model"] for b in mock.bodies] == [
        "mock-model",
        "mock-model",
        "mock-model",
        "other-model",
        "mock-model",
    ]
    journal = fork.journal()
    assert journal.get_child(0).get_output() == run.journal().get_child(0).get_output()
    assert journal.get_child(1).request().invokable() == other
    assert journal.request().invokable() == DraftCritiqueRevise(writer, other)
    # The fork's journal is consistent: replaying it sends nothing.
    fork.replay()
    assert len(mock.requests) == 5


def test_replacing_the_model_of_calls_before_the_branch_point_keeps_their_results(
    mock: MockChatServer, files: enact.FileStore
) -> None:
    writer = model()
    run = enact.run(DraftCritiqueRevise(writer, writer), enact.Str("tea"))
    other = ChatModel("other-model", base_url=URL)
    fork = run.fork(at=(2,), replace={writer: other})
    assert [b["model"] for b in mock.bodies][3:] == ["other-model"]
    journal = fork.journal()
    assert journal.get_child(1).get_output() == run.journal().get_child(1).get_output()
    fork.fork(0)  # its own journal replays without any replacement
    assert len(mock.requests) == 4


def test_replacing_a_component_the_run_does_not_hold_is_refused(
    mock: MockChatServer, files: enact.FileStore
) -> None:
    run = enact.run(Samples(model()), enact.Int(1))
    with pytest.raises(
        enact.runs.RunError, match="holds no ChatModel equal to the one to replace"
    ):
        run.fork(replace={model(temperature=0.3): model()})
    with pytest.raises(TypeError, match="maps invokables to invokables"):
        run.fork(replace={model(): "gpt"})


@pytest.mark.parametrize(
    ("failure", "kind"),
    [
        (httpx.Response(503, json=error_body("overloaded", "server_error")), "server"),
        (httpx.Response(429, json=error_body("slow down")), "rate_limit"),
        (httpx.ConnectError("[Errno 111] Connection refused"), "connection"),
        (httpx.ReadTimeout("timed out"), "timeout"),
    ],
)
def test_transient_failures_are_retried_and_each_attempt_is_journaled(
    mock: MockChatServer, files: enact.FileStore, failure: object, kind: str
) -> None:
    mock.then(failure, failure)  # type: ignore[arg-type]
    run = enact.run(Samples(model(retries=2)), enact.Int(1))
    assert run.output() == enact.Str("reply 3 to Name a colour.")
    call = run.journal().get_child(0)
    attempts = [call.get_child(i) for i in range(3)]
    assert [a.request().invokable().attempt for a in attempts] == [0, 1, 2]
    for failed in attempts[:2]:
        error = failed.response().raised()
        assert isinstance(error, ChatModelError)
        assert error.kind == kind and error.retryable
    assert attempts[2].get_output().text == "reply 3 to Name a colour."


def test_when_the_retries_run_out_the_run_fails_with_the_last_error(
    mock: MockChatServer, files: enact.FileStore
) -> None:
    mock.then(*[httpx.Response(500, json=error_body("boom", "server_error"))] * 2)
    run = enact.run(Samples(model(retries=1)), enact.Int(1))
    assert run.status is enact.RunStatus.FAILED
    assert "boom" in (run.info().error or "")
    assert len(mock.requests) == 2


def test_an_api_error_carries_the_providers_status_and_message(
    mock: MockChatServer, files: enact.FileStore
) -> None:
    mock.then(httpx.Response(400, json=error_body("max_tokens is too large")))
    invocation = Samples(model()).invoke(enact.commit(enact.Int(1)))
    error = invocation.response().raised()
    assert isinstance(error, ChatModelError)
    assert (error.status, error.kind, error.retryable) == (400, "bad_request", False)
    assert "max_tokens is too large" in error.message
    assert str(error).endswith("(HTTP 400)")
    assert len(mock.requests) == 1  # not retried


def test_a_refused_connection_is_a_clear_error_without_the_password() -> None:
    chat = ChatModel("m", base_url="http://user:hunter2@127.0.0.1:9/v1", retries=0)
    with pytest.raises(ChatModelError) as caught:
        chat("hi")
    error = caught.value
    assert error.kind == "connection" and error.status is None
    assert "Could not connect to http://user:***@127.0.0.1:9/v1" in str(error)
    assert "hunter2" not in str(error)


def test_openai_itself_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(
        ChatModelError, match="set the environment variable OPENAI_API_KEY"
    ):
        ChatModel("gpt-4o-mini")("hi")
    monkeypatch.setenv("MY_KEY", "sk-from-my-variable")
    server = MockChatServer()
    with server.client() as client, enact.llm.using_http_client(client):
        ChatModel("gpt-4o-mini", api_key_env="MY_KEY")("hi")
    assert server.requests[0].headers["authorization"] == "Bearer sk-from-my-variable"
    assert server.requests[0].url.host == "api.openai.com"


def test_an_error_message_never_shows_the_key(mock: MockChatServer) -> None:
    mock.then(
        httpx.Response(
            401, json=error_body(f"Incorrect API key provided: {SECRET_KEY}")
        )
    )
    with pytest.raises(ChatModelError) as caught:
        model()("hi")
    assert caught.value.kind == "authentication"
    assert SECRET_KEY not in str(caught.value)
    assert "provided: ***" in str(caught.value)
    # Anything shaped like a key is masked too (another key, a key's tail).
    mock.then(httpx.Response(401, json=error_body("Bad key sk-proj-abcdef0123")))
    with pytest.raises(ChatModelError) as caught:
        model()("hi")
    assert "sk-pr***" in str(caught.value) and "abcdef" not in str(caught.value)


def test_streaming_sends_the_pieces_to_the_callback_and_journals_the_reply(
    mock: MockChatServer, files: enact.FileStore
) -> None:
    pieces: list[str] = []
    with streaming(pieces.append):
        run = enact.run(Samples(model()), enact.Int(1))
    assert pieces == ["reply ", "1 ", "to ", "Name ", "a ", "colour."]
    assert mock.bodies[0]["stream"] is True
    reply = run.journal().get_child(0).get_output()
    assert reply.message == Message("assistant", "reply 1 to Name a colour.")
    assert reply.finish_reason == "stop"
    assert reply.usage is not None and reply.usage.total_tokens == 6
    chunks = reply.raw_json()
    assert len(chunks) == 8 and chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    # A replay does not stream: the reply is recorded.
    more: list[str] = []
    with streaming(more.append):
        assert run.replay().output() == run.output()
    assert more == [] and len(mock.requests) == 1


def test_the_async_model_runs_calls_together_and_journals_them_in_call_order(
    mock: MockChatServer, files: enact.FileStore
) -> None:
    chat = AsyncChatModel("mock-model", base_url=URL, backoff=0.0)

    async def main() -> enact.Invocation:
        return await AsyncSamples(chat).ainvoke(enact.commit(enact.Int(3)))

    invocation = asyncio.run(main())
    assert len(mock.requests) == 3
    inputs = [
        invocation.get_child(i).request().input().messages[0].content for i in range(3)
    ]
    assert inputs == ["question 0", "question 1", "question 2"]
    assert sorted(invocation.get_output().split("\n")) == sorted(
        f"reply {n} to question {i}"
        for n, i in zip(
            range(1, 4),
            [int(b["messages"][0]["content"].split()[-1]) for b in mock.bodies],
            strict=True,
        )
    )


def test_the_async_model_retries_and_streams(
    mock: MockChatServer, files: enact.FileStore
) -> None:
    chat = AsyncChatModel("mock-model", base_url=URL, backoff=0.0)
    mock.then(httpx.Response(502, json=error_body("bad gateway")))
    pieces: list[str] = []

    async def main() -> ChatResponse:
        with streaming(pieces.append):
            reply: ChatResponse = await chat("hi")
        return reply

    reply = asyncio.run(main())
    assert reply.text == "reply 2 to hi" == "".join(pieces)
    assert len(mock.requests) == 2


def test_without_the_sdk_a_call_names_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    from enact.llm import MissingExtra

    monkeypatch.setitem(sys.modules, "openai", None)  # makes `import openai` fail
    monkeypatch.setattr(enact.llm._openai, "_clients", {})
    with pytest.raises(MissingExtra, match=r"pip install 'enact\[llm\]'"):
        model()("hi")


def test_the_async_model_works_in_one_event_loop_after_another(
    mock: MockChatServer,
) -> None:
    chat = AsyncChatModel("mock-model", base_url=URL)

    async def ask() -> str:
        reply: ChatResponse = await chat("hi")
        return reply.text

    assert asyncio.run(ask()) == "reply 1 to hi"
    assert asyncio.run(ask()) == "reply 2 to hi"
