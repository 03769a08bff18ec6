"""The run-journal file format of a SQLite store (enact.backends.sqlite.journal_files):
records read back as written, a record cut short ends the file, and a reader
goes on from where it stopped."""

from __future__ import annotations

import hashlib
import os
import pathlib

import hypothesis.strategies as st
from hypothesis import given, settings

from enact.backends.sqlite import journal_files as sqlite_journal
from enact.backends.sqlite.journal_files import (
    MAGIC,
    JournalFile,
    JournalReader,
    JournalWriter,
    claim_dead,
    parse_records,
    records,
    run_of,
)

Call = tuple[list[tuple[str, bytes]], list[bytes]]

_objects = st.lists(st.binary(max_size=200), max_size=4).map(
    lambda blobs: [(hashlib.sha256(blob).hexdigest(), blob) for blob in blobs]
)
_lines = st.lists(
    st.binary(max_size=80).filter(lambda line: b"\n" not in line and line[:1] != b"\0"),
    max_size=3,
)
_calls = st.lists(st.tuples(_objects, _lines), min_size=1, max_size=5)


def encoded(calls: list[Call]) -> bytes:
    """A journal file holding ``calls``."""
    return MAGIC + b"".join(
        records(items, b"".join(line + b"\n" for line in lines))
        for items, lines in calls
    )


def parsed(data: bytes) -> JournalFile:
    journal = JournalFile()
    parse_records(data, 0, journal)
    return journal


@settings(max_examples=200, deadline=None)
@given(_calls)
def test_records_read_back_as_written(calls: list[Call]) -> None:
    data = MAGIC + b"".join(
        records(items, b"".join(line + b"\n" for line in lines))
        for items, lines in calls
    )
    journal = parsed(data)
    assert journal.objects == {k: v for items, _ in calls for k, v in items}
    assert journal.lines == [line for _, lines in calls for line in lines]
    assert journal.end == len(data) and not journal.damaged


@settings(max_examples=150, deadline=None)
@given(_calls, st.data())
def test_a_file_cut_anywhere_holds_exactly_its_whole_records(
    calls: list[Call], data: st.DataObject
) -> None:
    # Where each record ends, and what it holds.
    ends: list[tuple[int, str, object]] = []
    position = len(MAGIC)
    for items, lines in calls:
        for key, blob in items:
            position += len(records([(key, blob)], b""))
            ends.append((position, "object", (key, blob)))
        for line in lines:
            position += len(line) + 1
            ends.append((position, "line", line))
    whole = MAGIC + b"".join(
        records(items, b"".join(line + b"\n" for line in lines))
        for items, lines in calls
    )
    assert position == len(whole)
    cut = data.draw(st.integers(0, len(whole)))
    journal = parsed(whole[:cut])
    complete = [(kind, value) for end, kind, value in ends if end <= cut]
    assert journal.lines == [value for kind, value in complete if kind == "line"]
    assert journal.objects == dict(
        value  # type: ignore[misc]
        for kind, value in complete
        if kind == "object"
    )
    last = max([len(MAGIC), *(end for end, _, _ in ends if end <= cut)])
    assert journal.end == (last if cut >= len(MAGIC) else 0)


def test_a_file_with_a_wrong_header_holds_nothing() -> None:
    journal = parsed(b"NOTAJRNL" + b"x\n")
    assert journal.damaged and journal.lines == []


def test_the_reader_goes_on_from_where_it_stopped(tmp_path: pathlib.Path) -> None:
    writer = JournalWriter(str(tmp_path), "run-1", fsync=False, location="test")
    writer.open()
    writer.append([], b"one\n")
    reader = JournalReader("test")
    first = reader.read(writer.path)
    assert first is not None and first.lines == [b"one"]
    blob = b"blob"
    key = hashlib.sha256(blob).hexdigest()
    writer.append([(key, blob)], b"two\n")
    unfolded = writer.read_unfolded()  # the writer reads its own file back
    assert unfolded.lines == [b"one", b"two"] and unfolded.objects == {key: blob}
    # Part of a third call: not read yet.
    with open(writer.path, "ab") as file:
        file.write(records([(key, blob)], b"three\n")[:20])
    again = reader.read(writer.path)
    assert again is not None
    assert again.lines == [b"one", b"two"] and again.objects == {key: blob}
    path = writer.path
    writer.close(unlink=True)
    assert reader.read(path) is None


def test_a_live_writers_file_cannot_be_claimed_a_dead_ones_can(
    tmp_path: pathlib.Path,
) -> None:
    writer = JournalWriter(str(tmp_path), "run.1", fsync=True, location="test")
    writer.open()
    writer.append([], b"x\n")
    assert run_of(os.path.basename(writer.path)) == "run.1"
    assert sqlite_journal.journal_files(str(tmp_path)) == [writer.path]
    assert claim_dead(writer.path) is None  # its writer holds the lock
    path = writer.path
    writer.close(unlink=False)  # as if its process died
    fd = claim_dead(path)
    assert fd is not None
    os.close(fd)
    os.unlink(path)
    assert claim_dead(path) is None  # gone: folded by someone else


def test_names_that_are_not_journal_files_are_ignored(tmp_path: pathlib.Path) -> None:
    for name in (
        "notes.txt",
        "00000000000000000001.0000000a.run.log.tmp",
        "0000000000000000000x.0000000a.run.log",
        "00000000000000000001.0000000a.../x.log",
    ):
        assert run_of(name) is None
    assert run_of("00000000000000000001.0000000a.r-1_b.log") == "r-1_b"
    (tmp_path / "notes.txt").write_text("hi")
    assert sqlite_journal.journal_files(str(tmp_path)) == []
    assert sqlite_journal.journal_files(str(tmp_path / "missing")) == []


def test_the_files_of_one_run_are_those_named_with_its_whole_id(
    tmp_path: pathlib.Path,
) -> None:
    names = [
        "00000000000000000001.0000000a.abc.log",
        "00000000000000000002.0000000b.zzz.abc.log",  # another run, same ending
        "00000000000000000003.0000000c.abc.log.tmp",  # not yet a journal file
        "0000000000000000000x.0000000d.abc.log",  # not a journal file's name
        "00000000000000000004.0000000e.abcd.log",
    ]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    directory = str(tmp_path)
    assert sqlite_journal.journal_files(directory, "abc") == [
        os.path.join(directory, names[0])
    ]
    assert sqlite_journal.journal_files(directory, "zzz.abc") == [
        os.path.join(directory, names[1])
    ]
    assert len(sqlite_journal.journal_files(directory)) == 3
