"""A damaged run index or journal: listed around, named, never built on.

One damaged run record must not hide the other runs; ``store.verify()``
names every record and step line that no longer reads and every object the
index names but the store lacks; and forking, replaying or resuming a run
whose journal needs a damaged object is refused before anything is written.
"""

from __future__ import annotations

import collections
import pathlib
import sqlite3
from collections.abc import Iterator

import pytest

import enact
from enact import runs
from enact.backends import MemoryObjects, SQLiteObjects
from enact.runs import RunStatus
from runs.flows import CrashingPipeline, Dice, Interrupt, Pipeline

KINDS = ["memory", "file", "sqlite"]
# Kinds whose stored objects a test can damage in place in a line or two.
DAMAGEABLE = ["memory", "sqlite"]


@pytest.fixture(params=KINDS)
def store(
    request: pytest.FixtureRequest, tmp_path: pathlib.Path
) -> Iterator[enact.Store]:
    kind = request.param
    if kind == "memory":
        opened = enact.InMemoryStore()
    elif kind == "file":
        opened = enact.FileStore(tmp_path / "store")
    else:
        opened = enact.SQLiteStore(tmp_path / "store.db")
    with opened:
        yield opened
    opened.close()


def damage_object(store: enact.Store, digest: str, data: bytes | None) -> None:
    """Replaces an object's stored bytes (None removes it), behind the store."""
    backend = store.backend
    if isinstance(backend, MemoryObjects):
        if data is None:
            del backend._objects[digest]
        else:
            backend._objects[digest] = data
    elif isinstance(backend, SQLiteObjects):
        with sqlite3.connect(backend.path) as db:
            if data is None:
                db.execute("DELETE FROM objects WHERE digest = ?", (digest,))
            else:
                db.execute(
                    "UPDATE objects SET data = ? WHERE digest = ?", (data, digest)
                )
        db.close()
    else:  # pragma: no cover - only the kinds above are damaged in place
        raise AssertionError(type(backend))


def run_ids(found: list[runs.RunInfo]) -> set[str]:
    return {info.id for info in found}


# -- listing ------------------------------------------------------------------


def test_one_damaged_record_leaves_the_others_listed_and_named(
    store: enact.Store,
) -> None:
    kept = runs.run(Dice(2), name="kept")
    broken = runs.run(Dice(2), tags=["x"])
    store.index.update_run(broken.id, lambda old: b'{"v": 1, "id": "\xff\xfe')
    found = runs.list_runs()
    assert run_ids(found) == {kept.id}
    assert [each.run_id for each in found.damaged] == [broken.id]
    problem = found.damaged[0].problem
    assert broken.id in problem and "damaged" in problem
    assert "\\x" not in problem  # names the record, does not dump its bytes
    # Filters and lookups by name go around it too.
    assert run_ids(runs.list_runs(tag="x")) == set()
    assert runs.get_run("kept") == kept
    assert runs.pending_inputs() == []
    with pytest.raises(runs.RunError, match=broken.id):
        broken.info()
    # Left as it is: nothing repairs or removes it.
    assert store.index.get_run(broken.id) == b'{"v": 1, "id": "\xff\xfe'
    damage = store.verify()
    assert [d.key for d in damage] == [None]
    assert broken.id in damage[0].problem


def test_a_record_naming_another_run_or_no_digest_is_damaged(
    store: enact.Store,
) -> None:
    first = runs.run(Dice(1))
    data = store.index.get_run(first.id)
    assert data is not None
    store.index.update_run("copy", lambda old: data)
    no_digest = data.replace(first.info().request.digest.encode(), b"z" * 64)
    second = runs.run(Dice(1))
    store.index.update_run(
        second.id, lambda old: no_digest.replace(first.id.encode(), second.id.encode())
    )
    found = runs.list_runs()
    assert run_ids(found) == {first.id}
    assert sorted(each.run_id or "" for each in found.damaged) == sorted(
        ["copy", second.id]
    )


def test_a_sqlite_run_row_that_is_no_text_is_listed_as_damaged(
    tmp_path: pathlib.Path,
) -> None:
    path = tmp_path / "store.db"
    with enact.SQLiteStore(path) as store:
        kept = runs.run(Dice(1))
        with sqlite3.connect(path) as db:
            db.execute(
                "INSERT INTO runs (id, record) VALUES (?, ?)", (b"\xff\xfe", b"{}")
            )
        db.close()
        found = runs.list_runs()
        assert run_ids(found) == {kept.id}
        assert len(found.damaged) == 1 and "row 2" in found.damaged[0].where
        assert any("row 2" in d.problem for d in store.verify())
    store.close()


# -- verify -------------------------------------------------------------------


def test_verify_names_the_objects_a_record_or_step_names_but_the_store_lacks(
    store: enact.Store,
) -> None:
    run = runs.run(Pipeline(stages=1, width=2), enact.Int(1))
    assert store.verify() == []
    missing = "0" * 64
    data = store.index.get_run(run.id)
    assert data is not None
    request = run.info().request.digest
    store.index.update_run(
        run.id, lambda old: data.replace(request.encode(), missing.encode())
    )
    store.index.append_steps(
        run.id, [b'{"d": [9], "i": "' + b"1" * 64 + b'"}', b"{bad"]
    )
    store.index.set_name("head", "2" * 64)
    damage = store.verify()
    by_key = {d.key: d.problem for d in damage if d.key is not None}
    assert set(by_key) == {missing, "1" * 64, "2" * 64}
    assert run.id in by_key[missing] and "missing" in by_key[missing]
    assert "step log" in by_key["1" * 64]
    assert "head" in by_key["2" * 64]
    assert any(
        "line" in d.problem and run.id in d.problem for d in damage if d.key is None
    )


