"""enact.fastapi: endpoints in the user's own app that run a component."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

import enact
import enact.fastapi
from api.flows import Greeter, Greeting, Hello, Reply
from enact import runs
from enact.references import Store


@pytest.fixture
def app_client(api_store: Store) -> Any:
    import fastapi
    from fastapi.testclient import TestClient

    app = fastapi.FastAPI()
    enact.fastapi.post(app, "/greet", Greeter("!"), api_store)
    enact.fastapi.get(app, "/hello", Hello(), api_store)
    return app, TestClient(app)


def test_post_runs_the_component_journaled_and_returns_its_output(
    app_client: Any,
) -> None:
    _, client = app_client
    response = client.post("/greet", json={"name": "Ada", "times": 2})
    assert response.status_code == 200
    assert response.json() == {"text": "hi Ada!hi Ada!"}
    (run,) = runs.list_runs()
    assert run.component.endswith("Greeter") and run.status is runs.RunStatus.FINISHED
    assert runs.get_run(run.id).output() == Reply("hi Ada!hi Ada!")
    assert "http" in run.tags


def test_get_runs_a_component_without_input(app_client: Any) -> None:
    _, client = app_client
    assert client.get("/hello").json() == {"text": "hello"}


def test_a_missing_or_wrong_body_is_a_400(app_client: Any) -> None:
    _, client = app_client
    missing = client.post("/greet")
    assert missing.status_code == 400
    assert "Greeting" in missing.json()["detail"]
    wrong = client.post("/greet", json={"name": 3})
    assert wrong.status_code == 400
    assert "times" in wrong.json()["detail"]
    assert runs.list_runs() == []


def test_a_failed_run_is_a_500_with_the_exception_message(app_client: Any) -> None:
    _, client = app_client
    response = client.post("/greet", json={"name": "Ada", "times": -1})
    assert response.status_code == 500
    assert "times must be 0 or more" in response.json()["detail"]
    assert "Traceback" not in response.text
    (run,) = runs.list_runs()
    assert run.status is runs.RunStatus.FAILED


def test_the_route_is_named_and_described_after_the_component(
    app_client: Any,
) -> None:
    app, _ = app_client
    operation = app.openapi()["paths"]["/greet"]["post"]
    assert operation["description"] == "Greets someone, some times."
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["name", "times"]
    assert [route.name for route in app.routes if route.path == "/greet"] == ["Greeter"]


@enact.typed_invokable(enact.Str, Reply)
@dataclasses.dataclass
class TakesAStr(enact.Invokable[enact.Str, Reply]):
    def call(self, text: enact.Str) -> Reply:
        return Reply(str(text))


def test_setup_refuses_components_it_cannot_serve(api_store: Store) -> None:
    import fastapi

    app = fastapi.FastAPI()
    with pytest.raises(ValueError, match="GET endpoint is only for components"):
        enact.fastapi.get(app, "/g", Greeter(), api_store)
    with pytest.raises(ValueError, match="not a dataclass resource"):
        enact.fastapi.post(app, "/s", TakesAStr(), api_store)

    @enact.typed_invokable(Greeting, enact.Resource)
    @dataclasses.dataclass
    class Generic(enact.Invokable[Greeting, Any]):
        def call(self, greeting: Greeting) -> Any:
            return greeting

    with pytest.raises(ValueError, match="generic Resource"):
        enact.fastapi.post(app, "/x", Generic(), api_store)

    class Untyped(enact.Invokable[Any, Any]):
        def call(self, value: Any) -> Any:
            return value

    with pytest.raises(ValueError, match="declares no input type"):
        enact.fastapi.post(app, "/u", Untyped(), api_store)
    assert not [route for route in app.routes if route.path in ("/g", "/s", "/x")]
