"""Components the command-line batch tests sample (a user's module)."""

from __future__ import annotations

import dataclasses
import random

import enact


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class Die(enact.Invokable[enact.Int, enact.Int]):
    """A die with as many sides as its input; fails for a die of 0 sides."""

    def call(self, sides: enact.Int) -> enact.Int:
        if int(sides) == 0:
            raise ValueError("a die needs sides")
        return enact.Int(random.randint(1, int(sides)))


@enact.typed_invokable(enact.NoneResource, enact.Str)
@dataclasses.dataclass
class Coin(enact.Invokable[enact.NoneResource, enact.Str]):
    def call(self) -> enact.Str:
        return enact.Str(random.choice(["heads", "tails"]))


@enact.register
def scaled(value: float, factor: float) -> float:
    """A registered function of two arguments."""
    return value * factor * random.random()
