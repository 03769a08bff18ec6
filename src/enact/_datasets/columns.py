"""Generic rows as Arrow record batches, built a column at a time.

What a Parquet export of generic rows is made of. The selected calls are
read with a :class:`~enact._datasets.records.RecordReader` that gives plain
values (numbers, text) as their JSON text straight from their stored bytes,
and each row's cells are appended to one Python list per column; a batch of
rows becomes Arrow arrays from those lists' bytes (offsets and data
buffers), not from Python objects one by one. That builds the same columns
as the rows of :func:`enact._datasets.formats.generic_row` written as JSON
text, in the same order, and imports neither pandas nor ``pyarrow.compute``.

A row is valid generic by construction (every lineage column present, the
path a list of numbers): the checks of
:func:`~enact._datasets.formats.validate` hold for every row built here.
"""

from __future__ import annotations

import array
import itertools
from collections.abc import Iterator
from typing import Any

import orjson

from enact import feedback as feedback_api
from enact._datasets.chunks import ChunkCounter
from enact._datasets.formats import encode_at, feedback_json
from enact._datasets.records import RecordReader
from enact._datasets.select import (
    Picked,
    Piece,
    Selection,
    chunk_picks,
    lineage_of,
    picked_calls,
)
from enact._datasets.values import require
from enact._runs.access import within
from enact._runs.records import RunInfo
from enact.feedback import Feedback
from enact.references import Ref, Store

__all__ = [
    "GENERIC_JSON_COLUMNS",
    "batches_of",
    "chunk_batches",
    "generic_batches",
    "generic_schema",
]

#: Columns of a generic row that Parquet and ``datasets`` keep as JSON text.
GENERIC_JSON_COLUMNS = ("input", "output", "context", "label", "correction", "feedback")
_BATCH_ROWS = 2048
# A batch is also made once its rows hold this much text: a store of large
# values is exported in the memory of a few of them.
_BATCH_BYTES = 2 << 20
_NULL = "null"


def generic_schema() -> Any:
    """The Arrow schema of generic rows."""
    pa = require("pyarrow")
    text = pa.large_string()
    return pa.schema(
        [
            ("run", pa.string()),
            ("path", pa.list_(pa.int64())),
            ("invocation", pa.string()),
            ("component", pa.string()),
            ("component_type", pa.string()),
            ("component_digest", pa.string()),
            ("parent_run", pa.string()),
            ("batch", pa.string()),
            ("sample", pa.int64()),
            ("input", text),
            ("output", text),
            ("error", text),
            ("context", text),
            ("score", pa.float64()),
            ("label", pa.string()),
            ("correction", text),
            ("feedback", text),
        ]
    )


class _Columns:
    """A batch of generic rows, each a tuple of its cells in the schema's order."""

    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = []
        self.size = 0  # characters of value text held

    def arrays(self) -> list[Any]:
        """The columns as Arrow arrays, in the schema's order."""
        pa = require("pyarrow")
        text, large = pa.string(), pa.large_string()
        (
            run,
            path,
            invocation,
            component,
            component_type,
            component_digest,
            parent_run,
            batch,
            sample,
            given,
            made,
            error,
            context,
            score,
            label,
            correction,
            feedback,
        ) = map(list, zip(*self.rows, strict=True))
        return [
            _strings(pa, text, run),
            _paths(pa, path),
            _strings(pa, text, invocation),
            _strings(pa, text, component),
            _strings(pa, text, component_type),
            _strings(pa, text, component_digest),
            _strings(pa, text, parent_run),
            _strings(pa, text, batch),
            _numbers(pa, pa.int64(), "q", sample),
            _strings(pa, large, given),
            _strings(pa, large, made),
            _strings(pa, large, error),
            _strings(pa, large, context),
            _numbers(pa, pa.float64(), "d", score),
            _strings(pa, text, label),
            _strings(pa, large, correction),
            _strings(pa, large, feedback),
        ]


