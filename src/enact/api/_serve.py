"""Serving the API with uvicorn."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from enact.api._app import create_app
from enact.references import Store
from enact.ui._security import check_bind

__all__ = ["end_streams_on_shutdown", "serve"]


def serve(
    store: Store,
    *,
    host: str = "127.0.0.1",
    port: int = 8766,
    token: str | None = None,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Serves the HTTP API over ``store`` until interrupted.

    Args:
        store: The store to serve.
        host: The address to listen on; anything but loopback needs ``token``.
        port: The port (0 picks a free one).
        token: The access token every request must carry.
        ready: Called with the server's base URL once it listens.

    Raises:
        UIError: for an unsafe bind (a public address without a token).
    """
    import uvicorn

    check_bind(host, token)
    app = create_app(store, host=host, token=token)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        server_header=False,
    )
    server = uvicorn.Server(config)
    end_streams_on_shutdown(server, app.state.closing)
    if ready is not None:
        _call_when_started(server, host, ready)
    server.run()


def _call_when_started(server: object, host: str, ready: Callable[[str], None]) -> None:
    # uvicorn has no "started" callback: wrap its startup, which ends once the
    # sockets listen, and read the port it bound (it may have been 0).
    startup = server.startup  # type: ignore[attr-defined]

    async def started(sockets: object = None) -> None:
        await startup(sockets=sockets)
        servers = getattr(server, "servers", [])
        port = servers[0].sockets[0].getsockname()[1] if servers else 0
        shown = f"[{host}]" if ":" in host else host
        ready(f"http://{shown}:{port}")

    server.startup = started  # type: ignore[attr-defined]


def end_streams_on_shutdown(server: Any, closing: threading.Event) -> None:
    """Makes a uvicorn server set ``closing`` as it starts shutting down, so
    the event streams end (uvicorn waits for every open response)."""
    shutdown = server.shutdown

    async def ending(sockets: Any = None) -> None:
        closing.set()
        await shutdown(sockets=sockets)

    server.shutdown = ending
