"""Feedback and evaluation pages: rate calls of a run, look at evaluations.

On a run's page every call gets a feedback panel: what was given (score,
thumbs, comment, correction; who and when) with edit and delete, and a form
to give more, whose correction part is the answer form of the call's output
type (:mod:`enact.ui._forms`). Evaluations (:mod:`enact.evaluations`) have a
list and a page each: every scorer's mean with its 95% confidence interval,
a row per sample, the best and the worst, with links to the scored runs and
to the runs that did the scoring.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from enact import evaluations, feedback
from enact._datasets.calls import call_at
from enact._runs.errors import RunError
from enact.api import _service
from enact.references import Ref
from enact.ui import _forms, _security
from enact.ui._http import Request, Response, redirect
from enact.ui._tree import Node, text
from enact.wrappers import wrap

__all__ = ["FeedbackPages", "feedback_panels"]

_CORRECTION_PREFIX = "fc."
# A feedback id is 32 hex digits (see enact.feedback.add).
FEEDBACK_ID = r"(?P<feedback_id>[0-9a-f]{32})"
EVALUATION_ID = r"(?P<evaluation_id>[0-9a-f]{12})"


def _output_type_id(node: Node) -> str | None:
    """The type id of a call's output (None if it returned none)."""
    if node.output_digest is None:
        return None
    try:
        value = Ref[Any](node.output_digest).checkout()
        return str(type(wrap(value)).type_id())
    except Exception:  # unreadable here: no correction form
        return None


def _note_view(note: feedback.Feedback) -> dict[str, Any]:
    correction = None
    if note.correction is not None:
        try:
            correction = text(note.correction.checkout())
        except Exception as error:  # an unregistered type, say
            correction = f"(cannot be read here: {error})"
    thumbs = "up" if note.label is True else "down" if note.label is False else None
    return {
        "note": note,
        "thumbs": thumbs,
        "word": None if thumbs or note.label is None else str(note.label),
        "score": "" if note.score is None else f"{note.score:g}",
        "correction": correction,
    }


def feedback_panels(
    run_id: str,
    tree: Node | None,
    errors: Mapping[str, str] | None = None,
    submitted: Mapping[str, str] | None = None,
) -> dict[str, dict[str, Any]]:
    """What each call's feedback panel shows, by the call's dotted path."""
    if tree is None:
        return {}
    try:
        notes = _service.list_feedback(run_id)
    except (feedback.FeedbackError, RunError):
        notes = []
    by_path: dict[tuple[int, ...], list[feedback.Feedback]] = {}
    for note in notes:
        by_path.setdefault(note.path, []).append(note)
    panels: dict[str, dict[str, Any]] = {}
    stack = [tree]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        key = ".".join(map(str, node.path))
        type_id = _output_type_id(node)
        mine = (
            errors is not None
            and submitted is not None
            and (submitted.get("path", None) == key)
        )
        panels[key] = {
            "path": key,
            "notes": [_note_view(note) for note in by_path.get(node.path, [])],
            "correction": None
            if type_id is None
            else _forms.form_for(
                type_id,
                _CORRECTION_PREFIX,
                submitted if mine else None,
                label="Correct output",
            ),
            "error": (errors or {}).get(key),
            "submitted": submitted if mine else {},
        }
    return panels


