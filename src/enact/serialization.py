"""Serializers: resource dicts to bytes and back (docs/compatibility.md#serializers).

Stores use the canonical encoding (:class:`CanonicalSerializer`) so the stored
bytes are exactly the bytes a digest is computed over. :class:`JsonSerializer`
is the JSON layout of enact 0.4.0.dev1 (bytes as base85), for callers that
want it; a :class:`~enact.references.FileBackend` given one stores that format.
"""

from __future__ import annotations

import abc
import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any

from enact import _codec
from enact.errors import EnactError
from enact.interfaces import (
    NESTING_LIMIT,
    FieldTypeError,
    FieldValue,
    Json,
    ResourceBase,
    ResourceDict,
    find_nesting_problem,
)
from enact.resource_registry import Registry

__all__ = [
    "CanonicalSerializer",
    "DeserializationError",
    "JsonSerializer",
    "SerializationError",
    "Serializer",
    "load_json",
]


class SerializationError(EnactError):
    """A value cannot be serialized."""


class DeserializationError(EnactError):
    """Bytes cannot be deserialized into a resource dict."""


def load_json(text: str | bytes) -> Any:
    """Parses JSON from the outside (an answer typed on the command line or in
    a form, a stored document), nested at most
    :data:`~enact.interfaces.NESTING_LIMIT` levels.

    Takes time linear in the length of ``text``, however deep it nests.

    Raises:
        json.JSONDecodeError: if ``text`` is not JSON.
        DeserializationError: if it is nested deeper than the limit, naming
            where.
    """
    try:
        value = json.loads(text)
    except RecursionError:  # the json module stops when the stack runs out
        raise DeserializationError(
            f"the JSON is nested deeper than {NESTING_LIMIT} levels"
        ) from None
    problem = find_nesting_problem(value)  # parsed JSON holds no cycles
    if problem is not None:
        path = problem[1]
        if len(path) > 8:
            path = [*path[:4], f"...({len(path) - 8} levels)...", *path[-4:]]
        raise DeserializationError(
            f"the JSON is nested deeper than {NESTING_LIMIT} levels, at "
            + ".".join(path)
        )
    return value


class Serializer(abc.ABC):
    """Turns resource dicts into bytes and back."""

    @abc.abstractmethod
    def serialize(self, resource_dict: ResourceDict[Any]) -> bytes:
        """Serializes a resource dict."""

    @abc.abstractmethod
    def deserialize(self, data: bytes) -> ResourceDict[Any]:
        """Deserializes bytes produced by :meth:`serialize`."""


class CanonicalSerializer(Serializer):
    """The canonical encoding of :mod:`enact._codec` as a serializer."""

    def __init__(self, registry: Registry | None = None) -> None:
        self._registry = registry or Registry.get()

    def serialize(self, resource_dict: ResourceDict[Any]) -> bytes:
        return b"".join(_codec.encode(resource_dict))

    def deserialize(self, data: bytes) -> ResourceDict[Any]:
        try:
            result: ResourceDict[Any] = _codec.decode(
                data, self._registry, as_resource_dict=True
            )
        except _codec.DecodeError as error:
            raise DeserializationError(str(error)) from None
        return result


class JsonSerializer(Serializer):
    """The JSON layout of enact 0.4.0.dev1, with ``#`` as escape character.

    Args:
        registry: Where type ids are looked up; the global registry by default.
        encoding: The text encoding of the serialized JSON.
    """

    def __init__(
        self, registry: Registry | None = None, encoding: str = "utf-8"
    ) -> None:
        self._registry = registry or Registry.get()
        self._encoding = encoding

    def to_json(self, value: Any) -> Json:
        """Converts a resource-dict value into JSON-compatible data."""
        if isinstance(value, ResourceDict):
            result: dict[str, Json] = {"#res": value.type.type_id()}
            for key, item in value.items():
                result[self._key(key)] = self.to_json(item)
            return result
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, bytes):
            return {"#b85": base64.b85encode(value).decode("ascii")}
        if isinstance(value, type):
            if issubclass(value, ResourceBase):
                return {"#type": value.type_id()}
            raise SerializationError(f"Cannot serialize the class {value!r}.")
        if isinstance(value, Mapping):
            return {self._key(k): self.to_json(v) for k, v in value.items()}
        if isinstance(value, Sequence):
            return [self.to_json(v) for v in value]
        raise SerializationError(f"Cannot serialize {type(value).__qualname__}.")

    @staticmethod
    def _key(key: object) -> str:
        if not isinstance(key, str):
            raise FieldTypeError(f"keys must be str, got {key!r}")
        if key.startswith("#"):
            raise SerializationError(f"Keys must not start with '#', got {key!r}.")
        return key

    def from_json(self, value: Json) -> FieldValue | ResourceDict[Any]:
        """Converts JSON data produced by :meth:`to_json` back."""
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, list):
            return [self.from_json(v) for v in value]
        if isinstance(value, dict):
            if "#res" in value:
                return self._resource_dict(value)
            if "#b85" in value:
                encoded = value["#b85"]
                if not isinstance(encoded, str):
                    raise DeserializationError("#b85 must hold a string.")
                try:
                    return base64.b85decode(encoded)
                except ValueError as error:
                    raise DeserializationError(f"Invalid base85: {error}") from None
            if "#type" in value:
                return self._registry.lookup(str(value["#type"]))
            return {k: self.from_json(v) for k, v in value.items()}
        raise DeserializationError(f"Unexpected JSON value {value!r}.")

    def _resource_dict(self, value: dict[str, Json]) -> ResourceDict[Any]:
        type_id = value["#res"]
        if not type_id:
            raise DeserializationError("Missing type id ('#res').")
        if not isinstance(type_id, str):
            raise DeserializationError(f"Type id must be a string, got {type_id!r}.")
        cls = self._registry.lookup(type_id)
        fields = {k: self.from_json(v) for k, v in value.items() if k != "#res"}
        return ResourceDict(cls, fields)

    def serialize(self, resource_dict: ResourceDict[Any]) -> bytes:
        try:
            return json.dumps(self.to_json(resource_dict), sort_keys=True).encode(
                self._encoding
            )
        except RecursionError:
            raise SerializationError(
                "Value is nested too deeply to serialize (the interpreter's stack "
                "ran out)."
            ) from None

    def deserialize(self, data: bytes) -> ResourceDict[Any]:
        try:
            value = load_json(data.decode(self._encoding))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise DeserializationError(f"Not valid JSON: {error}") from None
        if not isinstance(value, dict):
            raise DeserializationError("The top level must be a JSON object.")
        if not value.get("#res"):
            raise DeserializationError("Missing type id ('#res').")
        try:
            result = self.from_json(value)
        except RecursionError:
            raise DeserializationError("Value is nested too deeply.") from None
        assert isinstance(result, ResourceDict)
        return result
