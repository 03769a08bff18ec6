"""``enact runs``, ``show``, ``diff``, ``fork``, ``rewind``, ``replay``."""

from __future__ import annotations

import pathlib
import shlex

from .conftest import Filled
from .helpers import enact, make_store, start_run


def test_runs_lists_and_filters(filled: Filled) -> None:
    store = filled.path
    table = enact("--store", store, "runs")
    assert table.code == 0
    header = table.out.splitlines()[0].split()
    assert header[:4] == ["ID", "NAME", "STATUS", "COMPONENT"]
    for name in ("greeting", "title", "point", "failing"):
        assert filled.made[name] in table.out

    listed = enact("--store", store, "runs", "--json").json()
    by_name = {run["name"]: run for run in listed}
    assert by_name["greeting"]["status"] == "finished"
    assert by_name["title"]["status"] == "waiting"
    assert by_name["failing"]["status"] == "failed"
    assert by_name["greeting"]["tags"] == ["t1"]
    started = [run["started"] for run in listed]
    assert started == sorted(started, reverse=True)  # newest first

    def names(*args: str) -> set[str]:
        result = enact("--store", store, "runs", "--json", *args)
        assert result.code == 0, result.err
        return {run["name"] for run in result.json()}

    assert names("--status", "waiting", "--component", "Ask", "--since", "1h") == {
        "title",
        "point",
    }
    assert names("--tag", "t1", "--limit", "1") == {"greeting"}
    empty = enact("--store", store, "runs", "--until", "2000-01-01")
    assert empty.code == 0 and empty.out.strip() == "no runs"


def test_show_a_run_as_a_tree_and_as_json(filled: Filled) -> None:
    store = filled.path
    tree = enact("--store", store, "--import", "cliflows", "show", "greeting")
    assert tree.code == 0, tree.err
    lines = tree.out.splitlines()
    assert lines[0].startswith(f"run {filled.made['greeting']} (greeting)")
    assert "finished" in lines[0] and "cliflows.Chain" in lines[0]
    assert "root Chain('world') = 'hello world #" in tree.out
    assert tree.out.count("Greet('world') = 'hello world #") == 3
    assert "├── 0 Greet" in tree.out and "└── 2 Greet" in tree.out
    assert " ms" in tree.out  # timings of a durable run

    shallow = enact("--store", store, "-i", "cliflows", "show", "greeting", "-d", "0")
    assert "Greet" not in shallow.out
    assert "... 3 calls (raise --depth to see them)" in shallow.out

    data = enact("--store", store, "-i", "cliflows", "show", "greeting", "--json")
    assert data.code == 0
    parsed = data.json()
    assert parsed["run"]["id"] == filled.made["greeting"]
    root = parsed["tree"]
    assert root["path"] == [] and root["component"] == "Chain"
    assert root["input"]["value"] == "world" and root["input"]["type"] == "Str"
    assert root["outcome"] == "returned"
    assert [child["path"] for child in root["children"]] == [[0], [1], [2]]
    first = root["children"][0]
    assert first["component"] == "Greet"
    assert first["output"]["value"].startswith("hello world #")
    assert first["ended"] >= first["started"]


def test_show_marks_input_requests_and_exceptions(filled: Filled) -> None:
    store = filled.path
    waiting = enact("--store", store, "-i", "cliflows", "show", "title")
    assert waiting.code == 0
    assert "root AskTitle('moon') waiting for input" in waiting.out
    # User values print literally, markup and all.
    assert "asks for input: Str '[b]Title[/b] please'" in waiting.out
    assert f"answer with: enact answer {filled.made['title']} VALUE" in waiting.out

    data = enact("--store", store, "-i", "cliflows", "show", "title", "--json").json()
    asked = data["tree"]["children"][0]
    assert asked["outcome"] == "asked"
    assert asked["input_request"]["type"] == "Str"
    assert asked["input_request"]["context"]["value"] == "[b]Title[/b] please"
    assert data["run"]["pending"][0]["path"] == [0]

    failed = enact("--store", store, "-i", "cliflows", "show", "failing")
    assert failed.code == 0
    assert "error: cliflows.Boom: boom [red]x" in failed.out
    assert "root Fails('[red]x') raised cliflows.Boom: boom [red]x" in failed.out


def test_show_without_the_users_types_still_draws_the_tree(
    filled: Filled,
) -> None:
    result = enact("--store", filled.path, "show", "greeting")
    assert result.code == 0
    assert "<cliflows.Chain: not registered>('world')" in result.out
    assert "--import MODULE" in result.err


