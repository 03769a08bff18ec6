"""A file store indexes its logs a piece at a time: the same index as in one read."""

from __future__ import annotations

import os
import pathlib

import pytest

import enact
from enact.backends.files import objects
from enact.backends.files.objects import FileObjects
from training.flows import Many


def test_a_log_indexed_in_small_pieces_is_indexed_whole(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    location = tmp_path / "store"
    with enact.FileStore(str(location)):
        enact.run(Many(), enact.Int(300))
    logs = os.listdir(location / "logs")
    assert logs  # the run's objects were appended to a log
    whole = FileObjects(location)
    whole._load_new_packs()
    monkeypatch.setattr(objects, "_LOG_PIECE", 97)  # smaller than most records
    pieces = FileObjects(location)
    pieces._load_new_packs()
    assert len(whole._packed) > 300
    assert dict(pieces._packed) == dict(whole._packed)
    assert pieces._logs_read == whole._logs_read and not pieces._damage
    keys = list(whole._packed)
    assert pieces.get_many(keys) == whole.get_many(keys)
