"""The pages: what each route reads from the store and renders.

Every page reads and acts through the functions behind the HTTP API's
endpoints (:mod:`enact.api._service`: runs, trees, requests, answers, forks,
replays, resumes), so a page shows what the API answers; values are read for
display through the library (:class:`enact.Ref`, :class:`enact.Invocation`)
in the server's store, which the server makes current around each call.
Nothing here touches the file system.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from enact import runs
from enact._runs.listing import SORT_KEYS, query_columns
from enact.api import _service
from enact.backends.index import encode_cursor
from enact.interfaces import NoneResource
from enact.invocations import Invocation
from enact.references import NotFound, Ref, Store
from enact.ui import _forms, _security
from enact.ui._feedback import feedback_panels
from enact.ui._http import Request, Response, redirect
from enact.ui._jobs import Jobs
from enact.ui._live import call_count, run_key
from enact.ui._render import render
from enact.ui._replace import fork_forms
from enact.ui._timeline import timeline
from enact.ui._tree import name_of, text

__all__ = ["MAX_RUNS", "FormErrors", "Pages"]

#: Errors of submitted answer forms, by pending request key: the message and
#: what was submitted (shown again).
FormErrors = dict[str, tuple[str, Mapping[str, str]]]

#: The runs list shows this many runs a page.
MAX_RUNS = 100
_STATUSES = [status.value for status in runs.RunStatus]
_ANSWER_PREFIX = "a."


class Pages:
    """The UI's pages, bound to one store and its background jobs.

    Args:
        store: The store the UI shows.
        jobs: Where background work is started and tracked.
        csrf: The token every POSTed form must carry.
    """

    def __init__(self, store: Store, jobs: Jobs, csrf: str) -> None:
        self._store = store
        self._jobs = jobs
        self._csrf = csrf
        self._location = _display_location(store.location)

    # -- helpers -----------------------------------------------------------

    def _page(
        self, template: str, *, status: int = 200, count: bool = True, **context: Any
    ) -> Response:
        pending_count: int | None = None
        if count:
            try:
                pending_count = len(_service.pending_requests())
            except Exception:  # no run index (a custom backend), or no store
                pending_count = None
        body = render(
            template,
            csrf=self._csrf,
            csrf_field=_security.CSRF_FIELD,
            store_location=self._location,
            pending_count=pending_count,
            **context,
        )
        return Response(status, body)

    def error(self, status: int, title: str, message: str) -> Response:
        """An error page."""
        return self._page(
            "error.html",
            status=status,
            count=False,
            nav="",
            title=title,
            message=message,
        )

    def _get_run(self, run_id: str) -> runs.Run | Response:
        if not _security.valid_run_id(run_id):
            return self.error(404, "No such run", f"{run_id!r} is not a run id.")
        try:
            run = _service.open_run(self._store, run_id)
        except runs.RunNotFound:
            return self.error(404, "No such run", f"No run {run_id!r} in this store.")
        except runs.RunError as error:  # its record is damaged: say which
            return self.error(500, "Damaged run record", str(error))
        return run

    # -- runs --------------------------------------------------------------

    def runs_list(self, request: Request) -> Response:
        """``GET /``: the runs, newest first, with filters."""
        query = request.query
        status = query.get("status", "")
        sort = query.get("sort", "started")
        sort = sort if sort in SORT_KEYS else "started"
        descending = query.get("order") != "asc"
        asked = _service.RunQuery(
            status=status if status in _STATUSES else None,
            component=query.get("component") or None,
            tag=query.get("tag") or None,
            parent=query.get("parent") or None,
            since=_moment(query.get("since", "")),
            until=_moment(query.get("until", ""), end=True),
            search=query.get("q") or None,
            order_by=sort,
            descending=descending,
        )
        kept = {key: query.get(key, "") for key in (*_FILTERS, "q", "sort", "order")}
        after, before = query.get("after") or None, query.get("before") or None
        store = self._store
        try:
            if before is not None:
                # Newer runs: the order reversed from the page's first run.
                backwards = dataclasses.replace(asked, descending=not descending)
                page = _service.find_runs(
                    store, backwards, limit=MAX_RUNS, cursor=before
                )
                shown = page.runs[::-1]
                newer = page.next_cursor is not None
                older = True
            else:
                page = _service.find_runs(store, asked, limit=MAX_RUNS, cursor=after)
                shown = page.runs
                newer = after is not None
                older = page.next_cursor is not None
        except ValueError:  # a cursor from elsewhere: the first page
            page = _service.find_runs(store, asked, limit=MAX_RUNS)
            shown, newer, older = page.runs, False, page.next_cursor is not None
        total: int | None = None
        damaged: list[runs.DamagedRun] = []
        if query.get("count"):
            total, damaged = _service.count_runs(asked)
        if not shown:
            newer = older = False
        return self._page(
            "runs.html",
            nav="runs",
            runs=shown,
            total=total,
            newer=_page_link(kept, "before", shown[0], sort) if newer else None,
            older=_page_link(kept, "after", shown[-1], sort) if older else None,
            count_link=_page_link(kept, "count", None, sort),
            damaged=damaged,
            statuses=_STATUSES,
            sorts=list(SORT_KEYS),
            query=kept,
            filtered=any(query.get(key) for key in (*_FILTERS, "q")),
        )

    def run_page(
        self,
        request: Request,
        run_id: str,
        errors: FormErrors | None = None,
        feedback_errors: tuple[Mapping[str, str], Mapping[str, str]] | None = None,
    ) -> Response:
        """``GET /runs/<id>``: one run, its tree, its pending requests."""
        run = self._get_run(run_id)
        if isinstance(run, Response):
            return run
        info = run.info()
        tree = problem = None
        try:
            tree = _service.call_tree(run)
        except Exception as error:  # shown on the page
            problem = f"{type(error).__name__}: {error}"
        job = self._jobs.running(run.id)
        failed = [done for done in self._jobs.for_run(run.id) if done.error is not None]
        status = info.status.value
        return self._page(
            "run.html",
            status=400 if errors or feedback_errors else 200,
            nav="runs",
            info=info,
            feedback=feedback_panels(run.id, tree, *(feedback_errors or (None, None))),
            run_status=status,
            tree=tree,
            problem=problem,
            job=job,
            failed_jobs=failed[-3:],
            children=_service.child_runs(run),
            pending=self._pending_items(
                _service.pending_requests(run.id), errors or {}
            ),
            request_text=_request_text(info.request),
            # Without script the page reloads itself; with it, live updates
            # (enhance.js) fetch the parts that changed.
            refresh=status == "running" or job is not None,
            live=f"/api/events?run={run.id}",
            live_key=run_key(status, call_count(tree), len(info.pending)),
            answered=request.query.get("answered") == "1",
            fork_forms=fork_forms(run),
            timeline=timeline(tree),
        )

    def fork(self, request: Request, run_id: str) -> Response:
        """``POST /runs/<id>/fork``: a new run branching at a chosen call."""
        run = self._get_run(run_id)
        if isinstance(run, Response):
            return run
        at_text = request.form.get("at", "")
        if at_text:
            at = _security.parse_path(at_text)
            if not at:
                message = f"{at_text!r} is not the path of a call below the top."
                return self.error(400, "Cannot fork", message)
            child = _service.fork(self._store, self._jobs, run, at=at)
        else:
            try:
                num_calls = int(request.form.get("num_calls", "1"))
            except ValueError:
                num_calls = -1
            if num_calls < 0:
                return self.error(400, "Cannot fork", "num_calls must be 0 or more.")
            child = _service.fork(self._store, self._jobs, run, num_calls=num_calls)
        return self.started(run.id, child)

    def replay(self, request: Request, run_id: str) -> Response:
        """``POST /runs/<id>/replay``: a new run replaying this one."""
        del request
        run = self._get_run(run_id)
        if isinstance(run, Response):
            return run
        return self.started(run.id, _service.replay(self._store, self._jobs, run))

    def started(self, run_id: str, child: _service.ChildRun) -> Response:
        """To the page of a run started from ``run_id`` (or back to that
        run's page, which shows the work going on, or why it failed)."""
        if child.run_id is None:
            return redirect(f"/runs/{run_id}")
        return redirect(f"/runs/{child.run_id}")

    def resume(self, request: Request, run_id: str) -> Response:
        """``POST /runs/<id>/resume``: continues a crashed or waiting run here."""
        del request
        run = self._get_run(run_id)
        if isinstance(run, Response):
            return run
        try:
            job = _service.resume(self._jobs, run)
        except runs.RunNotResumable as error:
            return self.error(409, "Cannot resume", str(error))
        job.done.wait(0.5)  # a quick resume shows its outcome at once
        return redirect(f"/runs/{run.id}")

    def compare_page(self, request: Request) -> Response:
        """``GET /compare?left=<id>&right=<id>``: two runs side by side."""
        ids = [request.query.get("left", ""), request.query.get("right", "")]
        found = []
        for run_id in ids:
            run = self._get_run(run_id)
            if isinstance(run, Response):
                return run
            found.append(run)
        try:
            comparison = _service.compare_runs(found[0], found[1])
        except runs.RunError as error:
            return self.error(409, "Cannot compare yet", str(error))
        return self._page("compare.html", nav="runs", c=comparison)

    # -- input requests ----------------------------------------------------

    def _pending_items(
        self,
        pending: tuple[runs.PendingInput, ...] | list[runs.PendingInput],
        errors: FormErrors,
    ) -> list[dict[str, Any]]:
        items = []
        for request in pending:
            error, submitted = errors.get(request.key, (None, None))
            for_value = None
            if request.for_value is not None:
                try:
                    value = request.for_value()
                    if not isinstance(value, NoneResource) and value is not None:
                        for_value = text(value)
                except Exception as problem:
                    for_value = f"(cannot be read here: {problem})"
            items.append(
                {
                    "p": request,
                    "path": ".".join(map(str, request.path)),
                    "context": None
                    if request.context in (None, "")
                    else text(request.context),
                    "for_value": for_value,
                    "form": _forms.form_for(
                        request.requested_type,
                        _ANSWER_PREFIX,
                        submitted,
                        label="Your answer",
                    ),
                    "error": error,
                    "busy": self._jobs.running(request.run_id) is not None,
                }
            )
        return items

    def inbox(self, request: Request, errors: FormErrors | None = None) -> Response:
        """``GET /inbox``: every pending input request, each with its form.

        After an answer from the Inbox, ``?answered=<run id>`` names the run,
        so the page confirms the answer was taken.
        """
        answered = request.query.get("answered", "")
        if not _security.valid_run_id(answered):
            answered = ""
        components = _service.waiting_components()
        items = self._pending_items(_service.pending_requests(), errors or {})
        for item in items:
            item["component"] = components.get(item["p"].run_id, "?")
        return self._page(
            "inbox.html",
            status=400 if errors else 200,
            nav="inbox",
            items=items,
            answered=answered,
        )

    def answer(self, request: Request, run_id: str) -> Response:
        """``POST /runs/<id>/answer``: answers a request, then resumes the run."""
        run = self._get_run(run_id)
        if isinstance(run, Response):
            return run
        path = _security.parse_path(request.form.get("path", ""))
        pending = [p for p in _service.pending_requests(run.id) if p.path == path]
        if not pending:
            return self.error(
                409,
                "Nothing to answer",
                f"Run {run.id} has no pending input request at call "
                f"{request.form.get('path', '')!r}: it was answered already, or "
                "the run is no longer waiting.",
            )
        request_ = pending[0]
        form = _forms.form_for(request_.requested_type, _ANSWER_PREFIX)
        try:
            value = runs.parse_answer(request_, _forms.read_form(form, request.form))
        except Exception as error:  # a wrong type, an unreadable form
            message = str(error) or type(error).__name__
            errors = {request_.key: (message, request.form)}
            if request.form.get("_from") == "inbox":
                return self.inbox(request, errors)
            return self.run_page(request, run.id, errors)
        try:
            answered = _service.answer(self._jobs, run, value, path=request_.path)
        except (runs.NoPendingInput, runs.AlreadyAnswered) as error:
            return self.error(409, "The answer was not taken", str(error))
        if answered.job is not None:
            answered.job.done.wait(0.5)  # a quick run shows its outcome at once
        if request.form.get("_from") == "inbox":
            return redirect(f"/inbox?answered={run.id}")
        return redirect(f"/runs/{run.id}?answered=1")

    # -- objects -----------------------------------------------------------

    def invocation_page(self, request: Request, digest: str) -> Response:
        """``GET /invocations/<digest>``: the tree of any stored invocation."""
        del request
        tree = self._read(digest, _service.invocation_tree)
        if isinstance(tree, Response):
            return tree
        if tree is None:
            return redirect(f"/objects/{digest}")
        return self._page("invocation.html", nav="", digest=digest, tree=tree)

    def object_page(self, request: Request, digest: str) -> Response:
        """``GET /objects/<digest>``: any stored value, pretty-printed."""
        del request
        value = self._read(digest, _service.read_value)
        if isinstance(value, Response):
            return value
        if isinstance(value, Invocation):
            return redirect(f"/invocations/{digest}")
        return self._page(
            "object.html",
            nav="",
            digest=digest,
            type_name=type(value).__name__,
            text=text(value),
        )

    def _read(self, digest: str, read: Callable[[str], Any]) -> Any:
        """What ``read`` (a service function) gives for an object, or the
        page saying it is not one of this store's."""
        if not _security.valid_digest(digest):
            return self.error(404, "Not found", "That is not a ref.")
        try:
            return read(digest)
        except NotFound:
            return self.error(404, "Not found", f"No object {digest} in this store.")

    # -- invoking components ----------------------------------------------

    def invoke_page(
        self,
        request: Request,
        error: str | None = None,
        submitted: Mapping[str, str] | None = None,
    ) -> Response:
        """``GET /invoke``: the registered components; with ``?component=``, a
        form for one of them."""
        listed = _service.components()
        name = request.query.get("component") or request.form.get("component")
        chosen = None
        if name:
            found = dict(listed).get(name)
            if found is None:
                return self.error(
                    404,
                    "No such component",
                    f"{name!r} is not a registered component in this process.",
                )
            input_type = found.get_input_type()
            assert input_type is not None  # components() lists typed ones only
            chosen = {
                "type_id": name,
                "name": found.__name__,
                "doc": (found.__doc__ or "").strip(),
                "fields": _forms.form_for(found.type_id(), "c.", submitted),
                "input": _forms.form_for(
                    input_type.type_id(), "i.", submitted, label="Input"
                ),
            }
        return self._page(
            "invoke.html",
            status=400 if error else 200,
            nav="invoke",
            components=[
                (type_id, cls.__name__, cls.__module__) for type_id, cls in listed
            ],
            chosen=chosen,
            error=error,
        )

    def invoke(self, request: Request) -> Response:
        """``POST /invoke``: builds the component and its input, starts a run."""
        chosen = request.form.get("component", "")
        found = _service.find_component(chosen)
        if found is None:
            return self.error(404, "No such component", f"{chosen!r} is unknown.")
        input_type = found.get_input_type()
        assert input_type is not None
        try:
            _forms.check_required(
                (
                    _forms.form_for(found.type_id(), "c."),
                    _forms.form_for(input_type.type_id(), "i."),
                ),
                request.form,
            )
            component = _forms.build(
                found,
                _forms.read_form(_forms.form_for(found.type_id(), "c."), request.form),
            )
            arg = _forms.build(
                input_type,
                _forms.read_form(
                    _forms.form_for(input_type.type_id(), "i."), request.form
                ),
            )
        except _forms.FormError as error:
            return self.invoke_page(request, str(error), request.form)
        child = _service.start_run(self._store, self._jobs, component, arg)
        if child.run_id is None:
            if child.job.error is not None:
                return self.invoke_page(request, child.job.error, request.form)
            return redirect("/")
        return redirect(f"/runs/{child.run_id}")


_FILTERS = ("status", "component", "tag", "parent", "since", "until")


def _display_location(location: str) -> str:
    """A store's location, relative to the working directory if inside it."""
    try:
        if os.path.isabs(location):
            relative = os.path.relpath(location)
            if not relative.startswith(".."):
                return relative
    except ValueError:  # another drive (Windows)
        pass
    return location


def _moment(text: str, end: bool = False) -> float | None:
    """Epoch seconds of a local ``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM`` time,
    or None.

    A bare date means its midnight, or with ``end`` the next midnight, so
    ``until=2026-12-02`` takes in the whole day; a time to the minute means
    that minute (with ``end``, up to its last second).
    """
    text = text.strip()
    if "T" not in text and " " not in text:
        try:
            day = datetime.date.fromisoformat(text)
        except ValueError:
            return None
        if end:
            day += datetime.timedelta(days=1)
        return datetime.datetime.combine(day, datetime.time()).timestamp()
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if end and moment.second == 0 and moment.microsecond == 0:
        moment += datetime.timedelta(minutes=1)
    return moment.timestamp()


def _page_link(
    query: dict[str, str], key: str, info: runs.RunInfo | None, sort: str
) -> str:
    """The runs list's address with the same filters, continuing after
    (``key="after"``) or before a run, or counting every match."""
    kept = {name: value for name, value in query.items() if value}
    if info is None:
        kept[key] = "1"
    else:
        cols = query_columns(info.to_bytes())
        kept[key] = encode_cursor(None if cols is None else cols[sort], info.id)
    return "/?" + urllib.parse.urlencode(kept)


def _request_text(request: Ref[Any]) -> dict[str, str]:
    """The component and input of a run's top-level request, as text."""
    try:
        value = request()
        return {
            "component": name_of(value.invokable),
            "invokable": text(value.invokable()),
            "input": text(value.input()),
        }
    except Exception as error:
        return {
            "component": "?",
            "invokable": f"(cannot be read here: {error})",
            "input": "",
        }
