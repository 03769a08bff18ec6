"""``enact verify``, ``gc``, ``demo`` and ``ui``."""

from __future__ import annotations

import hashlib
import os
import pathlib

import pytest

import enact as library

from .conftest import Filled
from .helpers import enact, make_store


def test_verify_an_intact_store_then_a_damaged_one(tmp_path: pathlib.Path) -> None:
    store = tmp_path / "store"
    make_store(store)
    intact = enact("--store", store, "verify")
    assert intact.code == 0
    assert intact.out.strip() == f"{store}: every object is intact"
    assert enact("--store", store, "verify", "--json").json() == {
        "store": str(store),
        "ok": True,
        "damage": [],
    }

    # An object file whose bytes do not hash to its name.
    key = "ab" * 32
    (store / "objects" / key[:2]).mkdir(parents=True, exist_ok=True)
    (store / "objects" / key[:2] / key[2:]).write_bytes(b"not the original")
    damaged = enact("--store", store, "verify")
    assert damaged.code == 1
    assert key in damaged.out and "1 damaged objects" in damaged.out
    data = enact("--store", store, "verify", "--json")
    assert data.code == 1
    (found,) = data.json()["damage"]
    assert found["key"] == key
    assert found["problem"].startswith("content does not match its digest")
    assert hashlib.sha256(b"not the original").hexdigest() in found["problem"]
    assert found["path"] is None and found["offset"] is None


def test_verify_names_the_damaged_file_and_offset(tmp_path: pathlib.Path) -> None:
    store = tmp_path / "store"
    make_store(store)
    logs = sorted((store / "logs").iterdir())
    assert logs, "the store has no log to damage"
    log = logs[0]
    data = bytearray(log.read_bytes())
    data[8] ^= 0xFF  # the first record's header: its object is still whole
    log.write_bytes(bytes(data))
    damaged = enact("--store", store, "verify", "--json")
    assert damaged.code == 1
    (found,) = damaged.json()["damage"]
    assert found["key"] is None
    assert (found["path"], found["offset"]) == (str(log), 8)
    text = enact("--store", store, "verify")
    assert text.code == 1
    assert f"logs/{log.name} @ 8" in text.out.replace("\n", "")
    assert "1 problems, 0 damaged objects" in text.out


def test_gc(filled: Filled) -> None:
    dry = enact("--store", filled.path, "gc", "--dry-run", "--json")
    if dry.code == 1 and "no garbage collector" in dry.err:
        pytest.skip("Store.gc is not in this tree yet")
    assert dry.code == 0, dry.err
    report = dry.json()
    assert report["dry_run"] is True and report["removed"] >= 0

    text = enact("--store", filled.path, "gc")
    assert text.code == 0, text.err
    assert text.out.startswith(f"{filled.path}: gc (done)")
    assert "kept:" in text.out
    # Nothing a run needs is gone.
    shown = enact("--store", filled.path, "-i", "cliflows", "show", "greeting")
    assert shown.code == 0 and "Greet('world')" in shown.out


def test_gc_names_the_sessions_that_hold_it_back(tmp_path: pathlib.Path) -> None:
    store = tmp_path / "store"
    make_store(store)
    free = enact("--store", store, "gc", "--dry-run")
    assert free.code == 0, free.err
    assert "  held back by no session\n" in free.out
    holder = library.FileStore(store)
    with holder:
        library.commit(library.Str("committed by a store in a with block"))
        for arguments in (["gc", "--dry-run"], ["gc"]):
            text = enact("--store", store, *arguments)
            assert text.code == 0, text.err
            assert f"  held back by 1 session: pid {os.getpid()} since " in text.out
            assert text.out.rstrip().endswith("(running)")
        data = enact("--store", store, "gc", "--json").json()
        (session,) = data["held_back_by"]
        assert session["pid"] == os.getpid() and session["running"] is True
        assert session["idle_since"] is None and session["stale"] is False
        assert data["cutoff"] == session["started"] - 2.0
    holder.close()
    data = enact("--store", store, "gc", "--json").json()
    assert data["held_back_by"] == [] and data["live_sessions"] == 0


def test_demo_creates_the_default_store(tmp_path: pathlib.Path) -> None:
    result = enact("demo", "--seed", "1", cwd=tmp_path)
    assert result.code == 0, result.err
    assert "1. A durable run" in result.out
    assert (tmp_path / ".enact" / "objects").is_dir()

    waiting = enact("runs", "--status", "waiting", "--json", cwd=tmp_path).json()
    assert len(waiting) == 1 and waiting[0]["tags"] == ["demo"]
    answered = enact("answer", waiting[0]["id"], "A Title", "--resume", cwd=tmp_path)
    assert answered.code == 0, answered.err
    assert ": finished" in answered.out and "output: 'A Title: " in answered.out


def test_demo_on_a_sqlite_store(tmp_path: pathlib.Path) -> None:
    result = enact("--store", tmp_path / "demo.db", "demo", "--seed", "1")
    assert result.code == 0, result
    listed = enact("--store", tmp_path / "demo.db", "runs", "--json")
    assert listed.code == 0
    assert len(listed.json()) >= 5


def test_ui_refuses_an_unsafe_bind_in_one_line(filled: Filled) -> None:
    pytest.importorskip("jinja2")
    result = enact("--store", filled.path, "ui", "--host", "0.0.0.0")
    assert result.code == 1
    assert result.one_line_error().startswith("enact: error: ")
