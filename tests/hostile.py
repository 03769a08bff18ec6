"""Hostile values, and the entry points they are tried at: values nested
100,000 levels deep, values that contain themselves, digests that are not
digests. Shared by the nesting tests and the census in ``bench/damage.py``.

Each :class:`HostileCase` says what is tried and how it must end: with which
enact error, saying what. The tests check that each ends so; the census
also records how long each took.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import pathlib
import re
from collections.abc import Callable
from typing import Any

import orjson

import enact
from enact import _codec
from enact.cli._inputs import _load
from enact.cli._stores import CommandError
from enact.interfaces import FieldTypeError
from enact.references import InvalidRefId, Ref, RefError
from enact.serialization import DeserializationError, load_json
from enact.ui import _forms
from enact.wrappers import DictWrapper, ListWrapper
from strategies import Node, Pair

HUGE = 100_000


@enact.register(name="tests.hostile.Box")
@dataclasses.dataclass
class Box:
    """A plain registered dataclass (stored through its generated wrapper)."""

    inner: Any = None


def nested(kind: str, depth: int, leaf: Any = 0) -> Any:
    """``leaf`` inside ``depth`` containers of ``kind``."""
    value = leaf
    for _ in range(depth):
        if kind == "list":
            value = [value]
        elif kind == "dict":
            value = {"k": value}
        elif kind == "tuple":
            value = (value,)
        elif kind == "resource":
            value = Pair(first=value)
        else:
            value = Box(value)
    return value


def cyclic(kind: str, depth: int) -> Any:
    """A ``kind`` container that holds itself, under ``depth`` lists."""
    if kind == "list":
        loop: Any = []
        loop.append(loop)
    elif kind == "dict":
        loop = {}
        loop["self"] = loop
    elif kind == "resource":
        loop = Node()
        loop.children.append(loop)
    elif kind == "dataclass":
        loop = Box()
        loop.inner = loop
    else:  # a tuple can only hold itself through a mutable value
        holder: list[Any] = []
        loop = (holder,)
        holder.append(loop)
    return nested("list", depth, loop)


def deep_json(kind: str, depth: int) -> str:
    """JSON text of ``0`` inside ``depth`` lists or dicts (no writer needed)."""
    if kind == "list":
        return "[" * depth + "0" + "]" * depth
    return '{"k":' * depth + "0" + "}" * depth


def stored(wrapper: type[enact.ResourceBase], json_value: bytes) -> bytes:
    """The bytes of a wrapper whose field holds ``json_value``, as if stored."""
    return (
        b'{"#res":'
        + orjson.dumps(wrapper.type_id())
        + b',"wrapped":'
        + json_value
        + b"}"
    )


@dataclasses.dataclass(frozen=True)
class HostileCase:
    """One hostile input at one entry point, and how it must end."""

    #: What the input is ("100,000-deep list", "a list containing itself").
    value: str
    #: Where it is tried ("commit", "Ref.from_id").
    entry: str
    #: Makes the input (not timed): what ``attempt`` takes.
    make: Callable[[], Any]
    #: Tries the input at the entry point; gets a scratch directory.
    attempt: Callable[[Any, pathlib.Path], object]
    #: The error it must end with (None: it must return).
    error: type[BaseException] | None
    #: A regular expression the error's message must match.
    match: str = ""

    @property
    def name(self) -> str:
        return f"{self.value} via {self.entry}"

    def ends_as_promised(self, outcome: BaseException | None) -> bool:
        """Whether ``outcome`` (the error raised, or None) is the promised end."""
        if self.error is None or outcome is None:
            return self.error is None and outcome is None
        return isinstance(outcome, self.error) and bool(
            re.search(self.match, str(outcome))
        )


def _commit(value: Any, scratch: pathlib.Path) -> object:
    with enact.InMemoryStore() as store:
        return store.commit(value)


def _checkout_stored(data: bytes, scratch: pathlib.Path) -> object:
    key = hashlib.sha256(data).hexdigest()
    with enact.InMemoryStore() as store:
        assert store._objects is not None
        store._objects.put_many([(key, [data])])
        return store.checkout(Ref(key))


def _cli_answer(text: str, scratch: pathlib.Path) -> object:
    path = scratch / "answer.json"
    path.write_text(text)
    return _load(path)


def _ui_form(text: str, scratch: pathlib.Path) -> object:
    form = _forms.form_for(Pair.type_id(), "a.")
    return _forms.read_form(form, {"a.first": text})


def _checkout_file_store(digest: str, scratch: pathlib.Path) -> object:
    with enact.FileStore(scratch / "store") as store:
        return store.checkout(Ref(digest))


def _ref_id(digest: str) -> str:
    return json.dumps({"digest": digest})


_TOO_DEEP = "nested deeper than"


def _deep_cases(kind: str) -> list[HostileCase]:
    value = f"100,000-deep {kind}"
    as_json = "dict" if kind == "dict" else "list"
    wrapper = DictWrapper if kind == "dict" else ListWrapper

    def make() -> Any:
        return nested(kind, HUGE)

    def make_json() -> str:
        return deep_json(as_json, HUGE)

    def make_ref_id() -> str:
        return '{"digest": ' + make_json() + "}"

    def make_stored() -> bytes:
        return stored(wrapper, make_json().encode())

    cases = [
        # Lists and dicts are wrapped as they are, without a walk: their depth
        # is refused where they are encoded. A tuple's items are wrapped.
        HostileCase(
            value,
            "wrap",
            make,
            lambda v, _: enact.wrap(v),
            FieldTypeError if kind == "tuple" else None,
            _TOO_DEEP if kind == "tuple" else "",
        ),
        HostileCase(value, "commit", make, _commit, FieldTypeError, _TOO_DEEP),
        HostileCase(
            value, "encode", make, lambda v, _: _codec.encode(v), FieldTypeError
        ),
    ]
    if kind == "tuple":  # JSON has no tuples
        return cases
    return [
        *cases,
        HostileCase(
            value, "Ref.from_id", make_ref_id, lambda t, _: Ref.from_id(t), InvalidRefId
        ),
        HostileCase(
            value,
            "decode of stored bytes",
            make_stored,
            lambda d, _: _codec.decode(d),
            _codec.DecodeError,
            r"nested|depth",
        ),
        HostileCase(
            value,
            "checkout of stored bytes",
            make_stored,
            _checkout_stored,
            DeserializationError,
        ),
        HostileCase(
            value,
            "answer JSON",
            make_json,
            lambda t, _: load_json(t),
            DeserializationError,
            _TOO_DEEP,
        ),
        HostileCase(
            value, "CLI answer file", make_json, _cli_answer, CommandError, _TOO_DEEP
        ),
        HostileCase(
            value, "UI form field", make_json, _ui_form, _forms.FormError, _TOO_DEEP
        ),
    ]


def _digest_cases(digest: str) -> list[HostileCase]:
    value = f"digest {digest!r}"
    return [
        HostileCase(
            value,
            "Ref.from_id",
            lambda: _ref_id(digest),
            lambda t, _: Ref.from_id(t),
            InvalidRefId,
            "not 64 lowercase hex",
        ),
        HostileCase(
            value,
            "FileStore checkout",
            lambda: digest,
            _checkout_file_store,
            RefError,
            "not a valid object key",
        ),
    ]


HOSTILE_CASES = [
    *_deep_cases("list"),
    *_deep_cases("dict"),
    *_deep_cases("tuple"),
    HostileCase(
        "a self-containing dataclass",
        "commit",
        lambda: cyclic("dataclass", 0),
        _commit,
        FieldTypeError,
        "cycle",
    ),
    HostileCase(
        "a list containing itself",
        "commit",
        lambda: cyclic("list", 0),
        _commit,
        FieldTypeError,
        "cycle",
    ),
    *_digest_cases("zz"),
    *_digest_cases("../../etc/passwd"),
]
