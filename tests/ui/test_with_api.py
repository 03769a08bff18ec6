"""The UI and the HTTP API are one server: the same port, the same access
rules, the same data."""

from __future__ import annotations

import html
import http.client
import json
import re
import threading
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

import enact
from enact import runs
from enact.references import Store
from ui.conftest import UI, start_ui, stop_ui
from ui.flows import UIAskNumber, UIDraw, UIDrawThree, UIFail
from ui.test_server import fetch

TOKEN = "one-token-for-pages-and-api"


def _json(server: Any, path: str, **kwargs: Any) -> tuple[int, Any]:
    status, _, body = fetch(server, path, **kwargs)
    return status, json.loads(body)


@pytest.fixture
def token_ui(ui_store: Store) -> Iterator[Any]:
    server = start_ui(ui_store, token=TOKEN)
    yield server
    stop_ui(server)


def test_the_api_answers_on_the_uis_port(ui: UI) -> None:
    done = runs.run(UIDrawThree(UIDraw()), enact.Str("x"))
    status, page = _json(ui.server, "/api/runs")
    assert status == 200
    assert [each["id"] for each in page["runs"]] == [done.id]
    status, _, body = fetch(ui.server, "/openapi.json")
    assert status == 200 and "/api/runs/{run_id}" in json.loads(body)["paths"]
    # The pages are not part of the API's description.
    assert not any(path.startswith("/runs") for path in json.loads(body)["paths"])


def test_the_runs_page_lists_what_the_api_lists(ui: UI) -> None:
    made = {
        runs.run(UIDrawThree(UIDraw()), enact.Str("a")).id,
        runs.run(UIFail(), enact.Str("b")).id,
        runs.run(UIAskNumber(), enact.Str("c")).id,
    }
    _, body = fetch(ui.server, "/")[::2]
    shown = re.findall(r'data-run="([^"]+)"', body)
    _, page = _json(ui.server, "/api/runs")
    assert shown == [each["id"] for each in page["runs"]]
    assert set(shown) == made


@pytest.mark.parametrize(
    "query", ["sort=component&order=asc", "sort=status", "order=asc", "q=UIFail"]
)
def test_the_runs_page_sorts_and_searches_as_the_api_does(ui: UI, query: str) -> None:
    for text in ("a", "b"):
        runs.run(UIDrawThree(UIDraw()), enact.Str(text))
        runs.run(UIFail(), enact.Str(text))
    runs.run(UIAskNumber(), enact.Str("c"))
    body = fetch(ui.server, "/?" + query)[2]
    _, page = _json(ui.server, "/api/runs?" + query)
    assert re.findall(r'data-run="([^"]+)"', body) == [r["id"] for r in page["runs"]]
    assert page["runs"]


def test_bad_sort_orders_are_refused_by_the_api(ui: UI) -> None:
    status, body = _json(ui.server, "/api/runs?sort=size")
    assert status == 422 and "sort" in body["detail"]


def test_the_inbox_shows_the_apis_pending_requests(ui: UI) -> None:
    waiting = runs.run(UIAskNumber(), enact.Str("c"))
    _, requests = _json(ui.server, "/api/requests")
    assert [(r["run_id"], r["path"]) for r in requests] == [(waiting.id, [0])]
    assert requests[0]["component"] == waiting.info().component
    status, _, body = fetch(ui.server, "/inbox")
    assert status == 200 and f'href="/runs/{waiting.id}"' in body
    assert waiting.info().component in body


def test_a_run_page_shows_the_apis_tree_and_children(ui: UI) -> None:
    run = runs.run(UIDrawThree(UIDraw()), enact.Str("x"))
    replayed = run.replay()
    body = fetch(ui.server, f"/runs/{run.id}")[2]
    _, tree = _json(ui.server, f"/api/runs/{run.id}/tree")
    paths = [".".join(map(str, node["path"])) for node in tree["nodes"]]
    assert re.findall(r'<details class="call[^"]*" data-path="([^"]*)"', body) == paths
    _, children = _json(ui.server, f"/api/runs?parent={run.id}")
    assert [child["id"] for child in children["runs"]] == [replayed.id]
    assert f'href="/runs/{replayed.id}"' in body


