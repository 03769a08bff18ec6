"""Components the API tests run (registered when the tests import this module)."""

from __future__ import annotations

import dataclasses
import random
import threading

import enact


@enact.typed_invokable(enact.Str, enact.Str)
@dataclasses.dataclass
class ApiPick(enact.Invokable[enact.Str, enact.Str]):
    """Picks a random word about a topic."""

    def call(self, topic: enact.Str) -> enact.Str:
        return enact.Str(f"{topic}-{random.randint(0, 10**9)}")


@enact.typed_invokable(enact.Str, enact.Str)
@dataclasses.dataclass
class ApiPickThree(enact.Invokable[enact.Str, enact.Str]):
    """Three picks, joined."""

    pick: enact.Invokable[enact.Str, enact.Str]

    def call(self, topic: enact.Str) -> enact.Str:
        return enact.Str(" ".join(str(self.pick(topic)) for _ in range(3)))


@enact.typed_invokable(enact.Str, enact.Int)
@dataclasses.dataclass
class ApiAskNumber(enact.Invokable[enact.Str, enact.Int]):
    """Asks a person for a number, then doubles it."""

    def call(self, topic: enact.Str) -> enact.Int:
        number = enact.request_input(enact.Int, topic, context="How many?")
        return enact.Int(2 * int(number))


@enact.typed_invokable(enact.Str, enact.Str)
@dataclasses.dataclass
class ApiFail(enact.Invokable[enact.Str, enact.Str]):
    """Always fails."""

    def call(self, topic: enact.Str) -> enact.Str:
        raise ValueError(f"no luck with {topic}")


@enact.register
@dataclasses.dataclass
class Greeting(enact.Resource):
    name: str
    times: int


@enact.register
@dataclasses.dataclass
class Reply(enact.Resource):
    text: str


@enact.typed_invokable(Greeting, Reply)
@dataclasses.dataclass
class Greeter(enact.Invokable[Greeting, Reply]):
    """Greets someone, some times."""

    punctuation: str = "!"

    def call(self, greeting: Greeting) -> Reply:
        if greeting.times < 0:
            raise ValueError("times must be 0 or more")
        return Reply(f"hi {greeting.name}{self.punctuation}" * greeting.times)


@enact.typed_invokable(enact.NoneResource, Reply)
@dataclasses.dataclass
class Hello(enact.Invokable[enact.NoneResource, Reply]):
    """Says hello."""

    def call(self) -> Reply:
        return Reply("hello")


#: Set by a test to let ApiGated go on past its first call; ApiGated sets
#: REACHED when it gets there.
GATE = threading.Event()
REACHED = threading.Event()


@enact.typed_invokable(enact.Str, enact.Str)
@dataclasses.dataclass
class ApiGated(enact.Invokable[enact.Str, enact.Str]):
    """One pick, then waits for the test's gate, then another pick."""

    pick: enact.Invokable[enact.Str, enact.Str]

    def call(self, topic: enact.Str) -> enact.Str:
        first = self.pick(topic)
        REACHED.set()
        if not GATE.wait(60):
            raise TimeoutError("the test never opened the gate")
        return enact.Str(f"{first} {self.pick(topic)}")


@enact.typed_invokable(enact.Str, enact.Str)
@dataclasses.dataclass
class ApiSuffix(enact.Invokable[enact.Str, enact.Str]):
    """Adds a suffix, some times, and a random number."""

    suffix: str = "!"
    times: int = 1

    def call(self, topic: enact.Str) -> enact.Str:
        return enact.Str(f"{topic}{self.suffix * self.times}{random.randint(0, 999)}")


@enact.typed_invokable(Greeting, enact.Str)
@dataclasses.dataclass
class ApiChain(enact.Invokable[Greeting, enact.Str]):
    """Picks a word for the name, then suffixes each of the times."""

    first: enact.Invokable[enact.Str, enact.Str]
    second: enact.Invokable[enact.Str, enact.Str]
    loud: bool = False

    def call(self, greeting: Greeting) -> enact.Str:
        word = self.first(enact.Str(greeting.name))
        out = [
            str(self.second(enact.Str(f"{word}/{i}"))) for i in range(greeting.times)
        ]
        text = " ".join(out)
        return enact.Str(text.upper() if self.loud else text)
