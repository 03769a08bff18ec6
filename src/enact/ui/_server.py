"""The UI's server: the HTTP API's application with the UI's pages, served
by uvicorn at one address.

:func:`make_server` binds the address at once (so :attr:`UIServer.url` is
known and connections queue until serving starts); :meth:`UIServer.serve_forever`
serves on that socket until :meth:`UIServer.shutdown`. The application,
its routes and its access checks are in :mod:`enact.ui._web` and
:mod:`enact.api`.
"""

from __future__ import annotations

import logging
import socket
import threading
import webbrowser
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from enact.references import Store
from enact.ui import _security
from enact.ui._jobs import Jobs

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["UIServer", "make_server", "serve"]


class UIServer:
    """The UI's server for one store: its pages and the HTTP API, together.

    Use :func:`make_server` to make one; then :meth:`serve_forever` (in a
    thread, if you like), :meth:`shutdown` from another thread, and
    :meth:`server_close`.

    Attributes:
        store: The store the UI shows.
        token: The access token, if one is required.
        app: The ASGI application served (the API's, with the UI's pages).
        csrf: The token every POSTed form carries (new for each server).
        jobs: The background work (runs, forks, resumes) the server started.
        verbose: Whether to log each request to stderr.
    """

    def __init__(self, store: Store, host: str, port: int, token: str | None) -> None:
        _security.check_bind(host, token)
        # Imported here, not above: enact.api builds on modules of this
        # package, so importing enact.ui must not import enact.api.
        from enact.ui._web import ui_app

        self.store = store
        self.token = token
        self.verbose = False
        self._host = host.strip("[]")
        self.app: FastAPI = ui_app(store, host=self._host, token=token)
        self.csrf: str = self.app.state.csrf
        self.jobs: Jobs = self.app.state.jobs
        self._socket = _bind(self._host, port)
        self._port = int(self._socket.getsockname()[1])
        self._lock = threading.Lock()
        self._server: Any = None
        self._stopping = False
        self._stopped = threading.Event()

    @property
    def closing(self) -> threading.Event:
        """Set when the server closes: live streams end."""
        closing: threading.Event = self.app.state.closing
        return closing

    @property
    def port(self) -> int:
        """The port the server listens on (the one picked, for port 0)."""
        return self._port

    @property
    def url(self) -> str:
        """The address to open, with ``?token=`` if a token is required."""
        host = self._host
        if host in ("0.0.0.0", ""):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        url = f"http://{host}:{self.port}/"
        if self.token is not None:
            url += "?" + urlencode({"token": self.token})
        return url

    def serve_forever(self) -> None:
        """Serves until :meth:`shutdown` (or Ctrl-C, in the main thread)."""
        import uvicorn

        from enact.api._serve import end_streams_on_shutdown

        config = uvicorn.Config(
            self.app,
            log_config=uvicorn.config.LOGGING_CONFIG if self.verbose else None,
            log_level="info" if self.verbose else "warning",
            access_log=self.verbose,
            lifespan="off",
            server_header=False,  # no software version to the world
            # A response still going after this long is cut off.
            timeout_graceful_shutdown=5,
        )
        if self.verbose:  # requests, not uvicorn's start-up chatter
            logging.getLogger("uvicorn.error").setLevel("WARNING")
        server = uvicorn.Server(config)
        end_streams_on_shutdown(server, self.closing)
        with self._lock:
            if self._stopping:
                return
            self._server = server
        try:
            server.run(sockets=[self._socket])
        finally:
            self._stopped.set()

    def shutdown(self) -> None:
        """Stops serving (ending the live streams first); returns once
        :meth:`serve_forever` has returned."""
        self.closing.set()
        with self._lock:
            self._stopping = True
            server = self._server
        if server is None:
            return
        server.should_exit = True
        self._stopped.wait()

    def server_close(self) -> None:
        """Closes the socket and waits briefly for background runs to stop."""
        self.closing.set()
        self._socket.close()
        self.jobs.join(5.0)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except BaseException:
        sock.close()
        raise
    return sock


def make_server(
    store: Store,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    token: str | None = None,
) -> UIServer:
    """Makes (binds, does not start) the UI server for a store.

    The server answers the UI's pages and the HTTP API (``/api/...``,
    docs/api.md) at the same address, with the same access rules.

    Args:
        store: The store to show; the server makes it current around every
            request and background run.
        host: The address to bind. Loopback by default; any other address
            needs ``token``.
        port: The port; 0 picks a free one (see :attr:`UIServer.port`).
        token: An access token every request must carry (``?token=`` once,
            then a cookie; or ``Authorization: Bearer``). At least 16
            characters among letters, digits and ``_.~-``.

    Returns:
        The server; :attr:`UIServer.url` is the address to open.

    Raises:
        UIError: if ``host`` is not loopback and there is no token, or the
            token is too weak.
        OSError: if the address cannot be bound.
    """
    return UIServer(store, host, port, token)


def serve(
    store: Store,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    token: str | None = None,
    open_browser: bool = False,
) -> None:
    """Serves the UI for a store until interrupted (Ctrl-C); prints its address.

    Args:
        store: The store to show.
        host: The address to bind (see :func:`make_server`).
        port: The port; 0 picks a free one.
        token: The access token (see :func:`make_server`).
        open_browser: Open the address in the default web browser.

    Raises:
        UIError: if the bind is unsafe (see :func:`make_server`).
    """
    server = make_server(store, host=host, port=port, token=token)
    server.verbose = True
    print(f"enact UI for {store.location} at {server.url}", flush=True)
    print(f"HTTP API at {server.url.split('?')[0]}api/ (see /docs)", flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    if open_browser:
        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
