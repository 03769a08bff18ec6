"""Every script in examples/ runs to completion, leaves its runs in a store the
user can open afterwards, and prints the commands that show them."""

from __future__ import annotations

import os
import pathlib
import shlex
import subprocess
import sys

import pytest

import enact
from enact import runs

ROOT = pathlib.Path(__file__).resolve().parents[1]
# agent.py needs a model server: tests/llm/test_agent_example.py runs it
# against the local model, whose server outlives the commands it prints.
NEEDS_A_MODEL = {"agent.py"}
EXAMPLES = sorted(
    path for path in (ROOT / "examples").glob("*.py") if path.name not in NEEDS_A_MODEL
)


def run_script(
    command: list[str], cwd: pathlib.Path
) -> subprocess.CompletedProcess[str]:
    # Wide enough that the command's tables show whole run ids.
    env = {**os.environ, "COLUMNS": "200"}
    result = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result


def example_runs(store: pathlib.Path, script: pathlib.Path) -> list[runs.RunInfo]:
    """The runs of ``script`` in the store (tagged with its name), oldest first."""
    assert store.is_dir(), f"{script.name} left no store at {store}"
    with enact.FileStore(str(store)):
        return runs.list_runs(tag=script.stem)[::-1]


def hinted_commands(output: str) -> list[list[str]]:
    """The ``enact ...`` command lines the script printed."""
    return [
        shlex.split(line)
        for line in output.splitlines()
        if line.strip().startswith("enact ")
    ]


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs_in_the_store_it_is_given(
    script: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    store = tmp_path / "store"
    result = run_script([sys.executable, str(script), str(store)], tmp_path)
    found = example_runs(store, script)
    assert len(found) >= 2  # a run and its branches
    assert all(info.status is runs.RunStatus.FINISHED for info in found)
    first, *branches = found
    assert first.parent is None
    assert all(info.parent == first.id for info in branches)
    # The commands it prints work, run from the repository's root (all but
    # the web UI's, which serves until stopped): they list the runs and show
    # the first one's calls with their types.
    *shell, ui = hinted_commands(result.stdout)
    assert ui[:3] == ["enact", "--store", str(store)] and ui[-1] == "ui"
    outputs = []
    for command in shell:
        assert command[:3] == ["enact", "--store", str(store)]
        shown = run_script([sys.executable, "-m", "enact.cli", *command[1:]], ROOT)
        assert "not registered" not in shown.stdout + shown.stderr
        outputs.append(shown.stdout)
    listed, tree = outputs
    assert all(info.id in listed for info in found), listed
    assert tree.startswith(f"run {first.id} ")
    # With the hinted --import, the command line finds the script's types and
    # functions, so it can branch the run too.
    fork = [*shell[1][1:-2], "fork", first.id, "--calls", "1"]
    run_script([sys.executable, "-m", "enact.cli", *fork], ROOT)
    with enact.FileStore(str(store)):
        assert len(runs.list_runs(parent=first.id)) == len(branches) + 1


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_defaults_to_the_store_of_the_command_line(
    script: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    result = run_script([sys.executable, str(script)], tmp_path)
    assert example_runs(tmp_path / ".enact", script)
    assert "enact --store .enact runs" in result.stdout


def test_the_demo_runs(tmp_path: pathlib.Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "enact.demo", "--store", str(tmp_path / "s")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "A person in the loop" in result.stdout
