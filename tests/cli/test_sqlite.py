"""The commands against a SQLite store, end to end (one store, one pass)."""

from __future__ import annotations

import pathlib

from .helpers import enact, make_store


def test_a_sqlite_store_end_to_end(tmp_path: pathlib.Path) -> None:
    store = tmp_path / "runs.sqlite3"
    made = make_store(tmp_path / "runs.db")
    (tmp_path / "runs.db").rename(store)  # every SQLite ending selects SQLite

    def run(*args: str, stdin: str | None = None) -> str:
        result = enact("--store", store, "--import", "cliflows", *args, stdin=stdin)
        assert result.code == 0, result.err
        return result.out

    listed = enact("--store", store, "runs", "--json").json()
    assert {each["name"] for each in listed} == {
        "greeting",
        "title",
        "point",
        "failing",
    }

    tree = enact(
        "--store", store, "-i", "cliflows", "show", "greeting", "--json"
    ).json()
    assert [child["component"] for child in tree["tree"]["children"]] == ["Greet"] * 3

    pending = enact("--store", store, "inputs", "--json").json()
    assert {each["run_id"] for each in pending} == {made["title"], made["point"]}

    missing = enact("--store", store, "answer", "title", "x", "--path", "3")
    assert missing.code == 1
    assert "no pending input request at 3" in missing.one_line_error()

    answered = enact(
        "--store",
        store,
        "answer",
        "title",
        "-f",
        "-",
        "-p",
        "0",
        "--json",
        "--no-resume",
        stdin='"From stdin"',
    ).json()
    assert answered["path"] == [0] and answered["answer"]["value"] == "From stdin"
    assert answered["next"] == f"enact --store {store} resume {made['title']}"
    assert "output: 'From stdin: moon'" in run("resume", "title")

    fork = enact(
        "--store", store, "-i", "cliflows", "fork", "greeting", "--at", "2", "--json"
    ).json()
    assert fork["status"] == "finished" and fork["parent"] == made["greeting"]
    diff = enact("--store", store, "diff", "greeting", fork["id"], "--json").json()
    changed = [each["path"] for each in diff["differences"] if each["kind"] != "same"]
    assert changed == [[], [2]]

    finished = enact("--store", store, "answer", "greeting", "x")
    assert finished.code == 1
    assert "no pending input request (it is finished)" in finished.one_line_error()

    verified = enact("--store", store, "verify", "--json")
    assert verified.code == 0 and verified.json()["ok"] is True
