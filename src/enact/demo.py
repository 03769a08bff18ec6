"""A tour of enact on the embedded default store: ``python -m enact.demo``.

It journals a small generative flow, rewinds and resamples it into sibling
branches, and lets a (scripted) person answer where a component would.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
from typing import Any

import enact
from enact.backends.base import BackendError
from enact.summaries import invocation_summary

DEFAULT_STORE = ".enact"

_WORDS = {
    "moon": ["silver", "quiet", "tidal", "pale", "rising"],
    "sea": ["restless", "salt", "deep", "grey", "endless"],
}


@enact.typed_invokable(enact.Str, enact.Str)
@dataclasses.dataclass
class SampleLine(enact.Invokable[enact.Str, enact.Str]):
    """Stands in for a language model: samples a line about a topic."""

    # A fixed name: `python -m enact.demo` runs this module as __main__.
    _enact_type_name = "enact.demo.SampleLine"

    temperature: float = 1.0

    def call(self, topic: enact.Str) -> enact.Str:
        words = _WORDS.get(str(topic), ["strange", "new"])
        return enact.Str(
            f"{random.choice(words)} {topic}, {random.choice(words)} night"
        )


@enact.typed_invokable(enact.Str, enact.Int)
@dataclasses.dataclass
class Score(enact.Invokable[enact.Str, enact.Int]):
    """Stands in for a critic model: scores a line from 0 to 9."""

    # A fixed name: `python -m enact.demo` runs this module as __main__.
    _enact_type_name = "enact.demo.Score"

    def call(self, line: enact.Str) -> enact.Int:
        return enact.Int(sum(map(ord, str(line))) % 10)


@enact.typed_invokable(enact.Str, enact.Str)
@dataclasses.dataclass
class WritePoem(enact.Invokable[enact.Str, enact.Str]):
    """Samples lines, keeps the ones the critic likes, retries the rest."""

    # A fixed name: `python -m enact.demo` runs this module as __main__.
    _enact_type_name = "enact.demo.WritePoem"

    sample: enact.Invokable[Any, Any]
    score: enact.Invokable[Any, Any]
    lines: int = 2
    min_score: int = 5

    def call(self, topic: enact.Str) -> enact.Str:
        kept: list[str] = []
        for _ in range(self.lines * 4):
            line = self.sample(topic)
            if self.score(line) >= self.min_score:
                kept.append(str(line))
            if len(kept) == self.lines:
                break
        return enact.Str(" / ".join(kept))


@enact.typed_invokable(enact.Str, enact.Str)
@dataclasses.dataclass
class EditedPoem(enact.Invokable[enact.Str, enact.Str]):
    """A person edits the title; the rest is generated."""

    # A fixed name: `python -m enact.demo` runs this module as __main__.
    _enact_type_name = "enact.demo.EditedPoem"

    write: enact.Invokable[Any, Any]

    def call(self, topic: enact.Str) -> enact.Str:
        poem = self.write(topic)
        title = enact.request_input(enact.Str, poem, context="Give this poem a title")
        return enact.Str(f"{title}: {poem}")


def _common_prefix(
    run: enact.Invocation[Any, Any], other: enact.Invocation[Any, Any]
) -> int:
    """How many first calls two runs share (the same refs in the store)."""
    count = 0
    for a, b in zip(run.response().children, other.response().children, strict=False):
        if a.digest != b.digest:
            break
        count += 1
    return count


def main(argv: list[str] | None = None) -> None:
    """Runs the tour."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--store",
        default=os.environ.get("ENACT_STORE", DEFAULT_STORE),
        help=(
            "store URL: a directory, a SQLite file ending in .db, .sqlite or "
            ".sqlite3, sqlite:///file.db, memory: or postgresql://user@host/db "
            f"(default: $ENACT_STORE or {DEFAULT_STORE})"
        ),
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed")
    args = parser.parse_args(argv)
    random.seed(args.seed)

    try:
        opened = enact.open_store(args.store)
    except BackendError as error:
        parser.exit(1, f"enact demo: {error}\n")
    with opened as store:
        flow = WritePoem(SampleLine(), Score())
        topic = enact.commit(enact.Str("moon"))

        print(f"1. A durable run, journaled as it goes in {store.location}:\n")
        poem = enact.run(flow, topic, tags=["demo"])
        run = poem.journal()
        print(invocation_summary(run, indent=3))
        print(f"   run id {poem.id}: {poem.status}")

        print("\n2. Fork it three times: drop the last two calls and resample:\n")
        for branch in range(3):
            fork = poem.fork(2, tags=["demo"])
            sibling = fork.journal()
            kept = _common_prefix(run, sibling)
            new = len(sibling.response().children) - kept
            print(
                f"   fork {branch + 1}: {fork.output()}"
                f"   ({kept} calls shared with the run, {new} new)"
            )

        print("\n3. A person in the loop: the run waits for an answer.\n")
        edited = enact.run(EditedPoem(flow), topic, tags=["demo"])
        (request,) = edited.pending()
        print(f"   run {edited.id} is {edited.status}: asked {request.context!r}")
        print("   (answer it from anywhere: `enact answer <run> <text>`, the web")
        print("   UI, or enact.runs.answer); this script answers it now:")
        edited.answer("Night Song", resume=True)
        print(f"   result: {edited.output()}")

        waiting = enact.run(EditedPoem(flow), enact.Str("sea"), tags=["demo"])
        print(f"\n4. One more run ({waiting.id}) is left waiting for a title: list it")
        print("   with `enact inputs` and answer it with `enact answer`.")
        print(f"\n   Every run is in the index: `enact runs --store {args.store}`.")


if __name__ == "__main__":
    main()
