"""Roll dice, journaled: run, inspect, rewind, and grow branches.

Run it with ``python examples/dice.py [store directory]``.
"""

from __future__ import annotations

import dataclasses
import random
import sys
import tempfile
from typing import Any

import enact


@enact.typed_invokable(enact.NoneResource, enact.Int)
@dataclasses.dataclass
class RollDie(enact.Invokable[enact.NoneResource, enact.Int]):
    """Rolls one die."""

    sides: int

    def call(self) -> enact.Int:
        return enact.Int(random.randint(1, self.sides))


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class RollDice(enact.Invokable[enact.Int, enact.Int]):
    """Rolls a number of dice and sums them."""

    roll: enact.Invokable[Any, Any]

    def call(self, num_dice: enact.Int) -> enact.Int:
        return enact.Int(sum(self.roll() for _ in range(num_dice)))


def main(directory: str) -> None:
    with enact.FileStore(directory):
        run = RollDice(RollDie(6)).invoke(enact.commit(enact.Int(4)))
        print(enact.invocation_summary(run))
        for _ in range(3):
            branch = run.rewind(2).replay()  # keep two rolls, resample two
            rolls = [child.get_output() for child in branch.get_children()]
            print(f"branch: {rolls} = {branch.get_output()}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp())
