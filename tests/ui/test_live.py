"""Live updates in the web UI: ``/events`` and pages that change without a
reload, in headless Chromium. Every wait is on the page or the stream (a
Playwright expectation, an event), never on time."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import enact
from enact import runs
from enact.contexts import with_new_contexts
from enact.references import Store
from ui import flows
from ui.conftest import UI, require_playwright, start_ui, stop_ui
from ui.flows import UIAskName, UIDraw, UIGated

expect: Any = require_playwright().expect
_TOKEN = "live-token-0123456789"


def _open_stream(server: Any, path: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    # One request a connection: closing the response closes the socket.
    connection.request("GET", path, headers={"Connection": "close"})
    return connection.getresponse()


def _states(response: http.client.HTTPResponse) -> Iterator[dict[str, Any]]:
    name = None
    while True:
        line = response.readline().decode()
        if not line:
            return
        line = line.rstrip("\n")
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: ") and name == "state":
            yield dict(json.loads(line[len("data: ") :]))


def _mark(page: Any) -> None:
    """Marks the loaded document: a reload would lose the mark."""
    page.evaluate("window.__notReloaded = true")


def _not_reloaded(page: Any) -> None:
    assert page.evaluate("window.__notReloaded === true")


@pytest.fixture
def gated(ui: UI) -> Iterator[tuple[threading.Thread, threading.Event]]:
    """A UIGated run started in a thread, stopped at its gate."""
    flows.GATE.clear()
    flows.REACHED.clear()
    done = threading.Event()
    store = ui.store

    @with_new_contexts
    def work() -> None:
        with store:
            runs.run(UIGated(UIDraw()), enact.Str("tide"), name="gated")
        done.set()

    thread = threading.Thread(target=work)
    thread.start()
    assert flows.REACHED.wait(60)
    yield thread, done
    flows.GATE.set()
    thread.join(60)


def test_the_event_stream_sends_the_state_and_its_changes(ui: UI) -> None:
    response = _open_stream(ui.server, "/events")
    try:
        assert response.status == 200
        assert response.getheader("Content-Type").startswith("text/event-stream")
        policy = response.getheader("Content-Security-Policy")
        assert "connect-src 'self'" in policy and "default-src 'none'" in policy
        states = _states(response)
        assert next(states) == {"inbox": 0}
        runs.run(UIAskName(), enact.Str("moon"))
        assert next(states) == {"inbox": 1}
    finally:
        response.close()


def test_events_for_an_unknown_run_are_refused(ui: UI) -> None:
    response = _open_stream(ui.server, "/events?run=no-such-run")
    assert response.status == 404
    response.close()
    response = _open_stream(ui.server, "/events?run=..%2Fetc")
    assert response.status == 404
    response.close()


def test_events_need_the_token_off_loopback(ui_store: Store) -> None:
    server = start_ui(ui_store, token=_TOKEN)
    try:
        response = _open_stream(server, "/events")
        assert response.status == 403
        response.close()
    finally:
        stop_ui(server)


def test_a_foreign_host_gets_no_stream(ui: UI) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", ui.server.port, timeout=30)
    connection.request("GET", "/events", headers={"Host": "evil.example"})
    assert connection.getresponse().status == 403
    connection.close()


def test_a_running_runs_tree_grows_without_a_reload(
    ui: UI, page: Any, gated: tuple[threading.Thread, threading.Event]
) -> None:
    page.goto(ui.page_url("/runs/gated"))
    expect(page.locator("h1 .status")).to_have_text("running")
    calls = page.locator("details.call")
    expect(calls).to_have_count(2)  # the top call and the first draw
    # No reload: the page has no refresh of its own while script runs.
    assert page.locator("meta[http-equiv='refresh']").count() == 0
    _mark(page)
    page.locator("details.call[data-path='0'] summary").first.click()
    flows.GATE.set()
    expect(page.locator("h1 .status")).to_have_text("finished", timeout=30_000)
    expect(calls).to_have_count(4)
    _not_reloaded(page)
    # An opened call stays open across the update.
    expect(page.locator("details.call[data-path='0']")).to_have_attribute("open", "")


def test_the_inbox_count_changes_live(ui: UI, page: Any) -> None:
    page.goto(ui.page_url("/batches"))
    badge = page.locator("#pending-count")
    expect(badge).to_be_hidden()
    _mark(page)
    first = runs.run(UIAskName(), enact.Str("lake"))
    expect(badge).to_be_visible()
    expect(badge).to_have_text("1")
    runs.run(UIAskName(), enact.Str("hill"))
    expect(badge).to_have_text("2")
    runs.answer(first.id, "Loch", resume=False)
    expect(badge).to_have_text("1")
    _not_reloaded(page)


def test_a_waiting_run_turns_finished_when_answered_elsewhere(
    ui: UI, page: Any
) -> None:
    run = runs.run(UIAskName(), enact.Str("bay"))
    page.goto(ui.page_url(f"/runs/{run.id}"))
    expect(page.locator("h1 .status")).to_have_text("waiting")
    expect(page.locator("#run-pending article.pending")).to_have_count(1)
    _mark(page)
    runs.answer(run.id, "Cove", resume=True)  # another person, another process
    expect(page.locator("h1 .status")).to_have_text("finished", timeout=30_000)
    expect(page.locator("#run-pending article.pending")).to_have_count(0)
    expect(page.locator("details.call[data-path=''] pre.output").first).to_have_text(
        "bay is called Cove"
    )
    _not_reloaded(page)


def test_an_answer_on_the_run_page_is_confirmed(ui: UI, page: Any) -> None:
    run = runs.run(UIAskName(), enact.Str("gulf"))
    page.goto(ui.page_url(f"/runs/{run.id}"))
    page.locator("textarea[name='a.value']").fill("Aden")
    page.get_by_role("button", name="Answer").click()
    expect(page.locator("p.answered")).to_contain_text("Your answer was taken")
    expect(page.locator("h1 .status")).to_have_text("finished", timeout=30_000)
    expect(page.locator("#pending-count")).to_be_hidden()
