"""A small generative flow written with plain functions: a story generator.

A seeded random "model" proposes sentences, a scorer rates them, and the
writer retries until a sentence is good enough. Every call is journaled, so
the run can be inspected, replayed without calling the model, rewound and
branched.

Run it with ``python examples/story.py [store directory]``.
"""

from __future__ import annotations

import collections
import random
import sys
import tempfile

import enact

#: The stand-in for a language model: seeded, so the script prints the same
#: thing every time, but each call draws new numbers.
MODEL = random.Random(7)
#: How often the model was really called (replayed calls do not count).
MODEL_CALLS = collections.Counter[str]()

SUBJECTS = ["The fox", "A lantern", "The old sailor", "Her dog", "The moon"]
VERBS = ["watched", "followed", "forgot", "carried", "sang to"]
OBJECTS = ["the harbour", "a silver key", "the storm", "the quiet road", "the sea"]


@enact.register
def propose(topic: str, story: list[str]) -> str:
    """The model: proposes the next sentence (ignores its inputs, randomly)."""
    MODEL_CALLS["propose"] += 1
    words = [MODEL.choice(SUBJECTS), MODEL.choice(VERBS), MODEL.choice(OBJECTS)]
    return " ".join(words) + "."


@enact.register
def score(sentence: str, topic: str, story: list[str]) -> float:
    """A critic: likes the topic, dislikes repeating the story."""
    points = 1.0 if topic in sentence else 0.3
    if any(sentence.split()[0:2] == line.split()[0:2] for line in story):
        points -= 0.5
    return points


@enact.register
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


@enact.register
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
        run = enact.invoke(write_story, ("sea", 3))
        show("journaled run", run)
        print(f"model calls so far: {MODEL_CALLS['propose']}")

        replayed = run.replay()
        print(
            f"replayed: same story {replayed.get_output() == run.get_output()}, "
            f"model calls still {MODEL_CALLS['propose']}"
        )

        # Keep the first two sentences, write the last one afresh, twice.
        for number in (1, 2):
            branch = run.rewind(1).replay()
            show(f"branch {number}", branch)
        print(f"model calls in total: {MODEL_CALLS['propose']}")

        # Every try is in the journal: the last sentence's proposals and scores.
        calls = list(run.get_child(-1).get_children())
        print("the last sentence's tries:")
        for proposal, rating in zip(calls[::2], calls[1::2], strict=True):
            print(f"    {rating.get_output():.1f}  {proposal.get_output()}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp())