def _score(form: Mapping[str, str]) -> float | None:
    raw = form.get("score", "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise feedback.FeedbackError(f"score: {raw!r} is not a number") from None
    if not math.isfinite(value):
        raise feedback.FeedbackError(f"score: {raw!r} is not a finite number")
    return value


def _label(form: Mapping[str, str]) -> bool | None:
    return {"up": True, "down": False}.get(form.get("thumbs", ""))


def _comment(form: Mapping[str, str]) -> str | None:
    return form.get("comment", "").strip() or None


class FeedbackPages:
    """The feedback forms' handlers and the evaluation pages.

    Args:
        pages: The UI's pages (for errors, rendering and the run page).
    """

    def __init__(self, pages: Any) -> None:
        self._pages = pages

    def _back(self, run_id: str, path: str) -> Response:
        """Back to the run page, at the call's panel."""
        response = redirect(f"/runs/{run_id}")
        parsed = _security.parse_path(path)
        anchor = "top" if not parsed else ".".join(map(str, parsed))
        name, location = response.headers[0]
        response.headers[0] = (name, f"{location}#call-{anchor}")
        return response

    def _again(
        self, request: Request, run_id: str, path: str, message: str
    ) -> Response:
        """The run page again, the panel of ``path`` showing the error."""
        response: Response = self._pages.run_page(
            request, run_id, feedback_errors=({path: message}, request.form)
        )
        return response

    def add(self, request: Request, run_id: str) -> Response:
        """``POST /runs/<id>/feedback``: gives feedback on one call."""
        run = self._pages._get_run(run_id)
        if isinstance(run, Response):
            return run
        form = request.form
        path_text = form.get("path", "")
        path = _security.parse_path(path_text)
        if path is None:
            bad: Response = self._pages.error(
                400, "No such call", f"{path_text!r} is not a call's path."
            )
            return bad
        try:
            correction = None
            if form.get("correct") == "on":
                correction = self._correction(run, path, form)
            _service.give_feedback(
                run,
                path,
                score=_score(form),
                label=_label(form),
                comment=_comment(form),
                correction=correction,
                source=form.get("source"),
            )
        except RunError as error:  # no such call: no panel to show it on
            failed: Response = self._pages.error(400, "No such call", str(error))
            return failed
        except (feedback.FeedbackError, _forms.FormError) as error:
            return self._again(request, run.id, path_text, str(error))
        return self._back(run.id, path_text)

    def _correction(
        self, run: Any, path: tuple[int, ...], submitted: Mapping[str, str]
    ) -> Any:
        call = call_at(run, path)
        if call.output_digest is None:
            raise feedback.FeedbackError("this call returned nothing to correct")
        cls = type(wrap(call.output))
        form = _forms.form_for(cls.type_id(), _CORRECTION_PREFIX)
        raw = _forms.read_form(form, submitted)
        return _forms.build(cls, raw)

    def edit(self, request: Request, run_id: str, feedback_id: str) -> Response:
        """``POST /runs/<id>/feedback/<fid>/edit``: changes score, thumbs, comment."""
        run = self._pages._get_run(run_id)
        if isinstance(run, Response):
            return run
        form = request.form
        path_text = form.get("path", "")
        try:
            expect = int(form.get("revision", ""))
        except ValueError:
            expect = None
        try:
            changes: dict[str, Any] = {"score": _score(form), "comment": _comment(form)}
            if form.get("thumbs") != "word":  # a word label stays as it is
                changes["label"] = _label(form)
            _service.edit_feedback(
                run,
                feedback_id,
                changes,
                source=form.get("source"),
                expect_revision=expect,
            )
        except feedback.FeedbackConflict:
            message = (
                "Someone changed this feedback meanwhile: the page shows it now; "
                "make your change again."
            )
            return self._again(request, run.id, path_text, message)
        except feedback.FeedbackError as error:
            return self._again(request, run.id, path_text, str(error))
        return self._back(run.id, path_text)

    def delete(self, request: Request, run_id: str, feedback_id: str) -> Response:
        """``POST /runs/<id>/feedback/<fid>/delete``: deletes a feedback."""
        run = self._pages._get_run(run_id)
        if isinstance(run, Response):
            return run
        path_text = request.form.get("path", "")
        try:
            _service.delete_feedback(
                run, feedback_id, source=request.form.get("source")
            )
        except feedback.FeedbackError as error:
            return self._again(request, run.id, path_text, str(error))
        return self._back(run.id, path_text)

    # -- evaluations -------------------------------------------------------

    def evaluations_list(self, request: Request) -> Response:
        """``GET /evaluations``: every evaluation of the store, newest first."""
        del request
        listed = [
            {"e": each, "summary": each.summary(), "samples": len(each.samples())}
            for each in _service.list_evaluations(self._pages._store)
        ]
        page: Response = self._pages._page(
            "evaluations.html", nav="evaluations", evaluations=listed
        )
        return page

    def evaluation_page(self, request: Request, evaluation_id: str) -> Response:
        """``GET /evaluations/<id>``: one evaluation in full."""
        del request
        try:
            found = _service.open_evaluation(self._pages._store, evaluation_id)
        except evaluations.EvaluationError as error:
            missing: Response = self._pages.error(404, "No such evaluation", str(error))
            return missing
        scorings: dict[tuple[str, tuple[int, ...]], dict[str, Any]] = {}
        for each in found.scores:
            scorings.setdefault((each.run_id, each.path), {})[each.scorer] = each
        rows = [
            {**row, "path_text": ".".join(map(str, row["path"]))}
            for row in found.samples()
        ]
        for row in rows:
            row["scorings"] = scorings.get((row["run"], tuple(row["path"])), {})
        page: Response = self._pages._page(
            "evaluation.html",
            nav="evaluations",
            e=found,
            summary=found.summary(),
            rows=rows,
            best=found.best(3),
            worst=found.worst(3),
        )
        return page
