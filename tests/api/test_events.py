"""``GET /api/events`` over a real socket: the state is sent at once and
again whenever it changes (waits on the events themselves, never on time)."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

import enact
from api import flows
from api.conftest import LiveAPI
from api.flows import ApiAskNumber, ApiGated, ApiPick
from enact import runs
from enact.contexts import with_new_contexts


class Events:
    """The ``state`` events of one open stream, read as they come."""

    def __init__(self, response: httpx.Response) -> None:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        self._lines: Iterator[str] = response.iter_lines()

    def next_state(self) -> dict[str, Any]:
        name = None
        for line in self._lines:
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: ") and name == "state":
                return dict(json.loads(line[len("data: ") :]))
        raise AssertionError("the stream ended")

    def until(self, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The first state (this one or a later one) that is ``wanted``."""
        while True:
            state = self.next_state()
            if wanted(state):
                return state


def _stream(live: LiveAPI, query: str = "") -> Any:
    # A read timeout fails a test that waits for an event that never comes.
    return httpx.stream(
        "GET", f"{live.url}/api/events{query}", timeout=httpx.Timeout(60.0)
    )


def test_the_inbox_count_is_sent_when_it_changes(live_api: LiveAPI) -> None:
    with _stream(live_api) as response:
        events = Events(response)
        assert events.next_state() == {"inbox": 0}
        waiting = runs.run(ApiAskNumber(), enact.Str("pears"))
        assert events.next_state() == {"inbox": 1}
        answered = httpx.post(
            f"{live_api.url}/api/runs/{waiting.id}/answer",
            json={"value": 4, "resume": False},
        )
        assert answered.status_code == 201
        assert events.next_state() == {"inbox": 0}


def test_every_open_stream_is_sent_each_change_from_one_read_a_tick(
    live_api: LiveAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = live_api.store.index
    calls = {"marks": 0, "queries": 0}

    def counted(name: str, wrapped: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return wrapped(*args, **kwargs)

        return call

    # The watcher reads the mark once a tick; the Inbox count is one query.
    for name, method in (("marks", "run_changes_mark"), ("queries", "query_runs")):
        monkeypatch.setattr(index, method, counted(name, getattr(index, method)))
    with contextlib.ExitStack() as stack:
        streams = [Events(stack.enter_context(_stream(live_api))) for _ in range(5)]
        for events in streams:
            assert events.next_state() == {"inbox": 0}
        opened = calls["queries"]  # each stream read its first state
        waiting = runs.run(ApiAskNumber(), enact.Str("figs"))
        for events in streams:
            assert events.until(lambda s: s["inbox"] == 1) == {"inbox": 1}
        answered = httpx.post(
            f"{live_api.url}/api/runs/{waiting.id}/answer",
            json={"value": 4, "resume": False},
        )
        assert answered.status_code == 201
        for events in streams:
            assert events.until(lambda s: s["inbox"] == 0) == {"inbox": 0}
        ticks, inbox_reads = calls["marks"], calls["queries"] - opened
    # Not one read per stream: at most one a tick, for all five.
    assert 1 <= inbox_reads <= ticks


def test_a_waiting_run_turns_finished_after_an_answer(live_api: LiveAPI) -> None:
    waiting = runs.run(ApiAskNumber(), enact.Str("plums"))
    with _stream(live_api, f"?run={waiting.id}") as response:
        events = Events(response)
        first = events.next_state()
        assert first["run"]["status"] == "waiting" and first["run"]["pending"] == 1
        assert first["inbox"] == 1
        answered = httpx.post(
            f"{live_api.url}/api/runs/{waiting.id}/answer", json={"value": 5}
        )
        assert answered.status_code == 201 and answered.json()["resumed"]
        done = events.until(lambda s: s["run"]["status"] == "finished")
        assert done["run"]["pending"] == 0 and done["inbox"] == 0
        assert done["run"]["ended"] is not None
        assert done["run"]["calls"] >= first["run"]["calls"]
    assert runs.get_run(waiting.id).output() == 10


def test_a_running_run_is_sent_as_its_tree_grows(live_api: LiveAPI) -> None:
    flows.GATE.clear()
    flows.REACHED.clear()
    store = live_api.store
    done = threading.Event()

    @with_new_contexts
    def work() -> None:
        with store:
            runs.run(ApiGated(ApiPick()), enact.Str("gate"), name="gated")
        done.set()

    thread = threading.Thread(target=work)
    thread.start()
    try:
        assert flows.REACHED.wait(60)
        with _stream(live_api, "?run=gated") as response:
            events = Events(response)
            first = events.next_state()["run"]
            assert first["status"] == "running"
            flows.GATE.set()
            last = events.until(lambda s: s["run"]["status"] == "finished")["run"]
            assert last["calls"] > first["calls"]
            assert last["key"] == f"finished/{last['calls']}/0"
    finally:
        flows.GATE.set()
        thread.join(60)
    assert done.is_set()


def test_an_unknown_run_is_refused_before_streaming(live_api: LiveAPI) -> None:
    response = httpx.get(f"{live_api.url}/api/events?run=no-such-run")
    assert response.status_code == 404
    assert "no-such-run" in response.json()["detail"]
    assert httpx.get(f"{live_api.url}/api/events?run=bad%20id").status_code == 422


def test_the_stream_keeps_the_api_policy(live_api: LiveAPI) -> None:
    with _stream(live_api) as response:
        assert response.headers["content-security-policy"].startswith(
            "default-src 'none'"
        )
        assert response.headers["cache-control"] == "no-store"


def test_a_foreign_host_gets_no_stream(live_api: LiveAPI) -> None:
    response = httpx.get(
        f"{live_api.url}/api/events", headers={"Host": "evil.example:80"}
    )
    assert response.status_code == 403


@pytest.mark.parametrize("token", ["a-long-enough-token-789"])
def test_a_token_is_needed_for_the_stream(api_store: Any, token: str) -> None:
    from api.conftest import start_live, stop_live

    live = start_live(api_store, token=token)
    try:
        assert httpx.get(f"{live.url}/api/events").status_code == 401
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.stream(
            "GET", f"{live.url}/api/events", headers=headers, timeout=60
        ) as response:
            assert Events(response).next_state() == {"inbox": 0}
    finally:
        stop_live(live)
