"""The query columns the run layer hands an index for each run record."""

from __future__ import annotations

import enact
from enact._runs.listing import query_columns
from enact.backends.index import RunQuery
from runs.async_flows import AsyncFlow


def test_a_run_record_gives_its_columns_and_a_damaged_one_none(
    store: enact.Store,
) -> None:
    with store:
        run = enact.run(AsyncFlow(more=1), enact.Int(1), name="first", tags=["x"])
    page = store.index.query_runs(
        RunQuery(equal={"status": "finished"}, words="FIRST", limit=5), query_columns
    )
    assert [run_id for run_id, _ in page.runs] == [run.id]
    columns = query_columns(page.runs[0][1])
    assert columns is not None
    assert "AsyncFlow" in columns["component"]
    assert columns["name"] == "first"
    assert columns["ended"] >= columns["started"]
    assert query_columns(b"not a record") is None
