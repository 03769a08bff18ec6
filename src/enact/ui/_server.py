"""The HTTP server: the standard library's ``ThreadingHTTPServer`` and a router.

Each request is checked (access token or loopback ``Host``, CSRF token on
POST), routed by a fixed table of patterns, and answered by a page of
:mod:`enact.ui._pages` run in the server's store. Responses carry a strict
Content-Security-Policy: pages load only this server's own style sheet and
script, so even a value that escaped escaping could not run.
"""

from __future__ import annotations

import re
import secrets
import socket
import sys
import threading
import traceback
import webbrowser
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from enact import runs
from enact.contexts import with_new_contexts
from enact.references import Store
from enact.ui import _security
from enact.ui._batch_pages import BatchPages
from enact.ui._feedback import EVALUATION_ID, FEEDBACK_ID, FeedbackPages
from enact.ui._http import Request, Response, redirect
from enact.ui._jobs import Jobs
from enact.ui._live import read_state, stream
from enact.ui._pages import Pages
from enact.ui._render import static_file
from enact.ui._replace import ForkPages

__all__ = ["UIServer", "make_server", "serve"]

_MAX_BODY = 1 << 20
_HEADERS = [
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
]

_RUN = r"(?P<run_id>[A-Za-z0-9][A-Za-z0-9_.-]{0,127})"
_DIGEST = r"(?P<digest>[0-9a-f]{64})"
_BATCH = r"(?P<batch_id>[A-Za-z0-9][A-Za-z0-9_.-]{0,127})"

Handler = Callable[..., Response]


def _routes(
    pages: Pages, events: Handler
) -> list[tuple[str, re.Pattern[str], Handler]]:
    batch_pages = BatchPages(pages)
    rated = FeedbackPages(pages)
    forks = ForkPages(pages)
    table: list[tuple[str, str, Handler]] = [
        ("GET", r"/", pages.runs_list),
        ("GET", r"/events", events),
        ("GET", rf"/runs/{_RUN}", pages.run_page),
        ("POST", rf"/runs/{_RUN}/answer", pages.answer),
        ("POST", rf"/runs/{_RUN}/fork", pages.fork),
        ("POST", rf"/runs/{_RUN}/fork-settings", forks.fork_settings),
        ("POST", rf"/runs/{_RUN}/fork-input", forks.fork_input),
        ("POST", rf"/runs/{_RUN}/replay", pages.replay),
        ("POST", rf"/runs/{_RUN}/resume", pages.resume),
        ("GET", r"/compare", pages.compare_page),
        ("GET", r"/batches", batch_pages.batches_list),
        ("GET", rf"/batches/{_BATCH}", batch_pages.batch_page),
        ("GET", r"/inbox", pages.inbox),
        ("GET", r"/invoke", pages.invoke_page),
        ("POST", r"/invoke", pages.invoke),
        ("GET", rf"/invocations/{_DIGEST}", pages.invocation_page),
        ("GET", rf"/objects/{_DIGEST}", pages.object_page),
        ("POST", rf"/runs/{_RUN}/feedback", rated.add),
        ("POST", rf"/runs/{_RUN}/feedback/{FEEDBACK_ID}/edit", rated.edit),
        ("POST", rf"/runs/{_RUN}/feedback/{FEEDBACK_ID}/delete", rated.delete),
        ("GET", r"/evaluations", rated.evaluations_list),
        ("GET", rf"/evaluations/{EVALUATION_ID}", rated.evaluation_page),
    ]
    return [(method, re.compile(path), handler) for method, path, handler in table]


