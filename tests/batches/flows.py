"""Components the batch tests sample (importable by worker processes too).

Each sample's work is appended to ``ENACT_SIDE_LOG`` if it names a file
(``<key> <pid>`` per line), so a test counts how often each ran, across
processes. A sample whose input is ``ENACT_HANG_AT`` writes ``hang <pid>``
and then blocks until its process is killed or interrupted, the first time
only (``ENACT_HANG_ONCE`` names a marker file that says it happened).
"""

from __future__ import annotations

import asyncio
import dataclasses
import fcntl
import os
import random
import threading
import time

import enact

#: Set by a test to let blocked samples go on.
GATE = threading.Event()


def side_effect(key: str) -> None:
    """Notes that ``key`` ran, in the side log shared by all processes."""
    path = os.environ.get("ENACT_SIDE_LOG")
    if path:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{key} {os.getpid()}\n".encode())
        finally:
            os.close(fd)


def _hang_here(value: int) -> bool:
    if os.environ.get("ENACT_HANG_AT") != str(value):
        return False
    marker = os.environ.get("ENACT_HANG_ONCE")
    if marker:
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
    side_effect("hang")
    return True


@enact.typed_invokable(enact.Int, enact.Float)
@dataclasses.dataclass
class Noise(enact.Invokable[enact.Int, enact.Float]):
    """A random number near its input: one child call (a draw)."""

    def call(self, center: enact.Int) -> enact.Float:
        value = float(Jitter()(center))
        return enact.Float(value)


@enact.typed_invokable(enact.Int, enact.Float)
@dataclasses.dataclass
class Jitter(enact.Invokable[enact.Int, enact.Float]):
    """The draw of :class:`Noise`; sample ``ENACT_HANG_AT`` hangs here."""

    def call(self, center: enact.Int) -> enact.Float:
        if _hang_here(int(center)):
            while True:  # until killed, or interrupted (Ctrl-C, stop)
                time.sleep(0.05)
        value = int(center) + random.random()
        side_effect(f"draw-{int(center)}")
        return enact.Float(value)


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class Steps(enact.Invokable[enact.Int, enact.Int]):
    """Three child calls: a kept one, then two random ones."""

    def call(self, value: enact.Int) -> enact.Int:
        kept = int(Fixed()(value))
        return enact.Int(kept + int(Roll()(value)) + int(Roll()(value)))


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class Fixed(enact.Invokable[enact.Int, enact.Int]):
    def call(self, value: enact.Int) -> enact.Int:
        side_effect("fixed")
        return enact.Int(int(value) * 1000)


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class Roll(enact.Invokable[enact.Int, enact.Int]):
    def call(self, value: enact.Int) -> enact.Int:
        side_effect("roll")
        return enact.Int(random.randint(1, 6))


@enact.typed_invokable(enact.Int, enact.Float)
@dataclasses.dataclass
class AsyncNoise(enact.AsyncInvokable[enact.Int, enact.Float]):
    """The async :class:`Noise`: two draws awaited together."""

    async def call(self, center: enact.Int) -> enact.Float:
        draw = AsyncJitter()
        first, second = await asyncio.gather(draw(center), draw(center))
        return enact.Float((float(first) + float(second)) / 2)


