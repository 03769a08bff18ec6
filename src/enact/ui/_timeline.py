"""A run's timeline: every timed call as a bar from its start to its end,
drawn by the run page as an inline SVG (no script, no inline style, so the
content security policy holds).

Rows are the calls depth first, as in the tree, each indented by its depth,
so a parent's bar spans its children's. A call still running ends at the
latest moment known; calls without timings (an old journal) are left out.
"""

from __future__ import annotations

import dataclasses

from enact.ui._tree import Node

__all__ = ["MAX_ROWS", "Bar", "Timeline", "timeline"]

#: At most this many calls are drawn; the rest are counted.
MAX_ROWS = 300
# The drawing's geometry, in SVG user units.
_LABEL_WIDTH = 260
_BAR_WIDTH = 520
_ROW = 18
_INDENT = 12
_AXIS = 22
_TICKS = 4


@dataclasses.dataclass(frozen=True)
class Bar:
    """One call's bar: what it says and where it is drawn."""

    path: str
    name: str
    label_x: float
    y: float
    x: float
    width: float
    seconds: float
    state: str  # "done", "raised", "asked" or "running"


@dataclasses.dataclass(frozen=True)
class Timeline:
    """The drawing: its bars, axis ticks ``(x, seconds)`` and size."""

    bars: list[Bar]
    ticks: list[tuple[float, float]]
    span: float
    width: int
    height: int
    label_width: int
    axis_y: int
    hidden: int


def _timed(tree: Node) -> list[tuple[Node, int]]:
    found: list[tuple[Node, int]] = []
    stack: list[tuple[Node, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if node.start is not None:
            found.append((node, depth))
        stack.extend((child, depth + 1) for child in reversed(node.children))
    return found


def _state(node: Node) -> str:
    if node.asked is not None:
        return "asked"
    if node.exception_text is not None:
        return "raised"
    return "done" if node.end is not None else "running"


def timeline(tree: Node | None) -> Timeline | None:
    """The timeline of a call tree (None if no call is timed)."""
    if tree is None:
        return None
    timed = _timed(tree)
    if not timed:
        return None
    first = min(node.start for node, _ in timed if node.start is not None)
    last = max(
        max(node.start or first, node.end or node.start or first) for node, _ in timed
    )
    span = max(last - first, 1e-6)
    scale = _BAR_WIDTH / span
    shown, hidden = timed[:MAX_ROWS], max(0, len(timed) - MAX_ROWS)
    bars = []
    for row, (node, depth) in enumerate(shown):
        assert node.start is not None
        end = node.end if node.end is not None else last
        bars.append(
            Bar(
                path=".".join(map(str, node.path)),
                name=node.name,
                label_x=8 + min(depth, 10) * _INDENT,
                y=_AXIS + row * _ROW,
                x=_LABEL_WIDTH + (node.start - first) * scale,
                width=max(1.0, (end - node.start) * scale),
                seconds=end - node.start,
                state=_state(node),
            )
        )
    ticks = [
        (_LABEL_WIDTH + _BAR_WIDTH * i / _TICKS, span * i / _TICKS)
        for i in range(_TICKS + 1)
    ]
    return Timeline(
        bars=bars,
        ticks=ticks,
        span=span,
        width=_LABEL_WIDTH + _BAR_WIDTH + 70,
        height=_AXIS + len(bars) * _ROW + 4,
        label_width=_LABEL_WIDTH,
        axis_y=_AXIS - 8,
        hidden=hidden,
    )
