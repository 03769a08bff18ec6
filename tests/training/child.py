"""A process giving and editing feedback beside another (test_feedback)."""

from __future__ import annotations

import os
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import enact
from enact import feedback

ROUNDS = 20


def main(location: str, run_id: str, shared: str, name: str, go: str) -> None:
    store = (
        enact.SQLiteStore(location)
        if location.endswith(".db")
        else (enact.FileStore(location))
    )
    pathlib.Path(os.path.dirname(go), f"ready-{name}").touch()
    while not os.path.exists(go):
        os.sched_yield()
    with store:
        for i in range(ROUNDS):
            feedback.add(run_id, (0,), comment=f"{name}-{i}", source=f"person:{name}")
            _increment(run_id, shared, name)
    store.close()


def _increment(run_id: str, shared: str, name: str) -> None:
    # Read, compute, write: a lost race reads again (nothing is lost).
    for _ in range(1000):
        latest = feedback.get(run_id, shared)
        try:
            feedback.edit(
                run_id,
                shared,
                score=(latest.score or 0) + 1,
                expect_revision=latest.revision,
                source=f"person:{name}",
            )
            return
        except feedback.FeedbackConflict:
            continue
    raise SystemExit("too many conflicts")


if __name__ == "__main__":
    main(*sys.argv[1:])