@enact.typed_invokable(enact.Int, enact.Float)
@dataclasses.dataclass
class AsyncJitter(enact.AsyncInvokable[enact.Int, enact.Float]):
    async def call(self, center: enact.Int) -> enact.Float:
        await asyncio.sleep(0)
        value = int(center) + random.random()
        side_effect(f"adraw-{value!r}")
        return enact.Float(value)


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class Picky(enact.Invokable[enact.Int, enact.Int]):
    """Fails for odd inputs."""

    def call(self, value: enact.Int) -> enact.Int:
        if int(value) % 2:
            raise ValueError(f"{int(value)} is odd")
        return enact.Int(int(value) // 2)


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class Gated(enact.Invokable[enact.Int, enact.Int]):
    """Input 0 goes through; others wait for :data:`GATE` (in this process)."""

    def call(self, value: enact.Int) -> enact.Int:
        if int(value):
            side_effect("gated-wait")
            while not GATE.wait(0.05):
                pass
        side_effect(f"gated-{int(value)}")
        return enact.Int(int(value))


@enact.register
async def echo(value: int) -> int:
    """A registered async function with no children."""
    await asyncio.sleep(0)
    return value


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class Burn(enact.Invokable[enact.Int, enact.Int]):
    """About ``ms`` milliseconds of CPU work."""

    ms: float = 20.0

    def call(self, value: enact.Int) -> enact.Int:
        end = time.process_time() + self.ms / 1000
        count = 0
        while time.process_time() < end:
            count += 1
        return enact.Int(int(value))


@enact.typed_invokable(enact.Int, enact.Str)
@dataclasses.dataclass
class WhereAmI(enact.Invokable[enact.Int, enact.Str]):
    """Notes the Ray node it runs on. The first ``meet`` samples wait until
    all of them have started (so they run at once, on different workers)."""

    meet: int = 0

    def call(self, value: enact.Int) -> enact.Str:
        import ray

        node = ray.get_runtime_context().get_node_id()
        side_effect(f"node-{node}")
        if int(value) < self.meet:
            side_effect("meet")
            path = os.environ["ENACT_SIDE_LOG"]
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                with open(path) as log:
                    if sum(line.startswith("meet ") for line in log) >= self.meet:
                        break
                time.sleep(0.01)
        return enact.Str(node)


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class Die(enact.Invokable[enact.Int, enact.Int]):
    """A throw of a die with ``sides`` sides."""

    sides: int = 6

    def call(self, value: enact.Int) -> enact.Int:
        side_effect(f"die-{self.sides}")
        return enact.Int(random.randint(1, self.sides))


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class Throws(enact.Invokable[enact.Int, enact.Int]):
    """A kept call, then two throws of its die (a field a fork can replace)."""

    die: Die = dataclasses.field(default_factory=Die)

    def call(self, value: enact.Int) -> enact.Int:
        kept = int(Fixed()(value))
        return enact.Int(kept + int(self.die(value)) + int(self.die(value)))


_FIELDS = ("now", "most", "arrived", "done")


def _count(**changes: int) -> dict[str, int]:
    """Changes the counts of :class:`Held` calls (in the file
    ``ENACT_HOLDERS``, shared by all processes) and returns them: ``now``
    inside at once, the ``most`` ever inside at once, samples ``arrived`` at
    the call, and samples ``done`` with it."""
    path = os.environ["ENACT_HOLDERS"]
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if changes else fcntl.LOCK_SH)
        text = os.read(fd, 200).decode() or "0 0 0 0"
        counts = dict(zip(_FIELDS, map(int, text.split()), strict=True))
        if changes:
            for key, change in changes.items():
                counts[key] += change
            counts["most"] = max(counts["most"], counts["now"])
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, " ".join(str(counts[key]) for key in _FIELDS).encode())
        return counts
    finally:
        os.close(fd)


def _may_leave(counts: dict[str, int]) -> bool:
    """Whether a call inside :class:`Held` may end: when as many are inside
    as the limit lets in (``ENACT_HOLD_FOR``) and every sample that can be in
    flight (``ENACT_HOLD_INFLIGHT``, fewer at the end of ``ENACT_HOLD_TOTAL``)
    has arrived at the call. So without a limit every sample in flight is
    inside at once, and with one the others are seen waiting for it, whatever
    the timing."""
    enough = int(os.environ["ENACT_HOLD_FOR"])
    in_flight = int(os.environ["ENACT_HOLD_INFLIGHT"])
    left = int(os.environ["ENACT_HOLD_TOTAL"]) - counts["done"]
    waiting = counts["arrived"] - counts["done"]
    return counts["now"] >= min(enough, left) and waiting >= min(in_flight, left)


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class Held(enact.Invokable[enact.Int, enact.Int]):
    """Stands in for a rate-limited API call: counts the calls inside it at
    once, staying inside until :func:`_may_leave`."""

    def call(self, value: enact.Int) -> enact.Int:
        counts = _count(now=+1)
        try:
            deadline = time.monotonic() + 60
            while not _may_leave(counts) and time.monotonic() < deadline:
                time.sleep(0.002)
                counts = _count()
        finally:
            _count(now=-1)
        return enact.Int(int(value) + 1)


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class CallsHeld(enact.Invokable[enact.Int, enact.Int]):
    """A sample that calls :class:`Held` once."""

    def call(self, value: enact.Int) -> enact.Int:
        _count(arrived=+1)
        try:
            return Held()(value)
        finally:
            _count(done=+1)


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class AsyncCallsHeld(enact.AsyncInvokable[enact.Int, enact.Int]):
    """The async :class:`CallsHeld`: the limited call is an async one."""

    async def call(self, value: enact.Int) -> enact.Int:
        _count(arrived=+1)
        try:
            return await AsyncHeld()(value)
        finally:
            _count(done=+1)


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class AsyncHeld(enact.AsyncInvokable[enact.Int, enact.Int]):
    """The async :class:`Held` (waits without blocking the loop)."""

    async def call(self, value: enact.Int) -> enact.Int:
        counts = _count(now=+1)
        try:
            deadline = time.monotonic() + 60
            while not _may_leave(counts) and time.monotonic() < deadline:
                await asyncio.sleep(0.002)
                counts = _count()
        finally:
            _count(now=-1)
        return enact.Int(int(value) + 1)
