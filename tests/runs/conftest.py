"""Fixtures for the durable-run tests."""

from __future__ import annotations

import collections
from collections.abc import Iterator

import pytest

from runs.flows import CALLS


@pytest.fixture
def calls() -> Iterator[collections.Counter[str]]:
    """Execution counters of the shared components, starting at zero."""
    CALLS.clear()
    yield CALLS
    CALLS.clear()
