"""The batch pages: every batch of the store, and one batch with the
distribution of its outputs drawn as an inline SVG bar chart (no script, no
inline style: the server's content security policy holds)."""

from __future__ import annotations

import dataclasses
from typing import Any

from enact import batches
from enact.api import _service
from enact.ui._http import Request, Response

__all__ = ["BatchPages", "Bar", "chart_bars"]

#: The batch list shows at most this many batches (the newest).
MAX_BATCHES = 200
# The chart's geometry, in SVG user units.
_LABEL_WIDTH = 220
_BAR_WIDTH = 420
_ROW = 24


@dataclasses.dataclass(frozen=True)
class Bar:
    """One bar of a chart: its label, count, and where it is drawn."""

    label: str
    count: int
    y: int
    width: float
    share: float


def chart_bars(rows: list[tuple[str, int]]) -> list[Bar]:
    """The bars of a distribution's rows, scaled to the largest count."""
    largest = max((count for _, count in rows), default=0) or 1
    total = sum(count for _, count in rows) or 1
    return [
        Bar(label, count, i * _ROW, _BAR_WIDTH * count / largest, count / total)
        for i, (label, count) in enumerate(rows)
    ]


class BatchPages:
    """``GET /batches`` and ``GET /batches/<id>``, read through the functions
    behind the API's ``/api/batches`` and rendered through the UI's pages
    (their layout, store and counts).

    Args:
        pages: The UI's pages.
    """

    def __init__(self, pages: Any) -> None:
        self._pages = pages

    def _page(self, template: str, **context: Any) -> Response:
        page: Response = self._pages._page(template, **context)
        return page

    def batches_list(self, request: Request) -> Response:
        """``GET /batches``: every batch, newest first."""
        del request
        listed = _service.list_batches(self._pages._store)
        return self._page(
            "batches.html",
            nav="batches",
            batches=listed[:MAX_BATCHES],
            more=max(0, len(listed) - MAX_BATCHES),
        )

    def batch_page(self, request: Request, batch_id: str) -> Response:
        """``GET /batches/<id>``: counts, the distribution, failures and the
        slowest samples of one batch."""
        del request
        try:
            found = _service.open_batch(self._pages._store, batch_id)
        except batches.BatchNotFound:
            missing: Response = self._pages.error(
                404, "No such batch", f"There is no batch {batch_id} in this store."
            )
            return missing
        info = found.info()
        outcome = found.report(slowest=10)
        bars = chart_bars(outcome.distribution.rows)
        return self._page(
            "batch.html",
            nav="batches",
            batch=info,
            report=outcome,
            bars=bars,
            chart={
                "label_width": _LABEL_WIDTH,
                "bar_width": _BAR_WIDTH,
                "row": _ROW,
                "width": _LABEL_WIDTH + _BAR_WIDTH + 80,
                "height": max(1, len(bars)) * _ROW,
            },
            refresh=info.status is batches.BatchStatus.RUNNING,
        )
