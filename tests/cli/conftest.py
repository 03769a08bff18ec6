"""Fixtures of the command-line tests: filled stores."""

from __future__ import annotations

import dataclasses
import pathlib

import pytest

from .helpers import make_store


@dataclasses.dataclass
class Filled:
    """A store made by ``make_store``, and what is in it."""

    path: pathlib.Path
    made: dict[str, str]


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Filled:
    """A filled store directory, made once per test module.

    Tests that change runs use each run for one purpose only, so they stay
    independent of their order. (``test_sqlite.py`` runs the commands against
    a SQLite store.)
    """
    path = tmp_path_factory.mktemp("cli-files") / "store"
    return Filled(path, make_store(path))
