"""Stored values as JSON for dataset rows, and what cannot be.

A dataset cell holds JSON: text, numbers, booleans, None, lists and objects.
A resource becomes an object of its fields; the arguments of a registered
function become ``{"args": [...], "kwargs": {...}}``. Binary values (bytes,
images, arrays) and values of types with no JSON form cannot go into a cell:
they are an :class:`UnencodableValue` naming the row, the call and the
field, or, when the export asks for it, are written by reference as
``{"$digest": "<sha-256 of the stored object>"}``.
"""

from __future__ import annotations

import importlib
import math
from typing import Any

import orjson

from enact.digests import resource_digest
from enact.errors import EnactError
from enact.interfaces import NoneResource, ResourceBase
from enact.references import Ref
from enact.resource_types import Bytes, Float, Image, Int, NPArray, Str
from enact.wrappers import unwrap, wrap

__all__ = [
    "DatasetError",
    "UnencodableValue",
    "require",
    "stored_json_text",
    "text_of",
    "to_json",
]


class DatasetError(EnactError, ValueError):
    """A selection or an export that cannot be made, with the reason."""


class UnencodableValue(DatasetError):
    """A value that cannot go into a dataset cell.

    Attributes:
        row: The row's number in the export (0 for the first).
        run_id: The run of the call it comes from.
        path: The call's path in the run.
        field: The cell (``input``, ``output``, ...) and where inside it.
    """

    def __init__(
        self, message: str, row: int, run_id: str, path: tuple[int, ...], field: str
    ) -> None:
        super().__init__(message)
        self.row = row
        self.run_id = run_id
        self.path = path
        self.field = field


class _Unencodable(Exception):
    """Raised inside :func:`to_json`; turned into :class:`UnencodableValue`."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(reason)
        self.where = where
        self.reason = reason


def require(module: str) -> Any:
    """Imports an optional package of the ``datasets`` extra, or says how to."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(
            f"This needs the optional package {module.split('.')[0]!r}: "
            "pip install 'enact[datasets]'"
        ) from None


_BLOBS = (bytes, bytearray, memoryview, Bytes, Image, NPArray)


def to_json(value: Any, *, by_reference: bool = False, where: str = "") -> Any:
    """The JSON form of a stored value.

    Args:
        value: A value checked out of a store.
        by_reference: Write a binary or otherwise unencodable value as
            ``{"$digest": ...}`` instead of failing.
        where: Where the value is, for messages (``output.items[2]``).

    Raises:
        _Unencodable: for a value with no JSON form (callers turn it into
            :class:`UnencodableValue`).
    """
    if value is None or isinstance(value, NoneResource):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return float(value)
        raise _Unencodable(where, f"{value!r} is not a JSON number")
    if isinstance(value, Ref):
        return {"$digest": value.digest}
    if isinstance(value, _BLOBS):
        return _reference(value, by_reference, where, "binary data")
    if isinstance(value, (list, tuple)):
        return [
            to_json(item, by_reference=by_reference, where=f"{where}[{number}]")
            for number, item in enumerate(value)
        ]
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise _Unencodable(where, f"a key {key!r} is not text")
            result[key] = to_json(
                item, by_reference=by_reference, where=f"{where}.{key}"
            )
        return result
    if isinstance(value, ResourceBase):
        plain = unwrap(value)
        if plain is not value and not isinstance(plain, ResourceBase):
            return _plain(plain, value, by_reference, where)
        return _fields(value, by_reference, where)
    return _plain(value, None, by_reference, where)


def _plain(value: Any, wrapped: Any, by_reference: bool, where: str) -> Any:
    """A plain value that is none of JSON's kinds: through its type wrapper."""
    if isinstance(value, (type(None), bool, str, int, float, list, tuple, dict)):
        return to_json(value, by_reference=by_reference, where=where)
    if isinstance(value, _BLOBS):
        return _reference(value, by_reference, where, "binary data")
    if wrapped is None:
        try:
            wrapped = wrap(value)
        except (EnactError, TypeError):
            raise _Unencodable(
                where, f"a {type(value).__qualname__} is of no registered type"
            ) from None
    return _fields(wrapped, by_reference, where)


def _fields(resource: ResourceBase, by_reference: bool, where: str) -> Any:
    try:
        items = list(resource.field_items())
    except Exception as error:  # a resource that cannot list its fields
        raise _Unencodable(where, f"its fields cannot be read: {error}") from None
    return {
        name: to_json(item, by_reference=by_reference, where=f"{where}.{name}")
        for name, item in items
    }


def _reference(value: Any, by_reference: bool, where: str, what: str) -> Any:
    if by_reference:
        try:
            return {"$digest": resource_digest(wrap(value))}
        except EnactError:
            pass
    raise _Unencodable(
        where,
        f"{what} has no JSON form"
        + ("" if by_reference else " (export by reference to write its digest)"),
    )


def text_of(value: Any) -> str:
    """A value as the text of a prompt or a completion.

    Text stays as it is; a chat message is its content; anything else is
    its JSON form (keys sorted).
    """
    import orjson

    if isinstance(value, str):
        return str(value)
    content = getattr(value, "content", None)
    if isinstance(content, str) and hasattr(value, "role"):
        return content
    data = to_json(value)
    if isinstance(data, str):
        return data
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()


_PLAIN_KINDS: dict[str, type] = {}


def stored_json_text(data: bytes) -> str | None:
    """The JSON text of the value stored as ``data``, if it is plain.

    Plain: an ``Int``, ``Float`` or ``Str`` resource in canonical form, whose
    JSON form (:func:`to_json`) is its one field. The text is what encoding
    that JSON form gives, read without decoding the value; None for any
    other value (decode it, then :func:`to_json`).
    """
    if not _PLAIN_KINDS:
        _PLAIN_KINDS.update({cls.type_id(): cls._builtin for cls in (Int, Float, Str)})
    if b"\n" in data:  # binary data follows the JSON
        return None
    try:
        tree = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    if type(tree) is not dict or len(tree) != 2:
        return None
    kind = _PLAIN_KINDS.get(tree.get("#res"))  # type: ignore[arg-type]
    if kind is None:
        return None
    value = tree.get("value")
    if (
        type(value) is not kind
        or orjson.dumps(tree, option=orjson.OPT_SORT_KEYS) != data
    ):
        return None
    return orjson.dumps(value).decode()