def test_an_answer_through_the_api_shows_on_the_page(ui: UI) -> None:
    waiting = runs.run(UIAskNumber(), enact.Str("c"))
    status, _, body = fetch(
        ui.server,
        f"/api/runs/{waiting.id}/answer",
        method="POST",
        headers={"Content-Type": "application/json"},
        form=None,
    )
    assert status == 422  # no body: the API says what is wrong, as JSON
    assert json.loads(body)["error"] == "invalid request"
    connection = http.client.HTTPConnection("127.0.0.1", ui.server.port, timeout=30)
    try:
        connection.request(
            "POST",
            f"/api/runs/{waiting.id}/answer",
            body=json.dumps({"value": 4, "path": [0]}),
            headers={"Content-Type": "application/json"},
        )
        response = connection.getresponse()
        assert response.status == 201, response.read()
        response.read()
    finally:
        connection.close()
    assert ui.server.jobs.join(20)
    assert runs.get_run(waiting.id).status is runs.RunStatus.FINISHED
    status, _, body = fetch(ui.server, f"/runs/{waiting.id}")
    assert status == 200 and "status-finished" in body


def test_one_token_for_pages_and_api(token_ui: Any) -> None:
    # Without it: the API says 401 in JSON, a page 403 in HTML.
    status, headers, body = fetch(token_ui, "/api/runs")
    assert status == 401 and json.loads(body)["error"] == "unauthorized"
    status, headers, body = fetch(token_ui, "/")
    assert status == 403 and headers["Content-Type"].startswith("text/html")
    # A program's bearer token opens both.
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert fetch(token_ui, "/api/runs", headers=bearer)[0] == 200
    assert fetch(token_ui, "/inbox", headers=bearer)[0] == 200
    # The cookie a browser got from the UI's address opens the API.
    _, headers, _ = fetch(token_ui, f"/?token={TOKEN}")
    cookie = headers["Set-Cookie"].split(";")[0]
    assert fetch(token_ui, "/api/runs", headers={"Cookie": cookie})[0] == 200
    wrong = {"Cookie": "enact_ui_token=wrong-wrong-wrong-wrong"}
    assert fetch(token_ui, "/api/runs", headers=wrong)[0] == 401


def test_a_form_cannot_change_anything_through_the_api(token_ui: Any) -> None:
    # Another site's page can post a form with the user's cookie: the API
    # takes changes as JSON only, and a page's form needs the CSRF token.
    run = runs.run(UIDrawThree(UIDraw()), enact.Str("x"))
    cookie = {"Cookie": f"enact_ui_token={TOKEN}"}
    status, _, body = fetch(
        token_ui, f"/api/runs/{run.id}/replay", method="POST", form={}, headers=cookie
    )
    assert status == 415 and json.loads(body)["error"] == "unsupported media type"
    status, _, _ = fetch(
        token_ui,
        f"/runs/{run.id}/replay",
        method="POST",
        headers={**cookie, "Content-Type": "application/json"},
    )
    assert status == 415
    assert runs.list_runs(parent=run.id) == []


def test_each_kind_of_response_has_its_policy(ui: UI) -> None:
    _, page_headers, _ = fetch(ui.server, "/")
    _, api_headers, _ = fetch(ui.server, "/api/runs")
    assert "style-src 'self'" in page_headers["Content-Security-Policy"]
    assert api_headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "script-src" not in api_headers["Content-Security-Policy"]
    for headers in (page_headers, api_headers):
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Cache-Control"] == "no-store"
    # Not found: a page for a page's path, JSON for the API's.
    status, headers, _ = fetch(ui.server, "/no-such-page")
    assert status == 404 and headers["Content-Type"].startswith("text/html")
    status, body = _json(ui.server, "/api/no-such-endpoint")
    assert status == 404 and "error" in body


