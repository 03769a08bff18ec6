"""The run page's timeline: an inline SVG bar per timed call."""

from __future__ import annotations

import re
from typing import Any

import enact
from enact import runs
from enact.ui._timeline import MAX_ROWS, timeline
from enact.ui._tree import Node
from ui.conftest import UI, require_playwright
from ui.flows import SCRIPT, UIAskName, UIDraw, UIDrawThree, UIRepeat
from ui.test_server import fetch

expect: Any = require_playwright().expect


def _node(path: tuple[int, ...], start: float, end: float | None, *kids: Node) -> Node:
    return Node(
        path, None, name=f"C{len(path)}", start=start, end=end, children=list(kids)
    )


def test_bars_are_placed_and_scaled_by_time() -> None:
    tree = _node((), 10.0, 14.0, _node((0,), 10.0, 11.0), _node((1,), 12.0, 14.0))
    drawn = timeline(tree)
    assert drawn is not None and drawn.span == 4.0
    top, first, second = drawn.bars
    assert [b.path for b in drawn.bars] == ["", "0", "1"]  # depth first
    assert first.x == top.x  # starts with its parent
    assert second.width == 2 * first.width  # twice as long
    assert top.width == first.width * 4
    assert second.x - top.x == first.width * 2  # starts 2 s in
    assert first.label_x > top.label_x  # indented by depth
    assert [round(s, 6) for _, s in drawn.ticks] == [0, 1, 2, 3, 4]


def test_a_running_call_ends_at_the_latest_moment_known() -> None:
    tree = _node((), 0.0, None, _node((0,), 0.0, 3.0), _node((1,), 3.0, None))
    drawn = timeline(tree)
    assert drawn is not None
    assert [b.state for b in drawn.bars] == ["running", "done", "running"]
    assert drawn.bars[0].seconds == 3.0


def test_no_timings_no_timeline_and_big_trees_are_cut() -> None:
    assert timeline(None) is None
    assert timeline(Node((), None)) is None
    kids = [_node((i,), float(i), i + 1.0) for i in range(MAX_ROWS + 5)]
    drawn = timeline(_node((), 0.0, float(MAX_ROWS + 5), *kids))
    assert drawn is not None
    assert len(drawn.bars) == MAX_ROWS and drawn.hidden == 6


def test_the_run_page_draws_every_call(ui: UI) -> None:
    run = runs.run(UIDrawThree(UIDraw()), enact.Str("sky"))
    status, headers, body = fetch(ui.server, f"/runs/{run.id}")
    assert status == 200
    assert '<svg class="chart timeline"' in body
    assert len(re.findall(r'<g class="row done" data-path="', body)) == 4
    assert "script-src 'self'" in headers["Content-Security-Policy"]


def test_names_in_the_timeline_are_escaped(ui: UI) -> None:
    run = runs.run(UIRepeat(separator=SCRIPT), enact.Str(SCRIPT))
    status, _, body = fetch(ui.server, f"/runs/{run.id}")
    assert status == 200 and "timeline" in body
    assert SCRIPT not in body


def test_the_timeline_in_the_browser(ui: UI, page: Any) -> None:
    run = runs.run(UIDrawThree(UIDraw()), enact.Str("sea"))
    page.goto(ui.page_url(f"/runs/{run.id}"))
    svg = page.locator("svg.timeline")
    expect(svg).to_be_visible()
    expect(svg.locator("g.row")).to_have_count(4)
    box = svg.locator("g.row[data-path=''] rect.bar").bounding_box()
    child = svg.locator("g.row[data-path='0'] rect.bar").bounding_box()
    assert box is not None and child is not None
    assert child["x"] >= box["x"] - 0.5  # a child starts within its parent
    assert child["x"] + child["width"] <= box["x"] + box["width"] + 0.5
    waiting = runs.run(UIAskName(), enact.Str("bay"))
    page.goto(ui.page_url(f"/runs/{waiting.id}"))
    expect(page.locator("svg.timeline g.row.asked").first).to_be_visible()
