"""The README's model example runs (against the in-memory server)."""

from __future__ import annotations

import pathlib
import re

import enact
from enact import runs
from llm.mock_server import MockChatServer

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_the_readme_model_example_runs(
    mock: MockChatServer, tmp_path: pathlib.Path
) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Model components") :]
    section = section[: section.index("\n## ", 1)]
    (code,) = re.findall(r"```python\n(.*?)```", section, re.S)
    store = str(tmp_path / "haiku")
    namespace = {"__name__": "readme_llm"}
    exec(code.replace("/tmp/haiku", store), namespace)
    with enact.FileStore(store):
        found = runs.list_runs()[::-1]
        assert [info.relation for info in found] == [None, "replay", "fork", "fork"]
        assert [info.status for info in found] == [
            runs.RunStatus.FINISHED,
            runs.RunStatus.FINISHED,
            runs.RunStatus.FINISHED,
            runs.RunStatus.WAITING,
        ]
    # The run and the warmer fork asked the server; the replay did not.
    assert [body.get("temperature") for body in mock.bodies] == [0.7, 1.2]
