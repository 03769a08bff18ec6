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
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import orjson

from enact._datasets.values import stored_json_text
from enact._invocations.records import Invocation, Request, Response
from enact._refs.legacy_backend import StorageBackendObjects
from enact.interfaces import ResourceBase
from enact.references import CorruptObject, Ref, Store

__all__ = ["CallParts", "RecordReader"]

_REF = Ref.type_id()
_KEPT = 4096
# JSON texts of values kept by digest: those up to _KEPT_TEXT characters,
# _KEPT_TEXT_BYTES in all.
_KEPT_TEXT = 1 << 16
_KEPT_TEXT_BYTES = 8 << 20
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


class _Patterns:
    """The three records of the layout enact writes, as patterns of their text.

    A record's canonical JSON has one spelling: its type id, then its fields
    in key order, each ref ``{"#res": <ref type id>, "digest": "<hex>"}``.
    Matching that text picks the digests out without building the JSON
    tree; a record the patterns do not match is parsed as JSON (and a match
    gives what that parse would give).
    """

    def __init__(self, ref_type: str) -> None:
        self.ref_type = ref_type
        esc = re.escape

        def head(type_id: str) -> str:
            return esc('{"#res":' + orjson.dumps(type_id).decode() + ",")

        def ref(capture: bool) -> str:
            digest = "([0-9a-f]{64})" if capture else "[0-9a-f]{64}"
            return head(ref_type) + esc('"digest":"') + digest + esc('"}')

        def record(cls: type[ResourceBase], *parts: str) -> re.Pattern[str]:
            return re.compile(head(cls.type_id()) + "".join(parts) + esc("}"))

        plain = ref(False)
        self.invocation = record(
            Invocation,
            esc('"request":'),
            ref(True),
            esc(',"response":'),
            ref(True),
        )
        self.request = record(
            Request, esc('"input":'), ref(True), esc(',"invokable":'), ref(True)
        )
        self.response = record(
            Response,
            esc('"children":['),
            f"((?:{plain}(?:,{plain})*)?)",
            esc('],"invokable":'),
            plain,
            esc(',"output":'),
            f"(?:{ref(True)}|null)",
            esc(',"raised":'),
            f"(?:{ref(True)}|null)",
            esc(',"raised_here":'),
            "(?:true|false)",
        )
        self.digest = re.compile(esc('"digest":"') + "([0-9a-f]{64})")


_PATTERNS: list[_Patterns] = []


def _patterns() -> _Patterns:
    if not _PATTERNS or _PATTERNS[0].ref_type != _REF:
        _PATTERNS[:] = [_Patterns(_REF)]
    return _PATTERNS[0]


def _parsed_invocation(text: str) -> tuple[str, str]:
    match = _patterns().invocation.fullmatch(text)
    if match is None:
        return _invocation(orjson.loads(text))
    request, response = match.groups()
    return request, response


def _parsed_request(text: str) -> tuple[str, str]:
    match = _patterns().request.fullmatch(text)
    if match is None:
        return _request(orjson.loads(text))
    given, invokable = match.groups()
    return invokable, given


def _parsed_response(text: str) -> tuple[str | None, str | None, tuple[str, ...]]:
    patterns = _patterns()
    match = patterns.response.fullmatch(text)
    if match is None:
        return _response(orjson.loads(text))
    children, output, raised = match.groups()
    return output, raised, tuple(patterns.digest.findall(children))


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
        "input_text",
        "invocation",
        "invokable",
        "invokable_digest",
        "output",
        "output_digest",
        "output_text",
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
        # The JSON text of the input and output (a reader of texts only).
        self.input_text: str | None = None
        self.output_text: str | None = None


_Parse = Callable[[str], Any]
_Decoded = Callable[[Any], Any]
_INVOCATION_KIND = (_parsed_invocation, _decoded_invocation)
_REQUEST_KIND = (_parsed_request, _decoded_request)
_RESPONSE_KIND = (_parsed_response, _decoded_response)


