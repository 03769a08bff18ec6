"""Flat encoders generated from declared fields, for the journal's records.

Every journaled call commits a handful of small records (its request, its
response, its invocation, its arguments) whose fields are refs, flags and
plain values. Building a tree for orjson costs several times more than
joining JSON pieces, so these records get a *flat encoder*: a closure built
once per class, when the class declares its fields, that joins constant
pieces computed here from the field names (``{"#res":"<type id>","a":``,
``,"b":``, ``}``) with the JSON of the field values. It returns the bytes the
tree path writes (the tests hold every flat encoder to the tree path), or
None for anything it does not handle (a Ref subclass, a value outside its
kind), and the value then takes the tree path.

A closure also remembers encodings by content (:mod:`enact._identity.memo`):
its key is the class and what the bytes depend on (the refs' digests, the
flags, the types and values of scalar arguments).

The kinds of fields:

- :data:`REF`: a plain ref (the class given as ``ref_type``);
- :data:`OPTIONAL_REF`: a plain ref or None;
- :data:`BOOL`: a bool;
- :data:`REFS`: a list of plain refs (at most one such field per record);
- :data:`VALUE`: any field value the flat path writes (remembered when it
  is a scalar, or a list or dict of scalars).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import orjson

from enact import _codec
from enact._identity import large, memo

__all__ = [
    "BOOL",
    "OPTIONAL_REF",
    "REF",
    "REFS",
    "VALUE",
    "FlatEncoder",
    "declare",
    "pair_encoding",
    "record_encoder",
    "ref_encoders",
    "set_ref_type",
]

#: Returns the canonical JSON of a value, or None (use the tree path); the
#: second argument, unless None, records the classes met by type id.
FlatEncoder = Callable[[Any, Any], "bytes | None"]

REF = "ref"
OPTIONAL_REF = "optional ref"
BOOL = "bool"
REFS = "refs"
VALUE = "value"
_KINDS = (REF, OPTIONAL_REF, BOOL, REFS, VALUE)

# The exact types of scalars whose equality means equal JSON (not floats:
# 0.0 == -0.0); their types are part of a key (1 and True are equal).
_SCALARS = frozenset({str, int, bool, type(None)})
_all_scalars = _SCALARS.issuperset
# The memo's look-up, bound once (its dict is cleared, never replaced).
_encoding = memo.encoding
_SORT = orjson.OPT_SORT_KEYS


def _json_order(names: list[str]) -> list[str]:
    """The field names and ``#res`` in the order orjson sorts keys."""
    keys = dict.fromkeys([*names, "#res"])
    return list(orjson.loads(orjson.dumps(keys, option=_SORT)))


def _pieces(type_id: str, names: list[str]) -> tuple[list[bytes], bytes]:
    """The constant JSON before each field (in JSON order) and after the last."""
    prefixes: list[bytes] = []
    pending = b"{"
    for name in _json_order(names):
        if name == "#res":
            pending += b'"#res":' + orjson.dumps(type_id) + b","
        else:
            prefixes.append(pending + orjson.dumps(name) + b":")
            pending = b","
    return prefixes, pending[:-1] + b"}"


def ref_encoders(
    ref_type: Any, type_id: str
) -> tuple[FlatEncoder, Callable[[list[Any], Any], bytes | None]]:
    """The flat encoders of a ref class, whose one field ``digest`` (a str)
    is kept in the attribute ``_digest``: of one ref, and of a list of refs.

    The list encoder joins the digests with the JSON between two refs in
    between, in C: a journal's child lists run to thousands of refs. Both
    return None for anything but plain refs with str digests that need no
    JSON escape.
    """
    prefixes, tail = _pieces(type_id, ["digest"])
    (ref_head,) = prefixes

    def flat_ref(ref: Any, types: Any) -> bytes | None:
        digest = ref._digest
        if type(digest) is not str:
            return None
        try:
            text = orjson.dumps(digest)
        except orjson.JSONEncodeError:  # a lone surrogate: the tree path says so
            return None
        if types is not None:
            types[type_id] = ref_type
        return ref_head + text + tail

    # Between two digests in a list: '"},{"#res":...,"digest":"'
    separator = (b'"' + tail + b"," + ref_head + b'"').decode()
    opening = b"[" + ref_head + b'"'
    closing = b'"' + tail + b"]"

    def flat_refs(refs: list[Any], types: Any) -> bytes | None:
        if not refs:
            return b"[]"
        digests = [ref._digest for ref in refs if type(ref) is ref_type]
        if len(digests) != len(refs):
            return None
        try:
            joined = separator.join(digests)  # TypeError unless all are str
            # orjson writes a str as is (UTF-8) unless it escapes a character,
            # so the joined digests are its bytes when no backslash shows.
            if b"\\" in orjson.dumps(digests):
                return None
        except (TypeError, orjson.JSONEncodeError):  # a lone surrogate
            return None
        if types is not None:
            types[type_id] = ref_type
        return b"".join((opening, joined.encode(), closing))

    return flat_ref, flat_refs


