"""The run-journal file format of a SQLite store (enact.backends.sqlite_journal):
frames read back as written, a frame cut short or damaged ends the file, and
a reader goes on from where it stopped."""

from __future__ import annotations

import hashlib
import os
import pathlib

import hypothesis.strategies as st
from hypothesis import given, settings

from enact.backends import sqlite_journal
from enact.backends.sqlite_journal import (
    MAGIC,
    JournalFile,
    JournalReader,
    JournalWriter,
    claim_dead,
    frame,
    parse_frames,
    run_of,
)

_objects = st.lists(st.binary(max_size=200), max_size=4).map(
    lambda blobs: [(hashlib.sha256(blob).hexdigest(), blob) for blob in blobs]
)
_lines = st.lists(
    st.binary(min_size=1, max_size=80).filter(lambda line: b"\n" not in line),
    max_size=3,
)
_frames = st.lists(st.tuples(_objects, _lines), min_size=1, max_size=5)


def parsed(data: bytes) -> JournalFile:
    journal = JournalFile()
    parse_frames(data, 0, journal, "test.log")
    return journal


def expected(frames: list[tuple[list[tuple[str, bytes]], list[bytes]]]) -> JournalFile:
    journal = JournalFile()
    for items, lines in frames:
        journal.objects.update(items)
        journal.lines.extend(lines)
    return journal


@settings(max_examples=200, deadline=None)
@given(_frames)
def test_frames_read_back_as_written(
    frames: list[tuple[list[tuple[str, bytes]], list[bytes]]],
) -> None:
    data = MAGIC + b"".join(frame(items, lines) for items, lines in frames)
    journal = parsed(data)
    want = expected(frames)
    assert journal.objects == want.objects
    assert journal.lines == want.lines
    assert journal.end == len(data) and not journal.damaged


@settings(max_examples=100, deadline=None)
@given(_frames, st.data())
def test_a_file_cut_anywhere_holds_exactly_its_whole_frames(
    frames: list[tuple[list[tuple[str, bytes]], list[bytes]]], data: st.DataObject
) -> None:
    encoded = [frame(items, lines) for items, lines in frames]
    whole = MAGIC + b"".join(encoded)
    cut = data.draw(st.integers(0, len(whole)))
    journal = parsed(whole[:cut])
    # The frames that end before the cut, and nothing of the one it splits.
    complete, end = 0, len(MAGIC)
    while complete < len(encoded) and end + len(encoded[complete]) <= cut:
        end += len(encoded[complete])
        complete += 1
    want = expected(frames[:complete])
    assert journal.lines == want.lines and journal.objects == want.objects
    assert not journal.damaged
    assert journal.end == (end if cut >= len(MAGIC) else 0)


@settings(max_examples=100, deadline=None)
@given(_frames, st.data())
def test_a_damaged_frame_ends_the_file(
    frames: list[tuple[list[tuple[str, bytes]], list[bytes]]], data: st.DataObject
) -> None:
    encoded = [frame(items, lines) for items, lines in frames]
    which = data.draw(st.integers(0, len(encoded) - 1))
    damaged = bytearray(encoded[which])
    at = data.draw(st.integers(12, len(damaged) - 1))  # in the payload
    damaged[at] ^= 0xFF
    encoded[which] = bytes(damaged)
    journal = parsed(MAGIC + b"".join(encoded))
    assert journal.damaged
    want = expected(frames[:which])
    assert journal.lines == want.lines and journal.objects == want.objects


def test_a_file_with_a_wrong_header_holds_nothing() -> None:
    journal = parsed(b"NOTAJRNL" + frame([], [b"x"]))
    assert journal.damaged and journal.lines == []


def test_the_reader_goes_on_from_where_it_stopped(tmp_path: pathlib.Path) -> None:
    writer = JournalWriter(str(tmp_path), "run-1", fsync=False, location="test")
    writer.append([], [b"one"])
    reader = JournalReader("test")
    first = reader.read(writer.path)
    assert first is not None and first.lines == [b"one"]
    blob = b"blob"
    key = hashlib.sha256(blob).hexdigest()
    writer.append([(key, blob)], [b"two"])
    # Half of a third frame: not read yet.
    with open(writer.path, "ab") as file:
        file.write(frame([], [b"three"])[:7])
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
    writer.append([], [b"x"])
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
