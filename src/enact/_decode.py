"""Decoding the canonical encoding (:mod:`enact._codec`): bytes back into values.

Only classes found in the registry (and the built-in type wrappers) are built;
nothing in the data is executed. Only the canonical form is accepted, so the
bytes of a digest decode to exactly one value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from enact import integrations
from enact.contexts import ContextError
from enact.errors import EnactError
from enact.interfaces import (
    NESTING_LIMIT,
    ResourceBase,
    ResourceDict,
    find_nesting_problem,
)
from enact.resource_registry import Registry, RegistryError, ResourceNotFound
from enact.wrappers import TypeWrapperBase, builtin_wrapper_types

__all__ = ["DecodeError", "decode"]

# Ints outside the signed 64-bit range are tagged (see enact._codec).
_INT_MIN = -(2**63)
_INT_MAX = 2**63 - 1
_SORT = orjson.OPT_SORT_KEYS
_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


class DecodeError(EnactError):
    """Bytes are not a valid canonical encoding."""


def decode(
    data: bytes,
    registry: Registry | None = None,
    *,
    as_resource_dict: bool = False,
    local_types: Mapping[str, type[ResourceBase]] | None = None,
) -> Any:
    """Decodes canonical bytes into a resource (or a :class:`ResourceDict`).

    Only classes in ``registry`` (and the built-in type wrappers) are built;
    nothing in ``data`` is executed. Type wrappers are unwrapped, at the top
    level too: an encoded plain value decodes to that value (unless
    ``as_resource_dict``).

    Raises:
        DecodeError: if ``data`` is not a valid encoding.
        ResourceNotFound: if it names a type id the registry does not know.
    """
    newline = data.find(b"\n")
    text = data if newline < 0 else data[:newline]
    blobs = memoryview(data)[newline + 1 :] if newline >= 0 else memoryview(b"")
    try:
        tree = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        # orjson stops at its own depth limit (above NESTING_LIMIT) at once.
        raise DecodeError(f"not valid JSON: {error}") from None
    if type(tree) is not dict or "#res" not in tree:
        raise DecodeError("the top level is not a resource")
    # Only the canonical form is accepted: otherwise bytes that hash to a
    # digest could decode to a value whose own digest is another one. Written
    # before reading (and compared after): orjson writes no more than
    # NESTING_LIMIT levels, so the reader never meets a deeper tree.
    try:
        canonical = orjson.dumps(tree, option=_SORT)
    except orjson.JSONEncodeError:  # nested deeper than orjson writes
        raise _too_deep(tree) from None
    reader = _Reader(registry or Registry.get(), blobs, as_resource_dict, local_types)
    try:
        value = reader.value(tree)
    except RecursionError:
        # Within the limit, but the interpreter's stack ran out (the caller
        # was deep already, or a class's from_fields recursed).
        raise DecodeError(
            "value is nested too deeply to be decoded from here (the "
            "interpreter's stack ran out)"
        ) from None
    if canonical != text:
        raise DecodeError("the JSON is not in canonical form")
    if newline >= 0 and not reader.blob_count:
        raise DecodeError("data after the JSON, but no bytes value refers to it")
    if reader.offset != len(blobs):
        raise DecodeError(
            f"{len(blobs) - reader.offset} bytes after the last value "
            "(truncated or appended data)"
        )
    return value


def _too_deep(tree: Any) -> DecodeError:
    problem = find_nesting_problem(tree)
    where = ""
    if problem is not None:
        path = problem[1]
        if len(path) > 8:
            path = [*path[:4], f"...({len(path) - 8} levels)...", *path[-4:]]
        where = " at " + ".".join(path)
    return DecodeError(
        f"value is nested deeper than {NESTING_LIMIT} levels{where} (no encoder "
        "writes that)"
    )


class _Reader:
    __slots__ = ("blob_count", "blobs", "local_types", "make", "offset", "registry")

    def __init__(
        self,
        registry: Registry,
        blobs: memoryview,
        as_dict: bool,
        local_types: Mapping[str, type[ResourceBase]] | None,
    ) -> None:
        self.registry = registry
        self.local_types = local_types or {}
        self.blobs = blobs
        self.blob_count = 0
        self.offset = 0
        self.make: Callable[[type[ResourceBase], dict[str, Any]], Any] = (
            ResourceDict if as_dict else _build
        )

    def value(self, node: Any) -> Any:
        kind = type(node)
        if kind is dict:
            return self.object(node)
        if kind is list:
            return [self.value(item) for item in node]
        return node

    def object(self, node: dict[str, Any]) -> Any:
        if "#res" in node:
            type_id = node["#res"]
            if type(type_id) is not str or not type_id:
                raise DecodeError(f"invalid type id {type_id!r}")
            cls = self.lookup(type_id)
            fields = {
                self.key(key): self.value(item)
                for key, item in node.items()
                if key != "#res"
            }
            return self.make(cls, fields)
        if len(node) == 1:
            ((key, item),) = node.items()
            if key[:1] == "#" and key[:2] != "##":
                return self.tagged(key, item)
        return {self.key(key): self.value(item) for key, item in node.items()}

    def lookup(self, type_id: str) -> type[ResourceBase]:
        cls = self.local_types.get(type_id)
        if cls is not None:
            return cls
        try:
            return self.registry.lookup(type_id)
        except ResourceNotFound:
            # Custom registries need not list the built-in wrappers.
            builtin = builtin_wrapper_types().get(type_id)
            if builtin is not None:
                return builtin
            # A wrapper of an optional package registers on first use.
            if integrations.load_for_type_id(type_id):
                return Registry.get().lookup(type_id)
            raise

    def key(self, key: str) -> str:
        if key[:1] != "#":
            return key
        if key[:2] == "##":
            return key[1:]
        raise DecodeError(f"unknown tag {key!r} among fields or keys")

    def tagged(self, tag: str, item: Any) -> Any:
        if tag == "#bytes":
            if type(item) is not int or item < 0:
                raise DecodeError(f"invalid blob length {item!r}")
            end = self.offset + item
            if end > len(self.blobs):
                raise DecodeError("a blob runs past the end of the data (truncated?)")
            blob = bytes(self.blobs[self.offset : end])
            self.offset = end
            self.blob_count += 1
            return blob
        if tag == "#type":
            if type(item) is not str:
                raise DecodeError(f"invalid type id {item!r}")
            return self.lookup(item)
        if tag == "#int":
            if type(item) is str and item.lstrip("-").isdigit():
                try:
                    number = int(item)
                except ValueError:  # more digits than sys.get_int_max_str_digits()
                    raise DecodeError(
                        f"int of {len(item)} digits exceeds this interpreter's "
                        "limit (sys.set_int_max_str_digits)"
                    ) from None
                if not _INT_MIN <= number <= _INT_MAX and str(number) == item:
                    return number
            raise DecodeError(f"invalid big int {item!r}")
        if tag == "#float":
            if item in _NONFINITE:
                return _NONFINITE[item]
            raise DecodeError(f"invalid float {item!r}")
        raise DecodeError(f"unknown tag {tag!r}")


def _build(cls: type[ResourceBase], fields: dict[str, Any]) -> Any:
    try:
        resource = cls.from_fields(fields)
        if isinstance(resource, TypeWrapperBase):
            return resource.unwrap()
        return resource
    except (RegistryError, DecodeError, ContextError):
        raise
    except Exception as error:
        raise DecodeError(
            f"cannot build {cls.type_name()} from stored fields {sorted(fields)}: "
            f"{type(error).__name__}: {error}"
        ) from error