class _Refs:
    """The plain ref class and its encoders (set by :func:`set_ref_type`)."""

    ref_type: Any = None
    type_id = ""
    flat_ref: Any = None
    flat_refs: Any = None


def set_ref_type(ref_type: Any) -> tuple[FlatEncoder, Any]:
    """Makes ``ref_type`` the plain ref of the records declared with
    :func:`declare`, and returns its flat encoders (see :func:`ref_encoders`).

    Refs are defined with stores, above this layer: their module calls this.
    """
    _Refs.ref_type = ref_type
    _Refs.type_id = ref_type.type_id()
    _Refs.flat_ref, _Refs.flat_refs = ref_encoders(ref_type, _Refs.type_id)
    return _Refs.flat_ref, _Refs.flat_refs


def declare(cls: Any, **fields: str) -> FlatEncoder:
    """Declares the fields of a record class and installs its flat encoder.

    Args:
        cls: The record class (registered: it has a type id).
        fields: Field name to kind (:data:`REF`, ...), in the order of the
            memo key.

    Returns:
        The encoder installed.
    """
    encoder = record_encoder(
        cls,
        cls.type_id(),
        fields,
        ref_type=_Refs.ref_type,
        ref_type_id=_Refs.type_id,
        flat_ref=_Refs.flat_ref,
        flat_refs=_Refs.flat_refs,
        field_pieces=_codec.flat_field_pieces,
    )
    _codec.set_flat_encoder(cls, encoder)
    return encoder


def pair_encoding(cls: Any, first: str, second: str) -> bytes | None:
    """The remembered encoding of a record of two refs (declared ``REF,
    REF``) with these digests, or None."""
    return _encoding((cls, first, second))


