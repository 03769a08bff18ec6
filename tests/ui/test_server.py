"""The server's routes and security rules, over plain HTTP (no browser)."""

from __future__ import annotations

import html
import http.client
import random
import re
import urllib.parse
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

import enact
import enact.ui
from enact import runs
from enact.references import Store
from ui.conftest import UI, start_ui, stop_ui
from ui.flows import (
    SCRIPT,
    UIAskNumber,
    UIAskPoint,
    UIDraw,
    UIDrawThree,
    UIEcho,
    UIFail,
    UIPoint,
)

TOKEN = "s3cret-token-for-tests"


def fetch(
    server: Any,
    path: str,
    *,
    method: str = "GET",
    form: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Mapping[str, str], str]:
    """One raw request (the path is sent exactly as given); the headers
    answer to their names in any case, as HTTP's do."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        body = None
        sent = dict(headers or {})
        if form is not None:
            body = urllib.parse.urlencode(form)
            sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        text = response.read().decode()
        return response.status, response.headers, text
    finally:
        connection.close()


def csrf_of(server: Any) -> str:
    return str(server.csrf)


@pytest.fixture
def token_ui(ui_store: Store) -> Iterator[Any]:
    server = start_ui(ui_store, token=TOKEN)
    yield server
    stop_ui(server)


# -- binding ----------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "example.com", "::"])
def test_non_loopback_bind_without_token_is_refused(ui_store: Store, host: str) -> None:
    with pytest.raises(enact.ui.UIError, match="without an access token"):
        enact.ui.make_server(ui_store, host=host, port=0)


@pytest.mark.parametrize("token", ["short", "has space in it ok?", "x" * 300])
def test_weak_or_unsafe_tokens_are_refused(ui_store: Store, token: str) -> None:
    with pytest.raises(enact.ui.UIError, match="access token"):
        enact.ui.make_server(ui_store, port=0, token=token)


def test_url_names_the_port_and_the_token(ui_store: Store) -> None:
    server = enact.ui.make_server(ui_store, port=0, token=TOKEN)
    try:
        assert server.url == f"http://127.0.0.1:{server.port}/?token={TOKEN}"
    finally:
        server.server_close()
    server = enact.ui.make_server(ui_store, port=0)
    try:
        assert server.url == f"http://127.0.0.1:{server.port}/"
    finally:
        server.server_close()


# -- the access token ---------------------------------------------------------


def test_token_is_required_on_every_request(token_ui: Any) -> None:
    for path in ["/", "/inbox", "/invoke", "/static/style.css", "/?token=wrong"]:
        status, _, body = fetch(token_ui, path)
        assert status == 403, path
        assert "Access token needed" in body
    status, _, _ = fetch(token_ui, "/", headers={"Cookie": "enact_ui_token=wrong"})
    assert status == 403


def test_token_in_the_query_sets_a_strict_cookie(token_ui: Any) -> None:
    status, headers, _ = fetch(token_ui, f"/inbox?token={TOKEN}&x=1")
    assert status == 303
    assert headers["Location"] == "/inbox?x=1"  # the token leaves the address bar
    cookie = headers["Set-Cookie"]
    assert cookie.startswith(f"enact_ui_token={TOKEN};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    status, _, body = fetch(
        token_ui, "/inbox", headers={"Cookie": f"enact_ui_token={TOKEN}"}
    )
    assert status == 200 and "Inbox" in body


def test_token_server_accepts_any_host_header(token_ui: Any) -> None:
    status, _, _ = fetch(
        token_ui,
        "/",
        headers={"Cookie": f"enact_ui_token={TOKEN}", "Host": "lab.example:8765"},
    )
    assert status == 200


def test_loopback_server_refuses_foreign_host_headers(ui: UI) -> None:
    # A page on evil.example that resolves to 127.0.0.1 (DNS rebinding).
    status, _, _ = fetch(ui.server, "/", headers={"Host": "evil.example:8765"})
    assert status == 403
    for host in ["localhost:1", "127.0.0.1", "[::1]:80"]:
        status, _, _ = fetch(ui.server, "/", headers={"Host": host})
        assert status == 200, host


# -- CSRF, methods, sizes -----------------------------------------------------


def test_posts_need_the_csrf_token(ui: UI) -> None:
    run = runs.run(UIDrawThree(UIDraw()), enact.Str("x"))
    status, _, body = fetch(ui.server, f"/runs/{run.id}/replay", method="POST", form={})
    assert status == 403 and "Form expired" in body
    status, _, _ = fetch(
        ui.server, f"/runs/{run.id}/replay", method="POST", form={"_csrf": "nope"}
    )
    assert status == 403
    assert runs.list_runs(parent=run.id) == []


def test_state_changes_need_post(ui: UI) -> None:
    run = runs.run(UIDrawThree(UIDraw()), enact.Str("x"))
    for action in ["fork", "replay", "resume", "answer"]:
        status, _, _ = fetch(ui.server, f"/runs/{run.id}/{action}")
        assert status == 405
    status, _, _ = fetch(ui.server, "/", method="POST", form={"_csrf": ui.server.csrf})
    assert status == 405


def test_large_or_non_form_bodies_are_refused(ui: UI) -> None:
    status, _, _ = fetch(
        ui.server,
        "/invoke",
        method="POST",
        headers={"Content-Length": str(10**8), "Content-Type": "text/plain"},
    )
    assert status == 413
    status, _, _ = fetch(
        ui.server, "/invoke", method="POST", headers={"Content-Type": "text/plain"}
    )
    assert status == 415


def test_responses_carry_a_strict_content_security_policy(ui: UI) -> None:
    _, headers, _ = fetch(ui.server, "/")
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"


# -- files and ids --------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/static/../../../../etc/passwd",
        "/static/..%2f..%2f..%2fetc%2fpasswd",
        "/static/%2e%2e/%2e%2e/etc/passwd",
        "/static//etc/passwd",
        "/static/style.css/../../pyproject.toml",
        "/static/__init__.py",
        "/static/../_server.py",
        "/static/",
        "/static/STYLE.CSS",
        "/../../etc/passwd",
        "/runs/../../etc/passwd",
        "/runs/..%2f..%2fetc%2fpasswd",
        "/objects/../../etc/passwd",
        "/objects/" + "A" * 64,
        "/objects/" + "0" * 63,
        "/invocations/" + "g" * 64,
        "/templates/base.html",
        "/favicon.ico",
    ],
)
def test_no_path_reaches_the_file_system(ui: UI, path: str) -> None:
    status, _, body = fetch(ui.server, path)
    assert status == 404, (path, body[:200])
    assert "root:" not in body and "import" not in body


def test_static_assets_are_served(ui: UI) -> None:
    status, headers, body = fetch(ui.server, "/static/style.css")
    assert status == 200 and headers["Content-Type"].startswith("text/css")
    assert "--accent" in body
    status, headers, _ = fetch(ui.server, "/static/enhance.js")
    assert status == 200 and "javascript" in headers["Content-Type"]


def test_unknown_refs_and_runs_are_404(ui: UI) -> None:
    assert fetch(ui.server, "/objects/" + "0" * 64)[0] == 404
    assert fetch(ui.server, "/invocations/" + "0" * 64)[0] == 404
    assert fetch(ui.server, "/runs/no-such-run")[0] == 404


def test_objects_and_invocations_by_ref(ui: UI) -> None:
    run = runs.run(UIDrawThree(UIDraw()), enact.Str("x"))
    digest = run.info().invocation.digest
    status, _, body = fetch(ui.server, f"/invocations/{digest}")
    assert status == 200 and "UIDrawThree" in body and "UIDraw" in body
    value = enact.commit(enact.Str(SCRIPT))
    status, _, body = fetch(ui.server, f"/objects/{value.digest}")
    assert status == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    # An invocation asked for as an object redirects to its tree.
    status, headers, _ = fetch(ui.server, f"/objects/{digest}")
    assert status == 303 and headers["Location"] == f"/invocations/{digest}"


# -- pages ----------------------------------------------------------------------


def test_values_are_escaped_in_every_page(ui: UI) -> None:
    done = runs.run(UIEcho(), enact.Str(SCRIPT), tags=[SCRIPT])
    waiting = runs.run(UIEcho(ask=True), enact.Str(SCRIPT))
    for path in ["/", f"/runs/{done.id}", f"/runs/{waiting.id}", "/inbox"]:
        status, _, body = fetch(ui.server, path)
        assert status == 200
        assert SCRIPT not in body, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body, path


def test_runs_list_filters(ui: UI) -> None:
    finished = runs.run(UIDrawThree(UIDraw()), enact.Str("x"), tags=["keep"])
    failed = runs.run(UIFail(), enact.Str("x"))
    waiting = runs.run(UIAskNumber(), enact.Str("x"))

    def listed(query: str) -> set[str]:
        status, _, body = fetch(ui.server, "/?" + query)
        assert status == 200
        return set(re.findall(r'data-run="([^"]+)"', body))

    everything = {finished.id, failed.id, waiting.id}
    assert listed("") == everything
    assert listed("status=failed") == {failed.id}
    assert listed("status=waiting") == {waiting.id}
    assert listed("component=UIAsk") == {waiting.id}
    assert listed("tag=keep") == {finished.id}
    assert listed("since=2000-01-01&until=2999-01-01") == everything
    assert listed("until=2000-01-01") == set()
    assert listed("status=bogus") == everything  # an unknown status is ignored


def test_runs_list_shows_the_newest_runs_first(
    ui: UI, monkeypatch: pytest.MonkeyPatch
) -> None:
    from enact.ui import _pages

    monkeypatch.setattr(_pages, "MAX_RUNS", 2)
    made = [runs.run(UIEcho(), enact.Str(str(n))).id for n in range(3)]
    status, _, body = fetch(ui.server, "/")
    assert status == 200
    assert re.findall(r'data-run="([^"]+)"', body) == made[::-1][:2]
    assert "2 runs shown" in body and "Older" in body


def test_failed_run_shows_its_exception(ui: UI) -> None:
    run = runs.run(UIFail(), enact.Str("oops"))
    status, _, body = fetch(ui.server, f"/runs/{run.id}")
    assert status == 200
    assert "no good: oops" in body and "status-failed" in body


def _answer(ui: UI, run_id: str, value: str, path: str = "0") -> tuple[int, str]:
    status, _, body = fetch(
        ui.server,
        f"/runs/{run_id}/answer",
        method="POST",
        form={"_csrf": ui.server.csrf, "path": path, "a.value": value},
    )
    return status, body


def test_wrong_type_answer_shows_the_error_and_the_run_keeps_waiting(ui: UI) -> None:
    run = runs.run(UIAskNumber(), enact.Str("apples"))
    status, body = _answer(ui, run.id, "many")
    assert status == 400
    assert "is not a whole number" in body
    assert 'value="many"' in body  # what was typed is shown again
    assert runs.get_run(run.id).status is runs.RunStatus.WAITING
    assert len(runs.pending_inputs(run.id)) == 1


def test_answer_resumes_the_run_in_the_ui_process(ui: UI) -> None:
    run = runs.run(UIAskNumber(), enact.Str("apples"))
    status, _ = _answer(ui, run.id, "7")
    assert status == 303
    assert ui.server.jobs.join(20)
    assert runs.get_run(run.id).status is runs.RunStatus.FINISHED
    assert runs.get_run(run.id).output() == 7
    # A second answer to the same request finds nothing to answer.
    status, body = _answer(ui, run.id, "8")
    assert status == 409 and "no pending input request" in body


def test_fork_replay_and_invoke_start_new_runs(ui: UI) -> None:
    run = runs.run(UIDrawThree(UIDraw()), enact.Str("x"))
    csrf = {"_csrf": ui.server.csrf}
    status, headers, _ = fetch(
        ui.server, f"/runs/{run.id}/fork", method="POST", form={**csrf, "at": "2"}
    )
    assert status == 303
    fork_id = headers["Location"].rsplit("/", 1)[-1]
    status, headers, _ = fetch(
        ui.server, f"/runs/{run.id}/replay", method="POST", form=csrf
    )
    assert status == 303
    replay_id = headers["Location"].rsplit("/", 1)[-1]
    assert ui.server.jobs.join(20)
    relations = {info.id: info.relation for info in runs.list_runs(parent=run.id)}
    assert relations == {fork_id: "fork", replay_id: "replay"}
    assert runs.get_run(replay_id).output() == run.output()
    status, _, _ = fetch(
        ui.server, f"/runs/{run.id}/fork", method="POST", form={**csrf, "at": "x.1"}
    )
    assert status == 400

    status, headers, _ = fetch(
        ui.server,
        "/invoke",
        method="POST",
        form={
            **csrf,
            "component": "ui.flows.UIRepeat",
            "c.times": "2",
            "c.separator": "-",
            "i.value": "ab",
        },
    )
    assert status == 303
    new_id = headers["Location"].rsplit("/", 1)[-1]
    assert ui.server.jobs.join(20)
    assert runs.get_run(new_id).output() == "ab-ab"


def test_a_waiting_run_page_does_not_refresh_itself(ui: UI) -> None:
    # A person may be typing an answer into it.
    run = runs.run(UIAskNumber(), enact.Str("pears"))
    status, _, body = fetch(ui.server, f"/runs/{run.id}")
    assert status == 200
    assert 'http-equiv="refresh"' not in body
    assert "How many?" in body


def test_answer_of_a_resource_type_has_one_input_per_field(ui: UI) -> None:
    run = runs.run(UIAskPoint(), enact.Str("where?"))
    status, _, body = fetch(ui.server, "/inbox")
    assert 'name="a.x"' in body and 'name="a.y"' in body and 'name="a.label"' in body
    status, _, _ = fetch(
        ui.server,
        f"/runs/{run.id}/answer",
        method="POST",
        form={
            "_csrf": ui.server.csrf,
            "path": "0",
            "a.x": "3",
            "a.y": "4",
            "a.label": "here",
        },
    )
    assert status == 303
    assert ui.server.jobs.join(20)
    assert runs.get_run(run.id).output() == UIPoint(3, 4, "here")


def test_runs_list_shows_the_others_and_names_a_damaged_record(ui: UI) -> None:
    kept = runs.run(UIEcho(), enact.Str("kept"))
    broken = runs.run(UIEcho(), enact.Str("broken"))
    ui.store.index.update_run(broken.id, lambda old: b"{not json")
    status, _, body = fetch(ui.server, "/")
    assert status == 200
    assert re.findall(r'data-run="([^"]+)"', body) == [kept.id]
    # Naming damage reads every record: only when counting.
    status, _, body = fetch(ui.server, "/?count=1")
    assert re.findall(r'data-run="([^"]+)"', body) == [kept.id]
    assert "1 run shown of 1 matching" in body
    assert "1 run record in this store cannot be read" in body
    assert broken.id in body
    status, _, body = fetch(ui.server, f"/runs/{broken.id}")
    assert status == 500
    assert "Damaged run record" in body and broken.id in body


def _listed(ui: UI, query: str) -> list[str]:
    status, _, body = fetch(ui.server, "/?" + query)
    assert status == 200
    return re.findall(r'data-run="([^"]+)"', body)


def test_every_run_is_reached_through_the_pages(
    ui: UI, monkeypatch: pytest.MonkeyPatch
) -> None:
    from enact.ui import _pages

    monkeypatch.setattr(_pages, "MAX_RUNS", 4)
    made = [runs.run(UIEcho(), enact.Str(str(n))).id for n in range(10)]
    seen: list[str] = []
    pages: list[str] = []
    link: str | None = "/"
    while link is not None:
        status, _, body = fetch(ui.server, link)
        assert status == 200
        pages.append(body)
        seen += re.findall(r'data-run="([^"]+)"', body)
        older = re.search(r'<a href="([^"]+)" class="[^"]*" rel="next"', body)
        link = None if older is None else html.unescape(older.group(1))
    assert seen == made[::-1] and len(pages) == 3
    # Back from the last page: the newer runs, in the same order.
    newer = re.search(r'<a href="([^"]+)" class="[^"]*" rel="prev"', body)
    assert newer is not None
    _, _, body = fetch(ui.server, html.unescape(newer.group(1)))
    assert re.findall(r'data-run="([^"]+)"', body) == made[::-1][4:8]
    assert _listed(ui, "after=nonsense") == made[::-1][:4]  # a bad cursor: page 1


def test_runs_are_searched_and_sorted(ui: UI) -> None:
    alpha = runs.run(UIEcho(), enact.Str("a"), name="alpha-one", tags=["red"]).id
    beta = runs.run(UIFail(), enact.Str("b"), name="beta-two").id
    gamma = runs.run(UIEcho(), enact.Str("c"), tags=["red", "blue"]).id
    assert _listed(ui, "q=ALPHA") == [alpha]
    assert _listed(ui, "q=red") == [gamma, alpha]
    assert _listed(ui, "q=red+blue") == [gamma]  # every word must occur
    assert _listed(ui, "q=no+good") == [beta]  # the failed run's error
    assert _listed(ui, "order=asc") == [alpha, beta, gamma]
    assert _listed(ui, "sort=name&order=asc") == [gamma, alpha, beta]
    assert _listed(ui, "sort=component")[0] == beta  # UIFail after UIEcho
    assert _listed(ui, "sort=bogus") == [gamma, beta, alpha]  # ignored


def test_time_filters_to_the_minute(ui: UI) -> None:
    import datetime

    run = runs.run(UIEcho(), enact.Str("a"))
    started = datetime.datetime.fromtimestamp(run.info().started)
    minute = started.strftime("%Y-%m-%dT%H:%M")
    before = (started - datetime.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")
    after = (started + datetime.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")
    assert _listed(ui, f"since={minute}&until={minute}") == [run.id]
    assert _listed(ui, f"until={before}") == []
    assert _listed(ui, f"since={after}") == []
    assert _listed(ui, f"since={before}&until={after}") == [run.id]


def test_compare_shows_kept_calls_and_where_a_fork_diverges(ui: UI) -> None:
    random.seed(5)
    run = runs.run(UIDrawThree(UIDraw()), enact.Str("x"))
    fork = run.fork(at=(1,))
    status, _, body = fetch(ui.server, f"/compare?left={run.id}&right={fork.id}")
    assert status == 200
    kinds = dict(re.findall(r'data-path="([^"]*)" data-kind="([^"]+)"', body))
    assert kinds[""] == "changed" and kinds["0"] == "same"
    assert kinds["1"] == "changed" and kinds["2"] == "changed"
    assert re.search(r'class="kind-changed diverges" data-path="1"', body)
    assert "call <code>1</code>" in body  # diverge at
    assert "1 kept (the same in both), 3 differ" in body
    _, _, page = fetch(ui.server, f"/runs/{fork.id}")
    assert f"/compare?left={run.id}&amp;right={fork.id}" in page


def test_compare_of_equal_journals_and_of_unknown_runs(ui: UI) -> None:
    run = runs.run(UIEcho(), enact.Str("same"))
    replay = run.replay()
    status, _, body = fetch(ui.server, f"/compare?left={run.id}&right={replay.id}")
    assert status == 200 and "nowhere: the journals are equal" in body
    status, _, _ = fetch(ui.server, f"/compare?left={run.id}&right=nope")
    assert status == 404
    status, _, _ = fetch(ui.server, "/compare?left=%3Cscript%3E&right=x")
    assert status == 404


def test_invoke_refuses_an_empty_required_input(ui: UI) -> None:
    form = {"_csrf": ui.server.csrf, "component": "ui.flows.UIRepeat", "i.value": ""}
    status, _, body = fetch(ui.server, "/invoke", method="POST", form=form)
    assert status == 400
    assert "is required" in body
    assert runs.list_runs() == []
    _, _, page = fetch(ui.server, "/invoke?component=ui.flows.UIRepeat")
    assert re.search(r'<textarea name="i.value" rows="2" required>', page)
