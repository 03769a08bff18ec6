"""Fixtures for the batch tests: stores other processes can open, and a side
log every process appends to."""

from __future__ import annotations

import collections
import os
import pathlib
from collections.abc import Callable, Iterator

import pytest

import enact

STORE_KINDS = ["file", "sqlite"]


@pytest.fixture(params=STORE_KINDS)
def shared_store(
    request: pytest.FixtureRequest, tmp_path: pathlib.Path
) -> Iterator[enact.Store]:
    """A file or SQLite store (parametrized): worker processes open it too."""
    if request.param == "sqlite":
        store = enact.SQLiteStore(tmp_path / "store.db")
    else:
        store = enact.FileStore(tmp_path / "store")
    yield store
    store.close()


@pytest.fixture
def side_log(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[], collections.Counter[str]]:
    """Points ``ENACT_SIDE_LOG`` at a file (inherited by workers); returns a
    function counting its keys."""
    path = tmp_path / "side.log"
    monkeypatch.setenv("ENACT_SIDE_LOG", str(path))

    def counts() -> collections.Counter[str]:
        if not path.exists():
            return collections.Counter()
        return collections.Counter(
            line.split()[0] for line in path.read_text().splitlines()
        )

    return counts


def side_lines(path: str | os.PathLike[str]) -> list[list[str]]:
    """The side log's lines, split."""
    try:
        return [line.split() for line in pathlib.Path(path).read_text().splitlines()]
    except FileNotFoundError:
        return []


Hold = Callable[[int, int, int], None]


@pytest.fixture
def hold(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> Hold:
    """Sets how many calls a ``Held`` call waits for inside, how many samples
    are in flight, and how many there are."""

    def setup(enough: int, in_flight: int, total: int) -> None:
        monkeypatch.setenv("ENACT_HOLDERS", str(tmp_path / "holders"))
        monkeypatch.setenv("ENACT_HOLD_FOR", str(enough))
        monkeypatch.setenv("ENACT_HOLD_INFLIGHT", str(in_flight))
        monkeypatch.setenv("ENACT_HOLD_TOTAL", str(total))

    return setup


def counted(tmp_path: pathlib.Path) -> tuple[int, int, int]:
    """(inside now, the most ever inside at once, samples done)."""
    now, most, _, done = (tmp_path / "holders").read_text().split()
    return int(now), int(most), int(done)
