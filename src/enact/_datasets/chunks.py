"""An export's calls cut into chunks: what a parallel export hands its workers.

The selected runs' calls, in the export's order, are counted in *units*: a
run's top-level call is one unit, and the call tree of each call it made is
one more (see :func:`~enact._datasets.calls.units_of`), so a run is divided
at its top-level calls. Consecutive units, across runs, make a chunk of
:data:`CHUNK_UNITS`. Where the chunks start depends on the store alone (its
runs, and how many calls each top-level call made), never on how many
processes export them: a serial export cuts its row batches at the same
places, so the files a serial and a parallel export write are the same
bytes.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterator

from enact._datasets.records import RecordReader
from enact._datasets.select import Piece, Selection, runs_of
from enact.references import Store

__all__ = ["CHUNK_UNITS", "ChunkCounter", "Chunker", "plan"]

#: Units in a chunk.
CHUNK_UNITS = 2048
# Runs whose top-level calls the planner reads at once.
_RUNS_READ = 256


class Chunker:
    """Where chunks start, told each run's number of units in turn."""

    def __init__(self, size: int | None = None) -> None:
        self.size = CHUNK_UNITS if size is None else size
        self.filled = 0  # units in the current chunk

    def starts(self, units: int) -> list[int]:
        """The units of the next run (of ``units`` units) where a chunk
        starts, in order (none if the run fits in the current chunk)."""
        found = list(range(self.size - self.filled, units, self.size))
        self.filled = units - found[-1] if found else self.filled + units
        return found


class ChunkCounter:
    """The chunk of each call of a serial walk, told each run's units in turn
    (:data:`~enact._datasets.select.OnRun`)."""

    def __init__(self, at: bool) -> None:
        self.chunker = Chunker()
        self.at = at  # one call per run (a selection at a path)
        self.first = 0  # the chunk the current run starts in
        self.starts: list[int] = []  # the units of it where later ones start

    def run(self, units: int) -> None:
        """Enters the next run, of ``units`` units."""
        self.first += len(self.starts)
        self.starts = self.chunker.starts(units)

    def chunk_of(self, path: tuple[int, ...]) -> int:
        """The chunk of the current run's call at ``path``."""
        unit = 0 if self.at or not path else path[0] + 1
        return self.first + bisect.bisect_right(self.starts, unit)


def plan(
    selection: Selection, store: Store, reader: RecordReader
) -> Iterator[list[Piece]]:
    """The chunks of the selected calls, in order, each a list of pieces.

    Reads each selected run's top-level call (its journal records alone, for
    how many calls it made), a few hundred runs at a time.

    Raises:
        DatasetError: for a bad selection.
    """
    chunker = Chunker()
    pieces: list[Piece] = []
    runs = runs_of(store, selection)
    for start in range(0, len(runs), _RUNS_READ):
        group = runs[start : start + _RUNS_READ]
        counts = [1] * len(group)  # at a path: one call of each run, at most
        if selection.at is None:
            tops = [info.invocation.digest for info, _ in group]  # type: ignore[union-attr]
            try:
                counts = [1 + len(each) for each in reader.children(tops)]
            except Exception:
                counts = []  # read one at a time, to fail at the run that does
        for number, (info, _) in enumerate(group):
            if number == len(counts):
                try:
                    (children,) = reader.children([tops[number]])
                except Exception:
                    if pieces:  # the calls before it are exported first
                        yield pieces
                    raise
                counts.append(1 + len(children))
            units = counts[number]
            starts = chunker.starts(units)
            bounds = sorted({0, units, *starts})
            for first, stop in itertools.pairwise(bounds):
                if pieces and first in starts:
                    yield pieces
                    pieces = []
                pieces.append(Piece(info.id, first, stop))
    if pieces:
        yield pieces
