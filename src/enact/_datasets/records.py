"""Calls read from a store in batches: what a walk of a run's tree is made of.

A call is five objects (its invocation record, request, response, input and
output) and a component. Read one at a time they cost a backend round trip
and a decode each; an export reads them for many sibling calls at once:

- the three journal records are read in one ``get_many`` per kind, each
  checked against its digest and parsed for the digests it names alone.
  A record of the layout enact writes is read as plain JSON (its type ids
  compared with those of the record classes); any other (an older layout,
  a custom ref class) is decoded in full, as :meth:`Store.checkout` does;
- inputs, outputs and exceptions are decoded with
  :meth:`Store.checkout_many`;
- components and requests recur across calls: their decoded forms are kept,
  a bounded number, for the reader's life.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import orjson

from enact._invocations.records import Invocation, Request, Response
from enact._refs.legacy_backend import StorageBackendObjects
from enact.interfaces import ResourceBase
from enact.references import CorruptObject, Ref, Store

__all__ = ["CallParts", "RecordReader"]

_REF = Ref.type_id()
_KEPT = 4096
# A batch of sibling calls starts small and doubles while its values stay
# small: a store of large values is read a few of them at a time.
_FIRST_BATCH = 8
_MAX_BATCH = 512
_BATCH_VALUE_BYTES = 4 << 20


class _OtherLayout(Exception):
    """A record that is not of the layout read as plain JSON."""


def _ref(node: Any) -> str:
    if type(node) is dict and len(node) == 2 and node.get("#res") == _REF:
        digest = node.get("digest")
        if type(digest) is str:
            return digest
    raise _OtherLayout


def _maybe_ref(node: Any) -> str | None:
    return None if node is None else _ref(node)


_TYPE_IDS: dict[type[ResourceBase], str] = {}


def _fields(tree: Any, cls: type[ResourceBase], names: frozenset[str]) -> Any:
    type_id = _TYPE_IDS.get(cls)
    if type_id is None:
        type_id = _TYPE_IDS[cls] = cls.type_id()
    if type(tree) is not dict or tree.get("#res") != type_id:
        raise _OtherLayout
    if tree.keys() - {"#res"} != names:
        raise _OtherLayout
    return tree


_INVOCATION = frozenset({"request", "response"})
_REQUEST = frozenset({"invokable", "input"})
_RESPONSE = frozenset({"children", "invokable", "output", "raised", "raised_here"})


def _invocation(tree: Any) -> tuple[str, str]:
    fields = _fields(tree, Invocation, _INVOCATION)
    return _ref(fields["request"]), _ref(fields["response"])


def _request(tree: Any) -> tuple[str, str]:
    fields = _fields(tree, Request, _REQUEST)
    return _ref(fields["invokable"]), _ref(fields["input"])


def _response(tree: Any) -> tuple[str | None, str | None, tuple[str, ...]]:
    fields = _fields(tree, Response, _RESPONSE)
    children = fields["children"]
    if type(children) is not list:
        raise _OtherLayout
    return (
        _maybe_ref(fields["output"]),
        _maybe_ref(fields["raised"]),
        tuple(_ref(child) for child in children),
    )


def _decoded_invocation(record: Any) -> tuple[str, str]:
    return record.request.digest, record.response.digest


def _decoded_request(record: Any) -> tuple[str, str]:
    return record.invokable.digest, record.input.digest


def _decoded_response(record: Any) -> tuple[str | None, str | None, tuple[str, ...]]:
    output = None if record.output is None else record.output.digest
    raised = None if record.raised is None else record.raised.digest
    return output, raised, tuple(child.digest for child in record.children)


class CallParts:
    """What one call's records and values hold, read by a :class:`RecordReader`."""

    __slots__ = (
        "children",
        "error",
        "input",
        "input_digest",
        "invocation",
        "invokable",
        "invokable_digest",
        "output",
        "output_digest",
        "request",
    )

    def __init__(self, invocation: str, request: str) -> None:
        self.invocation = invocation
        self.request = request
        self.invokable: Any = None
        self.invokable_digest = ""
        self.input: Any = None
        self.input_digest = ""
        self.output: Any = None
        self.output_digest: str | None = None
        self.error: str | None = None
        self.children: tuple[str, ...] = ()


