"""Exports: generic rows, Parquet and datasets read-back, training formats."""

from __future__ import annotations

import pathlib
import random

import orjson
import pytest

import enact
from enact import datasets, feedback
from enact.datasets import UnencodableValue
from training.flows import ANSWERS, Ask, Blob, Many, Solve

LINEAGE = (
    "run", "path", "invocation", "component", "component_type",
    "component_digest", "parent_run", "batch", "sample",
)  # fmt: skip


def _asked(store: enact.Store, count: int = 3) -> list[enact.runs.Run]:
    random.seed(7)
    with store:
        return [
            enact.run(Ask(), enact.Str(f"q{n}"), tags=["quiz"]) for n in range(count)
        ]


def test_generic_rows_carry_lineage_and_values(store: enact.Store) -> None:
    runs = _asked(store)
    with store:
        feedback.add(runs[0], (0,), score=4, label=True, comment="ok")
        rows = list(datasets.rows())
    assert len(rows) == 6  # each run: Ask and its chat call
    assert [tuple(row)[: len(LINEAGE)] for row in rows] == [LINEAGE] * 6
    ask, chat = rows[0], rows[1]
    assert (ask["run"], ask["path"], ask["component"]) == (runs[0].id, [], "Ask")
    assert ask["component_type"] == "tests.training.Ask"
    assert ask["invocation"] == runs[0].info().invocation.digest
    assert chat["path"] == [0] and chat["component"] == "FakeChat"
    assert chat["input"]["messages"][1] == {"role": "user", "content": "q0"}
    assert chat["output"]["message"]["role"] == "assistant"
    assert chat["context"] == "q0"
    assert (chat["score"], chat["label"]) == (4.0, True)
    assert chat["feedback"][0]["comment"] == "ok"
    assert [row["run"] for row in rows[::2]] == [run.id for run in runs]


def test_selection_by_component_run_tag_feedback_and_path(store: enact.Store) -> None:
    runs = _asked(store)
    with store:
        enact.run(Solve(), enact.Str("p"))
        feedback.add(runs[1], (0,), score=5)
        feedback.add(runs[2], (0,), score=2)

        def ids(**criteria: object) -> list[tuple[str, list[int]]]:
            return [(r["run"], r["path"]) for r in datasets.rows(**criteria)]

        assert ids(component="FakeChat") == [(run.id, [0]) for run in runs]
        assert ids(component="tests.training.FakeChat", runs=[runs[1].id]) == [
            (runs[1].id, [0])
        ]
        assert len(ids(tag="quiz")) == 6
        assert ids(feedback="score>=4") == [(runs[1].id, [0])]
        assert ids(feedback="score<4,score>1") == [(runs[2].id, [0])]
        assert ids(at=()) == [(run.id, []) for run in enact.runs.list_runs()][::-1]
        with pytest.raises(datasets.DatasetError, match="not a feedback condition"):
            list(datasets.rows(feedback="stars>3"))


def test_batch_and_sample_come_from_the_run_record(store: enact.Store) -> None:
    runs = _asked(store, 2)
    with store:
        for number, run in enumerate(runs):

            def add_batch(old: bytes | None, number: int = number) -> bytes:
                record = orjson.loads(old or b"{}")
                record.update(batch="b1", sample=number)
                return orjson.dumps(record)

            store.index.update_run(run.id, add_batch)
        rows = list(datasets.rows(batch="b1", at=()))
        assert [(r["batch"], r["sample"]) for r in rows] == [("b1", 0), ("b1", 1)]
        assert list(datasets.rows(batch="other")) == []


def test_jsonl_and_parquet_read_back(
    store: enact.Store, tmp_path: pathlib.Path
) -> None:
    import pyarrow.parquet as pq

    runs = _asked(store)
    with store:
        feedback.add(runs[0], (0,), score=3)
        assert datasets.export(str(tmp_path / "rows.jsonl")) == 6
        assert datasets.export(str(tmp_path / "rows.parquet")) == 6
        again = tmp_path / "again.jsonl"
        datasets.export(str(again))
    lines = (tmp_path / "rows.jsonl").read_bytes()
    assert lines == again.read_bytes()  # the same store, the same bytes
    assert datasets.check_file(str(tmp_path / "rows.jsonl")) == 6
    assert datasets.check_file(str(tmp_path / "rows.parquet")) == 6
    table = pq.read_table(tmp_path / "rows.parquet")
    assert table.column_names[: len(LINEAGE)] == list(LINEAGE)
    first = table.slice(1, 1).to_pylist()[0]
    assert first["run"] == runs[0].id and first["path"] == [0]
    assert orjson.loads(first["input"])["messages"][0]["role"] == "system"
    assert first["score"] == 3.0
    jsonl = [orjson.loads(line) for line in lines.splitlines()]
    assert [row["invocation"] for row in jsonl] == table.column(
        "invocation"
    ).to_pylist()


def test_a_hugging_face_dataset(store: enact.Store, tmp_path: pathlib.Path) -> None:
    runs = _asked(store)
    with store:
        for run in runs:
            feedback.add(run, (0,), label=run is runs[0])
        generic = datasets.to_dataset(cache_dir=str(tmp_path / "hf"))
        kto = datasets.to_dataset(format="kto", cache_dir=str(tmp_path / "hf"))
    assert generic.num_rows == 6 and generic[0]["run"] == runs[0].id
    assert kto.num_rows == 3
    assert kto[0]["label"] is True and kto[1]["label"] is False
    assert kto[0]["prompt"][1] == {"role": "user", "content": "q0"}
    assert kto[0]["completion"][0]["role"] == "assistant"
    assert kto[0]["enact"]["run"] == runs[0].id


