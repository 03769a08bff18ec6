"""The UI in a real browser: headless Chromium against the real server.

Each test makes runs with the library, opens the pages as a person would
(clicking links, opening tree nodes, filling forms) and checks what the page
shows and what the store then holds.
"""

from __future__ import annotations

import random
import re
import time
from typing import Any

import pytest

import enact
from enact import runs
from ui.conftest import UI, require_playwright
from ui.flows import SCRIPT, UIAskName, UIDraw, UIDrawThree, UIEcho

expect: Any = require_playwright().expect


def _wait_for_status(run_id: str, status: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while runs.get_run(run_id).status.value != status:
        assert time.monotonic() < deadline, runs.get_run(run_id).info()
        time.sleep(0.05)


def test_open_a_run_and_expand_its_tree(ui: UI, page: Any) -> None:
    random.seed(1)
    run = runs.run(UIDrawThree(UIDraw()), enact.Str("moon"))
    second = run.invocation().get_child(1).get_output()

    page.goto(ui.page_url("/"))
    row = page.locator(f"tr[data-run='{run.id}']")
    expect(row).to_contain_text("UIDrawThree")
    expect(row.locator(".status")).to_have_text("finished")
    row.locator("a.run-link").click()

    expect(page).to_have_url(re.compile(f"/runs/{run.id}$"))
    expect(page.locator("h1")).to_contain_text("UIDrawThree")
    child = page.locator("details.call[data-path='1']")
    output = child.locator("pre.output").first
    expect(output).to_be_hidden()
    child.locator("summary").first.click()
    expect(output).to_be_visible()
    expect(output).to_have_text(str(second))
    # Inputs and timing are shown too.
    expect(child.locator("pre.input").first).to_have_text("moon")
    expect(child.locator("summary .time").first).to_contain_text("s")


def test_answer_an_input_request_in_the_inbox(ui: UI, page: Any) -> None:
    run = runs.run(UIAskName(), enact.Str("the moon"))
    assert run.status is runs.RunStatus.WAITING

    page.goto(ui.page_url("/"))
    page.get_by_role("link", name="Inbox").click()
    card = page.locator("article.pending", has_text=run.id)
    expect(card).to_contain_text("Please name the topic")
    expect(card).to_contain_text("the moon")  # the value it asks about
    card.locator("textarea[name='a.value']").fill("Selene")
    card.get_by_role("button", name="Answer").click()

    _wait_for_status(run.id, "finished")
    page.goto(ui.page_url(f"/runs/{run.id}"))
    expect(page.locator("h1 .status")).to_have_text("finished")
    root = page.locator("details.call[data-path='']")
    expect(root.locator("pre.output").first).to_have_text("the moon is called Selene")
    assert run.output() == "the moon is called Selene"
    page.goto(ui.page_url("/inbox"))
    expect(page.locator("article.pending")).to_have_count(0)


def test_answer_on_the_run_page_and_watch_it_finish(ui: UI, page: Any) -> None:
    run = runs.run(UIAskName(), enact.Str("sea"))
    page.goto(ui.page_url(f"/runs/{run.id}"))
    expect(page.locator("h1 .status")).to_have_text("waiting")
    page.locator("textarea[name='a.value']").fill("Thalassa")
    page.get_by_role("button", name="Answer").click()
    # The page refreshes itself while the run is running.
    expect(page.locator("h1 .status")).to_have_text("finished", timeout=20_000)
    expect(page.locator("details.call[data-path=''] pre.output").first).to_have_text(
        "sea is called Thalassa"
    )


def test_fork_a_run_at_a_chosen_child(ui: UI, page: Any) -> None:
    random.seed(2)
    run = runs.run(UIDrawThree(UIDraw()), enact.Str("sun"))
    page.goto(ui.page_url(f"/runs/{run.id}"))
    child = page.locator("details.call[data-path='1']")
    child.locator("summary").first.click()
    child.get_by_role("button", name="Fork here").first.click()

    expect(page).not_to_have_url(re.compile(f"/runs/{run.id}$"))
    expect(page.locator("dd.parent")).to_contain_text(run.id)
    expect(page.locator("dd.parent")).to_contain_text("fork")
    new_id = page.url.rsplit("/", 1)[-1]
    _wait_for_status(new_id, "finished")
    fork = runs.get_run(new_id)
    assert fork.info().parent == run.id
    assert fork.info().relation == "fork"
    old, new = run.invocation(), fork.invocation()
    # The call before the fork point keeps its recorded result.
    assert new.response().children[0].digest == old.response().children[0].digest
    # The parent lists its branch.
    page.locator("dd.parent a").click()
    expect(page.locator("dd.branches")).to_contain_text(new_id)


def test_invoke_a_registered_component_from_the_form(ui: UI, page: Any) -> None:
    page.goto(ui.page_url("/invoke"))
    page.get_by_role("link", name="UIRepeat").click()
    page.locator("input[name='c.times']").fill("3")
    page.locator("input[name='c.separator']").fill("+")
    page.locator("textarea[name='i.value']").fill("hey")
    page.get_by_role("button", name="Run").click()

    expect(page).to_have_url(re.compile(r"/runs/[A-Za-z0-9_.-]+$"))
    run_id = page.url.rsplit("/", 1)[-1]
    _wait_for_status(run_id, "finished")
    assert runs.get_run(run_id).output() == "hey+hey+hey"
    page.reload()
    expect(page.locator("details.call[data-path=''] pre.output").first).to_have_text(
        "hey+hey+hey"
    )


def test_invoke_form_shows_errors_on_the_page(ui: UI, page: Any) -> None:
    page.goto(ui.page_url("/invoke?component=ui.flows.UIRepeat"))
    page.locator("input[name='c.times']").fill("-1")
    page.locator("textarea[name='i.value']").fill("x")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("p.error")).to_contain_text("times must be 0 or more")
    # What was typed is kept, and no run started.
    expect(page.locator("textarea[name='i.value']")).to_have_value("x")
    expect(page.locator("input[name='c.times']")).to_have_value("-1")
    assert runs.list_runs() == []


