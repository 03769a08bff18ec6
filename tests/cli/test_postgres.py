"""The ``enact`` command on a PostgreSQL store, by URL, as a user would."""

from __future__ import annotations

import socket

from cli.helpers import enact
from stores.postgres_server import PostgresServer


def test_demo_runs_answer_verify_and_gc_on_a_server_store(
    postgres_server: PostgresServer,
) -> None:
    url = postgres_server.fresh_url()
    result = enact("--store", url, "demo", "--seed", "1")
    assert result.code == 0, result.err
    assert url in result.out  # the demo names the store it writes to

    # The store chosen by $ENACT_STORE, as by --store.
    waiting = enact("runs", "--status", "waiting", "--json", ENACT_STORE=url).json()
    assert len(waiting) == 1 and waiting[0]["tags"] == ["demo"]
    answered = enact("--store", url, "answer", waiting[0]["id"], "A Title", "--resume")
    assert answered.code == 0, answered.err
    assert ": finished" in answered.out

    verified = enact("--store", url, "verify")
    assert verified.code == 0, verified.err
    collected = enact("--store", url, "gc", "--json")
    assert collected.code == 0, collected.err
    assert collected.json()["dry_run"] is False


def test_an_unknown_scheme_is_one_line() -> None:
    result = enact("--store", "redis://ann:hunter2@cache/0", "runs")
    assert result.code == 1
    line = result.one_line_error()
    assert "unknown scheme 'redis'" in line and "hunter2" not in line


def test_an_unreachable_server_is_one_line_with_the_password_masked() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://ann:hunter2@127.0.0.1:{port}/runs?connect_timeout=2"
    result = enact("--store", url, "runs")
    assert result.code == 1
    line = result.one_line_error()
    assert "postgresql://ann:***@127.0.0.1" in line
    assert "hunter2" not in line
