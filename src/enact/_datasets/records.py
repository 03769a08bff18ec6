"""Calls read from a store in batches: what a walk of a run's tree is made of.

A call is five objects (its invocation record, request, response, input and
output) and a component. Read one at a time they cost a backend round trip
and a decode each; an export reads them for many sibling calls at once:

- the three journal records are read in two ``get_many`` calls, each
  checked against its digest and parsed for the digests it names alone
  (:mod:`enact._datasets.layouts`: a batch of records of the layout enact
  writes is matched in one scan); any other (an older layout, a custom ref
  class) is decoded in full, as :meth:`Store.checkout` does;
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

from enact._datasets.layouts import (
    INVOCATION,
    REQUEST,
    RESPONSE,
    Kind,
    OtherLayout,
    int_texts,
    parse_all,
)
from enact._datasets.values import stored_json_text
from enact._refs.legacy_backend import StorageBackendObjects
from enact.interfaces import ResourceBase
from enact.references import CorruptObject, Ref, Store

__all__ = ["CallParts", "RecordReader"]

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
# Top-level calls kept (their values with them).
_KEPT_TOPS = 2


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
        self._raw = store.objects.read_checked if canonical else None
        self._requests: dict[str, tuple[str, str]] = {}
        self._components: dict[str, Any] = {}
        self._texts = texts and self._raw is not None
        # JSON texts of values by digest, a bounded number of bytes of them.
        self._kept_texts: dict[str, str] = {}
        self._kept_text_bytes = 0
        self._batch = _FIRST_BATCH
        self._value_bytes = 0  # of the values the last read decoded
        self._tops: dict[str, CallParts] = {}

    def _checked(self, digests: list[str]) -> list[bytes | None]:
        """The stored bytes of ``digests`` (None where not readable raw),
        each checked against its digest (once: an object the objects layer
        put together from chunks was hashed whole on the way)."""
        if self._raw is None:
            return [None] * len(digests)
        raw, checked = self._raw(digests)
        sha256 = hashlib.sha256
        if not checked and None not in raw:
            actual = [sha256(data).hexdigest() for data in raw]  # type: ignore[arg-type]
            if actual == digests:
                return raw
        for digest, data in zip(digests, raw, strict=True):
            if data is not None and digest not in checked:
                found = sha256(data).hexdigest()
                if found != digest:
                    raise CorruptObject(Ref(digest), self.store.location, found)
        return raw

    def _records(self, *batches: tuple[Kind, list[str]]) -> list[list[Any]]:
        """Each record's digests, for batches of records of one kind each
        (read together): parsed from plain JSON, or decoded in full."""
        raw = self._checked([digest for _, digests in batches for digest in digests])
        results: list[list[Any]] = []
        others: list[tuple[Kind, list[Any], int, str]] = []
        at = 0
        for kind, digests in batches:
            mine = raw[at : at + len(digests)]
            at += len(digests)
            found = None if None in mine else parse_all(kind, mine)  # type: ignore[arg-type]
            if found is None:  # not all of them text: one at a time
                found = [None] * len(digests)
                for number, data in enumerate(mine):
                    if data is not None:
                        try:
                            found[number] = kind.parse(data.decode())
                        except (
                            OtherLayout,
                            orjson.JSONDecodeError,
                            UnicodeDecodeError,
                        ):
                            pass
            for number, value in enumerate(found):
                if value is None:
                    # Not written yet (pending), a backend of values, another layout.
                    others.append((kind, found, number, digests[number]))
            results.append(found)
        if others:
            records = self.store.checkout_many([Ref(each[3]) for each in others])
            for (kind, found, number, _), record in zip(others, records, strict=True):
                found[number] = kind.decoded(record)
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
            raw = self._checked(unknown)
            ints = None if None in raw else int_texts(raw)  # type: ignore[arg-type]
            for number, (key, data) in enumerate(zip(unknown, raw, strict=True)):
                text = ints[number] if ints else None
                if not text:
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
        (invocations,) = self._records((INVOCATION, list(digests)))
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
        read, responses = self._records(
            (REQUEST, unknown), (RESPONSE, [response for _, response in invocations])
        )
        requests.update(zip(unknown, read, strict=True))
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
                text = " ".join(_message(str(exception)).split())[:500]
                part.error = text or type(exception).__name__
        self._value_bytes = sum(_size(values[key]) for key in keys) + sum(
            len(text) for text in texts.values()
        )
        return parts

    def read_top(self, digest: str) -> CallParts:
        """The call whose invocation record is ``digest``, kept for the next
        read of it: a run's top-level call, read again for each of the
        chunks its calls are cut into (its record names every call it made)."""
        kept = self._tops.get(digest)
        if kept is None:
            (kept,) = self.read([digest])
            if len(self._tops) >= _KEPT_TOPS:
                self._tops.clear()
            self._tops[digest] = kept
        return kept

    def children(self, digests: Sequence[str]) -> list[tuple[str, ...]]:
        """The child invocations of the calls ``digests``, read from their
        journal records alone (no component, input or output is read)."""
        (invocations,) = self._records((INVOCATION, list(digests)))
        (responses,) = self._records(
            (RESPONSE, [response for _, response in invocations])
        )
        return [children for _, _, children in responses]

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


def _message(text: str) -> str:
    """What a recorded exception says: of a traceback (an exception kept as
    its formatted traceback), its last lines, after the indented frames, so
    the message survives the column's length limit whatever the paths."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith("Traceback"):
        return text
    frames = [n for n, line in enumerate(lines) if line[:1].isspace()]
    return "\n".join(lines[frames[-1] + 1 :]) if frames else text
