"""Rows of a format, streamed, checked, and written to JSONL or Parquet.

Rows are made one at a time from the selected calls and written in batches,
so an export holds one batch of rows in memory whatever the size of the
store. A file is written under a temporary name and renamed when complete:
an export that fails leaves no half-written file behind.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import orjson

from enact._datasets.columns import (
    GENERIC_JSON_COLUMNS,
    generic_batches,
    generic_schema,
)
from enact._datasets.formats import (
    FORMATS,
    generic_row,
    kto_row,
    sft_row,
    stepwise_row,
    validate,
)
from enact._datasets.pairs import pair_row, preference_pairs
from enact._datasets.select import Selection, selected_calls
from enact._datasets.values import DatasetError, require
from enact.references import Store

__all__ = [
    "GENERIC_JSON_COLUMNS",
    "check_file",
    "iter_rows",
    "require",
    "write_generic_parquet",
    "write_jsonl",
    "write_parquet",
]
# A Parquet row group is written once it holds this many rows or bytes.
_GROUP_ROWS = 1 << 16
_GROUP_BYTES = 8 << 20

_BUILDERS = {
    "generic": generic_row,
    "sft": sft_row,
    "kto": kto_row,
    "stepwise": stepwise_row,
}
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
    build = _BUILDERS[format]
    for selected in selected_calls(selection, store):
        built = build(selected, number, by_reference)
        if built is None:
            continue
        row = built
        if format != "generic" and lineage:
            row["enact"] = selected.lineage.to_json()
        validate(row, format, number)
        yield row
        number += 1


def _replace_when_done(out: str) -> str:
    directory = os.path.dirname(os.path.abspath(out))
    return os.path.join(
        directory, f".{os.path.basename(out)}.{uuid.uuid4().hex}.partial"
    )


def write_jsonl(rows: Iterator[dict[str, Any]], out: str) -> int:
    """Writes rows as JSON lines to ``out``; returns how many."""
    temp = _replace_when_done(out)
    count = 0
    try:
        with open(temp, "wb") as file:
            chunk: list[bytes] = []
            size = 0
            for row in rows:
                line = orjson.dumps(row)
                chunk.append(line)
                size += len(line)
                count += 1
                if len(chunk) >= _BATCH_ROWS or size >= _BATCH_BYTES:
                    file.write(b"\n".join(chunk) + b"\n")
                    chunk.clear()
                    size = 0
            if chunk:
                file.write(b"\n".join(chunk) + b"\n")
        os.replace(temp, out)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
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
    temp = _replace_when_done(out)
    count = 0
    try:
        with parquet.ParquetWriter(
            temp, generic_schema(), compression="zstd"
        ) as writer:
            for table in arrow_tables(rows):
                writer.write_table(table)
                count += table.num_rows
        os.replace(temp, out)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
    return count


def write_generic_parquet(
    selection: Selection, store: Store, out: str, *, by_reference: bool = False
) -> int:
    """Writes the generic rows of the selected calls to a Parquet file.

    Rows are built a column at a time (:mod:`enact._datasets.columns`) and
    written in row groups of up to 65,536 rows or 8 MiB. Returns how many.
    """
    pa = require("pyarrow")
    parquet = require("pyarrow.parquet")
    temp = _replace_when_done(out)
    count = 0
    try:
        with parquet.ParquetWriter(
            temp, generic_schema(), compression="zstd"
        ) as writer:
            group: list[Any] = []
            rows = size = 0
            for batch in generic_batches(selection, store, by_reference=by_reference):
                group.append(batch)
                rows += batch.num_rows
                size += batch.nbytes
                if rows >= _GROUP_ROWS or size >= _GROUP_BYTES:
                    writer.write_table(
                        pa.Table.from_batches(group), row_group_size=rows
                    )
                    count += rows
                    group.clear()
                    rows = size = 0
            if group:
                writer.write_table(pa.Table.from_batches(group), row_group_size=rows)
                count += rows
        os.replace(temp, out)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
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