def test_show_refs(filled: Filled) -> None:
    store = filled.path
    markup = filled.made["markup"]
    value = enact("--store", store, "show", markup)
    assert value.code == 0
    assert value.out.strip() == "'[bold]x[/bold] <script>'"
    as_json = enact("--store", store, "show", markup, "--json").json()
    assert as_json == {
        "ref": markup,
        "type": "Str",
        "value": "[bold]x[/bold] <script>",
        "text": "'[bold]x[/bold] <script>'",
    }

    digest = filled.made["invocation"]
    tree = enact("--store", store, "-i", "cliflows", "show", digest)
    assert tree.code == 0
    assert tree.out.startswith("root Chain('world') = ")
    ref_id = f'{{"digest": "{digest}"}}'
    data = enact("--store", store, "-i", "cliflows", "show", ref_id, "--json").json()
    assert data["ref"] == digest and data["tree"]["ref"] == digest


def test_fork_rewind_replay_and_diff(filled: Filled) -> None:
    store = filled.path
    original = filled.made["greeting"]

    def run(*args: str) -> str:
        result = enact("--store", store, "--import", "cliflows", *args)
        assert result.code == 0, result.err
        return result.out

    forked = run("fork", "greeting", "--at", "1", "--name", f"fork-{store.name}")
    assert forked.startswith(f"forked {original} at 1 as run ")
    assert f"(fork-{store.name}): finished" in forked
    assert "output: 'hello world #" in forked

    rewound = enact(
        "--store", store, "-i", "cliflows", "rewind", original, "--calls", "2", "--json"
    ).json()
    assert rewound["parent"] == original and rewound["relation"] == "fork"
    assert rewound["status"] == "finished"
    assert rewound["output"]["value"].startswith("hello world #")

    replayed = enact(
        "--store",
        store,
        "-i",
        "cliflows",
        "replay",
        "greeting",
        "-t",
        "again",
        "--json",
    ).json()
    assert replayed["relation"] == "replay" and replayed["tags"] == ["again"]

    listed = enact("--store", store, "runs", "--parent", "greeting", "--json").json()
    assert {rewound["id"], replayed["id"]} <= {each["id"] for each in listed}
    assert all(each["parent"] == original for each in listed)

    # A replay changes nothing; a fork at 1 keeps call 0 and resamples 1 and 2.
    same = enact("--store", store, "diff", "greeting", replayed["id"], "--exit-code")
    assert same.code == 0
    assert "identical" in same.out

    diff = enact(
        "--store", store, "-i", "cliflows", "diff", "greeting", f"fork-{store.name}"
    )
    assert diff.code == 0
    assert "~ root  changed (output, children)" in diff.out
    assert "~ 1  changed (output)" in diff.out and "~ 2  changed (output)" in diff.out
    assert "3 changed, 0 only left, 0 only right, 1 shared" in diff.out
    assert "    - Greet('world') = 'hello world #" in diff.out

    data = enact(
        "--store",
        store,
        "diff",
        "greeting",
        f"fork-{store.name}",
        "--json",
        "--exit-code",
    )
    assert data.code == 1  # they differ
    data = data.json()
    kinds = {tuple(each["path"]): each["kind"] for each in data["differences"]}
    assert kinds == {(): "changed", (0,): "same", (1,): "changed", (2,): "changed"}
    assert data["identical"] is False

    # An invocation digest against a run; a value is no invocation.
    mixed = enact("--store", store, "diff", filled.made["invocation"], "greeting")
    assert mixed.code == 0 and "identical" in mixed.out
    wrong = enact("--store", store, "diff", filled.made["markup"], "greeting")
    assert wrong.code == 1
    assert "is a Str, not an invocation" in wrong.one_line_error()


def test_forking_needs_the_users_types(filled: Filled) -> None:
    result = enact("--store", filled.path, "fork", "greeting", "--at", "1")
    assert result.code == 1
    line = result.one_line_error()
    assert "cliflows.Chain is not registered" in line and "--import" in line

    beyond = enact(
        "--store", filled.path, "-i", "cliflows", "fork", "greeting", "--at", "7"
    )
    assert beyond.code == 1
    assert "no call at 7" in beyond.one_line_error()


def test_a_run_that_fails_again_exits_with_status_1(filled: Filled) -> None:
    result = enact("--store", filled.path, "-i", "cliflows", "replay", "failing")
    assert result.code == 1
    assert (
        ": failed" in result.out and "error: cliflows.Boom: boom [red]x" in result.out
    )


