"""examples/agent.py runs against the local model and leaves its runs."""

from __future__ import annotations

import os
import pathlib
import shlex
import subprocess
import sys

import enact
from enact import runs
from llm.local_server import MODEL, LocalServer

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _run(command: list[str], cwd: pathlib.Path) -> str:
    result = subprocess.run(
        command,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_agent_drafts_critiques_revises_and_forks(
    local_model: LocalServer, tmp_path: pathlib.Path
) -> None:
    store = tmp_path / "store"
    script = str(ROOT / "examples" / "agent.py")
    out = _run(
        [
            sys.executable,
            script,
            str(store),
            "--base-url",
            local_model.base_url,
            "--model",
            MODEL,
        ],
        tmp_path,
    )
    assert "replayed without the model: same story True" in out
    assert "fork: the writer at temperature 1.2" in out
    assert "The fork" in out and "waits for a person" in out
    assert "-- critique [you]:\nMake it shorter, and end with a surprise." in out
    with enact.FileStore(str(store)):
        found = runs.list_runs(tag="agent")[::-1]
        first, *branches = found
        assert len(branches) == 3
        assert all(info.status is runs.RunStatus.FINISHED for info in found)
        assert all(info.parent == first.id for info in branches)
        taken_over = runs.get_run(branches[-1].id).journal()
        assert (
            taken_over.get_child(0).get_output()
            == runs.get_run(first.id).journal().get_child(0).get_output()
        )
    # The printed commands work from the repository's root, and so does a
    # fork from the command line (the server still runs).
    commands = [
        shlex.split(line)
        for line in out.splitlines()
        if line.strip().startswith("enact ")
    ]
    listed, shown, ui = commands
    assert ui[-1] == "ui"
    assert first.id in _run([sys.executable, "-m", "enact.cli", *listed[1:]], ROOT)
    assert f"run {first.id}" in _run(
        [sys.executable, "-m", "enact.cli", *shown[1:]], ROOT
    )
    fork = [*shown[1:-2], "fork", first.id, "--calls", "1"]
    _run([sys.executable, "-m", "enact.cli", *fork], ROOT)
