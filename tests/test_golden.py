"""Golden journals: stores written by earlier versions of enact, kept
under tests/golden/, must still load, verify and replay."""

from __future__ import annotations

import json
import pathlib
import shutil
import sys

import pytest

import enact

GOLDEN = pathlib.Path(__file__).parent / "golden"
sys.path.insert(0, str(GOLDEN))

from flows import AskTwice  # noqa: E402

VERSIONS = sorted(p.name for p in GOLDEN.iterdir() if (p / "manifest.json").exists())


@pytest.fixture(params=VERSIONS)
def golden(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> tuple:
    # Work on a copy: replays write new objects (and an older SQLite
    # layout is migrated on opening).
    root = tmp_path / request.param
    manifest = json.loads((GOLDEN / request.param / "manifest.json").read_text())
    refs = {name: enact.Ref(digest) for name, digest in manifest["refs"].items()}
    if manifest.get("store") == "sqlite":
        root.mkdir()
        shutil.copy(GOLDEN / request.param / "store.db", root / "store.db")
        return enact.SQLiteStore(root / "store.db"), refs, manifest
    shutil.copytree(GOLDEN / request.param / "store", root)
    return enact.FileStore(root), refs, manifest


def test_there_is_a_golden_store() -> None:
    assert "v0.4.0.dev1" in VERSIONS
    assert {"sqlite-layout3", "sqlite-layout4"} <= set(VERSIONS)


def test_verifies_and_every_object_decodes(golden: tuple) -> None:
    store, _, _ = golden
    assert store.verify() == []
    with store:
        for ref in store.iter_refs():
            store.checkout(ref)


def test_recorded_runs_read_back(golden: tuple) -> None:
    store, refs, manifest = golden
    with store:
        run = refs["dice_run"]()
        assert int(run.get_output()) == manifest["dice_output"]
        rolls = [int(child.get_output()) for child in run.get_children()]
        assert len(rolls) == 5 and sum(rolls) == manifest["dice_output"]
        failed = refs["failed"]()
        assert isinstance(failed.get_raised(), enact.WrappedException)
        assert "ValueError: always" in str(failed.get_raised())


def test_replaying_a_complete_run_reproduces_it(golden: tuple) -> None:
    store, refs, _ = golden
    with store:
        run = refs["dice_run"]()
        assert run.replay() == run
        branch = refs["dice_branch"]()
        kept = [c.digest for c in run.response().children[:3]]
        assert [c.digest for c in branch.response().children[:3]] == kept


def test_a_waiting_run_resumes(golden: tuple) -> None:
    store, refs, _ = golden
    with store:
        half = refs["ask_half_answered"]()
        request = half.get_raised()
        assert isinstance(request, enact.InputRequest)
        assert request.context == "second"
        done = request.continue_invocation(half, enact.Str("b"))
        assert done.get_output() == "a+b"
        generator = enact.InvocationGenerator(from_invocation=refs["ask_waiting"]())
        answers = iter(["x", "y"])
        for _ in generator:
            generator.set_input(enact.Str(next(answers)))
        assert generator.invocation.get_output() == "x+y"
        assert isinstance(generator.invocation.request().invokable(), AskTwice)
