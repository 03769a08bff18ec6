"""A batch's progress on the terminal: counts by status, rate and ETA.

Drawn with rich when it is installed (the ``cli`` extra), else as one line
rewritten in place on standard error.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

__all__ = ["ProgressBar", "describe_counts"]

_ENDED = ("finished", "failed", "waiting", "error")


def describe_counts(counts: dict[str, int]) -> str:
    """``"12 finished, 1 failed, 3 running"``: the counts that are not zero."""
    order = ("finished", "failed", "waiting", "running", "crashed", "error")
    keys = [*order, *sorted(set(counts) - set(order))]
    return ", ".join(f"{counts[key]} {key}" for key in keys if counts.get(key))


class ProgressBar:
    """Shows how far a batch is, updated by :meth:`update`.

    Args:
        total: How many samples the batch has.
        counts: Returns the counts by status now.
    """

    def __init__(self, total: int, counts: Callable[[], dict[str, int]]) -> None:
        self.total = total
        self.counts = counts
        self.started = time.monotonic()
        self._first = self._ended(counts())
        self._progress: Any = None
        self._task: Any = None
        try:
            import rich.progress
        except ImportError:
            return
        self._progress = rich.progress.Progress(
            rich.progress.TextColumn("[bold]{task.description}"),
            rich.progress.BarColumn(),
            rich.progress.MofNCompleteColumn(),
            rich.progress.TextColumn("{task.fields[rate]}"),
            rich.progress.TimeRemainingColumn(),
            rich.progress.TextColumn("{task.fields[counts]}"),
            transient=False,
        )
        self._task = self._progress.add_task("samples", total=total, rate="", counts="")
        self._progress.start()

    def _ended(self, counts: dict[str, int]) -> int:
        return sum(counts.get(key, 0) for key in _ENDED)

    def update(self) -> None:
        """Redraws the bar from the counts now."""
        counts = self.counts()
        ended = self._ended(counts)
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = (ended - self._first) / elapsed
        text = describe_counts(counts)
        if self._progress is not None:
            self._progress.update(
                self._task, completed=ended, rate=f"{rate:,.1f}/s", counts=text
            )
            return
        left = self.total - ended
        eta = f", ETA {left / rate:.0f} s" if rate > 0 and left else ""
        sys.stderr.write(f"\r{ended}/{self.total} ({rate:,.1f}/s{eta}) {text}  ")
        sys.stderr.flush()

    def close(self) -> None:
        """Leaves the last state on the screen."""
        if self._progress is not None:
            self._progress.stop()
        else:
            sys.stderr.write("\n")
