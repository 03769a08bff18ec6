"""Shared fixtures: every store and every byte backend.

A test that takes ``store`` runs once per store kind (memory, file, sqlite); a
test that takes ``backend`` runs once per byte backend. ``reopen_store`` and
``reopen_backend`` open a *new* object on the same location, to check what a
later process would see.
"""

from __future__ import annotations

import os
import pathlib
import sys
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, settings

from enact.backends import Backend, chunked
from enact.references import Store
from s3server import S3Server, require_s3, start_server
from stores.helpers import (
    BACKEND_KINDS,
    STORE_KINDS,
    BackendKind,
    StoreKind,
    location_in,
)
from stores.postgres_server import PostgresServer, find_binaries

# CI machines are small and shared: a property must not fail because one
# example was slow. Example counts are set per test; only timing is relaxed.
settings.register_profile(
    "enact", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("enact")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server of the test session's own (Debian's package).

    Skips where no server binary is installed, unless
    ``ENACT_REQUIRE_POSTGRES=1`` (CI) makes that a failure.
    """
    binaries = find_binaries()
    if binaries is None:
        reason = "no PostgreSQL server binaries (apt-get install postgresql)"
        if os.environ.get("ENACT_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason + ", and ENACT_REQUIRE_POSTGRES=1")
        pytest.skip(reason)
    server = PostgresServer(binaries)
    try:
        server.start()
    except Exception:
        server.stop()
        raise
    yield server
    server.stop()


def _location(request: pytest.FixtureRequest, name: str, directory: str) -> str:
    if name.split(",")[0] == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        return server.fresh_url()
    return location_in(name, directory)


@pytest.fixture(params=STORE_KINDS)
def store_kind(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> StoreKind:
    """Which store a test runs against (parametrized over all kinds)."""
    return StoreKind(request.param, _location(request, request.param, str(tmp_path)))


@pytest.fixture(params=BACKEND_KINDS)
def backend_kind(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> BackendKind:
    """Which byte backend a test runs against (parametrized over all kinds,
    and each under the chunking layer)."""
    return BackendKind(request.param, _location(request, request.param, str(tmp_path)))


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


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """moto's S3 server on loopback, for the whole session (started on first use)."""
    require_s3()
    log = tmp_path_factory.mktemp("moto") / "server.log"
    server = start_server(str(log))
    yield server
    server.stop()


@pytest.fixture
def unchunked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Large objects are stored whole, as in stores written before chunking."""
    monkeypatch.setattr(chunked, "THRESHOLD", sys.maxsize)
    monkeypatch.setattr(chunked, "LONG_VALUE_THRESHOLD", sys.maxsize)
