"""``enact inputs``, ``answer`` and ``resume``: input requests from the shell."""

from __future__ import annotations

import pathlib

from .conftest import Filled
from .helpers import enact


def test_inputs_lists_pending_requests(filled: Filled) -> None:
    store = filled.path
    table = enact("--store", store, "inputs")
    assert table.code == 0
    assert table.out.splitlines()[0].split() == ["RUN", "PATH", "TYPE", "ASKS", "ABOUT"]
    assert filled.made["title"] in table.out and filled.made["point"] in table.out
    assert "'[b]Title[/b] please'" in table.out and "'moon'" in table.out

    data = enact("--store", store, "inputs", "--json").json()
    by_run = {each["run_id"]: each for each in data}
    title = by_run[filled.made["title"]]
    assert title["path"] == [0] and title["key"] == f"{filled.made['title']}:0"
    assert title["context"] == "[b]Title[/b] please"
    assert title["about"]["value"] == "moon"
    assert by_run[filled.made["point"]]["type"].endswith('cliflows.Point"}')

    none = enact("--store", store, "inputs", "greeting")
    assert none.code == 0 and none.out.strip() == "no pending input requests"


def test_answer_text_from_the_command_line_then_resume(filled: Filled) -> None:
    store = filled.path
    run_id = filled.made["title"]
    answered = enact("--store", store, "answer", "title", "Night [b]Song[/b]")
    assert answered.code == 0, answered.err
    assert answered.out.strip() == f"answered {run_id} at 0: 'Night [b]Song[/b]'"

    again = enact("--store", store, "answer", "title", "Other")
    assert again.code == 1
    assert f"resume it with `enact resume {run_id}`" in again.one_line_error()

    resumed = enact("--store", store, "-i", "cliflows", "resume", "title")
    assert resumed.code == 0, resumed.err
    assert resumed.out.splitlines() == [
        f"resumed run {run_id} (title): finished",
        "  output: 'Night [b]Song[/b]: moon'",
    ]
    finished = enact("--store", store, "-i", "cliflows", "resume", "title")
    assert finished.code == 1
    assert "nothing to resume" in finished.one_line_error()


def test_answer_a_user_type_from_a_json_file(
    filled: Filled, tmp_path: pathlib.Path
) -> None:
    store = filled.path
    run_id = filled.made["point"]

    # Without the user's module the type is unknown: a hint, not a traceback.
    unknown = enact("--store", store, "answer", "point", '{"x": 1, "y": 2}')
    assert unknown.code == 1
    assert "cliflows.Point is not registered" in unknown.one_line_error()

    # A value that is no Point is refused; the run keeps waiting.
    wrong = enact("--store", store, "-i", "cliflows", "answer", "point", "north")
    assert wrong.code == 1
    assert "Point" in wrong.one_line_error()
    bad_file = tmp_path / "bad.json"
    bad_file.write_text("[1, 2]")
    wrong = enact(
        "--store", store, "-i", "cliflows", "answer", "point", "--json-file", bad_file
    )
    assert wrong.code == 1 and "Point" in wrong.one_line_error()
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    unreadable = enact(
        "--store", store, "-i", "cliflows", "answer", "point", "-f", broken
    )
    assert unreadable.code == 1 and "is not valid JSON" in unreadable.one_line_error()
    waiting = enact("--store", store, "inputs", "point", "--json").json()
    assert [each["run_id"] for each in waiting] == [run_id]  # still waiting

    answer = tmp_path / "answer.json"
    answer.write_text('{"x": 3, "y": 4}')
    result = enact(
        "--store",
        store,
        "-i",
        "cliflows",
        "answer",
        "point",
        "--json-file",
        answer,
        "--resume",
        "--json",
    )
    assert result.code == 0, result.err
    data = result.json()
    assert data["id"] == run_id and data["status"] == "finished"
    assert data["output"]["value"] == "home at 3,4"
