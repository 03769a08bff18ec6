"""Fixtures of the model tests: a store, a mock chat server, a real model."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterator

import httpx
import pytest

import enact
from enact.llm import using_http_client
from llm.local_server import (
    CountingTransport,
    LocalServer,
    start_server,
    stop_server,
    unavailable,
)
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


@pytest.fixture(scope="session")
def local_model(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LocalServer]:
    """llama.cpp's server on the SmolLM2 weights, for the session.

    Skips where llama-cpp-python or the weights are missing, unless
    ``ENACT_REQUIRE_LLM=1`` (set by ``.ci/setup.d/30-llm.sh``) makes that a
    failure.
    """
    reason = unavailable()
    if reason is not None:
        if os.environ.get("ENACT_REQUIRE_LLM") == "1":
            pytest.fail(f"ENACT_REQUIRE_LLM=1, but {reason}")
        pytest.skip(reason)
    server = start_server(tmp_path_factory.mktemp("llama"))
    try:
        yield server
    finally:
        stop_server(server)


@pytest.fixture
def counting() -> Iterator[CountingTransport]:
    """Every sync chat call of the test goes through this counting transport."""
    transport = CountingTransport()
    with httpx.Client(transport=transport) as client, using_http_client(client):
        yield transport
