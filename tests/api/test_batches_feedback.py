"""The API's batch and feedback endpoints, in process."""

from __future__ import annotations

from typing import Any

import enact
from api.flows import ApiFail, ApiPick, ApiPickThree, Greeter, Greeting
from enact import batches, runs


def test_batches_are_listed_with_their_counts(client: Any) -> None:
    assert client.get("/api/batches").json() == []
    made = batches.sample(ApiPick(), [enact.Str("a"), enact.Str("b")], n=3, name="b6")
    made.wait(60)
    failing = batches.sample(ApiFail(), [enact.Str("x")], n=2)
    failing.wait(60)
    listed = client.get("/api/batches").json()
    assert [b["id"] for b in listed] == [failing.id, made.id]  # newest first
    assert listed[1]["name"] == "b6" and listed[1]["size"] == 6
    assert listed[1]["counts"] == {"finished": 6}
    assert listed[1]["status"] == "finished"
    assert listed[0]["counts"] == {"failed": 2} and listed[0]["status"] == "failed"


def test_a_batch_has_its_outcome_and_a_page_of_samples(client: Any) -> None:
    made = batches.sample(ApiFail(), [enact.Str("x"), enact.Str("y")], n=2)
    made.wait(60)
    got = client.get(f"/api/batches/{made.id}?limit=3").json()
    assert got["size"] == 4 and got["status"] == "failed"
    assert len(got["failures"]) == 2  # two distinct errors, two samples each
    assert all("no luck with" in f["error"] for f in got["failures"])
    assert sum(f["count"] for f in got["failures"]) == 4
    assert got["distribution_kind"] == "empty" and got["distribution"] == []
    assert [s["status"] for s in got["samples"]] == ["failed"] * 3
    assert got["next_offset"] == 3
    rest = client.get(f"/api/batches/{made.id}?offset=3").json()
    assert len(rest["samples"]) == 1 and rest["next_offset"] is None
    ids = {s["id"] for s in got["samples"] + rest["samples"]}
    assert ids == {run.id for run in made.runs()}


def test_a_batch_distribution_counts_outputs(client: Any) -> None:
    made = batches.sample(Greeter(), [Greeting("ann", 1)], n=3, name="greet")
    made.wait(60)
    got = client.get("/api/batches/greet").json()  # by name
    assert got["id"] == made.id
    assert got["distribution_kind"] == "values"
    assert [row["count"] for row in got["distribution"]] == [3]
    assert len(got["slowest"]) == 3


def test_a_missing_batch_is_404(client: Any) -> None:
    response = client.get("/api/batches/nothing-here")
    assert response.status_code == 404
    assert "nothing-here" in response.json()["detail"]
    assert client.get("/api/batches/bad%20id").status_code == 422


def test_feedback_is_given_listed_edited_and_deleted(client: Any) -> None:
    run = runs.run(ApiPickThree(ApiPick()), enact.Str("fox"))
    assert client.get(f"/api/runs/{run.id}/feedback").json() == []
    given = client.post(
        f"/api/runs/{run.id}/feedback",
        json={"path": [1], "score": 0.5, "label": True, "source": "ann"},
    )
    assert given.status_code == 201, given.text
    note = given.json()
    assert note["path"] == [1] and note["score"] == 0.5 and note["label"] is True
    assert note["source"] == "person:ann" and note["revision"] == 0
    top = client.post(
        f"/api/runs/{run.id}/feedback", json={"comment": "fine overall"}
    ).json()
    assert top["path"] == []
    # Feedback is real library feedback: the library sees it.
    assert {n.id for n in enact.feedback.list_feedback(run)} == {note["id"], top["id"]}
    listed = client.get(f"/api/runs/{run.id}/feedback").json()
    assert {n["id"] for n in listed} == {note["id"], top["id"]}
    only = client.get(f"/api/runs/{run.id}/feedback?path=1").json()
    assert [n["id"] for n in only] == [note["id"]]
    assert [
        n["id"] for n in client.get(f"/api/runs/{run.id}/feedback?path=").json()
    ] == [top["id"]]

    edited = client.post(
        f"/api/runs/{run.id}/feedback/{note['id']}",
        json={"score": 0.9, "comment": "better", "expect_revision": 0},
    )
    assert edited.status_code == 200, edited.text
    changed = edited.json()
    assert changed["score"] == 0.9 and changed["comment"] == "better"
    assert changed["label"] is True  # not sent: kept
    assert changed["revision"] == 1
    stale = client.post(
        f"/api/runs/{run.id}/feedback/{note['id']}",
        json={"score": 0.1, "expect_revision": 0},
    )
    assert stale.status_code == 409
    cleared = client.post(
        f"/api/runs/{run.id}/feedback/{note['id']}", json={"label": None}
    ).json()
    assert cleared["label"] is None and cleared["score"] == 0.9

    deleted = client.post(f"/api/runs/{run.id}/feedback/{note['id']}/delete", json={})
    assert deleted.status_code == 200, deleted.text
    assert [n["id"] for n in client.get(f"/api/runs/{run.id}/feedback").json()] == [
        top["id"]
    ]


def test_a_correction_is_checked_against_the_output_type(client: Any) -> None:
    run = runs.run(Greeter(), Greeting("bo", 2))
    url = f"/api/runs/{run.id}/feedback"
    wrong = client.post(url, json={"correction": {"nope": 1}})
    assert wrong.status_code == 422
    assert "correction" in wrong.json()["detail"].lower()
    good = client.post(url, json={"correction": {"text": "hello bo"}})
    assert good.status_code == 201, good.text
    note = good.json()
    assert "hello bo" in note["correction_text"]
    stored = client.get(f"/api/objects/{note['correction']}")
    assert stored.status_code == 200
    assert enact.feedback.get(run, note["id"]).correction.checkout().text == "hello bo"


def test_bad_feedback_is_refused_with_a_reason(client: Any) -> None:
    run = runs.run(ApiPick(), enact.Str("a"))
    url = f"/api/runs/{run.id}/feedback"
    nothing = client.post(url, json={})
    assert nothing.status_code == 422  # nothing given
    no_call = client.post(url, json={"path": [7], "score": 1})
    assert no_call.status_code == 422 and "7" in no_call.json()["detail"]
    assert client.post(url, json={"score": "high"}).status_code == 422
    assert client.post(
        url, content=b'{"score": NaN}', headers={"content-type": "application/json"}
    ).status_code in (
        400,
        422,
    )
    missing = "0" * 32
    assert client.post(f"{url}/{missing}", json={"score": 1}).status_code == 404
    assert client.post(f"{url}/{missing}/delete", json={}).status_code == 404
    assert client.get("/api/runs/no-such-run/feedback").status_code == 404
    # Changes are JSON posts: a form post (what a foreign page can send) is refused.
    assert client.post(url, data={"score": "1"}).status_code == 415


def test_a_405_names_every_method_of_the_path(client: Any) -> None:
    run = runs.run(ApiPick(), enact.Str("a"))
    response = client.put(f"/api/runs/{run.id}/feedback", json={})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
