"""The run page's "Fork with changes" forms: ``POST /runs/<id>/fork-settings``
(a fork with changed settings of the run's components) and ``POST
/runs/<id>/fork-input`` (a rerun on an edited input), started through the
functions behind the API's ``POST /api/runs/{run}/fork``."""

from __future__ import annotations

from typing import Any

from enact.api import _service
from enact.ui import _forms, _security
from enact.ui._http import Request, Response
from enact.ui._replace import (
    INPUT_PREFIX,
    SettingsError,
    changed_settings,
    replacements,
)

__all__ = ["ForkPages"]


class ForkPages:
    """``POST /runs/<id>/fork-settings`` and ``POST /runs/<id>/fork-input``.

    Args:
        pages: The UI's pages (errors, runs, starting child runs).
    """

    def __init__(self, pages: Any) -> None:
        self._pages = pages

    def _error(self, message: str) -> Response:
        page: Response = self._pages.error(400, "Cannot fork", message)
        return page

    def fork_settings(self, request: Request, run_id: str) -> Response:
        """A fork with the settings of the form, resampled from ``at`` on."""
        run = self._pages._get_run(run_id)
        if isinstance(run, Response):
            return run
        at_text = request.form.get("at", "0")
        at = _security.parse_path(at_text)
        if not at:
            return self._error(f"{at_text!r} is not the path of a call below the top.")
        root = run.info().request.checkout().invokable()
        try:
            swaps = replacements(root, changed_settings(root, request.form))
        except SettingsError as error:
            return self._error(str(error))
        if not swaps:
            return self._error("No setting was changed: change one, or use Fork.")
        pages = self._pages
        child = _service.fork(pages._store, pages._jobs, run, at=at, replace=swaps)
        started: Response = pages.started(run.id, child)
        return started

    def fork_input(self, request: Request, run_id: str) -> Response:
        """A fork on the form's input, replaying every call that did not change."""
        run = self._pages._get_run(run_id)
        if isinstance(run, Response):
            return run
        component = run.info().request.checkout().invokable()
        input_type = component.get_input_type()
        if input_type is None:
            return self._error("The run's component declares no input type.")
        form = _forms.form_for(input_type.type_id(), INPUT_PREFIX)
        try:
            _forms.check_required((form,), request.form)
            value = _forms.build(input_type, _forms.read_form(form, request.form))
        except _forms.FormError as error:
            return self._error(str(error))
        if value is None:
            value = input_type()
        pages = self._pages
        child = _service.fork_with_input(pages._store, pages._jobs, run, value)
        started: Response = pages.started(run.id, child)
        return started
