"""The README's examples run, and its section "The original examples" quotes
the three examples of the 0.4.0.dev1 README verbatim (in one namespace, in
order)."""

from __future__ import annotations

import contextlib
import io
import pathlib
import re

from original_examples import (
    C1_DEFINE_AND_CALL,
    C2_JOURNAL_REWIND_REPLAY,
    C3_HUMAN_INPUT,
)

ROOT = pathlib.Path(__file__).resolve().parents[1]


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.S)


def readme_seed_examples() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## The original examples") :]
    section = section[: section.index("\n## ", 1)]
    return python_blocks(section)


def test_readme_shows_the_original_examples_verbatim() -> None:
    examples = readme_seed_examples()
    assert len(examples) == 3
    assert examples == [C1_DEFINE_AND_CALL, C2_JOURNAL_REWIND_REPLAY, C3_HUMAN_INPUT]


def test_readme_seed_examples_run(tmp_path: pathlib.Path) -> None:
    store = str(tmp_path / "my_store")
    namespace: dict[str, object] = {}
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        for example in readme_seed_examples():
            exec(example.replace("/tmp/my_store", store), namespace)
    lines = output.getvalue().split()
    first, total, rolls, new_total, last = (
        int(lines[0]),
        int(lines[1]),
        [int(x) for x in lines[2:5]],
        int(lines[5]),
        lines[6],
    )
    assert 3 <= first <= 18
    assert all(1 <= r <= 6 for r in rolls) and sum(rolls) == total
    assert rolls[0] + rolls[1] + 1 <= new_total <= rolls[0] + rolls[1] + 6
    assert last == "18"


def test_readme_twenty_line_example_runs(tmp_path: pathlib.Path) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## In 20 lines") :]
    (example,) = python_blocks(section[: section.index("\n## ", 1)])
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(example.replace("/tmp/dice", str(tmp_path / "dice")), {})
    assert output.getvalue().startswith("->RollDice(3) = ")


def test_readme_plain_functions_example_runs(tmp_path: pathlib.Path) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Plain functions") :]
    (example,) = python_blocks(section[: section.index("\n## ", 1)])
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(example.replace("/tmp/dice_functions", str(tmp_path / "dice")), {})
    total, *rolls = re.findall(r"\d+", output.getvalue())
    assert len(rolls) == 3 and int(total) == sum(map(int, rolls))


def test_functions_doc_example_runs(tmp_path: pathlib.Path) -> None:
    (example, *_) = python_blocks((ROOT / "docs" / "functions.md").read_text())
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(example.replace("/tmp/dice", str(tmp_path / "dice")), {})
    total, *rolls = re.findall(r"\d+", output.getvalue())
    assert len(rolls) == 3 and int(total) == sum(map(int, rolls))


def test_readme_durable_runs_example_runs(tmp_path: pathlib.Path) -> None:
    readme = (ROOT / "README.md").read_text()
    twenty = readme[readme.index("## In 20 lines") :]
    (definitions,) = python_blocks(twenty[: twenty.index("\n## ", 1)])
    section = readme[readme.index("## Durable runs") :]
    (example,) = python_blocks(section[: section.index("\n## ", 1)])
    output = io.StringIO()
    namespace: dict[str, object] = {}
    with contextlib.redirect_stdout(output):
        exec(definitions.replace("/tmp/dice", str(tmp_path / "dice")), namespace)
        exec(example.replace("/tmp/dice", str(tmp_path / "dice")), namespace)
    status, total = output.getvalue().split()[-2:]
    assert status == "finished" and 3 <= int(total) <= 18


def test_readme_batches_example_runs(tmp_path: pathlib.Path) -> None:
    readme = (ROOT / "README.md").read_text()
    twenty = readme[readme.index("## In 20 lines") :]
    (definitions,) = python_blocks(twenty[: twenty.index("\n## ", 1)])
    section = readme[readme.index("## Batches") :]
    (example,) = python_blocks(section[: section.index("\n## ", 1)])
    output = io.StringIO()
    namespace: dict[str, object] = {}
    with contextlib.redirect_stdout(output):
        exec(definitions.replace("/tmp/dice", str(tmp_path / "dice")), namespace)
        exec(example.replace("/tmp/dice", str(tmp_path / "dice")), namespace)
    counts, rows = output.getvalue().splitlines()[-2:]
    assert counts == "{'finished': 100}"
    assert rows.startswith("[(")
    branches = namespace["branches"]
    assert branches.info().counts == {"finished": 10}  # type: ignore[attr-defined]