def record_encoder(
    cls: type,
    type_id: str,
    fields: dict[str, str],
    *,
    ref_type: Any,
    ref_type_id: str,
    flat_ref: FlatEncoder,
    flat_refs: Callable[[list[Any], Any], bytes | None],
    field_pieces: Callable[[Any, Any], list[bytes] | None],
) -> FlatEncoder:
    """Generates the flat encoder of a record class from its declared fields.

    Args:
        cls: The record class.
        type_id: Its type id.
        fields: Field name to kind (:data:`REF`, ...), in the order of the
            memo key.
        ref_type: The plain ref class; a subclass takes the tree path.
        ref_type_id: Its type id.
        flat_ref: The flat encoder of one ref.
        flat_refs: The flat encoder of a list of refs.
        field_pieces: The JSON pieces of a :data:`VALUE` field, or None.

    Returns:
        The encoder: ``encoder(record, types)`` gives the record's canonical
        JSON, or None (use the tree path).
    """
    names = list(fields)
    kinds = [fields[name] for name in names]
    if any(kind not in _KINDS for kind in kinds):
        raise ValueError(f"unknown field kinds in {fields!r}")
    if kinds.count(REFS) > 1 or any(name[:1] in '#!" ' for name in names):
        raise ValueError(f"{cls.__qualname__}: fields that need the tree path")
    prefixes, tail = _pieces(type_id, names)
    # Field positions in JSON order.
    order = [names.index(name) for name in _json_order(names) if name != "#res"]
    plan = list(zip(prefixes, order, strict=True))
    # The shapes every journaled call commits get closures written out for
    # their kinds (straight-line code: a loop over the fields costs twice as
    # much); any other shape gets the general closure below.
    if kinds == [REF, REF]:
        return _ref_pair(cls, type_id, names, plan, tail, ref_type, ref_type_id)
    if kinds == [REF, OPTIONAL_REF, OPTIONAL_REF, BOOL, REFS]:
        return _outcome(
            cls, type_id, names, plan, tail, ref_type, ref_type_id, flat_ref, flat_refs
        )
    if kinds == [VALUE, VALUE]:
        return _value_pair(cls, type_id, names, plan, tail, field_pieces)
    values_of = operator.attrgetter(*names)
    single = len(names) == 1
    steps = tuple(enumerate(kinds))
    # What a remembered encoding met besides the record's class: a ref, when
    # a field is one (the values remembered are scalars: they meet nothing).
    always_ref = REF in kinds
    ref_positions = [
        position for position, kind in enumerate(kinds) if kind in (OPTIONAL_REF, REFS)
    ]

    def encode(record: Any, types: Any) -> bytes | None:
        values = (values_of(record),) if single else values_of(record)
        key: list[Any] = [cls]
        children: list[str] | None = None
        memoizable = True
        for position, kind in steps:
            value = values[position]
            if kind is REF:
                if type(value) is not ref_type:
                    return None
                key.append(value._digest)
            elif kind is OPTIONAL_REF:
                if value is None:
                    key.append(None)
                elif type(value) is ref_type:
                    key.append(value._digest)
                else:
                    return None
            elif kind is BOOL:
                if type(value) is not bool:
                    return None
                key.append(value)
            elif kind is REFS:
                if type(value) is not list:
                    return None
                if value:
                    children = [c._digest for c in value if type(c) is ref_type]
                    if len(children) != len(value):
                        return None
            elif memoizable:
                part = _value_key(value)
                if part is None:
                    memoizable = False
                else:
                    key.append(part)
        # The children's digests go last: the key's length says where they
        # start (one list of refs at most).
        if children:
            key += children
        if memoizable:
            memo_key = tuple(key)
            data = _encoding(memo_key)
            if data is not None:
                if types is not None:
                    _note_types(types, values)
                return data
        pieces: list[bytes] = []
        for prefix, position in plan:
            value = values[position]
            kind = kinds[position]
            pieces.append(prefix)
            if kind is REF:
                encoded = flat_ref(value, types)
            elif kind is OPTIONAL_REF:
                encoded = b"null" if value is None else flat_ref(value, types)
            elif kind is BOOL:
                encoded = b"true" if value else b"false"
            elif kind is REFS:
                encoded = flat_refs(value, types)
            else:
                found = field_pieces(value, types)
                if found is None:
                    return None
                pieces += found
                continue
            if encoded is None:
                return None
            pieces.append(encoded)
        pieces.append(tail)
        data = large.join(pieces)
        if types is not None:
            types[type_id] = cls
        if memoizable:
            memo.remember_encoding(memo_key, data)
        return data

    def _note_types(types: Any, values: Any) -> None:
        types[type_id] = cls
        if always_ref or any(values[position] for position in ref_positions):
            types[ref_type_id] = ref_type

    return encode


def _value_key(value: Any) -> Any:
    """The memo key of a VALUE field: its content when that fixes its JSON
    (a scalar, a list or dict of scalars; types included), else None."""
    kind = type(value)
    if kind in _SCALARS:
        return (kind, value)
    if kind is list:
        kinds = tuple(map(type, value))
        if _all_scalars(kinds):
            return (list, kinds, *value)
        return None
    if kind is dict:
        if not value:
            return (dict,)
        items = tuple(value.items())
        kinds = tuple(map(type, value.values()))
        if _all_scalars(kinds):
            return (dict, kinds, items)
        return None
    return None