class RecordReader:
    """Reads calls of one store in batches, keeping shared objects decoded.

    Args:
        store: The store the calls are in.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        # The store's objects (what its reads see: whole objects, however
        # they are kept), unless they are not canonical bytes by digest.
        canonical = not isinstance(
            store.objects, StorageBackendObjects
        ) and not getattr(store.backend, "serializer", None)
        self._raw = store.objects.get_many if canonical else None
        self._requests: dict[str, tuple[str, str]] = {}
        self._components: dict[str, Any] = {}
        self._batch = _FIRST_BATCH
        self._value_bytes = 0  # of the values the last read decoded

    def _records(self, digests: Sequence[str], parse: Any, decoded: Any) -> list[Any]:
        """Each record's digests: parsed from plain JSON, or decoded in full."""
        raw: list[bytes | None] = (
            self._raw(list(digests)) if self._raw is not None else [None] * len(digests)
        )
        results: list[Any] = []
        others: list[int] = []
        for number, (digest, data) in enumerate(zip(digests, raw, strict=True)):
            if data is None:  # not written yet (pending), or a backend of values
                others.append(number)
                results.append(None)
                continue
            actual = hashlib.sha256(data).hexdigest()
            if actual != digest:
                raise CorruptObject(Ref(digest), self.store.location, actual)
            try:
                results.append(parse(orjson.loads(data)))
            except (_OtherLayout, orjson.JSONDecodeError):
                others.append(number)
                results.append(None)
        if others:
            records = self.store.checkout_many([Ref(digests[n]) for n in others])
            for number, record in zip(others, records, strict=True):
                results[number] = decoded(record)
        return results

    @staticmethod
    def _kept(
        kept: dict[str, Any], wanted: set[str], read: Callable[[list[str]], list[Any]]
    ) -> dict[str, Any]:
        """The objects named by ``wanted``: kept ones, and the others read."""
        found = {key: kept[key] for key in wanted if key in kept}
        unknown = sorted(wanted - found.keys())
        if unknown:
            if len(kept) + len(unknown) > _KEPT:
                kept.clear()
            for key, value in zip(unknown, read(unknown), strict=True):
                kept[key] = found[key] = value
        return found

    def read(self, digests: Sequence[str]) -> list[CallParts]:
        """The calls whose invocation records have these digests, in order."""
        invocations = self._records(digests, _invocation, _decoded_invocation)
        parts = [
            CallParts(digest, request)
            for digest, (request, _) in zip(digests, invocations, strict=True)
        ]
        requests = self._kept(
            self._requests,
            {p.request for p in parts},
            lambda unknown: self._records(unknown, _request, _decoded_request),
        )
        responses = self._records(
            [response for _, response in invocations], _response, _decoded_response
        )
        values: dict[str, Any] = {}
        raised: dict[str, Any] = {}
        for part, (output, error, children) in zip(parts, responses, strict=True):
            part.invokable_digest, part.input_digest = requests[part.request]
            part.output_digest = output
            part.children = children
            values[part.input_digest] = None
            if output is not None:
                values[output] = None
            if error is not None:
                raised[part.invocation] = error
        components = self._kept(
            self._components,
            {p.invokable_digest for p in parts},
            lambda unknown: self.store.checkout_many([Ref(d) for d in unknown]),
        )
        keys = list(values)
        for key, value in zip(
            keys, self.store.checkout_many([Ref(k) for k in keys]), strict=True
        ):
            values[key] = value
        errors = dict(
            zip(
                raised,
                self.store.checkout_many([Ref(d) for d in raised.values()]),
                strict=True,
            )
        )
        for part in parts:
            part.invokable = components[part.invokable_digest]
            part.input = values[part.input_digest]
            if part.output_digest is not None:
                part.output = values[part.output_digest]
            exception = errors.get(part.invocation)
            if exception is not None:
                text = " ".join(str(exception).split())[:500]
                part.error = text or type(exception).__name__
        self._value_bytes = sum(_size(value) for value in values.values())
        return parts

    def batches(self, digests: Sequence[str]) -> Iterator[list[CallParts]]:
        """``digests`` read a batch at a time (the batch adapts to value sizes)."""
        start = 0
        while start < len(digests):
            size = self._batch
            batch = self.read(digests[start : start + size])
            if self._value_bytes > _BATCH_VALUE_BYTES:
                self._batch = max(1, size // 2)
            elif len(batch) == size and self._value_bytes * 2 <= _BATCH_VALUE_BYTES:
                self._batch = min(_MAX_BATCH, size * 2)
            yield batch
            start += size


def _size(value: Any) -> int:
    """Roughly how many bytes a decoded value holds (its large fields, mostly)."""
    if isinstance(value, ResourceBase):
        try:
            return sum(sys.getsizeof(item) for _, item in value.field_items())
        except Exception:  # a resource that cannot list its fields
            return sys.getsizeof(value)
    return sys.getsizeof(value)
