"""Parquet exports built a column at a time hold the rows of the generic format."""

from __future__ import annotations

import pathlib
import random

import orjson
import pyarrow.parquet as pq
import pytest

import enact
from enact import datasets, feedback
from enact._datasets import columns, records, writers
from enact.datasets import UnencodableValue
from training.flows import Ask, Blob, ChatResponse, Many, Message, Solve


def _rows_written_one_by_one(out: pathlib.Path, **criteria: object) -> None:
    """The export as rows are written one by one (JSON lines through Arrow)."""
    writers.write_parquet(datasets.rows(**criteria), str(out))


def _fill(store: enact.Store) -> list[enact.runs.Run]:
    random.seed(3)
    with store:
        runs = [enact.run(Ask(), enact.Str(f"q{n}"), tags=["quiz"]) for n in range(3)]
        runs.append(enact.run(Solve(4), enact.Str("p")))
        runs.append(enact.run(Many(), enact.Int(30)))
        feedback.add(runs[0], (0,), score=4, label=True, comment="ok")
        feedback.add(runs[0], (0,), score=1, source="person:bo")
        feedback.add(
            runs[1], (0,), correction=ChatResponse(Message("assistant", "Paris"))
        )
        feedback.add(runs[3], (2,), label="partial")

        def add_batch(old: bytes | None) -> bytes:
            record = orjson.loads(old or b"{}")
            record.update(batch="b1", sample=7)
            return orjson.dumps(record)

        store.index.update_run(runs[2].id, add_batch)
    return runs


@pytest.mark.parametrize(
    "criteria",
    [
        {},
        {"component": "Leaf"},
        {"feedback": "score>=2"},
        {"at": (0,)},
        {"tag": "quiz"},
    ],
)
def test_columns_match_the_rows(
    store: enact.Store, tmp_path: pathlib.Path, criteria: dict[str, object]
) -> None:
    _fill(store)
    with store:
        fast, slow = tmp_path / "fast.parquet", tmp_path / "slow.parquet"
        count = datasets.export(str(fast), **criteria)  # type: ignore[arg-type]
        _rows_written_one_by_one(slow, **criteria)
    wanted = pq.read_table(slow)
    found = pq.read_table(fast)
    assert count == wanted.num_rows > 0
    assert found.schema == wanted.schema
    assert found.to_pylist() == wanted.to_pylist()
    assert datasets.check_file(str(fast)) == count


def test_many_batches_and_row_groups(
    store: enact.Store, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(columns, "_BATCH_ROWS", 7)
    monkeypatch.setattr(writers, "_GROUP_ROWS", 20)
    with store:
        enact.run(Many(), enact.Int(100))
        fast, slow = tmp_path / "fast.parquet", tmp_path / "slow.parquet"
        assert datasets.export(str(fast)) == 101
        _rows_written_one_by_one(slow)
    assert pq.read_table(fast).to_pylist() == pq.read_table(slow).to_pylist()
    assert pq.ParquetFile(fast).metadata.num_row_groups == 5  # 21, 21, 21, 21, 17


def test_values_decoded_in_full_give_the_same_columns(
    store: enact.Store, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(store)
    with store:
        plain = tmp_path / "plain.parquet"
        datasets.export(str(plain))
        monkeypatch.setattr(records, "stored_json_text", lambda data: None)
        decoded = tmp_path / "decoded.parquet"
        datasets.export(str(decoded))
    assert pq.read_table(plain).to_pylist() == pq.read_table(decoded).to_pylist()


def test_a_blob_is_named_or_written_by_reference(
    store: enact.Store, tmp_path: pathlib.Path
) -> None:
    with store:
        run = enact.run(Blob(), enact.Int(5))
        out = tmp_path / "blob.parquet"
        with pytest.raises(UnencodableValue) as raised:
            datasets.export(str(out))
        assert (raised.value.run_id, raised.value.field) == (run.id, "output")
        assert not out.exists()
        assert datasets.export(str(out), by_reference=True) == 1
    (row,) = pq.read_table(out).to_pylist()
    assert set(orjson.loads(row["output"])) == {"$digest"}


def test_plain_stored_texts_are_those_of_their_json_form() -> None:
    from enact._codec import encode
    from enact._datasets.values import stored_json_text, to_json

    for value in [
        enact.Int(3),
        enact.Int(-(2**63)),
        enact.Float(2.5),
        enact.Float(1.0),
        enact.Str('é\n"\\ \u2028 x'),
        enact.Str(""),
    ]:
        text = stored_json_text(b"".join(encode(value)))
        assert text == orjson.dumps(to_json(value)).decode()
    for other in [enact.Int(2**70), enact.Float(float("nan")), enact.Bytes(b"x")]:
        assert stored_json_text(b"".join(encode(other))) is None