def test_runs_are_named_by_a_unique_id_prefix_or_last(filled: Filled) -> None:
    store = filled.path
    ids = [each["id"] for each in enact("--store", store, "runs", "--json").json()]
    greeting = filled.made["greeting"]

    def unique_prefix(run_id: str) -> str:
        for length in range(1, len(run_id) + 1):
            prefix = run_id[:length]
            if sum(other.startswith(prefix) for other in ids) == 1:
                return prefix
        raise AssertionError(run_id)

    shown = enact("--store", store, "show", unique_prefix(greeting), "--json")
    assert shown.code == 0, shown.err
    assert shown.json()["run"]["id"] == greeting

    last = enact("--store", store, "show", "last", "--json").json()
    assert last["run"]["id"] == ids[0]  # the newest run

    # Every run id here starts with the year: ambiguous, and listed.
    ambiguous = enact("--store", store, "show", greeting[:4])
    assert ambiguous.code == 1
    line = ambiguous.one_line_error()
    assert f"'{greeting[:4]}' starts the ids of {len(ids)} runs: " in line
    assert f"{greeting} (greeting)" in line and "type more of the id" in line

    unknown = enact("--store", store, "show", "zzz")
    assert unknown.code == 1
    assert "No run with id or name 'zzz'" in unknown.one_line_error()


def test_rewind_refuses_to_drop_more_calls_than_the_run_made(filled: Filled) -> None:
    store = filled.path
    greeting = filled.made["greeting"]
    before = len(enact("--store", store, "runs", "--json").json())
    refused = enact(
        "--store", store, "-i", "cliflows", "rewind", "greeting", "--calls", "99"
    )
    assert refused.code == 1
    assert refused.one_line_error() == (
        f"enact: error: Run {greeting} made 3 top-level calls, so it cannot drop "
        "the last 99: give at most 3 (0 replays it whole)."
    )
    assert len(enact("--store", store, "runs", "--json").json()) == before


def test_show_full_prints_long_values_whole(filled: Filled) -> None:
    store = filled.path
    long_topic = "a long topic " * 10
    run_id = start_run(store, "AskTitle", long_topic.strip())
    cut = enact("--store", store, "show", run_id).out
    assert long_topic.strip() not in cut and "..." in cut
    whole = enact("--store", store, "show", run_id, "--full").out
    assert long_topic.strip() in whole


def test_ui_takes_import_as_its_invoke_page_suggests(filled: Filled) -> None:
    store = filled.path
    missing = enact("--store", store, "ui", "--import", "no_such_module_here")
    assert missing.code == 1
    assert "cannot import 'no_such_module_here'" in missing.one_line_error()
    # The module imports; the server then refuses a public address without a
    # token (so the test serves nothing).
    refused = enact("--store", store, "ui", "--import", "cliflows", "--host", "0.0.0.0")
    assert refused.code == 1
    assert "token" in refused.one_line_error()


def test_runs_lists_the_others_and_notes_a_damaged_record(
    tmp_path: pathlib.Path,
) -> None:
    store = tmp_path / "store"
    made = make_store(store)
    record = store / "runs" / f"{made['failing']}.json"
    record.write_bytes(b'{"v": 1, "id": "\xff')  # cut short, not UTF-8
    table = enact("--store", store, "runs")
    assert table.code == 0
    assert made["greeting"] in table.out and made["failing"] not in table.out
    (note,) = table.err.strip().splitlines()
    assert note.startswith("note: not listed:") and str(record) in note
    listed = enact("--store", store, "runs", "--json").json()
    assert made["failing"] not in {run["id"] for run in listed}
    checked = enact("--store", store, "verify", "--json")
    assert checked.code == 1
    assert any(made["failing"] in d["problem"] for d in checked.json()["damage"])
    assert record.read_bytes() == b'{"v": 1, "id": "\xff'  # left as it was


def test_runs_pages_follow_the_printed_next_command(filled: Filled) -> None:
    """The "more:" line repeats the store, filters and limit: run as it is,
    it gives the next page of the same listing."""
    store = str(filled.path)
    every = enact("--store", store, "runs", "--json", "--status", "waiting").json()
    assert len(every) >= 2
    seen: list[str] = []
    args = ["--store", store, "runs", "--json", "--status", "waiting", "--limit", "1"]
    while True:
        page = enact(*args)
        assert page.code == 0, page.err
        rows = page.json()
        assert len(rows) == 1
        seen += [row["id"] for row in rows]
        more = [line for line in page.err.splitlines() if line.startswith("more: ")]
        if not more:
            break
        words = shlex.split(more[0].removeprefix("more: "))
        assert words[:3] == ["enact", "--store", store]
        assert "--status" in words and "--limit" in words
        args = [*words[1:], "--json"]
        assert len(seen) < len(every)
    assert seen == [row["id"] for row in every]
