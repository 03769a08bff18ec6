"""Writes a golden store: ``python tests/golden/make_golden.py VERSION``.

Run it once per release that changes the storage format, and keep the result.
(:mod:`make_sqlite_golden` writes the same runs into a SQLite store.)
"""

from __future__ import annotations

import json
import pathlib
import random
import sys

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from flows import AskTwice, Fails, RollDice, RollDie

import enact


def write_runs(store: enact.Store) -> dict[str, object]:
    """Writes the golden runs into ``store``; returns the manifest's facts."""
    random.seed(7)
    refs: dict[str, str] = {}
    with store:
        run = RollDice(RollDie(6)).invoke(enact.commit(enact.Int(5)))
        refs["dice_run"] = enact.commit(run).digest
        refs["dice_branch"] = enact.commit(run.rewind(2).replay()).digest
        waiting = AskTwice().invoke(enact.commit(enact.Str("why?")))
        refs["ask_waiting"] = enact.commit(waiting).digest
        answered = waiting.get_raised().continue_invocation(waiting, enact.Str("a"))
        refs["ask_half_answered"] = enact.commit(answered).digest
        refs["failed"] = enact.commit(Fails().invoke()).digest
    return {"refs": refs, "dice_output": int(run.get_output())}


def main(version: str) -> None:
    root = pathlib.Path(__file__).parent / version
    facts = write_runs(enact.FileStore(root / "store"))
    manifest = {"enact": version, **facts}
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
