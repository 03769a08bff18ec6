"""Preference pairs from alternative outputs of the same call.

Two calls are alternatives when they made the same request: the same
component with the same input. Forks make them (a fork at a call runs it
afresh, so a random component resamples), and so do repeated samples of one
input. Among the scored alternatives, outputs are ranked by their mean score
(the scores of every call that returned that very output); the best is
*chosen* and paired with each output scored lower as *rejected*. Equal
scores make no pair.

The first pass keeps only digests, scores and lineage per call (not the
values), so memory grows with the number of scored calls, not with the size
of what they returned; the second pass reads the two calls of each pair.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from enact._datasets.calls import Call, call_at
from enact._datasets.formats import chat_input, chat_output, completion_of, prompt_of
from enact._datasets.select import Lineage, Selection, selected_calls
from enact._datasets.values import text_of
from enact._runs.handle import Run
from enact.references import Store

__all__ = ["Pair", "preference_pairs", "pair_row"]


@dataclasses.dataclass
class _Output:
    digest: str
    scores: list[float]
    first: Lineage
    seen: int

    @property
    def mean(self) -> float:
        return sum(self.scores) / len(self.scores)


@dataclasses.dataclass(frozen=True)
class Pair:
    """A chosen and a rejected call of the same request."""

    chosen: Lineage
    rejected: Lineage
    chosen_score: float
    rejected_score: float


def preference_pairs(selection: Selection, store: Store) -> Iterator[Pair]:
    """The pairs of the selected calls, in the order their requests first ran."""
    groups: dict[str, dict[str, _Output]] = {}
    seen = 0
    for selected in selected_calls(selection, store):
        score = selected.summary["score"]
        call = selected.call
        if score is None or call.output_digest is None:
            continue
        outputs = groups.setdefault(call.request, {})
        entry = outputs.get(call.output_digest)
        if entry is None:
            outputs[call.output_digest] = _Output(
                call.output_digest, [score], selected.lineage, seen
            )
            seen += 1
        else:
            entry.scores.append(score)
    for outputs in groups.values():
        ranked = sorted(outputs.values(), key=lambda each: (-each.mean, each.seen))
        best = ranked[0]
        for worse in ranked[1:]:
            if worse.mean < best.mean:
                yield Pair(best.first, worse.first, best.mean, worse.mean)


def _call(store: Store, lineage: Lineage) -> Call:
    return call_at(Run(lineage.run, store), lineage.path)


def _assistant(call: Call) -> list[dict[str, Any]]:
    message = chat_output(call.output)
    if message is not None and isinstance(message.get("content"), str):
        return [{"role": "assistant", "content": message["content"]}]
    return [{"role": "assistant", "content": text_of(call.output)}]


def pair_row(pair: Pair, store: Store, format: str, lineage: bool) -> dict[str, Any]:
    """A pair in the TRL (``dpo``) or OpenAI (``openai-dpo``) layout."""
    chosen = _call(store, pair.chosen)
    rejected = _call(store, pair.rejected)
    row: dict[str, Any]
    if format == "dpo":
        row = {
            "prompt": prompt_of(chosen),
            "chosen": completion_of(chosen, chosen.output),
            "rejected": completion_of(rejected, rejected.output),
        }
    else:
        messages = chat_input(chosen.input)
        if messages is None:
            messages = [{"role": "user", "content": prompt_of(chosen)}]
        row = {
            "input": {"messages": messages},
            "preferred_output": _assistant(chosen),
            "non_preferred_output": _assistant(rejected),
        }
    if lineage:
        row["enact"] = {
            "chosen": {**pair.chosen.to_json(), "score": pair.chosen_score},
            "rejected": {**pair.rejected.to_json(), "score": pair.rejected_score},
        }
    return row
