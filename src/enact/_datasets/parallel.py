"""A parallel export: worker processes make the rows of chunks, in order.

The parent plans the chunks (:mod:`enact._datasets.chunks`) and hands them
to worker processes, a bounded number at a time. A worker (forked from the
parent, with its store, or spawned, opening the store by its address) reads
its chunk's calls and writes their rows to a file of its own in a scratch
directory: JSON lines, or the chunk's Arrow record batches as an Arrow
stream. The parent takes the chunks' files in order, appends them to the
export and deletes them, so an export holds a few chunks on disk and a
batch in memory in each process, whatever the size of the store.

A worker reports an error by what it holds (its class and fields), and the
parent raises it in the chunk's turn: the error a serial export would give,
its row counted from the start of the export.
"""

from __future__ import annotations

import collections
import concurrent.futures
import concurrent.futures.process
import dataclasses
import importlib
import multiprocessing
import os
import threading
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

import orjson

from enact import feedback as feedback_api
from enact._datasets.chunks import plan
from enact._datasets.columns import chunk_batches, generic_schema
from enact._datasets.formats import format_rows
from enact._datasets.records import RecordReader
from enact._datasets.select import Piece, Selection, chunk_picks, runs_of
from enact._datasets.values import DatasetError, require
from enact._importable import MAIN, recorded_module
from enact._invocations.calls import registered_functions
from enact._runs.records import RunInfo
from enact._store_urls import StoreAddress, open_address, store_address
from enact.resource_registry import Registry

__all__ = [
    "Chunk",
    "Counted",
    "Workers",
    "check_workers",
    "chunk_files",
    "format_lines",
    "start_method",
]

# Chunks handed out at once, per worker.
_AHEAD = 2
# A key no object has, looked up to make a store read its index.
_NO_KEY = "0" * 64
# A JSON-lines file is written this many rows or bytes at a time.
_PIECE_ROWS = 2048
_PIECE_BYTES = 2 << 20


class Workers(NamedTuple):
    """How the worker processes of a parallel export start."""

    #: How many.
    number: int
    #: ``"fork"``: they are copies of this process, its store (and the index
    #: it has read) and types with them. ``"spawn"``: fresh interpreters,
    #: which import the modules of the registered types and open the store
    #: by its address.
    method: str
    #: The store's address (spawned workers only).
    address: StoreAddress | None


def check_workers(workers: int, store: Any, format: str) -> Workers | None:
    """How ``workers`` processes export from ``store``; None for one process.

    Workers are forked where the system can fork and this process runs no
    other thread (a thread may hold a lock that the copy would wait on
    forever), and spawned otherwise.

    Raises:
        DatasetError: for a number of workers that is not a whole number of
            at least 1; for more than one for the preference formats, or for
            spawned workers of a store other processes cannot open (a memory
            store, one of parts or of a custom backend).
    """
    if type(workers) is not int or workers < 1:
        raise DatasetError(
            f"workers is how many processes export: 1 or more, not {workers!r}"
        )
    if workers == 1:
        return None
    if format in ("dpo", "openai-dpo"):
        raise DatasetError(
            f"{format} rows pair calls from the whole selection and are made by "
            "one process: export them with workers=1"
        )
    method = start_method()
    if method == "fork":
        return Workers(workers, method, None)
    address = store_address(store)
    if address is None:
        raise DatasetError(
            f"the store {store.location} cannot be opened by other processes "
            "(a memory store, one of parts or of a custom backend), and this "
            "process runs other threads, so its workers cannot be forked from "
            "it: export it with workers=1"
        )
    return Workers(workers, method, address)


def start_method() -> str:
    """``"fork"`` if this process can fork safely, else ``"spawn"``."""
    if "fork" in multiprocessing.get_all_start_methods() and (
        threading.active_count() == 1
    ):
        return "fork"
    return "spawn"


class Chunk(NamedTuple):
    """A chunk's rows, written by a worker."""

    #: The file that holds them.
    path: str
    #: How many rows it holds.
    rows: int
    #: Of a Parquet export: each record batch's ``nbytes`` as it was made.
    sizes: tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class _Job:
    """What every worker of one export is told (picklable)."""

    #: The store's address (None: the store is the forked parent's).
    address: StoreAddress | None
    modules: tuple[str, ...]
    #: The selection (without its store, for spawned workers).
    selection: Selection
    #: ``"parquet"``, or a format written as JSON lines.
    kind: str
    by_reference: bool
    lineage: bool


class _Failure(NamedTuple):
    """An error a worker met: its class and what it holds."""

    kind: type[BaseException]
    args: tuple[Any, ...]
    state: dict[str, Any]

    def error(self, first_row: int) -> BaseException:
        """The error again, its row counted from ``first_row``."""
        error = self.kind.__new__(self.kind)
        error.args = self.args
        error.__dict__.update(self.state)
        row = self.state.get("row")
        if first_row and type(row) is int and self.args:
            message = str(self.args[0])
            prefix = f"row {row}"
            if message.startswith(prefix + " "):
                error.args = (f"row {row + first_row}{message[len(prefix) :]}",)
                error.__dict__["row"] = row + first_row
        return error


def _modules() -> tuple[str, ...]:
    """The modules that define the registered types and functions, which a
    worker imports so that it can read what the parent can."""
    found: dict[str, None] = {}
    classes: list[Any] = [*Registry.get().classes(), *registered_functions.values()]
    for each in classes:
        module = recorded_module(getattr(each, "__module__", None) or MAIN)
        if module != MAIN:
            found.setdefault(module, None)
    return tuple(found)


