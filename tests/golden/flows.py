"""The components of the golden journals, under persistent names.

Never change these classes' names or fields: stores under tests/golden/ hold
them. Add new classes for new golden journals instead.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import enact


@enact.register(name="golden.RollDie")
@enact.typed_invokable(enact.NoneResource, enact.Int, register=False)
@dataclasses.dataclass
class RollDie(enact.Invokable[enact.NoneResource, enact.Int]):
    sides: int

    def call(self) -> enact.Int:
        return enact.Int(random.randint(1, self.sides))


@enact.register(name="golden.RollDice")
@enact.typed_invokable(enact.Int, enact.Int, register=False)
@dataclasses.dataclass
class RollDice(enact.Invokable[enact.Int, enact.Int]):
    roll: enact.Invokable[Any, Any]

    def call(self, num_dice: enact.Int) -> enact.Int:
        return enact.Int(sum(self.roll() for _ in range(num_dice)))


@enact.register(name="golden.AskTwice")
@enact.typed_invokable(enact.Str, enact.Str, register=False)
@dataclasses.dataclass
class AskTwice(enact.Invokable[enact.Str, enact.Str]):
    def call(self, question: enact.Str) -> enact.Str:
        first = enact.request_input(enact.Str, question, context="first")
        second = enact.request_input(enact.Str, question, context="second")
        return enact.Str(f"{first}+{second}")


@enact.register(name="golden.Fails")
@enact.typed_invokable(enact.NoneResource, enact.Int, register=False)
@dataclasses.dataclass
class Fails(enact.Invokable[enact.NoneResource, enact.Int]):
    def call(self) -> enact.Int:
        raise ValueError("always")
