"""Executions as training data: select journaled calls and export them.

:func:`rows` yields the selected calls of a store as rows of a format, one at
a time; :func:`export` writes them to a JSON-lines or Parquet file and
:func:`to_dataset` builds a Hugging Face ``datasets.Dataset``. Every row
says which call it came from (run, path, invocation digest, component type
and digest, batch and sample index). Formats: ``generic`` (input, output,
context, feedback), ``sft`` (OpenAI chat ``messages``), ``dpo`` (TRL
``prompt``/``chosen``/``rejected``), ``openai-dpo`` (``input``,
``preferred_output``, ``non_preferred_output``), ``kto`` (``prompt``,
``completion``, ``label``) and ``stepwise`` (``prompt``, ``completions``,
``labels``). See ``docs/datasets.md``.

Example::

    with enact.FileStore("runs"):
        enact.datasets.export("poems.parquet", component="Poem",
                              feedback="score>=4")
        for row in enact.datasets.rows(component="Poem", format="sft"):
            ...
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from typing import Any

from enact._datasets.formats import FORMATS, InvalidRow, validate
from enact._datasets.parallel import check_workers
from enact._datasets.select import Lineage, Selection
from enact._datasets.values import DatasetError, UnencodableValue
from enact._datasets.writers import (
    check_file,
    iter_rows,
    require,
    write_generic_parquet,
    write_jsonl,
    write_jsonl_parallel,
)
from enact._runs.access import current_store
from enact._runs.handle import Run
from enact.references import Store

__all__ = [
    "FORMATS",
    "DatasetError",
    "InvalidRow",
    "Lineage",
    "Selection",
    "UnencodableValue",
    "check_file",
    "export",
    "rows",
    "select",
    "to_dataset",
    "validate",
]


def select(
    selection: Selection | None = None,
    *,
    component: str | None = None,
    runs: Iterable[Run | str] | None = None,
    tag: str | None = None,
    feedback: str | None = None,
    batch: str | None = None,
    at: Iterable[int] | None = None,
    store: Store | None = None,
) -> Selection:
    """A :class:`Selection` from keyword arguments (over ``selection``'s).

    Raises:
        NoActiveContext: if no store is given and none is current.
    """
    base = selection or Selection()
    chosen = store or base.store or current_store()
    return Selection(
        component=component if component is not None else base.component,
        runs=tuple(r.id if isinstance(r, Run) else str(r) for r in runs)
        if runs is not None
        else base.runs,
        tag=tag if tag is not None else base.tag,
        feedback=feedback if feedback is not None else base.feedback,
        batch=batch if batch is not None else base.batch,
        at=tuple(at) if at is not None else base.at,
        store=chosen,
    )


def rows(
    selection: Selection | None = None,
    *,
    format: str = "generic",
    by_reference: bool = False,
    lineage: bool = True,
    **criteria: Any,
) -> Iterator[dict[str, Any]]:
    """The selected calls as rows of ``format``, one at a time.

    Args:
        selection: Which calls; keyword ``criteria`` (``component``, ``runs``,
            ``tag``, ``feedback``, ``batch``, ``at``, ``store``) add to it.
        format: One of :data:`FORMATS`.
        by_reference: Write a value with no JSON form (binary data, an
            unregistered type) as ``{"$digest": ...}`` instead of failing.
        lineage: Add the ``enact`` lineage column to rows of the training
            formats (generic rows always carry their lineage columns).

    Raises:
        DatasetError: for an unknown format or a bad selection.
        UnencodableValue: naming the row, the call and the field.
        InvalidRow: for a row that does not fit its format.
    """
    chosen = select(selection, **criteria)
    assert chosen.store is not None
    return iter_rows(
        chosen, chosen.store, format, by_reference=by_reference, lineage=lineage
    )


def export(
    out: str,
    selection: Selection | None = None,
    *,
    format: str = "generic",
    by_reference: bool = False,
    lineage: bool = True,
    workers: int = 1,
    **criteria: Any,
) -> int:
    """Writes the selected calls to a file; returns how many rows it holds.

    A file ending in ``.parquet`` is written as Parquet (generic rows only,
    their value columns as JSON text; needs ``enact[datasets]``); any other
    as JSON lines. Arguments are those of :func:`rows`, and:

    Args:
        workers: How many processes make the rows (1: this one alone). With
            more, the calls are cut into chunks in the export's order, worker
            processes open the store by its address and make the rows of a
            chunk each, and this process writes them in order: the same file
            as with one. Worker processes import the modules of the registered
            types; a script that exports with workers must guard its own work
            with ``if __name__ == "__main__":``.

    Raises:
        DatasetError: for a Parquet export of a training format, or workers
            that are not a whole number of at least 1, or more than one for
            a store other processes cannot open (a memory store) or for the
            preference formats (``dpo``, ``openai-dpo``).
    """
    if out.endswith(".parquet") and format != "generic":
        raise DatasetError(
            f"{format} rows are written as JSON lines (name the file .jsonl); "
            "Parquet holds generic rows"
        )
    chosen = select(selection, **criteria)
    assert chosen.store is not None
    spread = check_workers(workers, chosen.store, format)
    if out.endswith(".parquet"):
        return write_generic_parquet(
            chosen,
            chosen.store,
            out,
            by_reference=by_reference,
            workers=spread,
        )
    if spread is not None:
        if format not in FORMATS:
            raise DatasetError(
                f"unknown format {format!r}: one of {', '.join(FORMATS)}"
            )
        return write_jsonl_parallel(
            chosen,
            chosen.store,
            out,
            format,
            workers=spread,
            by_reference=by_reference,
            lineage=lineage,
        )
    stream = rows(chosen, format=format, by_reference=by_reference, lineage=lineage)
    return write_jsonl(stream, out)


def to_dataset(
    selection: Selection | None = None,
    *,
    format: str = "generic",
    by_reference: bool = False,
    lineage: bool = True,
    cache_dir: str | None = None,
    workers: int = 1,
    **criteria: Any,
) -> Any:
    """The selected calls as a Hugging Face ``datasets.Dataset``.

    Rows stream to a temporary file, which ``datasets`` turns into its Arrow
    cache (``cache_dir``, else its default), never all in memory at once.
    Generic rows keep their value columns as JSON text, as in Parquet; the
    training formats keep their nested lists and messages. ``workers`` is
    that of :func:`export`. Needs ``enact[datasets]``.
    """
    datasets = require("datasets")
    with tempfile.TemporaryDirectory(prefix="enact-dataset-") as scratch:
        if format == "generic":
            source = os.path.join(scratch, "rows.parquet")
            export(
                source,
                selection,
                by_reference=by_reference,
                workers=workers,
                **criteria,
            )
            loaded = datasets.Dataset.from_parquet(source, cache_dir=cache_dir)
        else:
            source = os.path.join(scratch, "rows.jsonl")
            export(
                source,
                selection,
                format=format,
                by_reference=by_reference,
                lineage=lineage,
                workers=workers,
                **criteria,
            )
            loaded = datasets.Dataset.from_json(source, cache_dir=cache_dir)
        # The dataset's Arrow cache is its own copy: the source file may go.
        return loaded
