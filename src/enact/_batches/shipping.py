"""Whether a batch's component can run in another process, and what that
process must import first.

Workers never receive Python objects: they read the component and the inputs
from the store, which decodes only registered types. So each class (and each
registered function) they meet must be importable there by its module: not
``__main__`` (unless the script is importable under another name), not a
class defined inside a function.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from typing import Any

from enact._importable import MAIN, recorded_module
from enact._invocations.calls import FunctionInvokable, registered_functions
from enact.interfaces import ResourceBase

__all__ = ["NotShippable", "modules_of"]

_MAX_DEPTH = 20


class NotShippable(TypeError):
    """A batch's component or input cannot be read in a worker process.

    Attributes:
        what: The class or function that cannot be imported there.
    """

    def __init__(self, what: str, reason: str) -> None:
        self.what = what
        super().__init__(
            f"{what} cannot run in a worker process: {reason}. Define it at the "
            "top level of an importable module (not in a script run as "
            "`python -c` or a notebook cell), or use the 'threads' or "
            "'asyncio' executor."
        )


def modules_of(values: Iterable[Any], *, check: bool) -> list[str]:
    """The modules that define the classes and registered functions in
    ``values`` (walking resources through their fields), in first-seen order.

    Args:
        values: Components and inputs.
        check: Raise :class:`NotShippable` for one a worker cannot import.
    """
    found: dict[str, None] = {}
    seen: set[int] = set()
    for value in values:
        _walk(value, found, seen, 0, check)
    return list(found)


def _note(module: str, qualname: str, found: dict[str, None], check: bool) -> None:
    module = recorded_module(module)
    if check:
        what = f"{module}.{qualname}"
        if module == MAIN:
            raise NotShippable(what, "it is defined in the __main__ script")
        if "<locals>" in qualname:
            raise NotShippable(what, "it is defined inside a function")
        if importlib.util.find_spec(module) is None:
            raise NotShippable(what, f"its module {module!r} is not importable")
    found.setdefault(module, None)


def _walk(
    value: Any, found: dict[str, None], seen: set[int], depth: int, check: bool
) -> None:
    if depth > _MAX_DEPTH or id(value) in seen:
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            _walk(item, found, seen, depth + 1, check)
        return
    if isinstance(value, dict):
        for item in value.values():
            _walk(item, found, seen, depth + 1, check)
        return
    if not isinstance(value, ResourceBase):
        return
    seen.add(id(value))
    cls = type(value)
    if not cls.__module__.startswith("enact."):
        _note(cls.__module__, cls.__qualname__, found, check)
    if isinstance(value, FunctionInvokable):
        function = registered_functions.get(value.name)
        if function is not None:
            _note(function.__module__, function.__qualname__, found, check)
    try:
        fields = list(value.field_values())
    except NotImplementedError:
        return
    for field in fields:
        _walk(field, found, seen, depth + 1, check)
