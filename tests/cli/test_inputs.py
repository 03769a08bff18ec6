"""``enact inputs``, ``answer`` and ``resume``: input requests from the shell."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import time

from .conftest import Filled
from .helpers import enact, environment, start_run


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
    answered = enact(
        "--store", store, "answer", "title", "Night [b]Song[/b]", "--no-resume"
    )
    assert answered.code == 0, answered.err
    assert answered.out.splitlines() == [
        f"answered {run_id} at 0: 'Night [b]Song[/b]'",
        f"  resume it with: enact --store {store} resume {run_id}",
    ]

    again = enact("--store", store, "answer", "title", "Other")
    assert again.code == 1
    assert f"resume it with `enact resume {run_id}`" in again.one_line_error()

    # Answered but not resumed: the listings say so, and what to do.
    listed = enact("--store", store, "runs", "--json").json()
    (title,) = [each for each in listed if each["id"] == run_id]
    assert title["status"] == "waiting" and title["unanswered"] == 0
    assert title["needs_resume"] is True
    table = enact("--store", store, "runs").out
    (row,) = [line for line in table.splitlines() if line.startswith(run_id)]
    assert "answered, needs resume" in row
    point_row = [
        line for line in table.splitlines() if "(point)" in line or " point " in line
    ]
    assert point_row and "waiting (1)" in point_row[0]
    nothing = enact("--store", store, "inputs", "title")
    assert nothing.out.splitlines() == [
        "no pending input requests",
        f"run {run_id} is answered and waits to be resumed: enact resume {run_id}",
    ]
    shown = enact("--store", store, "show", "title")
    assert "answered, needs resume" in shown.out.splitlines()[0]
    assert f"answered: resume it with `enact resume {run_id}`" in shown.out

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


def test_answer_resumes_the_run_by_default(filled: Filled) -> None:
    store = filled.path
    run_id = start_run(store, "AskTitle", "sea")
    # Without the user's module the answer is stored, and the error says how
    # to resume the run: the exact command.
    answered = enact("--store", store, "answer", run_id, "Sea Song")
    assert answered.code == 1
    assert answered.out.splitlines() == [f"answered {run_id} at 0: 'Sea Song'"]
    command = f"enact --store {store} --import cliflows resume {run_id}"
    error = answered.one_line_error()
    assert "the answer is stored, but the run cannot resume here" in error
    assert "type cliflows.AskTitle is not registered" in error and command in error
    # The run was left as it was: waiting (answered), not running or crashed.
    (info,) = [
        each
        for each in enact("--store", store, "runs", "--json").json()
        if each["id"] == run_id
    ]
    assert info["status"] == "waiting" and info["needs_resume"] is True

    resumed = enact(*command.split()[1:])
    assert resumed.code == 0, resumed.err
    assert "output: 'Sea Song: sea'" in resumed.out


def test_answer_and_resume_in_one_go(filled: Filled) -> None:
    store = filled.path
    run_id = start_run(store, "AskTitle", "sky", name="asked")
    result = enact("--store", store, "-i", "cliflows", "answer", "asked", "Sky")
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        f"answered {run_id} at 0: 'Sky'",
        f"resumed run {run_id} (asked): finished",
        "  output: 'Sky: sky'",
    ]


def test_wrong_answers_say_what_the_answer_should_be(filled: Filled) -> None:
    store = filled.path
    run_id = start_run(store, "AskPoint", "office")
    expected = (
        "The answer for Point must be a JSON object with fields x (a whole "
        'number) and y (a whole number), e.g. {"x": 1, "y": 2}; '
    )
    for wrong, problem in [
        ('{"x": "a", "y": 4}', 'field x got "a", not a whole number'),
        ('{"x": 1.5, "y": 4}', "field x got 1.5, not a whole number"),
        ('{"x": 1}', 'field y missing in {"x": 1}'),
        ("north", "got 'north', which is not JSON"),
    ]:
        refused = enact("--store", store, "-i", "cliflows", "answer", run_id, wrong)
        assert refused.code == 1
        line = refused.one_line_error()
        assert line == f"enact: error: {expected}{problem}.", line
    waiting = enact("--store", store, "inputs", run_id, "--json").json()
    assert len(waiting) == 1  # every refused answer left the run waiting


def test_a_run_waiting_in_place_goes_on_in_its_own_process(
    tmp_path: pathlib.Path,
) -> None:
    store = tmp_path / "store"
    child = pathlib.Path(__file__).resolve().parents[1] / "runs" / "child.py"
    live = subprocess.Popen(
        [sys.executable, str(child), "greet-live", str(store), "live"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(),
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until the run waits for its answer
            listed = enact("--store", store, "inputs", "live", "--json")
            if listed.code == 0 and listed.json():
                break
            time.sleep(0.05)
        answered = enact("--store", store, "answer", "live", "Grace", "--json")
        assert answered.code == 0, answered.err
        data = answered.json()
        assert data["continues_in_pid"] == live.pid and data["next"] is None
        out, err = live.communicate(timeout=60)
        assert live.returncode == 0, err
        assert out.startswith("Grace rolled")
    finally:
        if live.poll() is None:
            live.kill()
            live.communicate()
