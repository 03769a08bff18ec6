"""Fixtures for the invocation tests."""

from __future__ import annotations

import collections
from collections.abc import Iterator

import pytest

import enact
from invocations.flows import CALLS


@pytest.fixture
def calls() -> Iterator[collections.Counter[str]]:
    """The execution counters of the shared invokables, starting at zero."""
    CALLS.clear()
    yield CALLS
    CALLS.clear()


@pytest.fixture
def memory() -> Iterator[enact.Store]:
    """An entered in-memory store, for tests where the store does not matter."""
    with enact.InMemoryStore() as store:
        yield store
