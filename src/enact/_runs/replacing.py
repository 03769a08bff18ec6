"""Replacing a component in a fork: the component and the journal rewritten.

``run.fork(at=..., replace={old: new})`` runs the fork with ``new`` wherever
the run's component held ``old`` (compared by content, at any depth of its
fields: in nested components, lists and dicts). The branch journal is
rewritten to match, so that the calls before the branch point are still
answered from their records (each keeps its recorded result, also one that
``old`` made) and the fork's own journal is consistent: resuming or forking
the fork again needs no replacement. Nothing recorded is changed; the
rewritten records are new objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from enact._invocations.invokables import InvokableBase
from enact._invocations.records import Invocation, Request, Response, invokable_name
from enact._runs.errors import RunError
from enact.digests import resource_digest
from enact.interfaces import ResourceBase
from enact.references import Ref, Store

__all__ = ["Replacement"]


class Replacement:
    """Components to put in place of others, matched by content.

    Args:
        replace: ``{old: new}``; each ``old`` and ``new`` an invokable.

    Raises:
        TypeError: if a key or value is not an invokable.
    """

    def __init__(self, replace: Mapping[Any, Any]) -> None:
        self._new: dict[str, ResourceBase] = {}
        self._names: dict[str, str] = {}
        for old, new in replace.items():
            for role, value in (("replaced", old), ("replacement", new)):
                if not isinstance(value, InvokableBase):
                    raise TypeError(
                        f"replace= maps invokables to invokables; the {role} "
                        f"component is a {type(value).__qualname__}."
                    )
            digest = resource_digest(old)
            self._new[digest] = new
            self._names[digest] = invokable_name(old)
        self._used: set[str] = set()

    def __bool__(self) -> bool:
        return bool(self._new)

    def apply(self, value: Any) -> Any:
        """``value`` with every replaced component in it replaced (the same
        object if none is in it)."""
        if not self._new:
            return value
        return self._apply(value)

    def _apply(self, value: Any) -> Any:
        if isinstance(value, ResourceBase) and not isinstance(value, Ref):
            digest = resource_digest(value)
            new = self._new.get(digest)
            if new is not None:
                self._used.add(digest)
                return new.deep_copy_resource()
            items = list(value.field_items())
            fields = {name: self._apply(field) for name, field in items}
            if all(fields[name] is field for name, field in items):
                return value
            return type(value).from_fields(fields)
        if isinstance(value, list):
            items = [self._apply(item) for item in value]
            changed = any(new is not old for new, old in zip(items, value, strict=True))
            return items if changed else value
        if isinstance(value, dict):
            entries = {key: self._apply(item) for key, item in value.items()}
            changed = any(entries[key] is not value[key] for key in value)
            return entries if changed else value
        return value

    def journal(
        self, store: Store, journal: Invocation[Any, Any]
    ) -> Invocation[Any, Any]:
        """``journal`` with the replaced components replaced in every record
        (their requests and their state after the call)."""
        rewritten = self._journal(store, journal)
        return journal if rewritten is None else rewritten

    def _journal(
        self, store: Store, journal: Invocation[Any, Any]
    ) -> Invocation[Any, Any] | None:
        request = journal.request()
        response = journal.response()
        before = request.invokable()
        new_before = self.apply(before)
        after = response.invokable()
        new_after = self.apply(after)
        children = []
        changed = new_before is not before or new_after is not after
        for child in response.children:
            rewritten = self._journal(store, child())
            if rewritten is None:
                children.append(child)
            else:
                children.append(store.commit(rewritten))
                changed = True
        if not changed:
            return None
        new_request: Ref[Request[Any, Any]] = journal.request
        if new_before is not before:
            new_request = store.commit(Request(store.commit(new_before), request.input))
        new_response: Response[Any, Any] = Response(
            store.commit(new_after),
            response.output,
            response.raised,
            response.raised_here,
            children,
        )
        return Invocation(new_request, store.commit(new_response))

    def check_used(self, run_id: str) -> None:
        """Raises if a replaced component was not in what :meth:`apply` saw
        (the run's component): a component the code makes as it runs, or
        one that differs in a field, cannot be replaced.

        Raises:
            RunError: naming the component that was not found.
        """
        unused = [self._names[d] for d in self._new if d not in self._used]
        if unused:
            raise RunError(
                f"The component of run {run_id} holds no {unused[0]} equal to "
                "the one to replace: replace= swaps components held in the "
                "fields of the run's component (at any depth), given exactly "
                "as the run had them (see run.journal().request().invokable()); "
                "a component the code makes as it runs is not one of them.",
                run_id,
            )
