"""A flow that pauses at one call, for the PostgreSQL failure tests
(importable by the test and by ``pg_child.py``)."""

from __future__ import annotations

import dataclasses
import os
import sys

import enact

__all__ = ["PauseFlow", "Pauser"]


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class Pauser(enact.Invokable[enact.Int, enact.Int]):
    """Doubles its input; at ``at`` (if ``$ENACT_TEST_PAUSE`` is 1) it says
    ``paused`` on standard output and waits for a line on standard input
    (the test stops the server meanwhile).
    Each call says ``call <n>`` on standard error."""

    at: int

    def call(self, value: enact.Int) -> enact.Int:
        print(f"call {int(value)}", file=sys.stderr, flush=True)
        if int(value) == self.at and os.environ.get("ENACT_TEST_PAUSE") == "1":
            print("paused", flush=True)
            sys.stdin.readline()
        return enact.Int(2 * int(value))


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class PauseFlow(enact.Invokable[enact.Int, enact.Int]):
    """``count`` Pauser calls on 0, 1, ..."""

    at: int
    count: int = 8

    def call(self, start: enact.Int) -> enact.Int:
        leaf = Pauser(self.at)
        return enact.Int(sum(int(leaf(enact.Int(i))) for i in range(self.count)))