class UIServer(ThreadingHTTPServer):
    """The UI's HTTP server for one store.

    Use :func:`make_server` to make one; then :meth:`serve_forever` (in a
    thread, if you like), :meth:`shutdown` from another thread, and
    :meth:`server_close`.

    Attributes:
        store: The store the UI shows.
        token: The access token, if one is required.
        csrf: The token every POSTed form carries (new for each server).
        verbose: Whether to log each request to stderr.
    """

    daemon_threads = True

    def __init__(self, store: Store, host: str, port: int, token: str | None) -> None:
        _security.check_bind(host, token)
        if ":" in host.strip("[]"):
            self.address_family = socket.AF_INET6
        self.store = store
        self.token = token
        self.csrf = secrets.token_urlsafe(32)
        self.verbose = False
        self.jobs = Jobs(store)
        self.pages = Pages(store, self.jobs, self.csrf)
        #: Set when the server closes: live streams end.
        self.closing = threading.Event()
        self.routes = _routes(self.pages, self._events)
        self._host = host.strip("[]")
        super().__init__((self._host, port), _Handler)

    def _events(self, request: Request) -> Response:
        """``GET /events[?run=<id>]``: live updates, as server-sent events."""
        run_id = request.query.get("run") or None
        if run_id is not None:
            if not _security.valid_run_id(run_id):
                return self.pages.error(404, "No such run", "Not a run id.")
            try:
                first = read_state(self.store, run_id)
            except runs.RunError as error:
                return self.pages.error(404, "No such run", str(error))
        else:
            first = read_state(self.store, None)
        reads = iter([first])

        def read() -> Any:
            # The state the handler just read is the first one sent.
            return next(reads, None) or read_state(self.store, run_id)

        return Response(
            200,
            content_type="text/event-stream; charset=utf-8",
            stream=stream(read, self.closing),
        )

    def shutdown(self) -> None:
        """Stops serving (after ending the live streams)."""
        self.closing.set()
        super().shutdown()

    @property
    def port(self) -> int:
        """The port the server listens on (the one picked, for port 0)."""
        return int(self.server_address[1])

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

    def server_close(self) -> None:
        """Closes the socket and waits briefly for background runs to stop."""
        self.closing.set()
        super().server_close()
        self.jobs.join(5.0)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stays quiet about clients that went away mid-response."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: UIServer
    server_version = "enact-ui"
    sys_version = ""

    def do_GET(self) -> None:
        self._handle("GET")

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    def do_POST(self) -> None:
        self._handle("POST")

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def _handle(self, method: str) -> None:
        try:
            response = self._respond("GET" if method == "HEAD" else method)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            response = self._error(500, "Something went wrong", "See the server log.")
        self._send(response, head=method == "HEAD")

    def _respond(self, method: str) -> Response:
        url = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        denied = self._check_access(method, url.path, query)
        if denied is not None:
            return denied
        form: dict[str, str] = {}
        if method == "POST":
            body = self._read_body()
            if isinstance(body, Response):
                return body
            form = {key: values[0] for key, values in body.items()}
            if not _security.same_secret(
                form.get(_security.CSRF_FIELD), self.server.csrf
            ):
                return self._error(
                    403,
                    "Form expired",
                    "This form does not come from this server (or the server was "
                    "restarted): reload the page and try again.",
                )
        if method == "GET" and url.path.startswith("/static/"):
            found = static_file(url.path[len("/static/") :])
            if found is None:
                return self._error(404, "Not found", "No such file.")
            return Response(200, found[0], found[1])
        request = Request(method, url.path, query, form)
        return self._dispatch(request)

    def _dispatch(self, request: Request) -> Response:
        allowed = []
        for method, pattern, handler in self.server.routes:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            if method != request.method:
                allowed.append(method)
                continue
            return self._call(handler, request, match.groupdict())
        if allowed:
            return self._error(405, "Method not allowed", "Use the page's buttons.")
        return self._error(404, "Not found", "There is no such page.")

    def _call(
        self, handler: Handler, request: Request, arguments: dict[str, str]
    ) -> Response:
        """Calls a page in the server's store (in fresh contexts: a new thread
        has none set up)."""
        store = self.server.store

        @with_new_contexts
        def call() -> Response:
            with store:
                return handler(request, **arguments)

        result: Response = call()
        return result

    def _check_access(
        self, method: str, path: str, query: dict[str, str]
    ) -> Response | None:
        token = self.server.token
        if token is None:
            if _security.host_allowed(self.headers.get("Host"), self.server._host):
                return None
            return self._error(403, "Forbidden", "Unexpected Host header.")
        if _security.same_secret(query.get("token"), token):
            if method != "GET":
                return None
            rest = {key: value for key, value in query.items() if key != "token"}
            response = redirect(path + ("?" + urlencode(rest) if rest else ""))
            response.headers.append(("Set-Cookie", _security.token_cookie(token)))
            return response
        cookie = _security.token_from_cookie(self.headers.get("Cookie"))
        if _security.same_secret(cookie, token):
            return None
        return self._error(
            403,
            "Access token needed",
            "Open the address `enact ui` printed, with its ?token=... part.",
        )

    def _read_body(self) -> dict[str, list[str]] | Response:
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if length < 0 or length > _MAX_BODY:
            return self._error(413, "Too large", "The form is too large.")
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip()
        if content_type != "application/x-www-form-urlencoded":
            return self._error(415, "Unsupported", "Send a form.")
        data = self.rfile.read(length).decode("utf-8", "replace")
        return parse_qs(data, keep_blank_values=True)

    def _error(self, status: int, title: str, message: str) -> Response:
        return self.server.pages.error(status, title, message)

    def _send(self, response: Response, head: bool = False) -> None:
        if response.stream is not None:
            self._send_stream(response, response.stream, head)
            return
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in [*_HEADERS, *response.headers]:
                self.send_header(name, value)
            self.end_headers()
            if not head:
                self.wfile.write(response.body)
        except ConnectionError:
            pass  # the client went away

    def _send_stream(
        self, response: Response, chunks: Iterator[bytes], head: bool
    ) -> None:
        """Writes a stream chunk by chunk until it ends or the client leaves;
        the connection then closes (HTTP/1.0: no length needed)."""
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            for name, value in [*_HEADERS, *response.headers]:
                self.send_header(name, value)
            self.end_headers()
            if head:
                return
            for chunk in chunks:
                self.wfile.write(chunk)
                self.wfile.flush()
        except ConnectionError:
            pass  # the page was closed or left
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()


def make_server(
    store: Store,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    token: str | None = None,
) -> UIServer:
    """Makes (binds, does not start) the UI server for a store.

    Args:
        store: The store to show; the server makes it current around every
            request and background run.
        host: The address to bind. Loopback by default; any other address
            needs ``token``.
        port: The port; 0 picks a free one (see :attr:`UIServer.port`).
        token: An access token every request must carry (``?token=`` once,
            then a cookie). At least 16 characters among letters, digits and
            ``_.~-``.

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
    print("Press Ctrl-C to stop.", flush=True)
    if open_browser:
        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
