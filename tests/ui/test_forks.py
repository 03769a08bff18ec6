"""The run page's "Fork with changes" forms: changed settings of the run's
components, and an edited input (in Chromium, and the server's checks)."""

from __future__ import annotations

import re
from typing import Any

import enact
from enact import runs
from ui.conftest import UI, require_playwright
from ui.flows import UIChain, UIDraw, UISuffix, UITask
from ui.test_server import csrf_of, fetch

expect: Any = require_playwright().expect


def _chain() -> runs.Run:
    return runs.run(UIChain(UIDraw(), UISuffix("?", 2)), UITask("ann", 2))


def _new_run(page: Any, parent: str) -> runs.Run:
    expect(page).not_to_have_url(re.compile(f"/runs/{parent}$"))
    expect(page.locator("h1 .status")).to_have_text("finished", timeout=30_000)
    fork = runs.get_run(page.url.rsplit("/", 1)[-1])
    assert fork.info().parent == parent and fork.info().relation == "fork"
    return fork


def test_fork_with_a_changed_setting(ui: UI, page: Any) -> None:
    run = _chain()
    page.goto(ui.page_url(f"/runs/{run.id}"))
    page.locator("#fork-changes summary").click()
    form = page.locator("form.fork-settings")
    second = form.locator("fieldset[data-where='second']")
    expect(second.locator("input[name='s/second/suffix']")).to_have_value("?")
    second.locator("input[name='s/second/suffix']").fill("#")
    form.locator("input[name='at']").fill("1")
    form.get_by_role("button", name="Fork with these settings").click()
    fork = _new_run(page, run.id)
    assert fork.journal().request().invokable() == UIChain(UIDraw(), UISuffix("#", 2))
    old, new = run.invocation().response(), fork.invocation().response()
    assert new.children[0].digest == old.children[0].digest  # kept before 1
    assert "#" in str(fork.output())
    expect(page.locator("details.call[data-path=''] pre.output").first).to_contain_text(
        "#"
    )


def test_fork_with_an_edited_input(ui: UI, page: Any) -> None:
    run = _chain()
    page.goto(ui.page_url(f"/runs/{run.id}"))
    page.locator("#fork-changes summary").click()
    form = page.locator("form.fork-input")
    expect(
        form.locator("input[name='fi.name'], textarea[name='fi.name']")
    ).to_have_value("ann")
    expect(form.locator("input[name='fi.times']")).to_have_value("2")
    form.locator("input[name='fi.times']").fill("3")
    form.get_by_role("button", name="Fork with this input").click()
    fork = _new_run(page, run.id)
    assert fork.journal().request().input() == UITask("ann", 3)
    old, new = run.invocation().response(), fork.invocation().response()
    # The draw for "ann" and the two suffixes before are the recorded calls.
    assert [c.digest for c in new.children[:3]] == [c.digest for c in old.children]
    assert str(fork.output()).startswith(str(run.output()))


def test_bad_settings_and_inputs_are_refused_naming_them(ui: UI) -> None:
    run = _chain()
    csrf = {"_csrf": csrf_of(ui.server)}
    status, _, body = fetch(
        ui.server,
        f"/runs/{run.id}/fork-settings",
        method="POST",
        form={**csrf, "s/second/times": "many", "s/second/suffix": "?", "at": "0"},
    )
    assert status == 400 and "times" in body and "many" in body
    status, _, body = fetch(
        ui.server,
        f"/runs/{run.id}/fork-settings",
        method="POST",
        form={**csrf, "s/second/times": "2", "s/second/suffix": "?", "at": "0"},
    )
    assert status == 400 and "No setting was changed" in body
    status, _, body = fetch(
        ui.server,
        f"/runs/{run.id}/fork-input",
        method="POST",
        form={**csrf, "fi.name": "bo", "fi.times": "lots"},
    )
    assert status == 400 and "lots" in body
    assert runs.list_runs(parent=run.id) == []
    # Without the form's CSRF token nothing is forked.
    status, _, _ = fetch(
        ui.server,
        f"/runs/{run.id}/fork-input",
        method="POST",
        form={"fi.name": "bo", "fi.times": "1"},
    )
    assert status == 403
    assert runs.list_runs(parent=run.id) == []


def test_settings_are_escaped(ui: UI) -> None:
    run = runs.run(
        UIChain(UIDraw(), UISuffix("<script>alert(1)</script>", 1)), UITask("x", 1)
    )
    status, _, body = fetch(ui.server, f"/runs/{run.id}")
    assert status == 200
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_a_run_of_a_plain_value_gets_an_input_form(ui: UI) -> None:
    run = runs.run(UIDraw(), enact.Str("moon"))
    status, _, body = fetch(ui.server, f"/runs/{run.id}")
    assert status == 200 and 'action="/runs/' in body
    assert "fork-input" in body and ">moon</textarea>" in body
