"""Fixtures of the API tests: an app over a FileStore, and a live server.

``client`` calls the app in process (httpx through Starlette's test client);
``live_api`` serves it with uvicorn on a free loopback port in a thread, for
tests that must cross a real socket (schemathesis, concurrent clients).
"""

from __future__ import annotations

import dataclasses
import pathlib
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import enact
from enact.references import Store

fastapi = pytest.importorskip("fastapi", reason="the 'ui' extra is not installed")


@dataclasses.dataclass
class LiveAPI:
    """A running API server."""

    url: str
    store: Store
    server: Any


@pytest.fixture
def api_store(tmp_path: pathlib.Path) -> Iterator[Store]:
    """A FileStore in the test's folder, current during the test."""
    store = enact.FileStore(tmp_path / "store")
    with store:
        yield store
    store.close()


@pytest.fixture
def client(api_store: Store) -> Iterator[Any]:
    """An in-process client of the API over ``api_store``."""
    from fastapi.testclient import TestClient

    from enact.api import create_app

    app = create_app(api_store)
    with TestClient(app, base_url="http://127.0.0.1") as test_client:
        yield test_client
    assert app.state.jobs.join(60)


def start_live(store: Store, token: str | None = None) -> LiveAPI:
    """Serves the API with uvicorn on a free loopback port, in a thread."""
    import uvicorn

    from enact.api import create_app

    app = create_app(store, token=token)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    )
    started = threading.Event()
    startup = server.startup

    async def on_startup(sockets: Any = None) -> None:
        await startup(sockets=sockets)
        started.set()

    server.startup = on_startup  # type: ignore[method-assign]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert started.wait(60), "the API server did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    live = LiveAPI(f"http://127.0.0.1:{port}", store, server)
    live.thread = thread  # type: ignore[attr-defined]
    return live


def stop_live(live: LiveAPI) -> None:
    live.server.should_exit = True
    live.thread.join(60)  # type: ignore[attr-defined]


@pytest.fixture
def live_api(api_store: Store) -> Iterator[LiveAPI]:
    """The API served over a real socket on loopback."""
    live = start_live(api_store)
    yield live
    stop_live(live)