def test_a_failing_page_shows_no_traceback(
    ui_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from enact.ui import _pages

    def broken(self: Any, request: Any) -> Any:
        raise RuntimeError("secret detail of the failure")

    monkeypatch.setattr(_pages.Pages, "inbox", broken)
    server = start_ui(ui_store)
    try:
        status, headers, body = fetch(server, "/inbox")
    finally:
        stop_ui(server)
    assert status == 500 and headers["Content-Type"].startswith("text/html")
    assert "Something went wrong" in body
    assert "secret detail" not in body and "Traceback" not in body
    assert "default-src 'none'" in headers["Content-Security-Policy"]


def test_shutdown_ends_open_event_streams(ui_store: Store) -> None:
    server = start_ui(ui_store)
    connections = []
    streams = []
    for path in ("/events", "/api/events"):
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        connection.request("GET", path)
        response = connection.getresponse()
        assert response.status == 200
        assert response.readline() == b"retry: 2000\n"  # the stream is open
        connections.append(connection)
        streams.append(response)
    stopped = threading.Thread(target=server.shutdown)
    stopped.start()
    try:
        for response in streams:
            # Each stream ends properly (its last chunk sent), not cut off.
            rest = response.read()
            assert b"retry" not in rest
    finally:
        stopped.join(60)
        for connection in connections:
            connection.close()
        server.server_close()
    assert not stopped.is_alive()


@enact.register
def api_length(topic: Any, answer: Any) -> float:
    """A scorer for these tests: the answer's length."""
    return float(len(str(answer)))


def test_an_evaluation_page_shows_what_the_api_says(ui: UI) -> None:
    scored = [runs.run(UIDraw(), enact.Str("x" * n)) for n in (1, 5, 9)]
    result = enact.evaluate(scored, api_length)
    status, listed = _json(ui.server, "/api/evaluations")
    assert status == 200
    assert [(e["id"], e["samples"]) for e in listed] == [(result.id, 3)]
    status, found = _json(ui.server, f"/api/evaluations/{result.id}")
    assert status == 200
    (mean,) = found["summary"]
    (summary,) = result.summary()
    assert (mean["scorer"], mean["mean"]) == ("api_length", summary.mean)
    assert [row["run"] for row in found["rows"]] == [s.id for s in scored]
    assert found["best"][0]["run"] == result.best(1)[0]["run"]
    assert {s["scoring_run"] for s in found["scorings"]} == {
        each.scoring_run for each in result.scores
    }
    body = fetch(ui.server, f"/evaluations/{result.id}")[2]
    assert f"{mean['mean']:.4g}" in body
    for row in found["rows"]:
        assert f'href="/runs/{row["run"]}#call-top"' in body
    assert _json(ui.server, "/api/evaluations/" + "0" * 12)[0] == 404
    assert _json(ui.server, "/api/evaluations/nope")[0] == 422


def _post_json(server: Any, path: str, body: Any) -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request(
            "POST",
            path,
            body=json.dumps(body),
            headers={"Content-Type": "application/json"},
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_the_invoke_page_and_the_api_start_the_same_components(ui: UI) -> None:
    status, listed = _json(ui.server, "/api/components")
    assert status == 200
    body = fetch(ui.server, "/invoke")[2]
    # Links carry the type id URL-encoded (a test's local class has <locals>).
    linked = re.findall(r'href="/invoke\?component=([^"]+)"', body)
    shown = [urllib.parse.unquote(html.unescape(each)) for each in linked]
    assert shown == [each["type_id"] for each in listed]
    (repeat,) = [each for each in listed if each["type_id"] == "ui.flows.UIRepeat"]
    assert "times" in repeat["fields"] and repeat["input_type"]
    status, started = _post_json(
        ui.server,
        "/api/invoke",
        {
            "component": "ui.flows.UIRepeat",
            "fields": {"times": 3, "separator": "-"},
            "input": "ha",
        },
    )
    assert status == 202, started
    assert ui.server.jobs.join(20)
    run = runs.get_run(started["run_id"])
    assert run.status is runs.RunStatus.FINISHED and run.output() == "ha-ha-ha"
    page = fetch(ui.server, f"/runs/{run.id}")[2]
    assert "UIRepeat" in page and "ha-ha-ha" in page


def test_bad_invocations_are_refused_with_a_reason(ui: UI) -> None:
    status, body = _post_json(
        ui.server, "/api/invoke", {"component": "no.such.Thing", "input": "x"}
    )
    assert status == 404 and "no.such.Thing" in body["detail"]
    status, body = _post_json(
        ui.server,
        "/api/invoke",
        {"component": "ui.flows.UIRepeat", "fields": {"times": "many"}, "input": "x"},
    )
    assert status == 422 and "times" in body["detail"]
    status, body = _post_json(
        ui.server,
        "/api/invoke",
        {"component": "ui.flows.UIRepeat", "input": {"not": "text"}},
    )
    assert status == 422 and "input" in body["detail"].lower()
    assert runs.list_runs() == []


def test_head_answers_like_get_without_a_body_and_names_no_server(ui: UI) -> None:
    for path in ("/", "/inbox", "/static/style.css"):
        status, headers, body = fetch(ui.server, path, method="HEAD")
        assert (status, body) == (200, ""), path
        assert "Server" not in headers, path
        assert "default-src 'none'" in headers["Content-Security-Policy"]
