"""Async components of the durable-run tests (importable by subprocesses too).

Every finished leaf is appended to ``ENACT_SIDE_LOG`` (if set) and counted in
``runs.flows.CALLS``: a finished call must never run twice. A leaf whose
number is ``ENACT_HANG_AT`` writes ``hang`` to the log and then waits forever,
so a test can SIGKILL the process at a known point without sleeping.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os

import enact
from runs.flows import _side_effect


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class AsyncLeaf(enact.AsyncInvokable[enact.Int, enact.Int]):
    """Doubles its input, after letting other tasks run."""

    async def call(self, value: enact.Int) -> enact.Int:
        await asyncio.sleep(0)
        if os.environ.get("ENACT_HANG_AT") == str(int(value)):
            _side_effect("hang")
            await asyncio.Event().wait()  # until the test kills the process
        _side_effect(f"leaf-{int(value)}")
        return enact.Int(2 * int(value))


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class AsyncFlow(enact.AsyncInvokable[enact.Int, enact.Int]):
    """Three leaves at once (gather), then ``more`` one after another."""

    more: int = 3

    async def call(self, start: enact.Int) -> enact.Int:
        leaf = AsyncLeaf()
        first = await asyncio.gather(
            *(leaf(enact.Int(int(start) + i)) for i in range(3))
        )
        total = sum(int(value) for value in first)
        for i in range(3, 3 + self.more):
            total += int(await leaf(enact.Int(int(start) + i)))
        return enact.Int(total)


@enact.typed_invokable(enact.NoneResource, enact.Str)
@dataclasses.dataclass
class AsyncGreet(enact.AsyncInvokable[enact.NoneResource, enact.Str]):
    """Doubles two numbers, then asks for a name."""

    async def call(self) -> enact.Str:
        leaf = AsyncLeaf()
        rolls = [int(await leaf(enact.Int(i))) for i in range(2)]
        name = await enact.request_input_async(enact.Str, context="Who is playing?")
        _side_effect("greet-after-input")
        return enact.Str(f"{name} rolled {rolls}")


@enact.register
async def add_later(a: int, b: int) -> int:
    """A registered async function with two children."""
    doubled = await asyncio.gather(twice(a), twice(b))
    return sum(doubled)


@enact.register
async def twice(value: int) -> int:
    """A registered async leaf."""
    await asyncio.sleep(0)
    _side_effect(f"twice-{value}")
    return 2 * value
