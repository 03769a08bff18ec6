"""Rows of a format, streamed, checked, and written to JSONL or Parquet.

Rows are made one at a time from the selected calls and written in batches,
so an export holds one batch of rows in memory whatever the size of the
store; a parallel export (:mod:`enact._datasets.parallel`) has worker
processes make the rows of chunks and appends them in order. A file is
written under a temporary name and renamed when complete: an export that
fails leaves no half-written file behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from enact import feedback as feedback_api
from enact._datasets.columns import (
    GENERIC_JSON_COLUMNS,
    generic_batches,
    generic_schema,
)
from enact._datasets.formats import FORMATS, format_rows, validate
from enact._datasets.pairs import pair_row, preference_pairs
from enact._datasets.parallel import Counted, Workers, chunk_files, format_lines
from enact._datasets.records import RecordReader
from enact._datasets.select import Selection, picked_calls
from enact._datasets.values import DatasetError, require
from enact.references import Store

__all__ = [
    "GENERIC_JSON_COLUMNS",
    "check_file",
    "iter_rows",
    "require",
    "write_generic_parquet",
    "write_jsonl",
    "write_jsonl_parallel",
    "write_parquet",
]
# A Parquet row group is written once it holds this many rows or bytes.
_GROUP_ROWS = 1 << 16
_GROUP_BYTES = 8 << 20

_BATCH_ROWS = 2048
# A batch is also written once its rows hold this much text: a store of
# large values is exported in the memory of a few of them.
_BATCH_BYTES = 2 << 20


def iter_rows(
    selection: Selection,
    store: Store,
    format: str = "generic",
    *,
    by_reference: bool = False,
    lineage: bool = True,
) -> Iterator[dict[str, Any]]:
    """The rows of a format, each checked against it, in a deterministic order.

    Raises:
        DatasetError: for an unknown format or a bad selection.
        UnencodableValue: for a value with no JSON form (unless
            ``by_reference``).
        InvalidRow: for a row that does not fit its format.
    """
    if format not in FORMATS:
        raise DatasetError(f"unknown format {format!r}: one of {', '.join(FORMATS)}")
    number = 0
    if format in ("dpo", "openai-dpo"):
        for pair in preference_pairs(selection, store):
            row = pair_row(pair, store, format, lineage)
            validate(row, format, number)
            yield row
            number += 1
        return
    notes_by_call = feedback_api.all_feedback(store)
    reader = RecordReader(store)  # components and requests recur across runs
    picks = picked_calls(selection, store, reader, notes_by_call)
    yield from format_rows(picks, store, notes_by_call, format, by_reference, lineage)


@contextlib.contextmanager
def _replaced(out: str) -> Iterator[str]:
    """A temporary name in ``out``'s directory to write the file under:
    renamed to ``out`` if the block succeeds, else removed."""
    directory = os.path.dirname(os.path.abspath(out))
    temp = os.path.join(
        directory, f".{os.path.basename(out)}.{uuid.uuid4().hex}.partial"
    )
    try:
        yield temp
        os.replace(temp, out)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


def _scratch(out: str) -> tempfile.TemporaryDirectory[str]:
    """A directory beside ``out`` for the chunks of a parallel export."""
    directory = os.path.dirname(os.path.abspath(out))
    return tempfile.TemporaryDirectory(
        prefix=f".{os.path.basename(out)}.", suffix=".chunks", dir=directory
    )


def write_jsonl(rows: Iterator[dict[str, Any]], out: str) -> int:
    """Writes rows as JSON lines to ``out``; returns how many."""
    counted = Counted(rows)
    with _replaced(out) as temp, open(temp, "wb") as file:
        for piece in format_lines(counted):
            file.write(piece)
    return counted.count


def write_jsonl_parallel(
    selection: Selection,
    store: Store,
    out: str,
    format: str,
    *,
    workers: Workers,
    by_reference: bool,
    lineage: bool,
) -> int:
    """Writes rows as JSON lines to ``out``, made by worker processes;
    returns how many (the file :func:`write_jsonl` would write)."""
    count = 0
    with _replaced(out) as temp, _scratch(out) as scratch, open(temp, "wb") as file:
        for chunk in chunk_files(
            selection,
            store,
            format,
            workers=workers,
            scratch=scratch,
            by_reference=by_reference,
            lineage=lineage,
        ):
            with open(chunk.path, "rb") as part:
                shutil.copyfileobj(part, file, 1 << 20)
            os.unlink(chunk.path)
            count += chunk.rows
    return count


def _json_line(row: dict[str, Any]) -> bytes:
    """A generic row as one JSON line, its JSON columns as JSON text."""
    flat = dict(row)
    for column in GENERIC_JSON_COLUMNS:
        flat[column] = orjson.dumps(row[column]).decode()
    return orjson.dumps(flat)


def arrow_tables(rows: Iterator[dict[str, Any]]) -> Iterator[Any]:
    """Generic rows as Arrow tables of a batch of rows each.

    A batch is gathered as JSON lines and parsed by Arrow's JSON reader
    against the generic schema: that is faster than building Arrow arrays
    from Python lists, and it does not import pandas (which pyarrow does to
    look at Python lists), which keeps an export's memory small.
    """
    pa = require("pyarrow")
    json = require("pyarrow.json")
    schema = generic_schema()
    parse = json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error")
    lines: list[bytes] = []
    size = 0

    def table() -> Any:
        data = b"\n".join(lines)
        read = json.ReadOptions(use_threads=False, block_size=len(data) + 1)
        found = json.read_json(
            pa.BufferReader(data), read_options=read, parse_options=parse
        )
        return found.select(schema.names)

    for row in rows:
        line = _json_line(row)
        lines.append(line)
        size += len(line)
        if len(lines) >= _BATCH_ROWS or size >= _BATCH_BYTES:
            yield table()
            lines.clear()
            size = 0
    if lines:
        yield table()


def write_parquet(rows: Iterator[dict[str, Any]], out: str) -> int:
    """Writes generic rows to a Parquet file; returns how many."""
    parquet = require("pyarrow.parquet")
    count = 0
    with (
        _replaced(out) as temp,
        parquet.ParquetWriter(temp, generic_schema(), compression="zstd") as writer,
    ):
        for table in arrow_tables(rows):
            writer.write_table(table)
            count += table.num_rows
    return count


def write_generic_parquet(
    selection: Selection,
    store: Store,
    out: str,
    *,
    by_reference: bool = False,
    workers: Workers | None = None,
) -> int:
    """Writes the generic rows of the selected calls to a Parquet file.

    Rows are built a column at a time (:mod:`enact._datasets.columns`) and
    written in row groups of up to 65,536 rows or 8 MiB; with ``workers``,
    worker processes make them (the same file). Returns how many.
    """
    parquet = require("pyarrow.parquet")
    with (
        _replaced(out) as temp,
        parquet.ParquetWriter(temp, generic_schema(), compression="zstd") as writer,
    ):
        if workers is None:
            batches = generic_batches(selection, store, by_reference=by_reference)
            return _write_groups(writer, ((b, b.nbytes) for b in batches))
        with _scratch(out) as scratch:
            chunks = chunk_files(
                selection,
                store,
                "parquet",
                workers=workers,
                scratch=scratch,
                by_reference=by_reference,
                lineage=True,
            )
            return _write_groups(writer, _chunk_batches(chunks))


def _chunk_batches(chunks: Iterable[Any]) -> Iterator[tuple[Any, int]]:
    """The record batches of chunk files, each with its size as made."""
    pa = require("pyarrow")
    for chunk in chunks:
        with pa.OSFile(chunk.path, "rb") as source:
            reader = pa.ipc.open_stream(source)
            yield from zip(reader, chunk.sizes, strict=True)
        os.unlink(chunk.path)


def _write_groups(writer: Any, batches: Iterator[tuple[Any, int]]) -> int:
    """Writes record batches (each with its size) in row groups of up to
    65,536 rows or 8 MiB; returns how many rows."""
    pa = require("pyarrow")
    group: list[Any] = []
    count = rows = size = 0
    for batch, nbytes in batches:
        group.append(batch)
        rows += batch.num_rows
        size += nbytes
        if rows >= _GROUP_ROWS or size >= _GROUP_BYTES:
            writer.write_table(pa.Table.from_batches(group), row_group_size=rows)
            count += rows
            group.clear()
            rows = size = 0
    if group:
        writer.write_table(pa.Table.from_batches(group), row_group_size=rows)
        count += rows
    return count


def check_file(path: str, format: str = "generic") -> int:
    """Reads an exported file back and checks every row against its format.

    A ``.parquet`` file is read with pyarrow (its JSON columns parsed); any
    other file as JSON lines.

    Returns:
        How many rows it holds.

    Raises:
        InvalidRow: for the first row that does not fit.
    """
    count = 0
    if path.endswith(".parquet"):
        parquet = require("pyarrow.parquet")
        for batch in parquet.ParquetFile(path).iter_batches(batch_size=_BATCH_ROWS):
            for row in batch.to_pylist():
                for column in GENERIC_JSON_COLUMNS:
                    if column in row and isinstance(row[column], str):
                        row[column] = orjson.loads(row[column])
                validate(row, format, count)
                count += 1
        return count
    with open(path, "rb") as file:
        for line in file:
            try:
                row = orjson.loads(line)
            except orjson.JSONDecodeError as error:
                raise DatasetError(
                    f"line {count + 1} of {path} is not JSON: {error}"
                ) from None
            validate(row, format, count)
            count += 1
    return count
