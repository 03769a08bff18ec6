"""A small generative flow written with plain functions: a story generator.

A seeded random "model" proposes sentences, a scorer rates them, and the
writer retries until a sentence is good enough. It runs as a durable run:
every call is journaled as it ends, so the run can be inspected, replayed
without calling the model, and forked into branches.

Run it from the repository's root with ``python examples/story.py [store]``.
The store directory defaults to ``./.enact``, the one the ``enact`` command
opens by default; the runs stay there, and the script prints how to look at
them with ``enact runs`` and ``enact ui``.
"""

from __future__ import annotations

import collections
import random
import shlex
import sys

import enact
from enact.invocations import CallArgs, FunctionWrapper

DEFAULT_STORE = ".enact"
#: Every run of this script is tagged so: ``enact runs --tag story`` lists them.
TAGS = ("examples", "story")

#: The stand-in for a language model: seeded, so the script prints the same
#: thing every time, but each call draws new numbers.
MODEL = random.Random(7)
#: How often the model was really called (replayed calls do not count).
MODEL_CALLS = collections.Counter[str]()

SUBJECTS = ["The fox", "A lantern", "The old sailor", "Her dog", "The moon"]
VERBS = ["watched", "followed", "forgot", "carried", "sang to"]
OBJECTS = ["the harbour", "a silver key", "the storm", "the quiet road", "the sea"]


# Fixed names: the script runs as __main__, and `enact --import examples.story`
# must find the same functions.
@enact.register(name="examples.story.propose")
def propose(topic: str, story: list[str]) -> str:
    """The model: proposes the next sentence (ignores its inputs, randomly)."""
    MODEL_CALLS["propose"] += 1
    words = [MODEL.choice(SUBJECTS), MODEL.choice(VERBS), MODEL.choice(OBJECTS)]
    return " ".join(words) + "."


@enact.register(name="examples.story.score")
def score(sentence: str, topic: str, story: list[str]) -> float:
    """A critic: likes the topic, dislikes repeating the story."""
    points = 1.0 if topic in sentence else 0.3
    if any(sentence.split()[0:2] == line.split()[0:2] for line in story):
        points -= 0.5
    return points


@enact.register(name="examples.story.next_sentence")
def next_sentence(topic: str, story: list[str], tries: int = 8) -> str:
    """Proposes sentences until one scores well (or keeps the best)."""
    best, best_score = "", -1.0
    for _ in range(tries):
        sentence = propose(topic, story)
        points = score(sentence, topic, story)
        if points >= 1.0:
            return sentence
        if points > best_score:
            best, best_score = sentence, points
    return best


@enact.register(name="examples.story.write_story")
def write_story(topic: str, length: int) -> list[str]:
    """Writes ``length`` sentences about ``topic``."""
    story: list[str] = []
    for _ in range(length):
        story = [*story, next_sentence(topic, story)]
    return story


def show(title: str, run: enact.Invocation) -> None:  # type: ignore[type-arg]
    tries = [len(list(step.get_children())) // 2 for step in run.get_children()]
    print(f"{title} (model calls per sentence: {tries}):")
    for line in run.get_output():
        print(f"    {line}")


def main(directory: str) -> None:
    # Outside a journaled run, registered functions are just functions.
    print("plain call:", next_sentence("sea", []))
    with enact.FileStore(directory):
        # enact.run takes an invokable: a registered function's is the
        # FunctionWrapper naming it, called with the CallArgs of the call.
        call = CallArgs(["sea", 3], {})
        run = enact.run(FunctionWrapper(write_story.enact_name), call, tags=TAGS)
        show("durable run", run.journal())
        print(f"model calls so far: {MODEL_CALLS['propose']}")

        replayed = run.replay(tags=TAGS)
        print(
            f"replayed: same story {replayed.output() == run.output()}, "
            f"model calls still {MODEL_CALLS['propose']}"
        )

        # Keep the first two sentences, write the last one afresh, twice.
        for number in (1, 2):
            branch = run.fork(1, tags=TAGS)
            show(f"branch {number}", branch.journal())
        print(f"model calls in total: {MODEL_CALLS['propose']}")

        # Every try is in the journal: the last sentence's proposals and scores.
        calls = list(run.journal().get_child(-1).get_children())
        print("the last sentence's tries:")
        for proposal, rating in zip(calls[::2], calls[1::2], strict=True):
            print(f"    {rating.get_output():.1f}  {proposal.get_output()}")
    store = shlex.quote(directory)
    print(f"\nThe runs are in {directory}. Look at them (from the repository's root):")
    print(f"    enact --store {store} runs --tag story")
    print(f"    enact --store {store} --import examples.story show {run.id}")
    print(f"    enact --store {store} --import examples.story ui")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_STORE)
