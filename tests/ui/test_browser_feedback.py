"""Feedback and evaluations in a real browser (headless Chromium)."""

from __future__ import annotations

import random
import re
from typing import Any

import enact
from enact import feedback, runs
from ui.conftest import UI, require_playwright
from ui.flows import UIDraw, UIDrawThree
from ui.test_feedback_pages import ui_length

expect: Any = require_playwright().expect


def test_rate_correct_edit_and_delete_a_call(ui: UI, page: Any) -> None:
    random.seed(21)
    run = runs.run(UIDrawThree(UIDraw()), enact.Str("sky"))
    page.goto(ui.page_url(f"/runs/{run.id}"))
    call = page.locator("details.call[data-path='2']")
    call.locator("summary").first.click()
    panel = call.locator("details.feedback").first
    panel.locator("summary").first.click()
    form = panel.locator("form.feedback-add")
    form.locator("input[name='score']").fill("3.5")
    form.locator("input[name='thumbs'][value='down']").check()
    form.locator("textarea[name='comment']").fill("too random")
    form.locator("input[name='correct']").check()
    form.locator("[name='fc.value']").fill("sky-better")
    form.get_by_role("button", name="Give feedback").click()

    expect(page).to_have_url(re.compile(f"/runs/{run.id}#call-2$"))
    (note,) = feedback.list_feedback(run, (2,))
    assert (note.score, note.label, note.comment) == (3.5, False, "too random")
    assert note.correction is not None and note.correction.checkout() == "sky-better"
    call = page.locator("details.call[data-path='2']")
    item = call.locator(f"li.note[data-feedback='{note.id}']")
    expect(item).to_contain_text("too random")
    expect(item).to_contain_text(note.source)
    expect(item.locator("pre.correction")).to_have_text("sky-better")

    _open_call(page, "2")
    item.locator("details.edit summary").click()
    edit = item.locator("form.feedback-edit")
    edit.locator("input[name='score']").fill("5")
    edit.locator("input[name='thumbs'][value='up']").check()
    edit.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(f"/runs/{run.id}#call-2$"))
    changed = feedback.get(run, note.id)
    assert (changed.score, changed.label, changed.revision) == (5.0, True, 1)
    item = page.locator(f"li.note[data-feedback='{note.id}']")
    expect(item).to_contain_text("edited by")

    _open_call(page, "2")
    item.get_by_role("button", name="Delete").click()
    expect(page.locator(f"li.note[data-feedback='{note.id}']")).to_have_count(0)
    assert feedback.list_feedback(run) == []


def _open_call(page: Any, path: str) -> None:
    """Opens a call's panel, whether or not the browser opened it already
    (Chromium opens a closed ``<details>`` holding the address's #fragment,
    at a moment of its choosing: a click on the summary could close it)."""
    page.locator(f"details.call[data-path='{path}']").evaluate(
        "d => { d.open = true; }"
    )


def test_an_evaluation_from_the_list_to_a_scored_run(ui: UI, page: Any) -> None:
    random.seed(22)
    scored = [runs.run(UIDraw(), enact.Str("y" * n)) for n in (2, 4, 8)]
    result = enact.evaluate(scored, ui_length)
    page.goto(ui.page_url("/"))
    page.get_by_role("link", name="Evaluations").click()
    page.get_by_role("link", name=result.id).click()
    expect(page).to_have_url(re.compile(f"/evaluations/{result.id}$"))
    (summary,) = result.summary()
    row = page.locator("tr.scorer-row")
    expect(row.locator(".mean")).to_have_text(f"{summary.mean:.4g}")
    expect(page.locator("tr.sample")).to_have_count(3)
    best = result.best(1)[0]["run"]
    page.locator("ol.best a").first.click()
    expect(page).to_have_url(re.compile(f"/runs/{best}#call-top$"))
    expect(page.locator("li.note").first).to_contain_text("scorer:ui_length")
