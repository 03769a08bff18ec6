"""Fixtures of the model tests: a store, a mock chat server."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest

import enact
from enact.llm import using_http_client
from llm.mock_server import MockChatServer

#: The API key the tests put in the environment, to check that it is sent to
#: the server and found nowhere else.
SECRET_KEY = "sk-test-SECRETKEY0123456789"


@pytest.fixture
def files(tmp_path: pathlib.Path) -> Iterator[enact.FileStore]:
    """A file store, entered."""
    with enact.FileStore(str(tmp_path / "store")) as store:
        yield store


@pytest.fixture
def mock(monkeypatch: pytest.MonkeyPatch) -> Iterator[MockChatServer]:
    """A mock server every sync and async chat model call goes to."""
    monkeypatch.setenv("OPENAI_API_KEY", SECRET_KEY)
    server = MockChatServer()
    with (
        server.client() as client,
        using_http_client(client),
    ):
        async_client = server.async_client()
        with using_http_client(async_client):
            yield server
