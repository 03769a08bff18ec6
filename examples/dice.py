"""Roll dice as a durable run: run, inspect, and fork it into branches.

Run it from the repository's root with ``python examples/dice.py [store]``.
The store directory defaults to ``./.enact``, the one the ``enact`` command
opens by default; the runs stay there, and the script prints how to look at
them with ``enact runs`` and ``enact ui``.
"""

from __future__ import annotations

import dataclasses
import random
import shlex
import sys
from typing import Any

import enact

DEFAULT_STORE = ".enact"
#: Every run of this script is tagged so: ``enact runs --tag dice`` lists them.
TAGS = ("examples", "dice")


@enact.typed_invokable(enact.NoneResource, enact.Int)
@dataclasses.dataclass
class RollDie(enact.Invokable[enact.NoneResource, enact.Int]):
    """Rolls one die."""

    # A fixed name: the script runs as __main__, and `enact --import
    # examples.dice` must find the same type.
    _enact_type_name = "examples.dice.RollDie"

    sides: int

    def call(self) -> enact.Int:
        return enact.Int(random.randint(1, self.sides))


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class RollDice(enact.Invokable[enact.Int, enact.Int]):
    """Rolls a number of dice and sums them."""

    _enact_type_name = "examples.dice.RollDice"

    roll: enact.Invokable[Any, Any]

    def call(self, num_dice: enact.Int) -> enact.Int:
        return enact.Int(sum(self.roll() for _ in range(num_dice)))


def main(directory: str) -> None:
    with enact.FileStore(directory):
        run = enact.run(RollDice(RollDie(6)), enact.Int(4), tags=TAGS)
        print(enact.invocation_summary(run.journal()))
        for _ in range(3):
            branch = run.fork(2, tags=TAGS)  # keep two rolls, resample two
            rolls = [child.get_output() for child in branch.journal().get_children()]
            print(f"branch: {rolls} = {branch.output()}")
    store = shlex.quote(directory)
    print(f"\nThe runs are in {directory}. Look at them (from the repository's root):")
    print(f"    enact --store {store} runs --tag dice")
    print(f"    enact --store {store} --import examples.dice show {run.id}")
    print(f"    enact --store {store} --import examples.dice ui")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_STORE)
