"""``enact sample``, ``enact batches`` and ``enact batch``, run as a user would."""

from __future__ import annotations

import pathlib

import pytest

import enact as enact_api

from .helpers import enact


@pytest.fixture
def store(tmp_path: pathlib.Path) -> pathlib.Path:
    """An empty store directory."""
    path = tmp_path / "store"
    enact_api.FileStore(path).close()
    return path


@pytest.mark.parametrize("executor", ["threads", "processes"])
def test_sample_then_show_the_distribution(store: pathlib.Path, executor: str) -> None:
    done = enact(
        "--store", store, "sample", "batchflows:Die", "--input", "6", "--input", "0",
        "-n", "30", "--executor", executor, "--name", "dice",
    )  # fmt: skip
    assert done.code == 0, done.err
    assert "60 samples" in done.err
    assert "30 finished, 30 failed" in done.out
    assert "ValueError: a die needs sides" in done.out
    assert "slowest samples" in done.out
    shown = enact("--store", store, "batch", "dice", "--json")
    assert shown.code == 0, shown.err
    data = shown.json()
    assert data["size"] == 60 and data["counts"] == {"finished": 30, "failed": 30}
    rows = data["distribution"]["rows"]
    assert data["distribution"]["kind"] == "numbers"
    assert sum(count for _, count in rows) == 30
    assert {int(label) for label, _ in rows} <= set(range(1, 7))
    assert data["failures"] == [
        {"error": "ValueError: a die needs sides", "count": 30, "first": 30}
    ]
    listed = enact("--store", store, "batches", "--json")
    assert [each["name"] for each in listed.json()] == ["dice"]


def test_counts_per_distinct_output(store: pathlib.Path) -> None:
    done = enact("--store", store, "sample", "batchflows:Coin", "-n", "40")
    assert done.code == 0, done.err
    assert "40 finished" in done.out
    assert "heads" in done.out or "tails" in done.out
    listed = enact("--store", store, "batches")
    assert "batchflows.Coin" in listed.out and "40 finished" in listed.out


def test_a_registered_function_takes_a_json_array(store: pathlib.Path) -> None:
    done = enact(
        "--store", store, "sample", "batchflows:scaled", "--input", "[2, 3]", "-n", "5",
        "--json",
    )  # fmt: skip
    assert done.code == 0, done.err
    data = done.json()
    assert data["counts"] == {"finished": 5}
    assert data["distribution"]["stats"]["max"] <= 6


def test_bad_arguments(store: pathlib.Path) -> None:
    assert "MODULE:COMPONENT" in enact("--store", store, "sample", "batchflows").err
    missing = enact("--store", store, "sample", "batchflows:Nothing")
    assert missing.code == 1 and "has no Nothing" in missing.err
    bad = enact("--store", store, "sample", "batchflows:Die", "--input", "{")
    assert bad.code == 2 and "not JSON" in bad.err
    unknown = enact("--store", store, "batch", "nothing")
    assert unknown.code == 2 and "No batch" in unknown.err
    assert "no batches" in enact("--store", store, "batches").out
