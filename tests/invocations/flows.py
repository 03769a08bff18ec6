"""Invokables shared by the invocation tests.

They are registered (``typed_invokable`` registers by default), so journals
that hold them can be read back through a new store object. Every leaf counts
its executions in :data:`CALLS`, which lets a test tell a replayed call (not
counted) from an executed one.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Any

import enact

#: Executions per invokable class name; reset by the ``calls`` fixture.
CALLS: collections.Counter[str] = collections.Counter()


@enact.typed_invokable(enact.Int, enact.Str)
@dataclasses.dataclass
class IntToStr(enact.Invokable):
    """Formats an Int, followed by ``salt``."""

    salt: str = ""

    def call(self, value: enact.Int) -> enact.Str:
        CALLS["IntToStr"] += 1
        return enact.Str(f"{value}{self.salt}")


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class AddOne(enact.Invokable):
    """Adds one; fails for the inputs in ``fail_on``.

    ``failure`` picks the exception: ``"value"`` a native ValueError,
    ``"resource"`` an ExceptionResource (recorded as itself).
    """

    fail_on: list[int] = dataclasses.field(default_factory=list)
    failure: str = "value"

    def call(self, value: enact.Int) -> enact.Int:
        CALLS["AddOne"] += 1
        if value in self.fail_on:
            if self.failure == "resource":
                raise enact.ExceptionResource(f"failed on {value}")
            raise ValueError(f"failed on {value}")
        return enact.Int(value + 1)


@enact.typed_invokable(enact.NoneResource, enact.Int)
@dataclasses.dataclass
class Loop(enact.Invokable):
    """Applies ``fun`` ``steps`` times, starting from ``start``."""

    # An invokable instance as a dataclass default
    # (docs/compatibility.md#easy-to-miss-behaviour).
    fun: enact.InvokableBase = AddOne()  # noqa: RUF009 - the point of it
    steps: int = 10
    start: int = 0

    def call(self) -> enact.Int:
        CALLS["Loop"] += 1
        value = enact.Int(self.start)
        for _ in range(self.steps):
            value = self.fun(value)
        return value


def failing_loop(failure: str = "value") -> Loop:
    """The 10-step loop from 0 whose step 3 fails."""
    return Loop(AddOne(fail_on=[3], failure=failure))


@enact.register
@dataclasses.dataclass
class Raise(enact.Invokable):
    """Untyped leaf that raises ValueError(message)."""

    message: str = "boom"

    def call(self, value: Any) -> Any:
        CALLS["Raise"] += 1
        raise ValueError(self.message)


@enact.register
@dataclasses.dataclass
class Forward(enact.Invokable):
    """Untyped: calls ``inner`` on its input and returns the result."""

    inner: enact.InvokableBase

    def call(self, value: Any) -> Any:
        CALLS["Forward"] += 1
        return self.inner(value)


def chain() -> Forward:
    """A calls B calls C, and C raises ValueError."""
    return Forward(Forward(Raise()))


@enact.typed_invokable(enact.NoneResource, enact.Int)
@dataclasses.dataclass
class Clock(enact.Invokable):
    """Returns how often it has run: a different output on every execution."""

    def call(self) -> enact.Int:
        CALLS["Clock"] += 1
        return enact.Int(CALLS["Clock"])


@enact.typed_invokable(enact.NoneResource, enact.Int)
@dataclasses.dataclass
class Repeat(enact.Invokable):
    """Calls ``fun()`` ``times`` times and returns the sum of the results."""

    fun: enact.InvokableBase = dataclasses.field(default_factory=Clock)
    times: int = 3

    def call(self) -> enact.Int:
        return enact.Int(sum(self.fun() for _ in range(self.times)))


@enact.typed_invokable(enact.NoneResource, enact.Int)
@dataclasses.dataclass
class Tally(enact.Invokable):
    """Stateful: counts its own calls in a field and returns the count."""

    count: int = 0

    def call(self) -> enact.Int:
        CALLS["Tally"] += 1
        self.count += 1
        return enact.Int(self.count)


@enact.typed_invokable(enact.NoneResource, enact.Int)
@dataclasses.dataclass
class Counter(enact.Invokable):
    """Stateful: adds ``steps`` to its count and returns the new count."""

    count: int = 0
    steps: int = 10

    def call(self) -> enact.Int:
        CALLS["Counter"] += 1
        for _ in range(self.steps):
            self.count += 1
        return enact.Int(self.count)


@enact.typed_invokable(enact.NoneResource, enact.Int)
@dataclasses.dataclass
class UseTally(enact.Invokable):
    """Calls a stateful child ``times`` times; returns the sum of its outputs."""

    tally: Tally = dataclasses.field(default_factory=Tally)
    times: int = 4

    def call(self) -> enact.Int:
        return enact.Int(sum(self.tally() for _ in range(self.times)))


@enact.typed_invokable(enact.Str, enact.Str)
@dataclasses.dataclass
class AskTwice(enact.Invokable):
    """Asks for a Str about its input, then for a Str about the answer."""

    def call(self, value: enact.Str) -> enact.Str:
        first = enact.RequestInput(enact.Str)(value)
        return enact.RequestInput(enact.Str)(first)


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class AddInput(enact.Invokable):
    """Adds an Int asked for to its input."""

    def call(self, value: enact.Int) -> enact.Int:
        return enact.Int(enact.request_input(enact.Int) + value)


@enact.typed_invokable(enact.NoneResource, enact.Int)
@dataclasses.dataclass
class SumInputs(enact.Invokable):
    """Asks for ``count`` Ints and returns their sum."""

    count: int = 3

    def call(self) -> enact.Int:
        total = 0
        for i in range(self.count):
            total += enact.request_input(enact.Int, context=f"number {i}")
        return enact.Int(total)


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class AskAbout(enact.Invokable):
    """Asks for an Int about its input (with context); adds one to it."""

    question: str = "how much?"

    def call(self, value: enact.Int) -> enact.Int:
        answer = enact.request_input(
            enact.Int, for_resource=value, context=self.question
        )
        return AddOne()(enact.Int(answer))


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class Survey(enact.Invokable):
    """A deeper flow mixing computed steps and input requests.

    Requests happen two levels down (inside ``AskAbout``), at the top level,
    and twice with identical parameters (same invokable, input, type and
    context).
    """

    ask: AskAbout = dataclasses.field(default_factory=AskAbout)

    def call(self, value: enact.Int) -> enact.Int:
        total = AddOne()(value)
        total = enact.Int(total + self.ask(total))
        same = [enact.request_input(enact.Int, context="again") for _ in range(2)]
        total = enact.Int(total + sum(same))
        return enact.Int(total + self.ask(enact.Int(total % 7)))


@enact.typed_invokable(enact.NoneResource, enact.Str)
@dataclasses.dataclass
class AskAny(enact.Invokable):
    """Asks for any resource (so None is an acceptable answer)."""

    def call(self) -> enact.Str:
        answer = enact.request_input(enact.ResourceBase)
        return enact.Str(type(answer).__name__)