def test_verify_reports_a_sqlite_digest_that_is_no_text_and_checks_the_rest(
    tmp_path: pathlib.Path,
) -> None:
    path = tmp_path / "store.db"
    with enact.SQLiteStore(path) as store:
        ref = store.commit(enact.Str("kept"))
        with sqlite3.connect(path) as db:
            db.execute(
                "INSERT INTO objects (digest, data) VALUES (CAST(? AS TEXT), ?)",
                (b"\xff" * 64, b"x"),
            )
        db.close()
        damage = store.verify()  # raised sqlite3.OperationalError before
        assert [d.key for d in damage] == [None]
        assert "damaged digest" in damage[0].problem and str(path) in damage[0].problem
        assert list(store.iter_refs()) == [enact.Ref(ref.digest)]
        assert store.checkout(enact.Ref(ref.digest)) == "kept"
    store.close()


def test_verify_names_the_digest_a_damaged_copy_hashes_to(
    tmp_path: pathlib.Path,
) -> None:
    path = tmp_path / "store.db"
    with enact.SQLiteStore(path) as store:
        ref = store.commit(enact.Str("moved"))
        wrong = "f" * 64
        with sqlite3.connect(path) as db:
            db.execute(
                "UPDATE objects SET digest = ? WHERE digest = ?", (wrong, ref.digest)
            )
        db.close()
        damage = store.verify()
        assert [d.key for d in damage] == [wrong]
        assert ref.digest in damage[0].problem
    store.close()


# -- writes into a damaged store ------------------------------------------------


def store_contents(store: enact.Store) -> tuple[set[str], set[str]]:
    return {r.digest for r in store.iter_refs()}, {
        i for i, _ in store.index.list_runs()
    }


@pytest.mark.parametrize("store", DAMAGEABLE, indirect=True)
@pytest.mark.parametrize("how", ["missing", "damaged"])
@pytest.mark.parametrize("action", ["fork", "replay"])
def test_fork_and_replay_of_a_damaged_run_write_nothing(
    store: enact.Store, how: str, action: str
) -> None:
    run = runs.run(Pipeline(stages=2, width=2), enact.Int(1))
    first_stage = run.invocation().response().children[0]  # type: ignore[union-attr]
    damage_object(store, first_stage.digest, None if how == "missing" else b"{}")
    before = store_contents(store)
    with pytest.raises(runs.RunDamaged) as raised:
        if action == "fork":
            run.fork(1)
        else:
            run.replay()
    assert raised.value.run_id == run.id and raised.value.key == first_stage.digest
    assert run.id in str(raised.value) and first_stage.digest in str(raised.value)
    assert store_contents(store) == before  # no new run, no new object
    assert run_ids(runs.list_runs()) == {run.id}


@pytest.mark.parametrize("store", DAMAGEABLE, indirect=True)
def test_resume_of_a_damaged_crashed_run_leaves_it_crashed(
    store: enact.Store, calls: collections.Counter[str]
) -> None:
    with pytest.raises(Interrupt):
        runs.run(CrashingPipeline(at=5), enact.Int(0))
    (info,) = runs.list_runs()
    assert info.status is RunStatus.CRASHED
    run = runs.Run(info.id)
    log = run._log()
    finished = next(d for path, d in log.done.items() if len(path) == 1)
    store.settle_steps(info.id)  # journaled objects into the table
    damage_object(store, finished, b"not the object")
    before = store_contents(store)
    record = store.index.get_run(info.id)
    with pytest.raises(runs.RunDamaged, match=finished):
        run.resume()
    assert store_contents(store) == before
    assert store.index.get_run(info.id) == record  # still crashed, resumable
    assert calls["leaf-0"] == 1  # nothing ran again


def test_fork_of_an_intact_run_still_works(store: enact.Store) -> None:
    run = runs.run(Pipeline(stages=2, width=2), enact.Int(1))
    forked = run.fork(1)
    assert forked.status is RunStatus.FINISHED
    assert forked.output() == run.output()
    assert store.verify() == []


@pytest.mark.parametrize("store", ["memory"], indirect=True)
def test_resume_replays_the_records_its_check_read_without_reading_them_again(
    store: enact.Store,
    calls: collections.Counter[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from enact._runs import branches

    with pytest.raises(Interrupt):
        runs.run(CrashingPipeline(at=5), enact.Int(0))
    (info,) = runs.list_runs()
    run = runs.Run(info.id)
    done = run._log().done
    # A finished stage replays whole: its leaves' records are not read.
    finished = {d for path, d in done.items() if path[:1] not in done or len(path) == 1}
    assert len(finished) < len(done)
    checked = []
    read_after: list[str] = []
    check = branches.check_journal

    def check_then_watch(*args: object, **kwargs: object) -> dict[str, bytes]:
        kept = check(*args, **kwargs)  # type: ignore[arg-type]
        checked.append(set(kept))
        return kept

    get_many = MemoryObjects.get_many

    def watched(self: MemoryObjects, keys: list[str]) -> list[bytes | None]:
        if checked:
            read_after.extend(keys)
        return get_many(self, keys)

    monkeypatch.setattr(branches, "check_journal", check_then_watch)
    monkeypatch.setattr(MemoryObjects, "get_many", watched)
    run.resume()
    assert run.status is RunStatus.FINISHED
    assert checked == [finished]  # the check kept every finished call's record
    assert not finished & set(read_after)  # and the replay read none again
    assert store._checked == {}  # each served once: nothing left held
    assert calls["leaf-0"] == 1  # replayed, not run again