def test_values_holding_script_render_as_text(ui: UI, page: Any) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    done = runs.run(UIEcho(), enact.Str(SCRIPT))
    waiting = runs.run(UIEcho(ask=True), enact.Str(SCRIPT))

    page.goto(ui.page_url(f"/runs/{done.id}"))
    root = page.locator("details.call[data-path='']")
    expect(root.locator("pre.output").first).to_have_text(SCRIPT)
    expect(root.locator("summary .out")).to_contain_text("<script>")
    # The only script element is the UI's own.
    assert page.locator("script").count() == 1
    assert page.locator("script").get_attribute("src") == "/static/enhance.js"

    page.goto(ui.page_url("/inbox"))
    card = page.locator("article.pending", has_text=waiting.id)
    expect(card.locator(".context")).to_have_text(SCRIPT)
    assert page.locator("script").count() == 1
    page.goto(ui.page_url(f"/runs/{waiting.id}"))
    expect(page.locator("article.pending .context")).to_have_text(SCRIPT)
    assert page.locator("script").count() == 1
    assert dialogs == []


def test_an_answer_from_the_inbox_is_confirmed(ui: UI, page: Any) -> None:
    run = runs.run(UIAskName(), enact.Str("star"))
    page.goto(ui.page_url("/inbox"))
    card = page.locator("article.pending", has_text=run.id)
    card.locator("textarea[name='a.value']").fill("Sirius")
    card.get_by_role("button", name="Answer").click()
    notice = page.locator("p.notice[role='status']")
    expect(notice).to_contain_text(run.id)
    expect(notice).to_contain_text("was taken")
    _wait_for_status(run.id, "finished")


def test_pages_search_and_sort_in_the_runs_list(
    ui: UI, page: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from enact.ui import _pages

    monkeypatch.setattr(_pages, "MAX_RUNS", 3)
    made = [
        runs.run(UIEcho(), enact.Str(str(n)), name=f"echo-{n}").id for n in range(7)
    ]
    page.goto(ui.page_url("/"))
    expect(page.locator("nav.pages")).to_contain_text("3 runs shown")
    page.get_by_role("link", name="count all matches").click()
    expect(page.locator("nav.pages")).to_contain_text("3 runs shown of 7 matching")
    page.get_by_role("link", name="Older →").click()
    expect(page.locator("tr[data-run]").first).to_have_attribute("data-run", made[3])
    expect(page.locator("tr[data-run]")).to_have_count(3)
    page.get_by_role("link", name="← Newer").click()
    expect(page.locator("tr[data-run]").first).to_have_attribute("data-run", made[6])
    expect(page.get_by_role("link", name="← Newer")).to_have_count(0)
    page.locator("input[name='q']").fill("echo-5")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tr[data-run]")).to_have_count(1)
    assert page.locator("tr[data-run]").get_attribute("data-run") == made[5]
    page.goto(ui.page_url("/"))
    page.locator("select[name='order']").select_option("asc")
    page.get_by_role("button", name="Filter").click()
    assert page.locator("tr[data-run]").first.get_attribute("data-run") == made[0]


def test_compare_a_fork_with_its_parent(ui: UI, page: Any) -> None:
    random.seed(3)
    run = runs.run(UIDrawThree(UIDraw()), enact.Str("moon"))
    fork = run.fork(at=(2,))
    page.goto(ui.page_url(f"/runs/{fork.id}"))
    page.locator("a.compare-parent").click()
    expect(page.locator("dd.divergence")).to_contain_text("call 2")
    expect(page.locator("tr[data-kind='same']")).to_have_count(2)
    diverging = page.locator("tr.diverges")
    expect(diverging).to_have_count(1)
    assert diverging.get_attribute("data-path") == "2"
    page.get_by_role("link", name="Swap sides").click()
    expect(page.locator("dd.left-run")).to_contain_text(fork.id)
