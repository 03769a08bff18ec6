"""Shared fixtures: every store and every byte backend (STYLE 8).

A test that takes ``store`` runs once per store kind (memory, file, sqlite); a
test that takes ``backend`` runs once per byte backend. ``reopen_store`` and
``reopen_backend`` open a *new* object on the same location, to check what a
later process would see.
"""

from __future__ import annotations

import pathlib
import sys
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, settings

from enact.backends import Backend, chunked
from enact.references import Store
from stores.helpers import (
    BACKEND_KINDS,
    STORE_KINDS,
    BackendKind,
    StoreKind,
    location_in,
)

# CI machines are small and shared: a property must not fail because one
# example was slow. Example counts are set per test; only timing is relaxed.
settings.register_profile(
    "enact", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("enact")


@pytest.fixture(params=STORE_KINDS)
def store_kind(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> StoreKind:
    """Which store a test runs against (parametrized over all kinds)."""
    return StoreKind(request.param, location_in(request.param, str(tmp_path)))


@pytest.fixture(params=BACKEND_KINDS)
def backend_kind(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> BackendKind:
    """Which byte backend a test runs against (parametrized over all kinds,
    and each under the chunking layer)."""
    return BackendKind(request.param, location_in(request.param, str(tmp_path)))


@pytest.fixture
def reopen_store(store_kind: StoreKind) -> Iterator[Callable[[], Store]]:
    """Opens further stores on the same location; closes them at the end."""
    opened: list[Store] = []

    def reopen() -> Store:
        opened.append(store_kind.open())
        return opened[-1]

    yield reopen
    for each in opened:
        each.close()


@pytest.fixture
def store(reopen_store: Callable[[], Store]) -> Store:
    """A store of each kind, empty, in the test's own directory."""
    return reopen_store()


@pytest.fixture
def reopen_backend(backend_kind: BackendKind) -> Iterator[Callable[[], Backend]]:
    """Opens further backends on the same location; closes them at the end."""
    opened: list[Backend] = []

    def reopen() -> Backend:
        opened.append(backend_kind.open())
        return opened[-1]

    yield reopen
    for each in opened:
        each.close()


@pytest.fixture
def backend(reopen_backend: Callable[[], Backend]) -> Backend:
    """A byte backend of each kind, empty, in the test's own directory."""
    return reopen_backend()


@pytest.fixture
def active(store: Store) -> Iterator[Store]:
    """The parametrized ``store`` (memory, file, sqlite), entered."""
    with store:
        yield store


@pytest.fixture
def unchunked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Large objects are stored whole, as in stores written before chunking."""
    monkeypatch.setattr(chunked, "THRESHOLD", sys.maxsize)
    monkeypatch.setattr(chunked, "LONG_VALUE_THRESHOLD", sys.maxsize)
