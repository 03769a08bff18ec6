"""The batch pages: the list, one batch's distribution chart, failures and
slowest samples, over HTTP and in a real browser."""

from __future__ import annotations

import re
from typing import Any

import pytest

import enact
from batches.flows import Noise, Picky
from enact.references import Store
from ui.conftest import UI
from ui.flows import SCRIPT
from ui.test_server import fetch


@pytest.fixture
def sampled(ui_store: Store) -> dict[str, enact.Batch]:
    numbers = enact.sample(Noise(), [enact.Int(1), enact.Int(5)], n=10, name="noise")
    mixed = enact.sample(Picky(), [enact.Int(i) for i in range(6)], name=SCRIPT)
    return {"numbers": numbers.wait(), "mixed": mixed.wait()}


def test_the_batch_list_and_a_batch_page(
    ui: UI, sampled: dict[str, enact.Batch]
) -> None:
    status, headers, body = fetch(ui.server, "/batches")
    assert status == 200
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    for batch in sampled.values():
        assert f'data-batch="{batch.id}"' in body
    assert "20 finished" in body and "3 finished" in body and "3 failed" in body
    assert SCRIPT not in body  # the name is escaped, never markup
    status, headers, body = fetch(ui.server, f"/batches/{sampled['numbers'].id}")
    assert status == 200
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert '<svg class="chart distribution"' in body
    counts = [int(value) for value in re.findall(r'data-count="(\d+)"', body)]
    assert sum(counts) == 20 and len(counts) == 10  # a histogram of ten bins
    assert "style=" not in body  # no inline style: the policy holds


def test_failures_and_escaping_on_a_batch_page(
    ui: UI, sampled: dict[str, enact.Batch]
) -> None:
    status, _, body = fetch(ui.server, f"/batches/{sampled['mixed'].id}")
    assert status == 200
    assert SCRIPT not in body
    assert "ValueError: 1 is odd" in body
    labels = re.findall(r'data-label="([^"]*)"', body)
    assert sorted(labels) == ["0", "1", "2"]  # whole numbers: one bar each


def test_an_unknown_batch_is_404(ui: UI) -> None:
    status, _, body = fetch(ui.server, "/batches/nothing-here")
    assert status == 404 and "No such batch" in body


def test_batches_in_the_browser(
    ui: UI, page: Any, sampled: dict[str, enact.Batch]
) -> None:
    from ui.conftest import require_playwright

    expect = require_playwright().expect
    page.goto(ui.page_url("/"))
    page.get_by_role("link", name="Batches").click()
    row = page.locator(f"tr[data-batch='{sampled['numbers'].id}']")
    expect(row).to_contain_text("batches.flows.Noise")
    expect(row.locator(".status")).to_have_text("finished")
    row.locator("a.batch-link").click()
    expect(page).to_have_url(re.compile(f"/batches/{sampled['numbers'].id}$"))
    chart = page.locator("svg.chart")
    expect(chart).to_be_visible()
    expect(chart.locator("rect.bar")).to_have_count(10)
    widths = [
        float(bar.get_attribute("width")) for bar in chart.locator("rect.bar").all()
    ]
    assert max(widths) > 0
    page.goto(ui.page_url(f"/batches/{sampled['mixed'].id}"))
    expect(page.locator("table.failures")).to_contain_text("ValueError: 1 is odd")
    expect(page.locator("h1 .name")).to_have_text(SCRIPT)  # text, not markup
