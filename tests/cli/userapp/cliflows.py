"""A user's project for the command-line tests: components and an answer type.

The tests never import this module themselves: the ``enact`` command imports
it with ``--import cliflows`` (this directory is on ``PYTHONPATH``), as a
user's shell would. ``python cliflows.py STORE`` fills a store with runs of
every status and prints their ids, and the refs the tests show, as JSON.
"""

from __future__ import annotations

import dataclasses
import json
import random
import sys

import enact


@enact.register
@dataclasses.dataclass
class Point(enact.Resource):
    """An answer type of the user's own."""

    x: int
    y: int


@enact.typed_invokable(enact.Str, enact.Str)
@dataclasses.dataclass
class Greet(enact.Invokable[enact.Str, enact.Str]):
    """A random component: resamples when forked."""

    def call(self, name: enact.Str) -> enact.Str:
        return enact.Str(f"hello {name} #{random.randrange(10**9)}")


@enact.typed_invokable(enact.Str, enact.Str)
@dataclasses.dataclass
class Chain(enact.Invokable[enact.Str, enact.Str]):
    """Greets three times."""

    greet: enact.Invokable[enact.Str, enact.Str]

    def call(self, name: enact.Str) -> enact.Str:
        return enact.Str(" / ".join(str(self.greet(name)) for _ in range(3)))


@enact.typed_invokable(enact.Str, enact.Str)
@dataclasses.dataclass
class AskTitle(enact.Invokable[enact.Str, enact.Str]):
    """Asks a person for a title (text)."""

    def call(self, topic: enact.Str) -> enact.Str:
        title = enact.request_input(enact.Str, topic, context="[b]Title[/b] please")
        return enact.Str(f"{title}: {topic}")


@enact.typed_invokable(enact.Str, enact.Str)
@dataclasses.dataclass
class AskPoint(enact.Invokable[enact.Str, enact.Str]):
    """Asks for a value of a user type."""

    def call(self, label: enact.Str) -> enact.Str:
        point = enact.request_input(Point, label, context="Where?")
        return enact.Str(f"{label} at {point.x},{point.y}")


class Boom(Exception):
    """Not a resource: recorded as a WrappedException."""


@enact.typed_invokable(enact.Str, enact.Str)
@dataclasses.dataclass
class Fails(enact.Invokable[enact.Str, enact.Str]):
    """Always raises."""

    def call(self, text: enact.Str) -> enact.Str:
        raise Boom(f"boom {text}")


def build(path: str) -> dict[str, str]:
    """Fills the store at ``path`` (``.db``: SQLite) and returns what is in it."""
    random.seed(7)
    store = enact.SQLiteStore(path) if path.endswith(".db") else enact.FileStore(path)
    with store:
        made = {
            "greeting": enact.run(
                Chain(Greet()), enact.Str("world"), name="greeting", tags=["t1"]
            ),
            "title": enact.run(AskTitle(), enact.Str("moon"), name="title"),
            "point": enact.run(AskPoint(), enact.Str("home"), name="point"),
            "failing": enact.run(Fails(), enact.Str("[red]x"), name="failing"),
        }
        found = {name: run.id for name, run in made.items()}
        found["invocation"] = enact.commit(made["greeting"].journal()).digest
        found["markup"] = enact.commit(enact.Str("[bold]x[/bold] <script>")).digest
    store.close()
    return found


if __name__ == "__main__":
    print(json.dumps(build(sys.argv[1])))
