"""A file store's writes put every byte down, however the system cuts them."""

from __future__ import annotations

import errno
import hashlib
import os
import pathlib
from collections.abc import Sequence

import pytest

from enact.backends.base import BackendError
from enact.backends.files import format as file_format
from enact.backends.files import own_log
from enact.backends.files.objects import FileObjects


@pytest.mark.parametrize("most", [1, 3, 7, 1000])
@pytest.mark.parametrize(
    "parts",
    [[], [b""], [b"ab", b"", b"cdefg"], [b"x" * 10] * 1500, [b"head", b"y" * 5000]],
)
def test_write_all_writes_every_part_across_short_writes(
    tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
    parts: list[bytes],
    most: int,
) -> None:
    real = os.writev
    calls = []

    def short_writev(fd: int, buffers: Sequence[bytes]) -> int:
        # Writes at most `most` bytes, as a signal or a full pipe may cut.
        calls.append(len(buffers))
        data = b"".join(bytes(b) for b in buffers)[:most]
        return real(fd, [data]) if data else 0

    monkeypatch.setattr(file_format.os, "writev", short_writev)
    path = tmp_path / "out"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        file_format.write_all(fd, parts)
    finally:
        os.close(fd)
    assert path.read_bytes() == b"".join(parts)
    assert all(count <= 1024 for count in calls)  # within the system's IOV_MAX


def _object(text: str) -> tuple[str, list[bytes]]:
    data = text.encode()
    return hashlib.sha256(data).hexdigest(), [data]


def test_an_append_that_fails_part_way_loses_no_other_object(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk cuts a log write short: the objects before it and after it
    are all read back, by this process and by a new one, with no damage."""
    store = FileObjects(tmp_path / "store")
    before = [_object(f"before {n}") for n in range(3)]
    store.put_many(before)
    real = own_log.write_all

    def cut_short(fd: int, parts: Sequence[bytes]) -> None:
        data = b"".join(parts)
        os.write(fd, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(own_log, "write_all", cut_short)
    with pytest.raises(BackendError, match=r"cannot append to .*No space left"):
        store.put_many([_object("lost in the failed write")])
    monkeypatch.setattr(own_log, "write_all", real)
    after = [_object(f"after {n}") for n in range(3)]
    store.put_many(after)
    everything = before + after
    keys = [key for key, _ in everything]
    expected = [parts[0] for _, parts in everything]
    assert store.get_many(keys) == expected
    store.close()

    again = FileObjects(tmp_path / "store")
    assert again.get_many(keys) == expected
    assert not again.has_many([_object("lost in the failed write")[0]])[0]
    assert again.scan_damage() == []
    again.close()