def chunk_files(
    selection: Selection,
    store: Any,
    kind: str,
    *,
    workers: Workers,
    scratch: str,
    by_reference: bool,
    lineage: bool,
) -> Iterator[Chunk]:
    """The chunks of the selected calls, written by worker processes, in
    order (delete each file once used).

    Raises:
        DatasetError, UnencodableValue, InvalidRow, ...: what a serial export
            raises, in the same row's turn.
    """
    forked = workers.method == "fork"
    job = _Job(
        workers.address,
        () if forked else _modules(),
        selection if forked else dataclasses.replace(selection, store=None),
        kind,
        by_reference,
        lineage,
    )
    pool = concurrent.futures.ProcessPoolExecutor(
        workers.number,
        mp_context=multiprocessing.get_context(workers.method),
        initializer=_start,
        initargs=(job,),
    )
    pending: collections.deque[concurrent.futures.Future[Chunk | _Failure]]
    pending = collections.deque()
    chunks = plan(selection, store, RecordReader(store))
    if not forked:  # they start (import, open the store) while this one plans
        for _ in range(workers.number):
            pool.submit(_export_chunk, "", [])
    planned: BaseException | None = None  # an error planning: raised in turn
    rows = 0
    try:
        number = 0
        while True:
            while planned is None and len(pending) < workers.number * _AHEAD:
                try:
                    pieces = next(chunks, None)
                except Exception as error:
                    planned = error
                    break
                if pieces is None:
                    break
                path = os.path.join(scratch, f"chunk-{number}")
                pending.append(pool.submit(_export_chunk, path, pieces))
                number += 1
            if not pending:
                break
            try:
                found = pending.popleft().result()
            except concurrent.futures.process.BrokenProcessPool as error:
                raise DatasetError(
                    "a worker process of the export ended abruptly (killed, out "
                    "of memory, or a script that starts workers without "
                    "`if __name__ == '__main__':`): export with workers=1, or "
                    "fix that"
                ) from error
            if isinstance(found, _Failure):
                raise found.error(rows) from None
            rows += found.rows
            yield found
        if planned is not None:
            raise planned
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class _Worker:
    """A worker process's store and readers, for the chunks of one export."""

    def __init__(self, job: _Job) -> None:
        for module in job.modules:
            try:
                importlib.import_module(module)
            except Exception:  # a value of its types is reported when read
                pass
        self.job = job
        if job.address is None:  # forked: the parent's store
            assert job.selection.store is not None
            self.store = job.selection.store
            self.selection = job.selection
        else:
            self.store = open_address(job.address)
            self.selection = dataclasses.replace(job.selection, store=self.store)
        self.notes = feedback_api.all_feedback(self.store)
        self.reader = RecordReader(self.store, texts=job.kind == "parquet")
        self.runs: dict[str, tuple[RunInfo, dict[str, Any]]] = {}

    def runs_of(self, pieces: list[Piece]) -> dict[str, tuple[RunInfo, dict[str, Any]]]:
        """The selected runs, those of ``pieces`` among them (read again if
        a run ended after this worker read them)."""
        if any(piece.run not in self.runs for piece in pieces):
            found = runs_of(self.store, self.selection)
            self.runs = {info.id: (info, raw) for info, raw in found}
        return self.runs


_job: list[_Job] = []
_worker: list[_Worker] = []


def _start(job: _Job) -> None:
    _job[:] = [job]


def _export_chunk(path: str, pieces: list[Piece]) -> Chunk | _Failure:
    """In a worker: writes the rows of ``pieces`` to ``path``."""
    try:
        if not _worker:
            _worker.append(_Worker(_job[0]))
        worker = _worker[0]
        if not path:  # a worker's start: it reads the store's index
            worker.store.objects.has_many([_NO_KEY])
            return Chunk(path, 0, ())
        if worker.job.kind == "parquet":
            return _write_batches(worker, path, pieces)
        return _write_lines(worker, path, pieces)
    except Exception as error:
        return _Failure(type(error), error.args, dict(vars(error)))


def _write_batches(worker: _Worker, path: str, pieces: list[Piece]) -> Chunk:
    pa = require("pyarrow")
    job = worker.job
    batches = chunk_batches(
        worker.selection,
        worker.store,
        worker.reader,
        worker.notes,
        worker.runs_of(pieces),
        pieces,
        job.by_reference,
    )
    rows = 0
    sizes: list[int] = []
    with (
        pa.OSFile(path, "wb") as sink,
        pa.ipc.new_stream(sink, generic_schema()) as out,
    ):
        for batch in batches:
            out.write_batch(batch)
            rows += batch.num_rows
            sizes.append(batch.nbytes)
    return Chunk(path, rows, tuple(sizes))


def format_lines(rows: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """Rows as pieces of a JSON-lines file, a few thousand lines each."""
    chunk: list[bytes] = []
    size = 0
    for row in rows:
        line = orjson.dumps(row)
        chunk.append(line)
        size += len(line)
        if len(chunk) >= _PIECE_ROWS or size >= _PIECE_BYTES:
            yield b"\n".join(chunk) + b"\n"
            chunk.clear()
            size = 0
    if chunk:
        yield b"\n".join(chunk) + b"\n"


def _write_lines(worker: _Worker, path: str, pieces: list[Piece]) -> Chunk:
    job = worker.job
    picks = chunk_picks(
        worker.selection,
        worker.store,
        worker.reader,
        worker.notes,
        worker.runs_of(pieces),
        pieces,
    )
    counted = Counted(
        format_rows(
            picks, worker.store, worker.notes, job.kind, job.by_reference, job.lineage
        )
    )
    with open(path, "wb") as file:
        for piece in format_lines(counted):
            file.write(piece)
    return Chunk(path, counted.count, ())


class Counted:
    """An iterator of rows that counts them."""

    def __init__(self, rows: Iterator[dict[str, Any]]) -> None:
        self.rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for row in self.rows:
            self.count += 1
            yield row
