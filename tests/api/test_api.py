"""The HTTP API in process: every endpoint, its errors, its access checks."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

import enact
from api.flows import ApiAskNumber, ApiFail, ApiPick, ApiPickThree
from enact import runs
from enact.references import Store


def _jobs_done(client: Any) -> None:
    assert client.app.state.jobs.join(60)


def _make_runs(count: int) -> list[str]:
    ids = []
    for number in range(count):
        run = runs.run(ApiPick(), enact.Str(f"t{number}"), tags=[f"n{number % 3}"])
        ids.append(run.id)
    return ids


def test_an_empty_store_lists_no_runs(client: Any) -> None:
    page = client.get("/api/runs").json()
    assert page == {"runs": [], "next_cursor": None, "total": None, "damaged": []}
    page = client.get("/api/runs?count=true").json()
    assert page == {"runs": [], "next_cursor": None, "total": 0, "damaged": []}


def test_runs_are_listed_newest_first_with_their_fields(client: Any) -> None:
    first = runs.run(ApiPick(), enact.Str("a"), name="first", tags=["x"])
    second = runs.run(ApiFail(), enact.Str("b"))
    listed = client.get("/api/runs").json()["runs"]
    assert [r["id"] for r in listed] == [second.id, first.id]
    assert listed[1]["name"] == "first" and listed[1]["tags"] == ["x"]
    assert listed[1]["status"] == "finished" and listed[0]["status"] == "failed"
    assert "no luck with b" in listed[0]["error"]
    assert listed[1]["component"].endswith("ApiPick")


def test_filters_and_search(client: Any) -> None:
    runs.run(ApiPick(), enact.Str("a"), name="alpha-run", tags=["keep"])
    runs.run(ApiFail(), enact.Str("b"), tags=["drop"])
    get = client.get
    assert [r["name"] for r in get("/api/runs?tag=keep").json()["runs"]] == [
        "alpha-run"
    ]
    assert len(get("/api/runs?status=failed").json()["runs"]) == 1
    assert len(get("/api/runs?component=ApiFail").json()["runs"]) == 1
    assert [r["name"] for r in get("/api/runs?q=ALPHA").json()["runs"]] == ["alpha-run"]
    assert get("/api/runs?q=no+luck&count=true").json()["total"] == 1  # the error text
    assert get("/api/runs?q=nothing-like-it&count=true").json()["total"] == 0


def test_a_count_reads_no_record_where_the_table_answers(
    client: Any, api_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from enact._runs import paging

    _make_runs(3)
    runs.run(ApiFail(), enact.Str("b"))
    api_store.index.update_run("broken", lambda _old: b"{not json")
    assert client.get("/api/runs?count=true").json()["total"] == 4  # the table

    def refused(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("every record read")

    monkeypatch.setattr(runs, "list_runs", refused)
    monkeypatch.setattr(paging, "read_runs", refused)
    monkeypatch.setattr(api_store.index, "scan_runs", refused)
    page = client.get("/api/runs?status=failed&q=luck&count=true").json()
    assert page["total"] == 1
    assert [d["run_id"] for d in page["damaged"]] == ["broken"]
    assert client.get("/api/runs?tag=n1&count=true").json()["total"] == 1


def test_pages_cover_every_run_once(client: Any) -> None:
    made = set(_make_runs(23))
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        url = "/api/runs?limit=10&count=true" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url).json()
        assert page["total"] == 23
        seen += [r["id"] for r in page["runs"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == 23 and set(seen) == made


def test_a_page_continues_after_its_cursor_when_runs_are_added(client: Any) -> None:
    _make_runs(6)
    first = client.get("/api/runs?limit=3").json()
    _make_runs(2)  # newer: they belong before the first page, not in the next
    second = client.get(f"/api/runs?limit=3&cursor={first['next_cursor']}").json()
    ids = [r["id"] for r in first["runs"] + second["runs"]]
    assert len(set(ids)) == 6


def test_a_bad_cursor_or_filter_is_a_400_or_422_naming_it(client: Any) -> None:
    response = client.get("/api/runs?cursor=%27nonsense")
    assert response.status_code == 400
    assert "cursor" in response.json()["detail"]
    response = client.get("/api/runs?status=bogus")
    assert response.status_code == 422
    assert "status" in response.json()["detail"]
    assert client.get("/api/runs?limit=0").status_code == 422


def test_one_run_in_detail(client: Any) -> None:
    run = runs.run(ApiPickThree(ApiPick()), enact.Str("fox"))
    detail = client.get(f"/api/runs/{run.id}").json()
    assert detail["id"] == run.id and detail["status"] == "finished"
    assert detail["input_text"] == "fox"
    assert detail["output_text"] == str(run.output())
    assert detail["request"] == run.info().request.digest
    assert detail["invocation"] == run.info().invocation.digest
    assert detail["requests"] == []


def test_a_run_is_found_by_name(client: Any) -> None:
    run = runs.run(ApiPick(), enact.Str("a"), name="named")
    assert client.get("/api/runs/named").json()["id"] == run.id


def test_an_unknown_run_is_a_404_naming_it(client: Any) -> None:
    response = client.get("/api/runs/no-such-run")
    assert response.status_code == 404
    assert response.json()["error"] == "not found"
    assert "no-such-run" in response.json()["detail"]
    # Ids that are not ids never reach the store.
    assert client.get("/api/runs/..%2F..%2Fetc").status_code in (404, 422)


def test_the_tree_pages_through_the_calls_depth_first(client: Any) -> None:
    run = runs.run(ApiPickThree(ApiPick()), enact.Str("fox"))
    tree = client.get(f"/api/runs/{run.id}/tree").json()
    assert tree["total"] == 4 and tree["next_offset"] is None
    assert [node["path"] for node in tree["nodes"]] == [[], [0], [1], [2]]
    assert [node["depth"] for node in tree["nodes"]] == [0, 1, 1, 1]
    root = tree["nodes"][0]
    assert root["name"] == "ApiPickThree" and root["children"] == 3
    assert all(node["start"] is not None for node in tree["nodes"])
    page = client.get(f"/api/runs/{run.id}/tree?offset=1&limit=2").json()
    assert [node["path"] for node in page["nodes"]] == [[0], [1]]
    assert page["next_offset"] == 3


def test_fork_keeps_the_calls_before_the_branch_point(client: Any) -> None:
    run = runs.run(ApiPickThree(ApiPick()), enact.Str("fox"))
    response = client.post(f"/api/runs/{run.id}/fork", json={"at": [2]})
    assert response.status_code == 202
    _jobs_done(client)
    new_id = response.json()["run_id"]
    assert new_id is not None and new_id != run.id
    branch = runs.get_run(new_id)
    assert branch.info().parent == run.id and branch.info().relation == "fork"
    old_words = str(run.output()).split()
    new_words = str(branch.output()).split()
    assert new_words[:2] == old_words[:2]


def test_replay_and_resume(client: Any) -> None:
    run = runs.run(ApiPickThree(ApiPick()), enact.Str("fox"))
    response = client.post(f"/api/runs/{run.id}/replay", json={})
    assert response.status_code == 202
    _jobs_done(client)
    replayed = runs.get_run(response.json()["run_id"])
    assert replayed.info().relation == "replay"
    assert replayed.output() == run.output()
    response = client.post(f"/api/runs/{run.id}/resume", json={})
    assert response.status_code == 409
    assert "finished" in response.json()["detail"]


def test_answering_an_input_request(client: Any) -> None:
    run = runs.run(ApiAskNumber(), enact.Str("apples"))
    assert run.status is runs.RunStatus.WAITING
    requests = client.get("/api/requests").json()
    assert len(requests) == 1
    request = requests[0]
    assert request["run_id"] == run.id and request["context"] == "How many?"
    assert "enact.resource_types.Int" in request["requested_type"]
    assert "whole number" in request["answer_format"]
    wrong = client.post(f"/api/runs/{run.id}/answer", json={"value": "many"})
    assert wrong.status_code == 422
    assert "many" in wrong.json()["detail"]
    right = client.post(f"/api/runs/{run.id}/answer", json={"value": 21})
    assert right.status_code == 201
    assert right.json() == {"run_id": run.id, "path": request["path"], "resumed": True}
    _jobs_done(client)
    assert run.status is runs.RunStatus.FINISHED
    assert run.output() == 42
    again = client.post(f"/api/runs/{run.id}/answer", json={"value": 3})
    assert again.status_code == 409
    assert client.get("/api/requests").json() == []


def test_open_requests_never_read_every_record(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    waiting = runs.run(ApiAskNumber(), enact.Str("plums"))
    runs.run(ApiPick(), enact.Str("a"))

    def every_record(**_: Any) -> None:
        raise AssertionError("the open requests read every run record")

    # Listing requests costs what waits, not the store: no full listing.
    monkeypatch.setattr(runs, "list_runs", every_record)
    (request,) = client.get("/api/requests").json()
    assert request["run_id"] == waiting.id
    assert request["component"].endswith("ApiAskNumber")


def test_an_answer_without_resume_keeps_the_run_for_later(client: Any) -> None:
    run = runs.run(ApiAskNumber(), enact.Str("pears"))
    response = client.post(
        f"/api/runs/{run.id}/answer", json={"value": 5, "resume": False}
    )
    assert response.json()["resumed"] is False
    detail = client.get(f"/api/runs/{run.id}").json()
    assert detail["status"] == "waiting" and detail["requests"] == []
    assert client.post(f"/api/runs/{run.id}/resume", json={}).status_code == 202
    _jobs_done(client)
    assert run.output() == 10


def test_objects_are_served_verified_and_in_ranges(client: Any) -> None:
    ref = enact.commit(enact.Str("x" * 5000))
    response = client.get(f"/api/objects/{ref.digest}")
    assert response.status_code == 200
    assert hashlib.sha256(response.content).hexdigest() == ref.digest
    whole = response.content
    part = client.get(f"/api/objects/{ref.digest}", headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == whole[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(whole)}"
    tail = client.get(f"/api/objects/{ref.digest}", headers={"Range": "bytes=-5"})
    assert tail.content == whole[-5:]
    bad = client.get(f"/api/objects/{ref.digest}", headers={"Range": "bytes=9-2"})
    assert bad.status_code == 416
    assert client.get("/api/objects/" + "0" * 64).status_code == 404
    assert client.get("/api/objects/not-a-digest").status_code == 422


def test_a_damaged_object_is_an_error_never_its_bytes(
    client: Any, api_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = enact.commit(enact.Str("precious"))
    api_store.flush()
    objects = api_store.backend.objects
    read = objects.get_many

    def flipped(keys: Any) -> list[bytes | None]:
        found = read(keys)
        return [
            None if data is None else data[:-2] + b"?" + data[-1:] for data in found
        ]

    monkeypatch.setattr(objects, "get_many", flipped)
    response = client.get(f"/api/objects/{ref.digest}")
    assert response.status_code == 500
    assert "damaged" in response.json()["detail"]
    assert "Traceback" not in response.text


def test_security_headers_on_every_response(client: Any) -> None:
    response = client.get("/api/runs")
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "script-src 'self'" in docs.headers["content-security-policy"]
    assert "<script>" not in docs.text  # no inline script
    assert client.get("/docs/static/swagger-ui-bundle.js").status_code == 200
    assert client.get("/docs/static/..%2F..%2Fsecret").status_code == 404


def test_a_foreign_host_is_refused_without_a_token(api_store: Store) -> None:
    from fastapi.testclient import TestClient

    from enact.api import create_app

    app = create_app(api_store)
    rebinding = TestClient(app, base_url="http://evil.example")
    response = rebinding.get("/api/runs")
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden host"


def test_a_token_is_required_when_set(api_store: Store) -> None:
    from fastapi.testclient import TestClient

    from enact.api import create_app

    token = "a-long-enough-token-123"
    app = create_app(api_store, host="0.0.0.0", token=token)
    anyone = TestClient(app, base_url="http://10.1.2.3")
    assert anyone.get("/api/runs").status_code == 401
    assert anyone.get("/openapi.json").status_code == 401
    wrong = {"Authorization": "Bearer not-the-token-at-all"}
    assert anyone.get("/api/runs", headers=wrong).status_code == 401
    right = {"Authorization": f"Bearer {token}"}
    assert anyone.get("/api/runs", headers=right).status_code == 200


def test_changes_need_a_json_body_from_this_origin(client: Any) -> None:
    run = runs.run(ApiPick(), enact.Str("a"))
    form = client.post(
        f"/api/runs/{run.id}/replay",
        content="a=1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 415
    foreign = client.post(
        f"/api/runs/{run.id}/replay",
        json={},
        headers={"Origin": "http://evil.example"},
    )
    assert foreign.status_code == 403
    same = client.post(
        f"/api/runs/{run.id}/replay", json={}, headers={"Origin": "http://127.0.0.1"}
    )
    assert same.status_code == 202
    _jobs_done(client)


def test_the_openapi_description_names_every_endpoint(client: Any) -> None:
    schema = client.get("/openapi.json").json()
    paths = set(schema["paths"])
    assert {
        "/api/runs",
        "/api/runs/{run_id}",
        "/api/runs/{run_id}/tree",
        "/api/runs/{run_id}/fork",
        "/api/runs/{run_id}/replay",
        "/api/runs/{run_id}/resume",
        "/api/runs/{run_id}/answer",
        "/api/requests",
        "/api/objects/{digest}",
    } <= paths
    answer = schema["paths"]["/api/runs/{run_id}/answer"]["post"]["responses"]
    assert answer["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }


def test_compare_two_branches(client: Any) -> None:
    run = runs.run(ApiPickThree(ApiPick()), enact.Str("fox"))
    fork = run.fork(at=(1,))
    compared = client.get(f"/api/compare?left={run.id}&right={fork.id}").json()
    assert compared["divergence"] == [1]
    kinds = {tuple(call["path"]): call["kind"] for call in compared["calls"]}
    assert kinds == {(): "changed", (0,): "same", (1,): "changed", (2,): "changed"}
    assert compared["kept"] == 1 and compared["differing"] == 3
    assert client.get(f"/api/compare?left={run.id}&right=nope").status_code == 404


def test_an_object_as_text_and_a_stored_invocations_tree(client: Any) -> None:
    run = runs.run(ApiPick(), enact.Str("apple"), name="picked")
    detail = client.get(f"/api/runs/{run.id}").json()
    invocation = detail["invocation"]
    shown = client.get(f"/api/objects/{invocation}/text").json()
    assert shown["digest"] == invocation and shown["invocation"] is True
    assert shown["type"] == "Invocation" and "apple" in shown["text"]
    # The tree of the stored invocation is the run's, but for the timings
    # (a run's step log has them, an invocation does not).
    tree = client.get(f"/api/invocations/{invocation}/tree").json()
    run_tree = client.get(f"/api/runs/{run.id}/tree").json()

    def untimed(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**node, "start": None, "end": None} for node in nodes]

    assert untimed(tree["nodes"]) == untimed(run_tree["nodes"])
    assert tree["total"] == run_tree["total"] == 1
    assert tree["digest"] == invocation
    ref = enact.commit(enact.Str("plain words"))
    plain = client.get(f"/api/objects/{ref.digest}/text").json()
    assert plain == {
        "digest": ref.digest,
        "type": "Str",
        "invocation": False,
        "text": "plain words",
    }
    not_a_call = client.get(f"/api/invocations/{ref.digest}/tree")
    assert not_a_call.status_code == 404
    assert "no invocation" in not_a_call.json()["detail"]
    missing = "0" * 64
    for url in (f"/api/objects/{missing}/text", f"/api/invocations/{missing}/tree"):
        answer = client.get(url)
        assert answer.status_code == 404
        assert answer.json()["error"] == "not found"
    assert client.get("/api/objects/not-a-digest/text").status_code == 422
