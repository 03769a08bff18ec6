"""Components the UI tests run (registered when the tests import this module)."""

from __future__ import annotations

import dataclasses
import random
import threading

import enact

SCRIPT = "<script>alert(1)</script>"


@enact.typed_invokable(enact.Str, enact.Str)
@dataclasses.dataclass
class UIDraw(enact.Invokable[enact.Str, enact.Str]):
    """Draws a random word about a topic."""

    seed: int = 0

    def call(self, topic: enact.Str) -> enact.Str:
        return enact.Str(f"{topic}-{random.randint(0, 10**9)}")


@enact.typed_invokable(enact.Str, enact.Str)
@dataclasses.dataclass
class UIDrawThree(enact.Invokable[enact.Str, enact.Str]):
    """Three draws, joined."""

    draw: enact.Invokable[enact.Str, enact.Str]

    def call(self, topic: enact.Str) -> enact.Str:
        return enact.Str(" ".join(str(self.draw(topic)) for _ in range(3)))


@enact.typed_invokable(enact.Str, enact.Str)
@dataclasses.dataclass
class UIAskName(enact.Invokable[enact.Str, enact.Str]):
    """Asks a person to name the topic."""

    def call(self, topic: enact.Str) -> enact.Str:
        name = enact.request_input(enact.Str, topic, context="Please name the topic")
        return enact.Str(f"{topic} is called {name}")


@enact.typed_invokable(enact.Str, enact.Int)
@dataclasses.dataclass
class UIAskNumber(enact.Invokable[enact.Str, enact.Int]):
    """Asks a person for a number."""

    def call(self, topic: enact.Str) -> enact.Int:
        return enact.request_input(enact.Int, topic, context="How many?")


@enact.typed_invokable(enact.Str, enact.Str)
@dataclasses.dataclass
class UIRepeat(enact.Invokable[enact.Str, enact.Str]):
    """Repeats its input."""

    times: int = 2
    separator: str = " "
    shout: bool = False

    def __post_init__(self) -> None:
        if self.times < 0:
            raise ValueError("times must be 0 or more")

    def call(self, text: enact.Str) -> enact.Str:
        result = self.separator.join([str(text)] * self.times)
        return enact.Str(result.upper() if self.shout else result)


@enact.typed_invokable(enact.Str, enact.Str)
@dataclasses.dataclass
class UIEcho(enact.Invokable[enact.Str, enact.Str]):
    """Returns its input, and asks about it with it as the context."""

    ask: bool = False

    def call(self, text: enact.Str) -> enact.Str:
        if self.ask:
            enact.request_input(enact.Str, context=str(text))
        return enact.Str(str(text))


@enact.typed_invokable(enact.Str, enact.Str)
@dataclasses.dataclass
class UIFail(enact.Invokable[enact.Str, enact.Str]):
    """Raises."""

    def call(self, text: enact.Str) -> enact.Str:
        raise ValueError(f"no good: {text}")


@enact.register
@dataclasses.dataclass
class UIPoint(enact.Resource):
    """A point with a label."""

    x: int
    y: int
    label: str = ""


@enact.typed_invokable(enact.Str, UIPoint)
@dataclasses.dataclass
class UIAskPoint(enact.Invokable[enact.Str, UIPoint]):
    """Asks a person for a point."""

    def call(self, question: enact.Str) -> UIPoint:
        return enact.request_input(UIPoint, question, context=str(question))


#: Set by a test to let UIGated go on past its first call; UIGated sets
#: REACHED when it gets there.
GATE = threading.Event()
REACHED = threading.Event()


@enact.typed_invokable(enact.Str, enact.Str)
@dataclasses.dataclass
class UIGated(enact.Invokable[enact.Str, enact.Str]):
    """One draw, then waits for the test's gate, then two more draws."""

    draw: enact.Invokable[enact.Str, enact.Str]

    def call(self, topic: enact.Str) -> enact.Str:
        first = self.draw(topic)
        REACHED.set()
        if not GATE.wait(60):
            raise TimeoutError("the test never opened the gate")
        return enact.Str(f"{first} {self.draw(topic)} {self.draw(topic)}")


@enact.typed_invokable(enact.Str, enact.Str)
@dataclasses.dataclass
class UISuffix(enact.Invokable[enact.Str, enact.Str]):
    """Adds a suffix, some times, and a random number."""

    suffix: str = "!"
    times: int = 1

    def call(self, topic: enact.Str) -> enact.Str:
        return enact.Str(f"{topic}{self.suffix * self.times}{random.randint(0, 999)}")


@enact.register
@dataclasses.dataclass
class UITask(enact.Resource):
    name: str
    times: int


@enact.typed_invokable(UITask, enact.Str)
@dataclasses.dataclass
class UIChain(enact.Invokable[UITask, enact.Str]):
    """Draws a word for the name, then suffixes it once per time."""

    first: enact.Invokable[enact.Str, enact.Str]
    second: enact.Invokable[enact.Str, enact.Str]
    loud: bool = False

    def call(self, task: UITask) -> enact.Str:
        word = self.first(enact.Str(task.name))
        out = [str(self.second(enact.Str(f"{word}/{i}"))) for i in range(task.times)]
        text = " ".join(out)
        return enact.Str(text.upper() if self.loud else text)
