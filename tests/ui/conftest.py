"""Fixtures of the UI tests: a real server on loopback, a real Chromium.

``ui`` starts :func:`enact.ui.make_server` on a free port in a thread,
against a FileStore in the test's folder. ``page`` is a Playwright page in
Debian's Chromium (``/usr/bin/chromium``; Playwright never downloads a
browser here). Without Chromium the browser tests skip, unless
``ENACT_REQUIRE_BROWSER=1`` (set by ``.ci/run``) makes them fail. When a
browser test fails, a screenshot of each open page is saved under the test's
``tmp_path / "screenshots"`` (with its HTML, and the addresses the test
visited in ``visited.txt``).
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import shutil
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import enact
from enact.references import Store

CHROMIUM = os.environ.get("ENACT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclasses.dataclass
class UI:
    """A running UI server and its store."""

    server: Any
    store: Store

    @property
    def url(self) -> str:
        return self.server.url.rstrip("/")

    def page_url(self, path: str) -> str:
        return self.url + path


def start_ui(store: Store, **kwargs: Any) -> Any:
    """Starts a UI server on a free loopback port, serving in a thread."""
    import enact.ui

    server = enact.ui.make_server(store, port=0, **kwargs)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


def stop_ui(server: Any) -> None:
    server.shutdown()
    server.server_close()


@pytest.fixture
def ui_store(tmp_path: pathlib.Path) -> Iterator[Store]:
    """A FileStore in the test's folder, current during the test."""
    store = enact.FileStore(tmp_path / "store")
    with store:
        yield store
    store.close()


@pytest.fixture
def ui(ui_store: Store) -> Iterator[UI]:
    """The UI server for ``ui_store``, on loopback, without a token."""
    server = start_ui(ui_store)
    yield UI(server, ui_store)
    stop_ui(server)


def _chromium_or_skip() -> str:
    found = shutil.which(CHROMIUM) or (CHROMIUM if os.path.exists(CHROMIUM) else None)
    if found is None:
        message = (
            f"Chromium not found at {CHROMIUM}: install Debian's chromium package "
            "(apt-get install chromium), as .ci/run does"
        )
        if os.environ.get("ENACT_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return found


def require_playwright() -> Any:
    """``playwright.sync_api``, or a skip (a failure in CI) without it."""
    try:
        import playwright.sync_api
    except ImportError:
        if os.environ.get("ENACT_REQUIRE_BROWSER") == "1":
            raise
        pytest.skip(
            "the playwright package is not installed (pip install -e '.[dev]')",
            allow_module_level=True,
        )
    return playwright.sync_api


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """One headless Chromium for the UI tests, driven by Playwright.

    Package-scoped: Playwright's synchronous API keeps an event loop running
    in the main thread while it is started, which makes async tests that run
    after it (``enact.run`` of an async component refuses a running loop)
    fail; it stops when the UI tests are done."""
    executable = _chromium_or_skip()
    sync_api = require_playwright()
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(
    browser: Any, request: pytest.FixtureRequest, tmp_path: pathlib.Path
) -> Iterator[Any]:
    """A fresh browser page; screenshots of every open page if the test fails."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    visited: list[str] = []
    tab.on("framenavigated", lambda frame: visited.append(frame.url))
    yield tab
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        folder = tmp_path / "screenshots"
        folder.mkdir(exist_ok=True)
        for index, each in enumerate(context.pages):
            target = folder / f"page-{index}.png"
            try:
                each.screenshot(path=str(target), full_page=True)
                (folder / f"page-{index}.html").write_text(each.content())
            except Exception as error:  # a crashed page: note it, keep going
                (folder / f"page-{index}.txt").write_text(repr(error))
        (folder / "visited.txt").write_text("\n".join(visited) + "\n")
        print(f"screenshots of the failed test's pages: {folder}")
    context.close()
