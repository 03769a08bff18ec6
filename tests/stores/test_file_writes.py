"""A file store's writes put every byte down, however the system cuts them."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Sequence

import pytest

from enact.backends.files import format as file_format


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
