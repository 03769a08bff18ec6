"""What a batch's samples came to: the distribution of their outputs, their
failures and the slowest of them (for ``enact batch`` and the web UI)."""

from __future__ import annotations

import collections
import dataclasses
import math
from typing import Any

from enact._runs.access import within
from enact._runs.records import RunInfo, RunStatus
from enact.interfaces import ResourceBase
from enact.wrappers import unwrap

__all__ = ["Distribution", "Report", "report"]

#: Distinct outputs listed one by one at most; the rest are summed as "other".
MOST_COMMON = 20
#: The bins of a histogram of numbers.
BINS = 10
_TEXT_LIMIT = 80


@dataclasses.dataclass(frozen=True)
class Distribution:
    """How the outputs of the finished samples are distributed.

    Attributes:
        kind: ``"numbers"`` (every output a number: a histogram), ``"values"``
            (counts per distinct output) or ``"empty"`` (no output yet).
        rows: ``(label, count)`` in order: a bin's range (``"[0, 0.5)"``)
            or a value's text, most common first.
        total: How many outputs there are.
        stats: For numbers: ``min``, ``max``, ``mean`` and ``stdev``.
    """

    kind: str
    rows: list[tuple[str, int]]
    total: int
    stats: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {
            "kind": self.kind,
            "rows": [[label, count] for label, count in self.rows],
            "total": self.total,
            "stats": self.stats,
        }


@dataclasses.dataclass(frozen=True)
class Report:
    """A batch's outcome: the distribution, failures and the slowest samples.

    Attributes:
        distribution: Of the finished samples' outputs.
        failures: ``(error, count, first sample index)`` per distinct error
            of the failed samples, most common first.
        slowest: ``(sample index, run id, seconds)`` of the slowest ended
            samples, slowest first.
    """

    distribution: Distribution
    failures: list[tuple[str, int, int]]
    slowest: list[tuple[int, str, float]]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {
            "distribution": self.distribution.to_json(),
            "failures": [
                {"error": error, "count": count, "first": first}
                for error, count, first in self.failures
            ],
            "slowest": [
                {"sample": index, "run": run_id, "seconds": seconds}
                for index, run_id, seconds in self.slowest
            ],
        }


def plain(value: Any) -> Any:
    """An output as a plain value (numbers, text, booleans), if it is one."""
    value = unwrap(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value


def _label(value: Any) -> str:
    if isinstance(value, str):
        text = value
    elif isinstance(value, ResourceBase):
        text = f"{type(value).__qualname__}({', '.join(_fields(value))})"
    else:
        text = repr(value)
    text = " ".join(text.split())
    return text if len(text) <= _TEXT_LIMIT else text[: _TEXT_LIMIT - 1] + "…"


def _fields(value: ResourceBase) -> list[str]:
    try:
        return [f"{name}={plain(field)!r}" for name, field in value.field_items()]
    except NotImplementedError:
        return []


def distribution(outputs: list[Any]) -> Distribution:
    """The distribution of ``outputs`` (plain values or resources)."""
    values = [plain(value) for value in outputs]
    if not values:
        return Distribution("empty", [], 0, {})
    if all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        for v in values
    ):
        return _histogram(
            [float(v) for v in values], all(type(v) is int for v in values)
        )
    counts = collections.Counter(_label(value) for value in values)
    rows = counts.most_common(MOST_COMMON)
    other = sum(counts.values()) - sum(count for _, count in rows)
    if other:
        rows.append((f"({len(counts) - len(rows)} other values)", other))
    return Distribution("values", rows, len(values), {})


def _histogram(values: list[float], whole: bool) -> Distribution:
    low, high = min(values), max(values)
    mean = sum(values) / len(values)
    spread = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    stats = {"min": low, "max": high, "mean": mean, "stdev": spread}
    distinct = sorted(set(values))
    if whole and len(distinct) <= BINS * 2:  # few whole numbers: one row each
        counts = collections.Counter(values)
        rows = [(str(int(v)), counts[v]) for v in distinct]
        return Distribution("numbers", rows, len(values), stats)
    if high == low:
        return Distribution("numbers", [(f"{low:g}", len(values))], len(values), stats)
    width = (high - low) / BINS
    bins = [0] * BINS
    for value in values:
        bins[min(int((value - low) / width), BINS - 1)] += 1
    rows = []
    for i, count in enumerate(bins):
        start, end = low + i * width, low + (i + 1) * width
        closing = "]" if i == BINS - 1 else ")"
        rows.append((f"[{start:.4g}, {end:.4g}{closing}", count))
    return Distribution("numbers", rows, len(values), stats)


def report(batch: Any, slowest: int = 5) -> Report:
    """The :class:`Report` of a :class:`~enact.batches.Batch`, read now."""
    samples: dict[int, RunInfo] = batch._samples()
    finished = [
        samples[i]
        for i in sorted(samples)
        if samples[i].stored_status is RunStatus.FINISHED and samples[i].invocation
    ]
    store = batch.store

    def outputs() -> list[Any]:
        return [info.invocation.checkout().get_output() for info in finished]  # type: ignore[union-attr]

    batch._load_modules()
    found = within(store, outputs)
    errors: dict[str, list[int]] = collections.defaultdict(list)
    for i in sorted(samples):
        info = samples[i]
        if info.stored_status is RunStatus.FAILED:
            errors[info.error or "failed"].append(i)
    failures = sorted(
        ((error, len(where), where[0]) for error, where in errors.items()),
        key=lambda row: (-row[1], row[2]),
    )
    times = [
        (i, info.id, info.ended - info.started)
        for i, info in samples.items()
        if info.ended is not None and info.stored_status is not RunStatus.RUNNING
    ]
    times.sort(key=lambda row: (-row[2], row[0]))
    return Report(distribution(found), failures, times[:slowest])
