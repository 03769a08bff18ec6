"""``import enact`` stays light: no optional package is imported."""

from __future__ import annotations

import io
import json
import subprocess
import sys

OPTIONAL = [
    "numpy",
    "PIL",
    "pydantic",
    "gradio",
    "fastapi",
    "starlette",
    "uvicorn",
    "schemathesis",
    "ray",
    "typer",
    "rich",
    "jinja2",
    "playwright",
    "psycopg",
    "openai",
    "httpx",
]

_SCRIPT = """
import json, sys
import enact
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def _top_level_modules(script: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_import_enact_imports_no_optional_package():
    loaded = _top_level_modules(_SCRIPT)
    assert "enact" in loaded
    assert loaded.isdisjoint(OPTIONAL), sorted(loaded & set(OPTIONAL))


def test_the_check_sees_packages_that_enact_imports_lazily():
    # Guards the test above: decoding an NPArray makes enact import numpy.
    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, np.arange(3))
    use = f"enact.NPArray.from_fields({{'value': {buffer.getvalue()!r}}})"
    script = _SCRIPT.replace("import enact\n", f"import enact\n{use}\n")
    assert "numpy" in _top_level_modules(script)


def test_data_layer_modules_import_without_optional_packages():
    script = _SCRIPT.replace(
        "import enact\n",
        "import enact.interfaces, enact.resources, enact.digests, "
        "enact.resource_registry, enact.serialization, enact.contexts, "
        "enact.references, enact.resource_types\n",
    )
    assert _top_level_modules(script).isdisjoint(OPTIONAL)


def test_the_model_components_import_without_the_openai_sdk():
    script = _SCRIPT.replace("import enact\n", "import enact.llm\n")
    loaded = _top_level_modules(script)
    assert "openai" not in loaded and "httpx" not in loaded
