"""Feedback forms on run pages and the evaluation pages, over plain HTTP."""

from __future__ import annotations

import random
import re
from typing import Any

import enact
from enact import feedback, runs
from ui.conftest import UI
from ui.flows import SCRIPT, UIDraw, UIDrawThree, UIEcho
from ui.test_server import fetch


@enact.register
def ui_length(topic: Any, answer: Any) -> float:
    """A scorer for the UI tests: the answer's length."""
    return float(len(str(answer)))


def _post(ui: UI, url: str, /, **form: str) -> tuple[int, dict[str, str], str]:
    return fetch(ui.server, url, method="POST", form={"_csrf": ui.server.csrf, **form})


def test_every_call_has_a_feedback_form_with_a_typed_correction(ui: UI) -> None:
    random.seed(3)
    run = runs.run(UIDrawThree(UIDraw()), enact.Str("sea"))
    status, _, body = fetch(ui.server, f"/runs/{run.id}")
    assert status == 200
    assert body.count('class="feedback-add"') == 4  # the top call and 3 children
    assert f'action="/runs/{run.id}/feedback"' in body
    assert 'name="fc.value"' in body  # the Str answer form, for the correction


def test_give_edit_and_delete_feedback(ui: UI) -> None:
    random.seed(4)
    run = runs.run(UIDrawThree(UIDraw()), enact.Str("sea"))
    status, headers, _ = _post(
        ui,
        f"/runs/{run.id}/feedback",
        path="1",
        score="4",
        thumbs="up",
        comment="nice",
        source="ann",
        correct="on",
        **{"fc.value": "sea-fixed"},
    )
    assert status == 303 and headers["Location"].endswith("#call-1")
    (note,) = feedback.list_feedback(run, (1,))
    assert (note.score, note.label, note.comment) == (4.0, True, "nice")
    assert note.source == "person:ann"
    assert note.correction is not None and note.correction.checkout() == "sea-fixed"
    _, _, page = fetch(ui.server, f"/runs/{run.id}")
    assert "person:ann" in page and "nice" in page and "sea-fixed" in page

    status, _, _ = _post(
        ui,
        f"/runs/{run.id}/feedback/{note.id}/edit",
        path="1",
        revision="0",
        score="2",
        thumbs="down",
        comment="worse on reading again",
    )
    assert status == 303
    edited = feedback.get(run, note.id)
    assert (edited.score, edited.label, edited.revision) == (2.0, False, 1)
    # An edit made from an old page is refused, naming the conflict.
    status, _, body = _post(
        ui,
        f"/runs/{run.id}/feedback/{note.id}/edit",
        path="1",
        revision="0",
        score="5",
    )
    assert status == 400 and "changed this feedback meanwhile" in body
    assert feedback.get(run, note.id).score == 2.0

    status, _, _ = _post(ui, f"/runs/{run.id}/feedback/{note.id}/delete", path="1")
    assert status == 303
    assert feedback.list_feedback(run) == []


def test_bad_feedback_is_shown_on_the_form(ui: UI) -> None:
    random.seed(5)
    run = runs.run(UIDrawThree(UIDraw()), enact.Str("sea"))
    status, _, body = _post(ui, f"/runs/{run.id}/feedback", path="0", score="lots")
    assert status == 400 and "is not a number" in body
    assert 'value="lots"' in body  # what was typed is shown again
    status, _, body = _post(ui, f"/runs/{run.id}/feedback", path="0")
    assert status == 400 and "needs a score" in body
    status, _, body = _post(ui, f"/runs/{run.id}/feedback", path="9", score="1")
    assert status == 400 and "no call at path" in body
    status, _, _ = _post(ui, f"/runs/{run.id}/feedback", path="x/../1", score="1")
    assert status == 400
    assert feedback.list_feedback(run) == []


def test_feedback_forms_need_post_and_the_csrf_token(ui: UI) -> None:
    random.seed(6)
    run = runs.run(UIDrawThree(UIDraw()), enact.Str("sea"))
    status, _, _ = fetch(ui.server, f"/runs/{run.id}/feedback")
    assert status == 405
    status, _, body = fetch(
        ui.server,
        f"/runs/{run.id}/feedback",
        method="POST",
        form={"path": "0", "score": "1"},
    )
    assert status == 403 and "Form expired" in body
    note = feedback.add(run, (0,), score=3)
    for action in ["edit", "delete"]:
        status, _, _ = fetch(
            ui.server,
            f"/runs/{run.id}/feedback/{note.id}/{action}",
            method="POST",
            form={"_csrf": "wrong", "path": "0"},
        )
        assert status == 403
    assert feedback.get(run, note.id).score == 3.0


def test_feedback_and_evaluations_are_escaped(ui: UI) -> None:
    run = runs.run(UIEcho(), enact.Str("x"))
    feedback.add(run, (), comment=SCRIPT, label=SCRIPT, source=f"person:{SCRIPT}")
    result = enact.evaluate([run], ui_length)
    for path in [f"/runs/{run.id}", "/evaluations", f"/evaluations/{result.id}"]:
        status, _, body = fetch(ui.server, path)
        assert status == 200, path
        assert SCRIPT not in body, path
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt;"
        in fetch(ui.server, f"/runs/{run.id}")[2]
    )


def test_evaluation_pages(ui: UI) -> None:
    random.seed(8)
    scored = [runs.run(UIDraw(), enact.Str("x" * n)) for n in (1, 5, 9)]
    result = enact.evaluate(scored, ui_length)
    status, _, body = fetch(ui.server, "/evaluations")
    assert status == 200 and f'href="/evaluations/{result.id}"' in body
    assert "ui_length" in body
    status, _, body = fetch(ui.server, f"/evaluations/{result.id}")
    assert status == 200
    (summary,) = result.summary()
    assert f"{summary.mean:.4g}" in body
    assert f"[{summary.low:.4g}, {summary.high:.4g}]" in body
    for each in result.scores:  # links to the scored runs and the scorings
        assert f'href="/runs/{each.run_id}#call-top"' in body
        assert f'href="/runs/{each.scoring_run}"' in body
    best = re.search(r'<ol class="best">(.*?)</ol>', body, re.S)
    assert best is not None and result.best(1)[0]["run"] in best.group(1)
    worst = re.search(r'<ol class="worst">(.*?)</ol>', body, re.S)
    assert worst is not None and result.worst(1)[0]["run"] in worst.group(1)
    assert fetch(ui.server, "/evaluations/" + "0" * 12)[0] == 404
    assert fetch(ui.server, "/evaluations/../etc")[0] == 404
