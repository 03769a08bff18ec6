"""The components bench/batches.py samples (a module, so worker processes
and Ray tasks import them by name)."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import enact

__all__ = ["Burn", "ModelCall", "ThreeCalls", "Trivial"]


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class ModelCall(enact.AsyncInvokable[enact.Int, enact.Int]):
    """Stands in for a model call: awaits ``ms`` milliseconds."""

    ms: float = 20.0

    async def call(self, value: enact.Int) -> enact.Int:
        await asyncio.sleep(self.ms / 1000)
        return enact.Int(int(value) + 1)


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class ThreeCalls(enact.AsyncInvokable[enact.Int, enact.Int]):
    """An async flow of three model calls, one after another."""

    ms: float = 20.0

    async def call(self, value: enact.Int) -> enact.Int:
        model = ModelCall(self.ms)
        for _ in range(3):
            value = await model(value)
        return value


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class Burn(enact.Invokable[enact.Int, enact.Int]):
    """``ms`` milliseconds of CPU work."""

    ms: float = 20.0

    def call(self, value: enact.Int) -> enact.Int:
        end = time.process_time() + self.ms / 1000
        count = 0
        while time.process_time() < end:
            count += 1
        return enact.Int(int(value) + (count > 0))


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class Trivial(enact.Invokable[enact.Int, enact.Int]):
    """Nothing to do: what is measured is the executor's cost per sample."""

    def call(self, value: enact.Int) -> enact.Int:
        return value
