"""Type checkers see a registered function's own signature.

Runs mypy on a small snippet; skipped when mypy is not installed.
"""

from __future__ import annotations

import pathlib
import textwrap

import pytest

SNIPPET = """
import dataclasses
from typing import Any, assert_type

import enact


@enact.register
def add(a: int, b: int = 0) -> int:
    return a + b


@enact.register(name="examples.shout")
def shout(text: str, *, times: int = 1) -> list[str]:
    return [text.upper()] * times


@enact.register
@dataclasses.dataclass
class Tally:
    count: int = 0

    @enact.register
    def add(self, amount: int) -> float:
        self.count += amount
        return self.count / 2


assert_type(add(1, b=2), int)
assert_type(shout("a", times=2), list[str])
assert_type(Tally().add(3), float)
assert_type(enact.invoke(add, (1, 2)), enact.Invocation[Any, Any])
"""

BAD = """
add("one")
shout("a", 2)
Tally().add()
"""


def run_mypy(source: str, tmp_path: pathlib.Path) -> tuple[str, int]:
    api = pytest.importorskip("mypy.api")
    path = tmp_path / "snippet.py"
    path.write_text(textwrap.dedent(source))
    stdout, stderr, status = api.run(
        [
            "--strict",
            "--no-incremental",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--no-error-summary",
            str(path),
        ]
    )
    return stdout + stderr, status


def test_registered_functions_keep_their_signatures(tmp_path: pathlib.Path) -> None:
    # One mypy run (they take seconds): the good lines pass, the bad ones fail.
    output, status = run_mypy(SNIPPET + BAD, tmp_path)
    lines = [line for line in output.splitlines() if ": error:" in line]
    assert len(lines) == 3, output
    assert 'Argument 1 to "add" has incompatible type "str"' in lines[0]
    assert 'Too many positional arguments for "shout"' in lines[1]
    assert 'Missing positional argument "amount"' in lines[2]
    assert status == 1