def _ref_pair(
    cls: type,
    type_id: str,
    names: list[str],
    plan: list[tuple[bytes, int]],
    tail: bytes,
    ref_type: Any,
    ref_type_id: str,
) -> FlatEncoder:
    """The encoder of a record of two refs (a request, an invocation)."""
    first, second = names
    (head_piece, head_at), (middle, _) = plan
    swap = head_at != 0

    def encode(record: Any, types: Any) -> bytes | None:
        a, b = getattr(record, first), getattr(record, second)
        if type(a) is not ref_type or type(b) is not ref_type:
            return None
        key = (cls, a._digest, b._digest)
        data = _encoding(key)
        if data is None:
            a_json, b_json = _digest_json(a._digest), _digest_json(b._digest)
            if a_json is None or b_json is None:
                return None
            if swap:
                a_json, b_json = b_json, a_json
            data = b"".join((head_piece, a_json, middle, b_json, tail))
            memo.remember_encoding(key, data)
        if types is not None:
            types[type_id] = cls
            types[ref_type_id] = ref_type
        return data

    ref_prefixes, ref_tail = _pieces(ref_type_id, ["digest"])
    (ref_head,) = ref_prefixes

    def _digest_json(digest: Any) -> bytes | None:
        if type(digest) is not str:
            return None
        try:
            return ref_head + orjson.dumps(digest) + ref_tail
        except orjson.JSONEncodeError:
            return None

    return encode


def _outcome(
    cls: type,
    type_id: str,
    names: list[str],
    plan: list[tuple[bytes, int]],
    tail: bytes,
    ref_type: Any,
    ref_type_id: str,
    flat_ref: FlatEncoder,
    flat_refs: Callable[[list[Any], Any], bytes | None],
) -> FlatEncoder:
    """The encoder of a call's outcome: a ref, two optional refs, a flag and
    a list of refs (a response)."""
    values_of = operator.attrgetter(*names)
    (p0, o0), (p1, o1), (p2, o2), (p3, o3), (p4, o4) = plan

    def encode(record: Any, types: Any) -> bytes | None:
        ref, first, second, flag, children = values_of(record)
        if (
            type(children) is not list
            or type(flag) is not bool
            or type(ref) is not ref_type
            or (first is not None and type(first) is not ref_type)
            or (second is not None and type(second) is not ref_type)
        ):
            return None
        # (No list comprehension for a leaf call's empty list: it costs a frame.)
        digests = (
            [child._digest for child in children if type(child) is ref_type]
            if children
            else children
        )
        if len(digests) != len(children):
            return None  # not all plain refs: the tree path
        key = (
            cls,
            ref._digest,
            None if first is None else first._digest,
            None if second is None else second._digest,
            flag,
            *digests,
        )
        data = _encoding(key)
        if data is None:
            encoded: list[Any] = [
                flat_ref(ref, types),
                b"null" if first is None else flat_ref(first, types),
                b"null" if second is None else flat_ref(second, types),
                b"true" if flag else b"false",
                flat_refs(children, types),
            ]
            if None in encoded:
                return None
            data = b"".join(
                (
                    p0,
                    encoded[o0],
                    p1,
                    encoded[o1],
                    p2,
                    encoded[o2],
                    p3,
                    encoded[o3],
                    p4,
                    encoded[o4],
                    tail,
                )
            )
            memo.remember_encoding(key, data)
            if types is not None:
                types[type_id] = cls
        elif types is not None:
            types[type_id] = cls
            types[ref_type_id] = ref_type
        return data

    return encode


def _value_pair(
    cls: type,
    type_id: str,
    names: list[str],
    plan: list[tuple[bytes, int]],
    tail: bytes,
    field_pieces: Callable[[Any, Any], list[bytes] | None],
) -> FlatEncoder:
    """The encoder of a record of two plain values (a call's arguments)."""
    values_of = operator.attrgetter(*names)
    (p0, o0), (p1, o1) = plan

    def encode(record: Any, types: Any) -> bytes | None:
        values = values_of(record)
        first, second = values
        # The memo key, written out for the common case (a list of scalars
        # and an empty dict: positional arguments only).
        key: Any = None
        if type(first) is list and type(second) is dict and not second:
            kinds = tuple(map(type, first))
            if _all_scalars(kinds):
                key = (cls, kinds, *first)
        else:
            a, b = _value_key(first), _value_key(second)
            if a is not None and b is not None:
                key = (cls, None, a, b)
        if key is not None:
            data = _encoding(key)
            if data is not None:
                if types is not None:
                    types[type_id] = cls
                return data
        head_pieces = field_pieces(values[o0], types)
        tail_pieces = field_pieces(values[o1], types)
        if head_pieces is None or tail_pieces is None:
            return None
        if types is not None:
            types[type_id] = cls
        data = large.join([p0, *head_pieces, p1, *tail_pieces, tail])
        if key is not None:
            memo.remember_encoding(key, data)
        return data

    return encode
