"""Components of the API load test (bench/api_load.py); the server imports
this module too, to resume the runs it answers."""

from __future__ import annotations

import dataclasses

import enact


@enact.typed_invokable(enact.Str, enact.Str)
@dataclasses.dataclass
class LoadEcho(enact.Invokable[enact.Str, enact.Str]):
    """Echoes its input: a finished run to list."""

    def call(self, topic: enact.Str) -> enact.Str:
        return enact.Str(f"echo {topic}")


@enact.typed_invokable(enact.Str, enact.Int)
@dataclasses.dataclass
class LoadAsk(enact.Invokable[enact.Str, enact.Int]):
    """Asks a person for a number and doubles it: a run to answer."""

    def call(self, topic: enact.Str) -> enact.Int:
        number = enact.request_input(enact.Int, topic, context="How many?")
        return enact.Int(2 * int(number))
