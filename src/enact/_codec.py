"""The canonical encoding: the one byte form that fixes a value's identity.

An encoded resource is compact JSON with sorted keys, optionally followed by a
newline and the raw contents of its ``bytes`` values::

    {"#res":"<type id>","count":3,"data":{"#bytes":5}}\\nhello

Tags keep values apart that JSON alone would mix up (so that distinct values
never share a digest):

- a resource is an object with ``"#res"`` (its type id) plus its fields;
- ``{"#bytes": n}``: the next ``n`` bytes of the blob section (blobs appear in
  the order of the sorted document, so equal values give equal bytes);
- ``{"#type": "<type id>"}``: a resource class used as a value;
- ``{"#int": "<decimal>"}``: an int outside the signed 64-bit range;
- ``{"#float": "nan" | "inf" | "-inf"}``: a non-finite float;
- a user key that starts with ``#`` is written with one more ``#``.

``True``, ``1``, ``1.0``, ``"1"`` and ``b"1"`` therefore all encode differently,
and a value's digest is the SHA-256 of exactly these bytes. Decoding builds only
classes found in the registry; it never runs stored code (the decoder is
:mod:`enact._decode`).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from enact._builtin_wrappers import set_members
from enact._decode import _INT_MAX, _INT_MIN, DecodeError, decode
from enact._identity import large, memo
from enact.interfaces import (
    NESTING_LIMIT,
    FieldTypeError,
    NestingLimitReached,
    ResourceBase,
    ResourceDict,
    too_deep,
    unsupported,
)
from enact.resource_types import Bytes, Int, Str
from enact.wrappers import (
    FrozenSetWrapper,
    SetWrapper,
    field_wrapper_type,
    set_element_key,
    wrap,
)

__all__ = ["DecodeError", "decode", "encode"]

_SORT = orjson.OPT_SORT_KEYS


def encode(
    value: Any,
    types: dict[str, type[ResourceBase]] | None = None,
) -> list[bytes]:
    """Encodes a resource, resource dict or plain value canonically.

    Args:
        value: What to encode. A plain value (not a resource) is encoded as
            its wrapper resource (:func:`enact.wrappers.wrap`).
        types: If given, every resource class met is recorded here by type
            id, so a store can decode unregistered classes it has seen.

    Returns:
        The encoding as parts to be concatenated: ``[json]`` or
        ``[json, b"\\n", blob, ...]``. Hash and write them without joining.

    Raises:
        FieldTypeError: if the value holds something outside the field-value
            domain, naming the field.
    """
    flat = _flat_encoders.get(type(value), _UNKNOWN)
    if flat is _UNKNOWN:
        flat = _flat_encoder(type(value))
    if flat is not None:
        data = flat(value, types)
        if data is not None:
            return [data]
    return _encode_tree(value, types)


def _encode_tree(
    value: Any, types: dict[str, type[ResourceBase]] | None = None
) -> list[bytes]:
    """:func:`encode` without the flat path (the tests compare the two)."""
    sink = _Sink(types)
    try:
        if isinstance(value, ResourceBase):
            tree = _resource_encoder(type(value))(value, sink)
        elif isinstance(value, ResourceDict):
            tree = _encode_value(value, sink)
        else:
            wrapper = wrap(value)
            tree = _resource_encoder(type(wrapper))(wrapper, sink)
    except NestingLimitReached as error:
        raise too_deep(value, error.path) from None
    except RecursionError:
        raise too_deep(value) from None
    try:
        text = orjson.dumps(tree, option=_SORT)
    except orjson.JSONEncodeError:
        raise _unencodable_text(value) from None
    if not sink.blobs:
        return [text]
    return [text, b"\n", *sink.blobs]


class _Sink:
    """What an encoding collects besides its JSON: blobs, classes met, and how
    many JSON objects and arrays enclose the value being encoded (``depth``,
    kept below :data:`~enact.interfaces.NESTING_LIMIT`, which orjson writes)."""

    __slots__ = ("blobs", "depth", "types")

    def __init__(self, types: dict[str, type[ResourceBase]] | None) -> None:
        self.blobs: list[bytes] = []
        self.types = types
        self.depth = 0

    def type_id(self, cls: type[ResourceBase]) -> str:
        type_id = cls.type_id()
        if self.types is not None:
            self.types[type_id] = cls
        return type_id


# How to encode instances of a class, built once per class. Classes whose
# fields are plain attributes get an encoder that reads them directly, with
# leaf values inlined; the others go through ``field_items``. Either way the
# output is the same canonical tree: this only saves repeated look-ups.
_ResourceEncoder = Callable[[Any, "_Sink"], dict[str, Any]]
_encoders: dict[type, _ResourceEncoder] = {}
# Classes with an encoder from set_encoder: the flat path leaves them alone
# unless they get a flat encoder of their own.
_hand_written: set[type] = set()

_FIELD_METHODS = ("field_names", "field_values", "field_items")


def _attribute_fields(cls: type[ResourceBase]) -> tuple[tuple[str, str], ...] | None:
    """``(field name, attribute)`` pairs if the fields are plain attributes.

    A class says so with ``_enact_field_attributes`` (pairs, or a callable
    taking the class and returning them); a subclass that overrides the field
    methods opts out again.
    """
    for klass in cls.__mro__:
        if "_enact_field_attributes" in klass.__dict__:
            pairs = klass.__dict__["_enact_field_attributes"]
            if isinstance(pairs, staticmethod):
                pairs = pairs.__func__
            return tuple(pairs(cls)) if callable(pairs) else tuple(pairs)
        if any(name in klass.__dict__ for name in _FIELD_METHODS):
            return None
    return None


def set_encoder(cls: type[ResourceBase], encoder: _ResourceEncoder) -> None:
    """Installs a hand-written encoder for exactly ``cls`` (not subclasses).

    For the few framework types encoded on every journaled call. It must build
    the same tree as the generic encoder; the tests check that it does.
    """
    _encoders[cls] = encoder
    _hand_written.add(cls)
    _flat_encoders.pop(cls, None)


def generic_encoder(cls: type[ResourceBase]) -> _ResourceEncoder:
    """The encoder ``cls`` would have without :func:`set_encoder`."""
    return _make_resource_encoder(cls)


def _resource_encoder(cls: type[ResourceBase]) -> _ResourceEncoder:
    encoder = _encoders.get(cls)
    if encoder is None:
        encoder = _encoders[cls] = _make_resource_encoder(cls)
    return encoder


def _make_resource_encoder(cls: type[ResourceBase]) -> _ResourceEncoder:
    type_id = cls.type_id()
    pairs = _attribute_fields(cls)
    if pairs is None:

        def encode_items(value: Any, sink: _Sink) -> dict[str, Any]:
            if sink.types is not None:
                sink.types[type_id] = cls
            return _encode_fields(type_id, value.field_items(), sink)

        return encode_items
    plan = tuple((_escape(name), name, attr) for name, attr in sorted(pairs))

    def encode_attributes(value: Any, sink: _Sink) -> dict[str, Any]:
        if sink.types is not None:
            sink.types[type_id] = cls
        depth = sink.depth + 1
        if depth > NESTING_LIMIT:
            raise NestingLimitReached()
        sink.depth = depth
        result: dict[str, Any] = {"#res": type_id}
        for key, name, attribute in plan:
            item = getattr(value, attribute)
            kind = type(item)
            if (
                kind is str
                or kind is bool
                or item is None
                or (kind is int and _INT_MIN <= item <= _INT_MAX)
            ):
                result[key] = item
            else:
                try:
                    result[key] = _encode_value(item, sink)
                except FieldTypeError as error:
                    error.add_parent(name)
                    raise
        sink.depth = depth - 1
        return result

    return encode_attributes


# The flat path: the same bytes, written directly. A journaled call commits a
# handful of small records (Request, Response, Invocation, the invokable, the
# output) whose fields are scalars and Refs; building a tree for orjson costs
# several times more than joining their JSON pieces. A flat encoder returns
# None for anything it does not handle (bytes, big ints, non-finite floats,
# resources without a flat form, lists in lists, ...), and the value then takes
# the tree path, so errors are always the tree path's. The tests compare both
# paths on generated values.
_Types = dict[str, type[ResourceBase]] | None
#: Returns the canonical JSON of a value, or None (use the tree path).
_FlatEncoder = Callable[[Any, _Types], bytes | None]
# By class, for values encoded at the top level; None: no flat form.
_flat_encoders: dict[type, _FlatEncoder | None] = {}
# By class, for values in fields.
_flat_fields: dict[type, _FlatEncoder] = {}
_UNKNOWN: Any = object()

#: The flat encoder of a class, if :func:`encode` has met the class and it has
#: one (else None): for callers that encode on every journaled call.
flat_encoder = _flat_encoders.get


def set_flat_encoder(cls: type[ResourceBase], encoder: _FlatEncoder) -> None:
    """Installs a flat encoder for exactly ``cls`` (not subclasses).

    ``encoder(value, types)`` must return the bytes the tree path writes for
    ``value`` and record the classes it meets in ``types`` (unless None), or
    return None to leave the value to the tree path. Used at the top level
    and in fields.
    """
    _flat_encoders[cls] = encoder
    _flat_fields[cls] = encoder


def flat_head(cls: type[ResourceBase]) -> bytes:
    """``{"#res":"<type id>",``: how the JSON of a ``cls`` with fields starts.

    Field names sort after ``#res`` unless they start with a character below
    ``#`` (a space, ``!`` or ``"``); hand-written flat encoders use this only
    for classes whose field names start with a letter.
    """
    return b'{"#res":' + orjson.dumps(cls.type_id()) + b","


def _flat_encoder(cls: type) -> _FlatEncoder | None:
    """Builds the flat encoder of a class with attribute fields, or None."""
    encoder: _FlatEncoder | None = None
    if issubclass(cls, ResourceBase) and cls not in _hand_written:
        pairs = _attribute_fields(cls)
        if pairs is not None:
            encoder = _make_flat_encoder(cls, pairs)
    _flat_encoders[cls] = encoder
    return encoder


def _make_flat_encoder(
    cls: type[ResourceBase], pairs: tuple[tuple[str, str], ...]
) -> _FlatEncoder | None:
    type_id = cls.type_id()
    attributes = {_escape(name): attribute for name, attribute in pairs}
    if len(attributes) != len(pairs) or "#res" in attributes:
        return None  # clashing names: the tree path decides what happens
    # Keys in exactly the order orjson sorts them, "#res" included; each step
    # is (piece, attribute), or (the whole "#res" member, None).
    order = orjson.loads(
        orjson.dumps(dict.fromkeys([*attributes, "#res"]), option=_SORT)
    )
    steps: list[tuple[bytes, str | None]] = [
        (b'"#res":' + orjson.dumps(type_id), None)
        if key == "#res"
        else (orjson.dumps(key) + b":", attributes[key])
        for key in order
    ]
    if len(pairs) == 0:
        constant = b"{" + steps[0][0] + b"}"

        def encode_constant(value: Any, types: _Types) -> bytes | None:
            if types is not None:
                types[type_id] = cls
            return constant

        return encode_constant
    attributes_list = [attribute for _, attribute in pairs]

    # The JSON as constant pieces around the field values: ``{"#res":...,"a":``
    # before the first value, ``,"b":`` before the next, ``}`` after the last
    # (with the "#res" member, should it sort last).
    plan: list[tuple[bytes, str]] = []
    pending = b"{"
    for piece, attribute in steps:
        if attribute is None:  # the "#res" member
            pending += piece + b","
        else:
            plan.append((pending + piece, attribute))
            pending = b","
    tail = pending[:-1] + b"}"

    def encode_members(value: Any, types: _Types) -> bytes | None:
        pieces = []
        for prefix, attribute in plan:
            encoded = flat_field_pieces(getattr(value, attribute), types)
            if encoded is None:
                return None
            pieces.append(prefix)
            pieces += encoded
        pieces.append(tail)
        return large.join(pieces)

    # The memo key: the class and every field's type and value, when all are
    # scalars whose equality means equal JSON (not floats: 0.0 == -0.0); the
    # types keep 1 and True apart. Written out for one field (invokables
    # often have one) and for several, in C as far as possible: this runs for
    # every commit of an invokable.
    if len(pairs) == 1:
        (only,) = attributes_list

        def encode_one(value: Any, types: _Types) -> bytes | None:
            if types is not None:
                types[type_id] = cls
            item = getattr(value, only)
            kind = type(item)
            if kind not in _MEMO_SCALARS:
                return encode_members(value, types)
            key = (cls, kind, item)
            data = flat_memo(key)
            if data is None:
                data = encode_members(value, types)
                if data is not None:
                    remember_flat(key, data)
            return data

        return encode_one
    values_of = operator.attrgetter(*attributes_list)  # a tuple for several
    all_scalars = _MEMO_SCALARS.issuperset

    def encode_several(value: Any, types: _Types) -> bytes | None:
        if types is not None:
            types[type_id] = cls
        values = values_of(value)
        kinds = tuple(map(type, values))
        if not all_scalars(kinds):
            return encode_members(value, types)
        key = (cls, kinds, values)
        data = flat_memo(key)
        if data is None:
            data = encode_members(value, types)
            if data is not None:
                remember_flat(key, data)
        return data

    return encode_several


# Encodings by content (enact._identity.memo): a journal encodes the same
# invokable state, requests and responses again and again, and the same bytes
# object makes the digest memo's look-up cheap (a bytes object caches its
# hash). The key must determine the bytes: the class and what the encoding
# depends on, e.g. field types and values, or Ref digests.
_MEMO_SCALARS = frozenset({str, int, bool, type(None)})
#: The exact types of scalars whose equality means equal JSON (for memo keys).
MEMO_SCALARS = _MEMO_SCALARS

#: The remembered encoding for a key (see :func:`remember_flat`), or None.
flat_memo = memo.encoding
#: Remembers the encoding of a value whose content a key describes (the key
#: starts with the value's class and determines the encoding entirely).
remember_flat = memo.remember_encoding
# Large encodings (a parent's response with thousands of children, a call
# with a large argument) share the memo and its bound.
large_memo = memo.encoding
remember_large = memo.remember_encoding

_LARGE = memo.LARGE


def flat_field_value(value: Any, types: _Types) -> bytes | None:
    """The canonical JSON of a field value on the flat path, or None."""
    return _flat_value(value, types)


def _flat_value(value: Any, types: _Types, in_list: bool = False) -> bytes | None:
    """The canonical JSON of a field value, or None for the tree path."""
    kind = type(value)
    if kind is str:
        try:
            if len(value) >= _LARGE:
                return large.str_json(value)
            return orjson.dumps(value)
        except orjson.JSONEncodeError:  # a lone surrogate
            return None
    if kind is int:
        return orjson.dumps(value) if _INT_MIN <= value <= _INT_MAX else None
    if value is None:
        return b"null"
    if kind is bool:
        return b"true" if value else b"false"
    encoder = _flat_fields.get(kind)
    if encoder is not None:
        return encoder(value, types)
    if kind is float:
        return orjson.dumps(value) if math.isfinite(value) else None
    if in_list:
        # One level of lists and dicts only: orjson refuses deep nesting, and
        # this path must refuse the same values.
        return None
    if kind is list or kind is dict:
        pieces = _flat_container(value, types)
        return None if pieces is None else large.join(pieces)
    return None


def flat_field_pieces(value: Any, types: _Types) -> list[bytes] | None:
    """:func:`flat_field_value` as pieces to join (a list's or dict's items
    unjoined, so that a large item is copied once, into the record)."""
    kind = type(value)
    if kind is list or kind is dict:
        return _flat_container(value, types)
    encoded = _flat_value(value, types)
    return None if encoded is None else [encoded]


def _flat_container(
    value: list[Any] | dict[Any, Any], types: _Types
) -> list[bytes] | None:
    """The JSON pieces of a list or dict in field position, or None."""
    if not value:
        return [b"[]" if type(value) is list else b"{}"]
    if type(value) is dict:
        return _flat_dict(value, types)
    items = []
    for item in value:
        encoded = _flat_value(item, types, True)
        if encoded is None:
            return None
        items.append(encoded)
    if max(map(len, items)) < _LARGE:
        return [b"[" + b",".join(items) + b"]"]
    # A large item stays a piece of its own (see enact._identity.large).
    pieces = [b"["]
    for encoded in items:
        pieces += (encoded, b",")
    pieces[-1] = b"]"
    return pieces


def _flat_dict(mapping: dict[Any, Any], types: _Types) -> list[bytes] | None:
    members = []
    for key, item in mapping.items():
        if type(key) is not str:
            return None  # the tree path's error
        encoded = _flat_value(item, types, True)
        if encoded is None:
            return None
        members.append((_escape(key), encoded))
    # orjson sorts keys by their UTF-8 bytes: the order of code points.
    members.sort(key=_first_item)
    try:
        pieces = [b"{"]
        for key, encoded in members:
            pieces += (orjson.dumps(key), b":", encoded, b",")
    except orjson.JSONEncodeError:  # a lone surrogate in a key
        return None
    pieces[-1] = b"}"
    return pieces


def _first_item(pair: tuple[str, bytes]) -> str:
    return pair[0]


def _encode_value(value: Any, sink: _Sink) -> Any:
    kind = type(value)
    encoder = _encoders.get(kind)
    if encoder is not None:
        return encoder(value, sink)
    if kind is str or kind is bool or value is None:
        return value
    if kind is int:
        if _INT_MIN <= value <= _INT_MAX:
            return value
        _check_tag_depth(sink)
        return _big_int(value)
    if kind is float:
        if math.isfinite(value):
            return value
        _check_tag_depth(sink)
        return {"#float": repr(value)}
    if kind is list or kind is tuple:
        return _encode_list(value, sink)
    if kind is dict:
        return _encode_mapping(value, sink)
    if kind is bytes:
        _check_tag_depth(sink)
        sink.blobs.append(value)
        return {"#bytes": len(value)}
    if isinstance(value, ResourceBase):
        return _resource_encoder(kind)(value, sink)
    if isinstance(value, ResourceDict):
        if value.type in _SETS and type(value.get("value")) is list:
            return _encode_set(value, sink, value.type, value["value"])
        return _encode_fields(sink.type_id(value.type), value.items(), sink)
    if isinstance(value, type) and issubclass(value, ResourceBase):
        _check_tag_depth(sink)
        return {"#type": sink.type_id(value)}
    # What 0.4.0.dev1 could not store in a field, and types with a wrapper of
    # their own, are stored as their wrapper resource; decoding unwraps them.
    wrapper_type = field_wrapper_type(kind)
    if wrapper_type is SetWrapper or wrapper_type is FrozenSetWrapper:
        # Unordered: _encode_set puts the elements in their canonical order.
        return _encode_set(wrapper_type(set_members(value)), sink)
    if wrapper_type is not None:
        wrapper = wrapper_type.wrap(value)
        return _resource_encoder(type(wrapper))(wrapper, sink)
    # Subclasses of builtins that are not resources (an IntEnum, say) are
    # stored as their builtin value.
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return _encode_value(int(value), sink)
    if isinstance(value, float):
        return _encode_value(float(value), sink)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bytes):
        return _encode_value(bytes(value), sink)
    if isinstance(value, Mapping):
        return _encode_mapping(value, sink)
    if isinstance(value, Sequence):
        return _encode_list(value, sink)
    raise unsupported(value)


def _check_tag_depth(sink: _Sink) -> None:
    """Refuses a tagged leaf (``{"#bytes": n}``, ...): one more JSON level."""
    if sink.depth >= NESTING_LIMIT:
        raise NestingLimitReached()


def _big_int(value: int) -> dict[str, str]:
    try:
        return {"#int": str(value)}
    except ValueError:
        raise FieldTypeError(
            "int has too many digits to store (see sys.set_int_max_str_digits)"
        ) from None


def _escape(key: str) -> str:
    return "#" + key if key[:1] == "#" else key


def _encode_fields(type_id: str, items: Any, sink: _Sink) -> dict[str, Any]:
    depth = sink.depth + 1
    if depth > NESTING_LIMIT:
        raise NestingLimitReached()
    sink.depth = depth
    result: dict[str, Any] = {"#res": type_id}
    # Sorted, so blobs are appended in the order the sorted JSON shows them.
    for name, field_value in sorted(items, key=_first):
        if type(name) is not str:
            raise FieldTypeError(f"field names must be str, got {name!r}")
        try:
            result[_escape(name)] = _encode_value(field_value, sink)
        except FieldTypeError as error:
            error.add_parent(name)
            raise
    sink.depth = depth - 1
    return result


def _first(item: tuple[str, Any]) -> str:
    return item[0]


def _encode_list(values: Sequence[Any], sink: _Sink) -> list[Any]:
    depth = sink.depth + 1
    if depth > NESTING_LIMIT:
        raise NestingLimitReached()
    sink.depth = depth
    result = []
    for index, item in enumerate(values):
        try:
            result.append(_encode_value(item, sink))
        except FieldTypeError as error:
            error.add_parent(str(index))
            raise
    sink.depth = depth - 1
    return result


def _encode_mapping(mapping: Mapping[Any, Any], sink: _Sink) -> dict[str, Any]:
    depth = sink.depth + 1
    if depth > NESTING_LIMIT:
        raise NestingLimitReached()
    sink.depth = depth
    result = {}
    try:
        keys = sorted(mapping)
    except TypeError:
        keys = list(mapping)
    for key in keys:
        if type(key) is not str:
            raise FieldTypeError(
                f"dict keys must be str, got the key {key!r} of type "
                f"{type(key).__qualname__}"
            )
        try:
            result[_escape(key)] = _encode_value(mapping[key], sink)
        except FieldTypeError as error:
            error.add_parent(key)
            raise
    sink.depth = depth - 1
    return result


def _element_key(value: Any) -> bytes:
    """The canonical bytes of ``value`` in field position: orders set elements."""
    sink = _Sink(None)
    try:
        tree = _encode_value(value, sink)
    except NestingLimitReached as error:
        raise too_deep(value, error.path) from None
    except RecursionError:
        raise too_deep(value) from None
    try:
        text = orjson.dumps(tree, option=_SORT)
    except orjson.JSONEncodeError:
        raise _unencodable_text(value) from None
    # The JSON holds no raw newline, so this is unambiguous.
    return b"".join([text, b"\n", *sink.blobs])


set_element_key(_element_key)


def _encode_set(
    value: Any, sink: _Sink, cls: Any = None, members: Any = None
) -> dict[str, Any]:
    """A set's wrapper (or its resource dict) with its elements in the order
    of their canonical bytes (:func:`_element_key`), however the wrapper
    lists them: equal sets are equal bytes. Depths and errors as the
    generic encoder's."""
    type_id = sink.type_id(type(value) if cls is None else cls)
    depth = sink.depth + 1
    if depth > NESTING_LIMIT:
        raise NestingLimitReached()
    if depth + 1 > NESTING_LIMIT:  # its list
        error = NestingLimitReached()
        error.add_parent("value")
        raise error
    blobs, keyed = sink.blobs, []
    for index, item in enumerate(value.value if members is None else members):
        sink.depth, sink.blobs = depth + 1, []
        try:
            tree = _encode_value(item, sink)
            text = orjson.dumps(tree, option=_SORT)
        except FieldTypeError as error:
            error.add_parent(str(index))
            error.add_parent("value")
            raise
        except orjson.JSONEncodeError:
            raise _unencodable_text(item) from None
        finally:
            own, sink.blobs = sink.blobs, blobs
        keyed.append((b"".join([text, b"\n", *own]), tree, own))
    keyed.sort(key=operator.itemgetter(0))
    for _, _, own in keyed:
        blobs += own
    sink.depth = depth - 1
    return {"#res": type_id, "value": [tree for _, tree, _ in keyed]}


_SETS = (SetWrapper, FrozenSetWrapper)
set_encoder(SetWrapper, _encode_set)
set_encoder(FrozenSetWrapper, _encode_set)


def _unencodable_text(value: object) -> FieldTypeError:
    path = _find_bad_text(value, [])
    if path is None:
        # orjson's other refusal: nesting deeper than it writes, which the
        # encoder refuses first unless a hand-written encoder nests deeper.
        return too_deep(value)
    error = FieldTypeError("str holds characters that are not valid Unicode text")
    for name in reversed(path or []):
        error.add_parent(name)
    return error


def _find_bad_text(value: object, path: list[str]) -> list[str] | None:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path
        return None
    children: list[tuple[str, Any]] = []
    if isinstance(value, ResourceBase):
        children = list(value.field_items())
    elif isinstance(value, Mapping):
        children = [(str(k), v) for k, v in value.items()]
        for key in value:
            if isinstance(key, str) and _find_bad_text(key, []) is not None:
                return [*path, "<key>"]
    elif isinstance(value, (list, tuple)):
        children = [(str(i), v) for i, v in enumerate(value)]
    elif isinstance(value, (set, frozenset)):
        children = [("<element>", v) for v in value]
    else:
        wrapper_type = field_wrapper_type(type(value))
        if wrapper_type is not None:
            children = list(wrapper_type.wrap(value).field_items())
    for name, child in children:
        found = _find_bad_text(child, [*path, name])
        if found is not None:
            return found
    return None


def _encode_bytes_resource(value: Bytes, sink: _Sink) -> dict[str, Any]:
    # The value is itself a bytes object: append it as the blob as it is. The
    # generic path would copy it first (``bytes(value)``), a cost that shows
    # on large values.
    type_id = _BYTES_TYPE_ID
    if sink.depth + 2 > NESTING_LIMIT:  # the resource and its {"#bytes": n}
        raise NestingLimitReached()
    if sink.types is not None:
        sink.types[type_id] = Bytes
    sink.blobs.append(value)
    return {"#res": type_id, "value": {"#bytes": len(value)}}


_BYTES_TYPE_ID = Bytes.type_id()
set_encoder(Bytes, _encode_bytes_resource)


_INT_HEAD = flat_head(Int) + b'"value":'
_INT_TYPE_ID = Int.type_id()
_STR_HEAD = flat_head(Str) + b'"value":'
_STR_TYPE_ID = Str.type_id()


def _flat_int(value: Int, types: _Types) -> bytes | None:
    number = int(value)
    if not _INT_MIN <= number <= _INT_MAX:
        return None
    if types is not None:
        types[_INT_TYPE_ID] = Int
    return _INT_HEAD + orjson.dumps(number) + b"}"


def _flat_str(value: Str, types: _Types) -> bytes | None:
    try:
        if len(value) >= _LARGE:
            # By the Str itself: it caches its hash, a copy would not.
            text = large.str_json(value)
        else:
            text = orjson.dumps(str(value))
    except orjson.JSONEncodeError:  # a lone surrogate
        return None
    if types is not None:
        types[_STR_TYPE_ID] = Str
    if len(text) >= _LARGE:
        return large.join((_STR_HEAD, text, b"}"))
    return _STR_HEAD + text + b"}"


set_flat_encoder(Int, _flat_int)
set_flat_encoder(Str, _flat_str)