def test_sft_rows_from_chat_calls_use_corrections(
    store: enact.Store, tmp_path: pathlib.Path
) -> None:
    from training.flows import ChatResponse, Message

    runs = _asked(store)
    with store:
        feedback.add(
            runs[1], (0,), correction=ChatResponse(Message("assistant", "Paris"))
        )
        out = str(tmp_path / "sft.jsonl")
        assert datasets.export(out, format="sft") == 3
    assert datasets.check_file(out, "sft") == 3
    rows = [orjson.loads(line) for line in pathlib.Path(out).read_bytes().splitlines()]
    assert [m["role"] for m in rows[0]["messages"]] == ["system", "user", "assistant"]
    assert rows[0]["messages"][2]["content"] in ANSWERS
    assert rows[1]["messages"][2] == {"role": "assistant", "content": "Paris"}
    assert rows[1]["enact"]["run"] == runs[1].id and rows[1]["enact"]["path"] == [0]


def test_preference_pairs_from_forks(
    store: enact.Store, tmp_path: pathlib.Path
) -> None:
    random.seed(3)
    with store:
        first = enact.run(Ask(), enact.Str("Capital of France?"))
        branches = [first.fork(at=(0,)) for _ in range(8)]
        family = [first, *branches]
        outputs = {}
        for run in family:
            answer = str(run.output())
            outputs.setdefault(answer, run)
            feedback.add(run, (0,), score=len(ANSWERS) - ANSWERS.index(answer))
        assert len(outputs) >= 2, "the forks resampled nothing"
        out = str(tmp_path / "dpo.jsonl")
        count = datasets.export(out, format="dpo", component="FakeChat")
        openai = str(tmp_path / "openai.jsonl")
        datasets.export(openai, format="openai-dpo", component="FakeChat")
    assert count == len(outputs) - 1  # the best against each worse answer
    assert datasets.check_file(out, "dpo") == count
    assert datasets.check_file(openai, "openai-dpo") == count
    rows = [orjson.loads(line) for line in pathlib.Path(out).read_bytes().splitlines()]
    for row in rows:
        assert row["prompt"][-1] == {"role": "user", "content": "Capital of France?"}
        assert row["enact"]["chosen"]["score"] > row["enact"]["rejected"]["score"]
        assert row["chosen"] != row["rejected"]
        assert row["enact"]["rejected"]["parent_run"] in (first.id, None)
    best = min(outputs, key=ANSWERS.index)
    assert all(
        row["chosen"] == [{"role": "assistant", "content": best}] for row in rows
    )
    assert {row["rejected"][0]["content"] for row in rows} == set(outputs) - {best}
    pair = orjson.loads(pathlib.Path(openai).read_bytes().splitlines()[0])
    assert set(pair) == {"input", "preferred_output", "non_preferred_output", "enact"}
    assert pair["input"]["messages"][0]["role"] == "system"


def test_stepwise_rows_from_labelled_children(
    store: enact.Store, tmp_path: pathlib.Path
) -> None:
    with store:
        run = enact.run(Solve(steps=3), enact.Str("2+2"))
        unlabelled = enact.run(Solve(steps=2), enact.Str("3+3"))
        for index, good in enumerate([True, True, False]):
            feedback.add(run, (index,), label=good)
        feedback.add(unlabelled, (0,), label=True)  # one step of two: no row
        out = str(tmp_path / "steps.jsonl")
        assert datasets.export(out, format="stepwise") == 1
    assert datasets.check_file(out, "stepwise") == 1
    row = orjson.loads(pathlib.Path(out).read_bytes())
    assert row["prompt"] == "2+2"
    assert row["completions"] == [f"2+2 step {n}" for n in range(3)]
    assert row["labels"] == [True, True, False]


def test_a_value_with_no_json_form(store: enact.Store, tmp_path: pathlib.Path) -> None:
    with store:
        run = enact.run(Blob(), enact.Int(4))
        with pytest.raises(UnencodableValue) as raised:
            datasets.export(str(tmp_path / "x.jsonl"))
        assert raised.value.row == 0 and raised.value.run_id == run.id
        assert raised.value.field == "output"
        assert "by reference" in str(raised.value) and run.id in str(raised.value)
        assert not (tmp_path / "x.jsonl").exists()
        (row,) = datasets.rows(by_reference=True)
    assert row["output"] == {"$digest": enact.resource_digest(enact.Bytes(b"xxxx"))}


def test_rows_that_break_their_format_are_named(tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(
        b'{"prompt": "p", "completion": "c", "label": true}\n{"prompt": 1}\n'
    )
    with pytest.raises(datasets.InvalidRow, match="row 1 is not a valid kto row"):
        datasets.check_file(str(bad), "kto")
    with pytest.raises(datasets.DatasetError, match="Parquet holds generic rows"):
        with enact.InMemoryStore():
            datasets.export(str(tmp_path / "x.parquet"), format="sft")


@pytest.mark.slow
def test_an_export_of_100000_calls(tmp_path: pathlib.Path) -> None:
    import pyarrow.parquet as pq

    with enact.FileStore(str(tmp_path / "store")) as store:
        runs = [enact.run(Many(), enact.Int(10_000)) for _ in range(10)]
        out = str(tmp_path / "calls.parquet")
        assert datasets.export(out, component="Leaf") == 100_000
    store.close()
    table = pq.read_table(out, columns=["run", "path", "output"])
    assert table.num_rows == 100_000
    assert table.column("run").to_pylist()[::10_000] == [run.id for run in runs]
    assert table.column("path").to_pylist()[:2] == [[0], [1]]
    assert table.column("output").to_pylist()[-1] == "10000"