class RecordReader:
    """Reads calls of one store in batches, keeping shared objects decoded.

    Args:
        store: The store the calls are in.
        texts: Give inputs and outputs as JSON text (``input_text``,
            ``output_text``) where a value's stored form is one of the plain
            kinds read without building it (:func:`~enact._datasets.values.
            stored_json_text`); other values are decoded as usual.
    """

    def __init__(self, store: Store, *, texts: bool = False) -> None:
        self.store = store
        # The store's objects (what its reads see: whole objects, however
        # they are kept), unless they are not canonical bytes by digest.
        canonical = not isinstance(
            store.objects, StorageBackendObjects
        ) and not getattr(store.backend, "serializer", None)
        self._raw = store.objects.get_many if canonical else None
        self._requests: dict[str, tuple[str, str]] = {}
        self._components: dict[str, Any] = {}
        self._texts = texts and self._raw is not None
        # JSON texts of values by digest, a bounded number of bytes of them.
        self._kept_texts: dict[str, str] = {}
        self._kept_text_bytes = 0
        self._batch = _FIRST_BATCH
        self._value_bytes = 0  # of the values the last read decoded

    def _checked(self, digests: list[str]) -> list[bytes | None]:
        """The stored bytes of ``digests`` (None where not readable raw),
        each checked against its digest."""
        if self._raw is None:
            return [None] * len(digests)
        raw = self._raw(digests)
        sha256 = hashlib.sha256
        for digest, data in zip(digests, raw, strict=True):
            if data is not None:
                actual = sha256(data).hexdigest()
                if actual != digest:
                    raise CorruptObject(Ref(digest), self.store.location, actual)
        return raw

    def _records(
        self, digests: list[str], kinds: Sequence[tuple[_Parse, _Decoded]]
    ) -> list[Any]:
        """Each record's digests: parsed from plain JSON, or decoded in full."""
        results: list[Any] = []
        others: list[int] = []
        raw = self._checked(digests)
        for number, data in enumerate(raw):
            if data is None:  # not written yet (pending), or a backend of values
                others.append(number)
                results.append(None)
                continue
            try:
                results.append(kinds[number][0](data.decode()))
            except (_OtherLayout, orjson.JSONDecodeError, UnicodeDecodeError):
                others.append(number)
                results.append(None)
        if others:
            records = self.store.checkout_many([Ref(digests[n]) for n in others])
            for number, record in zip(others, records, strict=True):
                results[number] = kinds[number][1](record)
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

    def _value_texts(self, keys: list[str]) -> tuple[dict[str, str], list[str]]:
        """The JSON texts of the values ``keys`` that have a plain stored
        form, and the keys of the others (to be decoded)."""
        kept = self._kept_texts
        texts: dict[str, str] = {}
        unknown: list[str] = []
        for key in keys:
            text = kept.get(key)
            if text is None:
                unknown.append(key)
            else:
                texts[key] = text
        rest: list[str] = []
        if unknown:
            for key, data in zip(unknown, self._checked(unknown), strict=True):
                text = None if data is None else stored_json_text(data)
                if text is None:
                    rest.append(key)
                    continue
                texts[key] = text
                if len(text) <= _KEPT_TEXT:
                    if self._kept_text_bytes + len(text) > _KEPT_TEXT_BYTES:
                        kept.clear()
                        self._kept_text_bytes = 0
                    kept[key] = text
                    self._kept_text_bytes += len(text)
        return texts, rest

    def read(self, digests: Sequence[str]) -> list[CallParts]:
        """The calls whose invocation records have these digests, in order."""
        invocations = self._records(list(digests), [_INVOCATION_KIND] * len(digests))
        parts = [
            CallParts(digest, request)
            for digest, (request, _) in zip(digests, invocations, strict=True)
        ]
        # The requests not kept and the responses: one read.
        requests = self._requests
        wanted = {p.request for p in parts}
        unknown = sorted(key for key in wanted if key not in requests)
        if len(requests) + len(unknown) > _KEPT:
            requests.clear()
        responses_wanted = [response for _, response in invocations]
        both = self._records(
            unknown + responses_wanted,
            [_REQUEST_KIND] * len(unknown) + [_RESPONSE_KIND] * len(responses_wanted),
        )
        requests.update(zip(unknown, both[: len(unknown)], strict=True))
        responses = both[len(unknown) :]
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
        texts: dict[str, str] = {}
        if self._texts:
            texts, keys = self._value_texts(keys)
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
            if texts:
                part.input_text = texts.get(part.input_digest)
            part.input = values[part.input_digest]
            if part.output_digest is not None:
                part.output = values[part.output_digest]
                if texts:
                    part.output_text = texts.get(part.output_digest)
            exception = errors.get(part.invocation)
            if exception is not None:
                text = " ".join(str(exception).split())[:500]
                part.error = text or type(exception).__name__
        self._value_bytes = sum(_size(values[key]) for key in keys) + sum(
            len(text) for text in texts.values()
        )
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
