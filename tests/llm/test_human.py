"""A person in place of a model: HumanChat, and answers from a record."""

from __future__ import annotations

import asyncio
import http.client
import os
import pathlib
import re
import urllib.parse

import pytest

import enact
from enact import runs
from enact.llm import (
    AsyncHumanChat,
    ChatModel,
    ChatResponse,
    HumanChat,
    Message,
    RecordedAnswers,
)
from enact.llm._errors import NoRecordedAnswer
from llm.flows import DraftCritiqueRevise, Samples
from llm.mock_server import MockChatServer

URL = "http://models.test/v1"
TESTS = pathlib.Path(__file__).resolve().parents[1]


def test_a_person_takes_the_place_of_a_model_by_changing_one_field(
    mock: MockChatServer, files: enact.FileStore
) -> None:
    writer = ChatModel("mock-model", base_url=URL)
    by_model = enact.run(DraftCritiqueRevise(writer, writer), enact.Str("tea"))
    assert by_model.status is runs.RunStatus.FINISHED
    critic = HumanChat("Critique the sentence in one line.", name="editor")
    run = enact.run(DraftCritiqueRevise(writer, critic), enact.Str("tea"))
    assert run.status is runs.RunStatus.WAITING
    (pending,) = run.pending()
    assert pending.path == (1, 0)
    assert pending.requested_type == enact.Str.type_id()
    assert pending.context == (
        "Critique the sentence in one line.\n\n"
        "system: You are a strict editor.\n\n"
        "user: Critique this sentence: reply 4 to Write one sentence about tea."
    )
    run.answer("Too plain.", resume=True)
    assert run.status is runs.RunStatus.FINISHED
    critique = run.journal().get_child(1)
    reply = critique.get_output()
    assert isinstance(reply, ChatResponse)
    assert reply.message == Message("assistant", "Too plain.")
    assert (reply.model, reply.finish_reason) == ("editor", "stop")
    assert mock.bodies[-1]["messages"][-1] == {
        "role": "user",
        "content": "Revise it given this critique: Too plain.",
    }


def test_a_fork_puts_a_person_in_place_of_a_model_and_back(
    mock: MockChatServer, files: enact.FileStore
) -> None:
    writer = ChatModel("mock-model", base_url=URL)
    critic = ChatModel("critic-model", base_url=URL)
    run = enact.run(DraftCritiqueRevise(writer, critic), enact.Str("tea"))
    person = HumanChat()
    fork = run.fork(at=(1,), replace={critic: person})
    assert fork.status is runs.RunStatus.WAITING
    fork.answer("Say more.", resume=True)
    assert fork.status is runs.RunStatus.FINISHED
    assert fork.journal().get_child(1).get_output().text == "Say more."
    # And back: the fork's person replaced by a model.
    back = fork.fork(at=(1,), replace={person: critic})
    assert back.status is runs.RunStatus.FINISHED
    assert [b["model"] for b in mock.bodies].count("critic-model") == 2


def test_recorded_answers_answer_the_same_questions_again(
    files: enact.FileStore,
) -> None:
    asked = enact.run(Samples(HumanChat()), enact.Int(2))
    asked.answer("red", resume=True)
    asked.answer("blue", resume=True)
    assert asked.output() == enact.Str("red\nblue")
    answers = RecordedAnswers.from_run(asked)
    assert len(answers) == 2
    again = enact.run(Samples(HumanChat()), enact.Int(3))
    with pytest.raises(NoRecordedAnswer, match="No recorded answer is left"):
        answers.answer_run(again)
    assert again.status is runs.RunStatus.WAITING
    assert again.pending()[0].path == (2, 0)
    again.answer("green", resume=True)
    assert again.output() == enact.Str("red\nblue\ngreen")
    # Another question (another asker) is not answered by these.
    other = enact.run(Samples(HumanChat("Answer in French.")), enact.Int(1))
    with pytest.raises(NoRecordedAnswer):
        RecordedAnswers.from_run(asked).answer_run(other)


def test_recorded_answers_drive_an_invocation_generator(files: enact.FileStore) -> None:
    asked = enact.run(Samples(HumanChat()), enact.Int(1))
    asked.answer("red", resume=True)
    answers = RecordedAnswers.from_journal(asked.journal())
    generator = enact.InvocationGenerator(
        Samples(HumanChat()), enact.commit(enact.Int(1))
    )
    for request in generator:
        generator.set_input(answers(request))
    assert generator.invocation.get_output() == enact.Str("red")


def test_the_async_human_chat_asks_the_same_way(files: enact.FileStore) -> None:
    person = AsyncHumanChat("Reply briefly.")

    @enact.typed_invokable(enact.NoneResource, enact.Str)
    class Ask(enact.AsyncInvokable):
        async def call(self) -> enact.Str:
            reply = await person("Hello?")
            return enact.Str(reply.text)

    async def main() -> enact.Str:
        generator = enact.AsyncInvocationGenerator(
            Ask(), enact.commit(enact.NoneResource())
        )
        async for request in generator:
            assert request.context == "Reply briefly.\n\nuser: Hello?"
            generator.set_input(enact.Str("Hi."))
        return generator.invocation.get_output()

    assert asyncio.run(main()) == enact.Str("Hi.")


def _fetch(port: int, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        if form is None:
            connection.request("GET", path)
        else:
            connection.request(
                "POST",
                path,
                body=urllib.parse.urlencode(form),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def test_the_web_ui_shows_the_conversation_and_takes_the_reply(
    files: enact.FileStore,
) -> None:
    from ui.conftest import start_ui, stop_ui

    run = enact.run(Samples(HumanChat("Reply as the shop assistant.")), enact.Int(1))
    server = start_ui(files)
    try:
        status, page = _fetch(server.port, "/inbox")
        assert status == 200
        assert "Reply as the shop assistant.\n\nuser: Name a colour." in page
        field = re.search(r'name="(a[^"]*)"', page)
        assert field is not None
        status, _ = _fetch(
            server.port,
            f"/runs/{run.id}/answer",
            {"_csrf": server.csrf, "path": "0.0", field.group(1): "Teal."},
        )
        assert status == 303
        assert server.jobs.join(20)
    finally:
        stop_ui(server)
    assert run.output() == enact.Str("Teal.")
    assert run.journal().get_child(0).get_output().model == "human"


def test_enact_answer_takes_the_reply_from_the_shell(
    files: enact.FileStore, tmp_path: pathlib.Path
) -> None:
    from cli.helpers import enact as command

    run = enact.run(Samples(HumanChat()), enact.Int(1))
    path = os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])
    where = ["--store", str(tmp_path / "store"), "--import", "llm.flows"]
    listed = command(*where, "inputs", "--json", PYTHONPATH=path)
    assert listed.code == 0, listed.err
    (shown,) = listed.json()
    assert shown["context"].endswith("user: Name a colour.")
    table = command(*where, "inputs", run.id, PYTHONPATH=path)
    assert table.code == 0, table.err
    assert table.out.endswith(
        "at 0.0 it asks:\nReply as the assistant to this conversation.\n\n"
        "user: Name a colour.\n"
    )
    answered = command(*where, "answer", run.id, "Mauve.", PYTHONPATH=path)
    assert answered.code == 0, answered.err
    assert run.output() == enact.Str("Mauve.")
