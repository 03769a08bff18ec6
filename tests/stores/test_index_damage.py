"""Every single-byte flip and every truncation of a small store's files.

For the SQLite store: the database file, and the run journal a crashed run
left unfolded. For the file store: the run index (``runs/*.json``,
``names.json``, ``claims/``) and the step logs (``runs/*.steps``); its
object files are covered by the object-file tests.

The checks are in :mod:`stores.index_damage` (shared with the census in
``bench/damage.py``); each damaged copy must break none of its promises.
Large files are tested at sampled positions (``ENACT_DAMAGE_EVERY_BYTE=1``
tests every one).
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterable

import pytest

from .damage import CopyOutcome
from .index_damage import (
    SAMPLES,
    Pristine,
    build_file,
    build_sqlite,
    file_index_outcomes,
    sqlite_database_outcomes,
    sqlite_journal_outcomes,
)


def kept_promises(outcomes: Iterable[CopyOutcome]) -> list[CopyOutcome]:
    """The outcomes, once each is checked for broken promises."""
    seen = []
    for copy in outcomes:
        assert not copy.problems, copy.problems
        seen.append(copy)
    return seen


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Pristine:
    return build_sqlite(tmp_path_factory.mktemp("sqlite"))


@pytest.fixture(scope="module")
def file_store(tmp_path_factory: pytest.TempPathFactory) -> Pristine:
    return build_file(tmp_path_factory.mktemp("files"))


def test_every_flip_and_cut_of_the_sqlite_database(
    sqlite_store: Pristine, tmp_path: pathlib.Path
) -> None:
    copies = kept_promises(sqlite_database_outcomes(sqlite_store, tmp_path))
    assert len(copies) > SAMPLES


def test_every_flip_and_cut_of_an_unfolded_sqlite_journal(
    sqlite_store: Pristine, tmp_path: pathlib.Path
) -> None:
    copies = kept_promises(sqlite_journal_outcomes(sqlite_store, tmp_path))
    assert copies


def test_every_flip_and_cut_of_the_file_stores_run_index(
    file_store: Pristine, tmp_path: pathlib.Path
) -> None:
    copies = kept_promises(file_index_outcomes(file_store, tmp_path))
    assert {copy.file_type for copy in copies} == {
        "run records",
        "names",
        "claims",
        "step logs",
    }
