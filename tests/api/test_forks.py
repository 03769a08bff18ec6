"""Forks through the API: with changed settings of a run's components, and
with an edited input (calls that did not change are replayed)."""

from __future__ import annotations

from typing import Any

import enact
from api.flows import ApiChain, ApiPick, ApiPickThree, ApiSuffix, Greeting
from enact import runs


def _chain() -> runs.Run:
    return runs.run(ApiChain(ApiPick(), ApiSuffix("?", 2)), Greeting("ann", 2))


def _forked(client: Any, run_id: str, body: dict[str, Any]) -> runs.Run:
    response = client.post(f"/api/runs/{run_id}/fork", json=body)
    assert response.status_code == 202, response.text
    assert client.app.state.jobs.join(60)
    new_id = response.json()["run_id"]
    assert new_id is not None
    fork = runs.get_run(new_id)
    assert fork.status is runs.RunStatus.FINISHED, fork.info()
    assert fork.info().parent == run_id
    return fork


def test_components_lists_the_settings_and_the_input(client: Any) -> None:
    run = _chain()
    got = client.get(f"/api/runs/{run.id}/components").json()
    assert [(c["where"], c["name"]) for c in got["components"]] == [
        ("", "ApiChain"),
        ("first", "ApiPick"),
        ("second", "ApiSuffix"),
    ]
    assert got["components"][0]["settings"] == [
        {"name": "loud", "kind": "bool", "value": False}
    ]
    assert got["components"][2]["settings"] == [
        {"name": "suffix", "kind": "text", "value": "?"},
        {"name": "times", "kind": "int", "value": 2},
    ]
    assert got["input"] == {"name": "ann", "times": 2}
    assert "api.flows.Greeting" in got["input_type"]  # the registered type id
    assert client.get("/api/runs/nope/components").status_code == 404


def test_a_fork_with_changed_settings_runs_the_new_component(client: Any) -> None:
    run = _chain()
    fork = _forked(
        client, run.id, {"at": [1], "replace": {"second": {"suffix": "#", "times": 1}}}
    )
    component = fork.journal().request().invokable()
    assert component == ApiChain(ApiPick(), ApiSuffix("#", 1))
    old, new = run.invocation().response(), fork.invocation().response()
    assert new.children[0].digest == old.children[0].digest  # before 'at': kept
    assert "#" in str(fork.output()) and "?" not in str(fork.output())
    # The original is as it was.
    assert run.journal().request().invokable() == ApiChain(ApiPick(), ApiSuffix("?", 2))


def test_a_top_level_setting_can_change(client: Any) -> None:
    run = _chain()
    fork = _forked(client, run.id, {"at": [0], "replace": {"": {"loud": True}}})
    assert str(fork.output()) == str(fork.output()).upper()
    assert fork.journal().request().invokable().loud is True


def test_settings_that_do_not_fit_are_refused_naming_them(client: Any) -> None:
    run = _chain()
    url = f"/api/runs/{run.id}/fork"
    wrong = client.post(url, json={"replace": {"second": {"times": "two"}}})
    assert wrong.status_code == 422 and "times" in wrong.json()["detail"]
    unknown = client.post(url, json={"replace": {"second": {"colour": "red"}}})
    assert unknown.status_code == 422
    assert "colour" in unknown.json()["detail"]
    assert "suffix" in unknown.json()["detail"]  # says which settings there are
    nowhere = client.post(url, json={"replace": {"third": {"x": 1}}})
    assert nowhere.status_code == 422 and "third" in nowhere.json()["detail"]
    # A component (not a setting) cannot be set from JSON.
    nested = client.post(url, json={"replace": {"": {"first": {"x": 1}}}})
    assert nested.status_code == 422
    assert len(runs.list_runs(parent=run.id)) == 0


def test_a_fork_with_an_edited_input_replays_what_did_not_change(
    client: Any,
) -> None:
    run = _chain()
    fork = _forked(client, run.id, {"input": {"name": "ann", "times": 3}})
    assert fork.journal().request().input() == Greeting("ann", 3)
    old, new = run.invocation().response(), fork.invocation().response()
    # The pick for "ann" and the first two suffixes are the recorded calls.
    assert [c.digest for c in new.children[:3]] == [c.digest for c in old.children]
    assert len(new.children) == 4
    assert str(fork.output()).startswith(str(run.output()))


def test_an_edited_input_with_changed_settings(client: Any) -> None:
    run = _chain()
    fork = _forked(
        client,
        run.id,
        {"input": {"name": "bo", "times": 1}, "replace": {"second": {"suffix": "+"}}},
    )
    assert fork.journal().request().input() == Greeting("bo", 1)
    assert "+" in str(fork.output())


def test_a_new_input_must_fit_and_excludes_at(client: Any) -> None:
    run = _chain()
    url = f"/api/runs/{run.id}/fork"
    wrong = client.post(url, json={"input": {"name": "x"}})
    assert wrong.status_code == 422 and "times" in wrong.json()["detail"]
    both = client.post(url, json={"input": {"name": "x", "times": 1}, "at": [0]})
    assert both.status_code == 422 and "at" in both.json()["detail"]
    plain = runs.run(ApiPick(), enact.Str("a"))
    typed = client.post(f"/api/runs/{plain.id}/fork", json={"input": 5})
    assert typed.status_code == 422
    assert len(runs.list_runs(parent=run.id)) == 0


def test_a_plain_fork_still_works(client: Any) -> None:
    run = runs.run(ApiPickThree(ApiPick()), enact.Str("a"))
    fork = _forked(client, run.id, {})
    assert fork.info().relation == "fork"
    leaf = runs.run(ApiPick(), enact.Str("a"))  # no call to fork at
    refused = client.post(f"/api/runs/{leaf.id}/fork", json={})
    assert refused.status_code == 409
    assert refused.json()["error"] == "cannot fork"
