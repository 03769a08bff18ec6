"""The conformance suite of run journals (``Backend.journals()``), for every
family: a durable run's writer of finished calls, and reading them back.

A new family joins by adding a parameter to the fixtures of ``conftest.py``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest

from enact.backends import Backend, BackendError, Journals
from stores.helpers import BackendKind


def item(data: bytes) -> tuple[str, list[bytes]]:
    return hashlib.sha256(data).hexdigest(), [data]


def journals_of(backend: Backend, *runs: str) -> Journals:
    """The backend's journals, with a record for each of ``runs`` (a run's
    lines belong to its record: a store may drop those of a deleted run)."""
    index = backend.index()
    assert index is not None
    for run_id in runs:
        index.update_run(run_id, lambda old: b"{}")
    journals = backend.journals()
    assert journals is not None
    assert backend.journals() is journals  # the same object on every call
    return journals


def test_a_writer_stores_the_objects_then_the_lines(backend: Backend) -> None:
    journals = journals_of(backend, "r")
    write = journals.step_writer("r")
    key, parts = item(b"output")
    write([(key, parts)], b"one\ntwo\n", b"[3]\n")
    write((), b"four\n", b"")
    assert backend.get_many([key]) == [b"output"]
    assert journals.read_steps("r") == [b"one", b"two", b"[3]", b"four"]


def test_settled_lines_stay_and_the_writer_goes_on(backend: Backend) -> None:
    journals = journals_of(backend, "r")
    write = journals.step_writer("r")
    write((), b"one\n", b"")
    journals.settle_steps("r")
    write((), b"two\n", b"")
    journals.settle_steps("r", ended=True)
    assert [line for line in journals.read_steps("r") if line[:1] != b"["] == [
        b"one",
        b"two",
    ]


def test_write_steps_is_one_call_of_a_writer(backend: Backend) -> None:
    journals = journals_of(backend, "r")
    key, parts = item(b"x")
    journals.write_steps("r", [(key, parts)], [b"a", b"b"])
    assert backend.has_many([key]) == [True]
    assert journals.read_steps("r") == [b"a", b"b"]


def test_lines_are_those_of_their_own_run(backend: Backend) -> None:
    journals = journals_of(backend, "a", "b")
    journals.step_writer("a")((), b"1\n", b"")
    journals.step_writer("b")((), b"2\n", b"")
    assert journals.read_steps("a") == [b"1"]
    assert journals.read_steps("b") == [b"2"]
    assert journals.read_steps("none") == []


@pytest.mark.parametrize("run_id", ["", "../x", "a/b", "-x"])
def test_a_bad_run_id_is_refused(backend: Backend, run_id: str) -> None:
    with pytest.raises(BackendError, match="run id"):
        journals_of(backend).step_writer(run_id)


def test_what_one_process_wrote_another_reads(
    reopen_backend: Callable[[], Backend], backend_kind: BackendKind
) -> None:
    if backend_kind.name == "memory":
        pytest.skip("a memory backend has no location to share")
    writer = reopen_backend()
    key, parts = item(b"shared")
    journals_of(writer, "r").step_writer("r")([(key, parts)], b"line\n", b"")
    reader = reopen_backend()
    assert journals_of(reader).read_steps("r") == [b"line"]
    assert reader.get_many([key]) == [b"shared"]


def test_scan_damage_of_intact_journals_finds_nothing(backend: Backend) -> None:
    journals = journals_of(backend, "r")
    journals.step_writer("r")((), b"line\n", b"")
    assert journals.scan_damage() == []
