"""Fixtures for the durable-run tests."""

from __future__ import annotations

import collections
from collections.abc import Iterator

import pytest

import enact
from runs.flows import CALLS


@pytest.fixture
def calls() -> Iterator[collections.Counter[str]]:
    """Execution counters of the shared components, starting at zero."""
    CALLS.clear()
    yield CALLS
    CALLS.clear()


@pytest.fixture
def active(store: enact.Store) -> Iterator[enact.Store]:
    """The parametrized ``store`` (memory, file, sqlite), entered."""
    with store:
        yield store
