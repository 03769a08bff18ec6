"""``enact rate``, ``feedback``, ``eval`` and ``export`` against a real store."""

from __future__ import annotations

import json
import pathlib

from enact import datasets

from .conftest import Filled
from .helpers import enact

SCORER = """
import enact

@enact.register
def length(question, answer) -> float:
    return float(len(str(answer)))
"""


def test_rate_list_edit_and_delete_feedback(filled: Filled) -> None:
    store = ("--store", filled.path)
    added = enact(*store, "rate", "greeting", "--at", "0", "--score", "4",
                  "--comment", "warm", "--source", "person:ann", "--json")  # fmt: skip
    assert added.code == 0, added.err
    note = added.json()
    assert (note["path"], note["score"], note["source"]) == ([0], 4.0, "person:ann")
    thumbs = enact(*store, "rate", "greeting", "--label", "up")
    assert thumbs.code == 0 and "added feedback" in thumbs.out
    listed = enact(*store, "feedback", "greeting", "--json").json()
    assert [(n["path"], n["label"]) for n in listed] == [([0], None), ([], True)]
    only = enact(*store, "feedback", "greeting", "--at", "0", "--json").json()
    assert [n["id"] for n in only] == [note["id"]]
    edited = enact(*store, "rate", "greeting", "--edit", note["id"], "--score", "5",
                   "--json").json()  # fmt: skip
    assert (edited["score"], edited["revision"], edited["comment"]) == (5.0, 1, "warm")
    table = enact(*store, "feedback", "greeting")
    assert "warm" in table.out and "person:ann" in table.out
    gone = enact(*store, "rate", "greeting", "--delete", note["id"])
    assert gone.code == 0 and "deleted" in gone.out
    assert len(enact(*store, "feedback", "greeting", "--json").json()) == 1


def test_rate_refuses_nonsense_in_one_line(filled: Filled) -> None:
    store = ("--store", filled.path)
    nothing = enact(*store, "rate", "greeting")
    assert nothing.code == 2 and "give --score" in nothing.one_line_error()
    missing = enact(*store, "rate", "greeting", "--at", "9", "--score", "1")
    assert missing.code == 1 and "no call at path [9]" in missing.one_line_error()


def test_a_correction_from_the_command_line(filled: Filled) -> None:
    store = ("--store", filled.path, "--import", "cliflows")
    fixed = enact(*store, "rate", "greeting", "--correction", "Hi, world", "--json")
    assert fixed.code == 0, fixed.err
    assert fixed.json()["correction"] is not None


def test_eval_scores_runs_and_export_writes_them(
    filled: Filled, tmp_path: pathlib.Path
) -> None:
    scorer = tmp_path / "myscorers.py"
    scorer.write_text(SCORER)
    store = ("--store", filled.path, "--import", "cliflows", "--import", scorer)
    done = enact(*store, "eval", "greeting", "--scorer", "myscorers:length", "--json")
    assert done.code == 0, done.err
    result = done.json()
    assert result["summary"][0]["scorer"] == "length"
    assert result["summary"][0]["count"] == 1
    text = enact(*store, "eval", "greeting", "--scorer", "myscorers:length")
    assert "95% CI" in text.out and "best:" in text.out
    out = tmp_path / "rows.parquet"
    wrote = enact(*store, "export", "--run", "greeting", "--at", "root",
                  "--feedback", "score>=1", "--out", out)  # fmt: skip
    assert wrote.code == 0, wrote.err
    assert "wrote 1 generic rows" in wrote.out
    assert datasets.check_file(str(out)) == 1
    kto = tmp_path / "kto.jsonl"
    assert enact(*store, "export", "-f", "kto", "-o", kto).code == 0
    rows = [json.loads(line) for line in kto.read_text().splitlines()]
    assert all(isinstance(row["label"], bool) for row in rows)
    bad = enact(*store, "export", "-f", "csv", "-o", tmp_path / "x")
    assert bad.code == 2 and "unknown format" in bad.one_line_error()


def test_export_with_workers_writes_the_same_file(
    filled: Filled, tmp_path: pathlib.Path
) -> None:
    store = ("--store", filled.path, "--import", "cliflows")
    written = []
    for workers in ("1", "2"):
        out = tmp_path / f"rows-{workers}.jsonl"
        done = enact(*store, "export", "--by-reference", "-w", workers, "-o", out)
        assert done.code == 0, done.err
        written.append(out.read_bytes())
    assert written[0] == written[1] and written[0].count(b"\n") > 3
    bad = enact(*store, "export", "--workers", "0", "-o", tmp_path / "x.jsonl")
    assert bad.code == 2 and "--workers" in bad.one_line_error()
