"""The examples of the 0.4.0.dev1 README, verbatim
(docs/compatibility.md#the-original-examples).

The three examples run unchanged, in order, in one namespace; the only change
is the store directory, ``/tmp/my_store``, which becomes a test directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import enact
from original_examples import (
    C1_DEFINE_AND_CALL,
    C2_JOURNAL_REWIND_REPLAY,
    C3_HUMAN_INPUT,
)

STORE_PATH = "/tmp/my_store"


def localize(example: str, store_dir: Path) -> str:
    """The example with its store moved into ``store_dir``."""
    assert example.count(STORE_PATH) == (
        1 if example is C2_JOURNAL_REWIND_REPLAY else 0
    )
    return example.replace(STORE_PATH, str(store_dir))


def run(
    example: str, namespace: dict[str, Any], store_dir: Path, capsys: Any
) -> list[str]:
    """Executes one example in ``namespace``; returns the lines it printed."""
    capsys.readouterr()
    # dont_inherit: the examples must not see this module's __future__ imports.
    code = compile(localize(example, store_dir), "<README>", "exec", dont_inherit=True)
    exec(code, namespace)
    return capsys.readouterr().out.splitlines()


def check_c2(lines: list[str], namespace: dict[str, Any]) -> None:
    """C2 prints the total, the three rolls, then the total after a replay."""
    assert len(lines) == 5
    total, *rolls, new_total = (int(line) for line in lines)
    assert all(1 <= roll <= 6 for roll in rolls)
    assert sum(rolls) == total
    assert 3 <= new_total <= 18
    replayed = namespace["invocation"]
    with namespace["store"]:
        new_rolls = [child.get_output() for child in replayed.get_children()]
    # The replay reused the first two rolls and rolled the third again.
    assert new_rolls[:2] == rolls[:2]
    assert len(new_rolls) == 3
    assert 1 <= new_rolls[2] <= 6
    assert sum(new_rolls) == new_total == replayed.get_output()


def test_examples_in_order_in_one_namespace(tmp_path: Path, capsys: Any) -> None:
    store_dir = tmp_path / "my_store"
    namespace: dict[str, Any] = {"__name__": "readme"}

    (line,) = run(C1_DEFINE_AND_CALL, namespace, store_dir, capsys)
    assert 3 <= int(line) <= 18

    lines = run(C2_JOURNAL_REWIND_REPLAY, namespace, store_dir, capsys)
    check_c2(lines, namespace)
    assert store_dir.is_dir()

    assert run(C3_HUMAN_INPUT, namespace, store_dir, capsys) == ["18"]
    # C3's last line ran after its `with store:` block had exited.
    assert enact.Store.get_current() is None
    invocation = namespace["inv_gen"].invocation
    assert invocation.get_output() == 18
    assert [child.get_output() for child in invocation.get_children()] == [6, 6, 6]


def test_c2_again_on_the_same_directory(tmp_path: Path, capsys: Any) -> None:
    store_dir = tmp_path / "my_store"
    first: dict[str, Any] = {"__name__": "readme"}
    run(C1_DEFINE_AND_CALL, first, store_dir, capsys)
    check_c2(run(C2_JOURNAL_REWIND_REPLAY, first, store_dir, capsys), first)
    check_c2(run(C2_JOURNAL_REWIND_REPLAY, first, store_dir, capsys), first)

    # As a later session would: new classes, a new store object, same files.
    second: dict[str, Any] = {"__name__": "readme"}
    run(C1_DEFINE_AND_CALL, second, store_dir, capsys)
    check_c2(run(C2_JOURNAL_REWIND_REPLAY, second, store_dir, capsys), second)
    assert run(C3_HUMAN_INPUT, second, store_dir, capsys) == ["18"]


def test_as_a_script_run_twice(tmp_path: Path) -> None:
    store_dir = tmp_path / "my_store"
    script = tmp_path / "readme.py"
    script.write_text(
        "\n".join(
            localize(example, store_dir)
            for example in (
                C1_DEFINE_AND_CALL,
                C2_JOURNAL_REWIND_REPLAY,
                C3_HUMAN_INPUT,
            )
        )
    )
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert len(lines) == 1 + 5 + 1
        assert 3 <= int(lines[0]) <= 18
        total, *rolls, new_total = (int(line) for line in lines[1:6])
        assert sum(rolls) == total
        assert all(1 <= roll <= 6 for roll in rolls)
        assert 3 <= new_total <= 18
        assert new_total - rolls[0] - rolls[1] in range(1, 7)
        assert lines[6] == "18"
