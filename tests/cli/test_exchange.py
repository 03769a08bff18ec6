"""``enact push`` and ``enact pull``."""

from __future__ import annotations

import pathlib

from .helpers import enact, make_store


def test_push_then_push_again_sends_nothing(tmp_path: pathlib.Path) -> None:
    source, destination = tmp_path / "laptop", tmp_path / "team.db"
    made = make_store(source)
    first = enact("push", source, destination, "--json")
    assert first.code == 0, first.err
    report = first.json()
    assert made["greeting"] in report["runs_written"]
    assert report["objects_sent"] > 0 and report["bytes_sent"] > 0
    again = enact("push", source, destination)
    assert again.code == 0, again.err
    assert "0 runs written" in again.out and "0 objects sent" in again.out
    listed = enact("--store", destination, "runs", "--json")
    assert {run["id"] for run in listed.json()} >= set(report["runs_written"])
    assert enact("--store", destination, "verify").code == 0


def test_pull_one_run_by_name(tmp_path: pathlib.Path) -> None:
    team, mine = tmp_path / "team", tmp_path / "mine"
    made = make_store(team)
    pulled = enact("pull", team, mine, "greeting", "--json")
    assert pulled.code == 0, pulled.err
    assert pulled.json()["runs_written"] == [made["greeting"]]
    shown = enact("--store", mine, "--import", "cliflows", "show", "greeting")
    assert shown.code == 0, shown.err


def test_a_conflict_is_one_line_and_force_replaces(tmp_path: pathlib.Path) -> None:
    first, second, destination = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    make_store(first)
    make_store(second)  # the same run names, other runs
    assert enact("push", first, destination).code == 0
    refused = enact("push", second, destination, "greeting")
    assert refused.code == 1
    assert "'greeting'" in refused.one_line_error()
    assert "--force" in refused.err
    forced = enact("push", second, destination, "greeting", "--force")
    assert forced.code == 0, forced.err


def test_a_missing_source_is_named(tmp_path: pathlib.Path) -> None:
    result = enact("push", tmp_path / "nowhere", tmp_path / "dst")
    assert result.code == 1
    assert "no enact store at" in result.one_line_error()
    assert not (tmp_path / "dst").exists()