def _validity(pa: Any, values: list[Any]) -> Any:
    """The validity bitmap of ``values`` (None if none is None)."""
    if None not in values:
        return None
    # Bit i of the bitmap is row i: the bits of one integer, little-endian.
    bits = "".join("0" if value is None else "1" for value in reversed(values))
    return pa.py_buffer(int(bits, 2).to_bytes((len(values) + 7) // 8, "little"))


def _strings(pa: Any, kind: Any, values: list[Any]) -> Any:
    offsets = array.array("q" if kind == pa.large_string() else "i", [0])
    data = _ascii(values)
    if data is not None:  # one encode, the offsets from the texts' lengths
        offsets.extend(itertools.accumulate(map(len, values)))
    else:
        parts = [b"" if value is None else value.encode() for value in values]
        offsets.extend(itertools.accumulate(map(len, parts)))
        data = b"".join(parts)
    return pa.Array.from_buffers(
        kind,
        len(values),
        [_validity(pa, values), pa.py_buffer(offsets), pa.py_buffer(data)],
    )


def _ascii(values: list[str | None]) -> bytes | None:
    """The texts' bytes in one piece, if none is None and all are ASCII (as
    digests, ids and most JSON are)."""
    if None in values:
        return None
    text = "".join(values)  # type: ignore[arg-type]
    data = text.encode()
    return data if len(data) == len(text) else None


def _numbers(pa: Any, kind: Any, code: str, values: list[Any]) -> Any:
    data = array.array(code, [0 if value is None else value for value in values])
    return pa.Array.from_buffers(
        kind, len(values), [_validity(pa, values), pa.py_buffer(data)]
    )


def _paths(pa: Any, paths: list[tuple[int, ...]]) -> Any:
    offsets = array.array("i", [0])
    offsets.extend(itertools.accumulate(map(len, paths)))
    flat = array.array("q", itertools.chain.from_iterable(paths))
    items = pa.Array.from_buffers(pa.int64(), len(flat), [None, pa.py_buffer(flat)])
    return pa.Array.from_buffers(
        pa.list_(pa.int64()),
        len(paths),
        [None, pa.py_buffer(offsets)],
        children=[items],
    )


class _Row:
    """Makes the cells of one row that need more than a stored text."""

    __slots__ = ("by_reference", "number", "picked", "store")

    def __init__(
        self, picked: Picked, number: int, store: Store, by_reference: bool
    ) -> None:
        self.picked = picked
        self.number = number
        self.store = store
        self.by_reference = by_reference

    def cell(self, value: Any, field: str) -> str:
        found = encode_at(
            value, lineage_of(self.picked), self.number, field, self.by_reference
        )
        return orjson.dumps(found).decode()


def generic_batches(
    selection: Selection, store: Store, *, by_reference: bool = False
) -> Iterator[Any]:
    """The generic rows of the selected calls as Arrow record batches.

    A batch ends where a chunk (:mod:`enact._datasets.chunks`) ends, so
    the batches are those a parallel export's workers make.

    Raises:
        DatasetError: for a bad selection.
        UnencodableValue: for a value with no JSON form (unless
            ``by_reference``).
    """
    notes_by_call = feedback_api.all_feedback(store)
    reader = RecordReader(store, texts=True)
    counter = ChunkCounter(selection.at is not None)
    picks = picked_calls(selection, store, reader, notes_by_call, counter.run)
    chunk_of = counter.chunk_of
    return batches_of(((chunk_of(p.path), p) for p in picks), store, by_reference)


def chunk_batches(
    selection: Selection,
    store: Store,
    reader: RecordReader,
    notes_by_call: dict[tuple[str, tuple[int, ...]], list[Feedback]],
    runs: dict[str, tuple[RunInfo, dict[str, Any]]],
    pieces: list[Piece],
    by_reference: bool,
) -> Iterator[Any]:
    """The generic rows of one chunk as Arrow record batches (rows numbered
    from 0 in errors)."""
    picks = chunk_picks(selection, store, reader, notes_by_call, runs, pieces)
    return batches_of(((0, p) for p in picks), store, by_reference)


def batches_of(
    picks: Iterator[tuple[int, Picked]], store: Store, by_reference: bool
) -> Iterator[Any]:
    """Picked calls (each with its chunk) as Arrow record batches of generic
    rows: a batch ends at 2,048 rows, 2 MiB of value text, or a chunk's end."""
    pa = require("pyarrow")
    schema = generic_schema()
    columns = _Columns()
    chunk = 0
    for number, (found_in, picked) in enumerate(picks):
        if found_in != chunk:
            if columns.rows:
                yield pa.RecordBatch.from_arrays(columns.arrays(), schema=schema)
                columns = _Columns()
            chunk = found_in
        parts, parent, info = picked.parts, picked.parent, picked.info
        given, made = parts.input_text, parts.output_text
        context = _NULL if parent is None else parent.input_text
        if (
            given is None
            or context is None
            or (made is None and parts.output_digest is not None)
        ):
            row = _Row(picked, number, store, by_reference)
            if given is None:
                given = row.cell(parts.input, "input")
            if made is None:
                made = row.cell(parts.output, "output")
            if context is None:
                assert parent is not None
                context = row.cell(parent.input, "context")
        elif made is None:
            made = _NULL
        summary = picked.summary
        if summary is None:
            score, label, fixed, notes = None, _NULL, _NULL, "[]"
        else:
            score = None if summary["score"] is None else float(summary["score"])
            label = orjson.dumps(summary["label"]).decode()
            correction = summary["correction"]
            fixed = _NULL
            if correction is not None:
                fresh: Ref[Any] = Ref(correction.digest)
                value = within(store, fresh.checkout)
                fixed = _Row(picked, number, store, by_reference).cell(
                    value, "correction"
                )
            notes = orjson.dumps(feedback_json(picked.notes)).decode()
        columns.rows.append(
            (
                info.id,
                picked.path,
                parts.invocation,
                picked.component,
                picked.component_type,
                parts.invokable_digest,
                info.parent,
                picked.batch,
                picked.sample,
                given,
                made,
                parts.error,
                context,
                score,
                label,
                fixed,
                notes,
            )
        )
        columns.size += len(given) + len(made) + len(context)
        if len(columns.rows) >= _BATCH_ROWS or columns.size >= _BATCH_BYTES:
            yield pa.RecordBatch.from_arrays(columns.arrays(), schema=schema)
            columns = _Columns()
    if columns.rows:
        yield pa.RecordBatch.from_arrays(columns.arrays(), schema=schema)
