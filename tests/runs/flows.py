"""Components the durable-run tests share (importable by subprocesses too).

Every execution of a leaf is counted in ``CALLS`` and, if ``ENACT_SIDE_LOG``
names a file, appended to it: a finished call must never run twice.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import random
import time

import enact

CALLS: collections.Counter[str] = collections.Counter()


def _side_effect(key: str) -> None:
    CALLS[key] += 1
    path = os.environ.get("ENACT_SIDE_LOG")
    if path:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{key}\n".encode())
        finally:
            os.close(fd)


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class Leaf(enact.Invokable[enact.Int, enact.Int]):
    """Doubles its input; sometimes stores a large blob on the way."""

    delay: float = 0.0
    blob_every: int = 0

    def call(self, value: enact.Int) -> enact.Int:
        _side_effect(f"leaf-{int(value)}")
        if self.delay:
            time.sleep(self.delay)
        if self.blob_every and int(value) % self.blob_every == 0:
            # A large object: written as a loose file (temp + rename).
            enact.commit(enact.Bytes(os.urandom(8 << 20)))
        return enact.Int(2 * int(value))


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class Stage(enact.Invokable[enact.Int, enact.Int]):
    """Calls ``width`` leaves on consecutive numbers from its input."""

    leaf: Leaf
    width: int = 5

    def call(self, start: enact.Int) -> enact.Int:
        return enact.Int(
            sum(int(self.leaf(enact.Int(int(start) + i))) for i in range(self.width))
        )


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class Pipeline(enact.Invokable[enact.Int, enact.Int]):
    """``stages`` stages of ``width`` leaves: a tree two levels deep."""

    stages: int = 3
    width: int = 5
    delay: float = 0.0
    blob_every: int = 0

    def call(self, start: enact.Int) -> enact.Int:
        stage = Stage(Leaf(self.delay, self.blob_every), self.width)
        return enact.Int(
            sum(
                int(stage(enact.Int(int(start) + self.width * i)))
                for i in range(self.stages)
            )
        )


@enact.typed_invokable(enact.NoneResource, enact.Int)
@dataclasses.dataclass
class Die(enact.Invokable[enact.NoneResource, enact.Int]):
    """A random component: forks resample it."""

    sides: int = 1_000_000

    def call(self) -> enact.Int:
        _side_effect("die")
        return enact.Int(random.randint(1, self.sides))


@enact.typed_invokable(enact.NoneResource, enact.Str)
@dataclasses.dataclass
class Greet(enact.Invokable[enact.NoneResource, enact.Str]):
    """Rolls twice, then asks for a name."""

    def call(self) -> enact.Str:
        rolls = [int(Die()()) for _ in range(2)]
        name = enact.request_input(enact.Str, context="Who is playing?")
        _side_effect("greet-after-input")
        return enact.Str(f"{name} rolled {rolls}")


@enact.register
@dataclasses.dataclass
class Point(enact.Resource):
    """An answer type with fields."""

    x: int
    y: int


@enact.typed_invokable(enact.NoneResource, enact.Int)
@dataclasses.dataclass
class AskPoint(enact.Invokable[enact.NoneResource, enact.Int]):
    """Asks for a Point and an Int."""

    def call(self) -> enact.Int:
        point = enact.request_input(Point, context={"question": "where?"})
        scale = enact.request_input(enact.Int, context="scale?")
        return enact.Int((point.x + point.y) * int(scale))


@enact.typed_invokable(enact.NoneResource, enact.Int)
@dataclasses.dataclass
class Fails(enact.Invokable[enact.NoneResource, enact.Int]):
    """Calls a die, then fails."""

    def call(self) -> enact.Int:
        Die()()
        raise ValueError("the dice were loaded")


class Interrupt(BaseException):
    """Stands in for a crash inside a run (the process would die here)."""


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class Crashes(enact.Invokable[enact.Int, enact.Int]):
    """A leaf that interrupts the run at one input, once."""

    at: int

    def call(self, value: enact.Int) -> enact.Int:
        if int(value) == self.at and not CALLS["crashed"]:
            CALLS["crashed"] += 1
            raise Interrupt()
        _side_effect(f"leaf-{int(value)}")
        return enact.Int(2 * int(value))


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class CrashingPipeline(enact.Invokable[enact.Int, enact.Int]):
    """Two stages of four leaves; the leaf numbered ``at`` interrupts once."""

    at: int

    def call(self, start: enact.Int) -> enact.Int:
        leaf = Crashes(self.at)
        total = 0
        for stage in range(2):
            total += int(_SubStage(leaf)(enact.Int(int(start) + 4 * stage)))
        return enact.Int(total)


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class _SubStage(enact.Invokable[enact.Int, enact.Int]):
    leaf: Crashes

    def call(self, start: enact.Int) -> enact.Int:
        return enact.Int(
            sum(int(self.leaf(enact.Int(int(start) + i))) for i in range(4))
        )


@enact.typed_invokable(enact.NoneResource, enact.Int)
@dataclasses.dataclass
class Dice(enact.Invokable[enact.NoneResource, enact.Int]):
    """Rolls ``count`` dice and sums them."""

    count: int = 3

    def call(self) -> enact.Int:
        return enact.Int(sum(int(Die()()) for _ in range(self.count)))


#: The stores current inside ``StoreProbe`` calls, in call order.
CURRENT_STORES: list[enact.Store] = []


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class StoreProbe(enact.Invokable[enact.Int, enact.Int]):
    """Notes the store current in each of its calls; interrupts at ``crash_at``."""

    crash_at: int = -1

    def call(self, count: enact.Int) -> enact.Int:
        total = 0
        for i in range(int(count)):
            total += int(_Probe(self.crash_at)(enact.Int(i)))
        return enact.Int(total)


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class _Probe(enact.Invokable[enact.Int, enact.Int]):
    crash_at: int

    def call(self, value: enact.Int) -> enact.Int:
        CURRENT_STORES.append(enact.Store.current())
        if int(value) == self.crash_at and not CALLS["probe-crashed"]:
            CALLS["probe-crashed"] += 1
            raise Interrupt()
        return enact.Int(int(value) + 1)
