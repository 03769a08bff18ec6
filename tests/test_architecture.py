"""The layers of docs/architecture.md, enforced: a module imports only modules
of its own layer or lower ones."""

from __future__ import annotations

import ast
import os
import pathlib
import subprocess
import sys

import pytest

SRC = pathlib.Path(__file__).resolve().parents[1] / "src" / "enact"

# Lowest first. Keep in sync with docs/architecture.md.
LAYERS: list[tuple[str, list[str]]] = [
    ("errors and contexts", ["errors", "contexts", "_importable"]),
    (
        "resources and type registry",
        [
            "interfaces",
            "resources",
            "resource_registry",
            "resource_types",
            "_wrapper_registry",
            "_builtin_wrappers",
            "wrappers",
            "integrations",
        ],
    ),
    (
        "encoding and digests",
        ["_identity", "_codec", "_decode", "digests", "serialization"],
    ),
    ("refs, stores and backends", ["backends", "_refs", "references", "_store_urls"]),
    ("invocations, replay and human input", ["_invocations", "invocations"]),
    (
        "durable runs and their tools",
        [
            "_runs",
            "runs",
            "diffs",
            "exchange",
            "_datasets",
            "feedback",
            "datasets",
            "evaluations",
        ],
    ),
    ("batches of runs and their executors", ["_batches", "batches", "ray"]),
    (
        "pretty printing, demo, CLI, UI",
        [
            "pretty_print",
            "summaries",
            "demo",
            "cli",
            "ui",
            "api",
            "fastapi",
            "gradio",
            "_gradio",
            "llm",
        ],
    ),
]


def layer_of(module: str) -> int:
    """The layer index of a module path like 'enact.backends.files'."""
    parts = module.split(".")
    assert parts[0] == "enact"
    if len(parts) == 1:
        return len(LAYERS)  # the package itself re-exports everything
    for index, (_, names) in enumerate(LAYERS):
        if parts[1] in names:
            return index
    raise AssertionError(f"{module} is in no layer: add it to LAYERS and the docs")


def modules() -> list[tuple[str, pathlib.Path]]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC.parent).with_suffix("")
        name = ".".join(relative.parts)
        if name.endswith(".__init__"):
            name = name[: -len(".__init__")]
        found.append((name, path))
    return found


def imported(path: pathlib.Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                prefix = ".".join(base)
                target = f"{prefix}.{node.module}" if node.module else prefix
            else:
                target = node.module or ""
            names.add(target)
            for alias in node.names:
                names.add(f"{target}.{alias.name}")
    return {n for n in names if n == "enact" or n.startswith("enact.")}


@pytest.mark.parametrize(("module", "path"), modules(), ids=lambda v: str(v))
def test_imports_only_same_or_lower_layers(module: str, path: pathlib.Path) -> None:
    own = layer_of(module)
    for target in imported(path, module):
        if target == "enact":
            continue
        try:
            other = layer_of(target)
        except AssertionError:
            # `from enact.x import name` also yields 'enact.x.name'; only the
            # module path matters.
            continue
        assert other <= own, (
            f"{module} ({LAYERS[own][0] if own < len(LAYERS) else 'package'}) imports "
            f"{target} ({LAYERS[other][0]}), a higher layer"
        )


def test_every_module_has_a_layer() -> None:
    for module, _ in modules():
        layer_of(module)


PACKAGE = "enact._invocations"


def package_imports() -> dict[str, set[str]]:
    """The modules of the invocations package and those of it each imports.

    Every import counts: at the top, inside functions (lazy) and under
    ``TYPE_CHECKING``.
    """
    graph: dict[str, set[str]] = {}
    for module, path in modules():
        if not module.startswith(f"{PACKAGE}."):
            continue
        targets = imported(path, module)
        graph[module] = {
            target
            for target in targets
            if target.startswith(f"{PACKAGE}.") and target.count(".") == 2
        }
    return graph


def test_no_import_cycle_inside_the_invocations_package() -> None:
    graph = package_imports()
    state: dict[str, str] = {}

    def visit(module: str, chain: list[str]) -> None:
        if state.get(module) == "done":
            return
        assert state.get(module) != "open", "import cycle: " + " -> ".join(
            [*chain[chain.index(module) :], module]
        )
        state[module] = "open"
        for target in sorted(graph.get(module, ())):
            visit(target, [*chain, module])
        state[module] = "done"

    for module in sorted(graph):
        visit(module, [])


def test_no_module_imports_a_private_name_of_a_sibling() -> None:
    for module, path in modules():
        if not module.startswith("enact."):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom) or not node.module:
                continue
            if not node.module.startswith(f"{PACKAGE}."):
                continue
            private = [a.name for a in node.names if a.name.startswith("_")]
            assert not private, f"{module} imports {private} from {node.module}"


def module_graph() -> dict[str, set[str]]:
    """Every module of enact and the modules of enact it imports.

    Every import counts: at the top, inside functions (lazy) and under
    ``TYPE_CHECKING``. ``from pkg import name`` imports the module
    ``pkg.name`` if there is one (and then not ``pkg`` itself), else ``pkg``.
    """
    known = {module for module, _ in modules()}
    graph: dict[str, set[str]] = {}
    for module, path in modules():
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[
                        : len(package.split(".")) - node.level + 1
                    ]
                    prefix = ".".join(base)
                    target = f"{prefix}.{node.module}" if node.module else prefix
                else:
                    target = node.module or ""
                submodules = {f"{target}.{a.name}" for a in node.names} & known
                targets.update(submodules)
                if len(submodules) < len(node.names):
                    targets.add(target)
        graph[module] = {t for t in targets if t in known and t != module}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (its modules, the first repeated at the
    end), or None."""
    state: dict[str, str] = {}

    def visit(module: str, chain: list[str]) -> list[str] | None:
        if state.get(module) == "done":
            return None
        if state.get(module) == "open":
            return [*chain[chain.index(module) :], module]
        state[module] = "open"
        for target in sorted(graph.get(module, ())):
            found = visit(target, [*chain, module])
            if found is not None:
                return found
        state[module] = "done"
        return None

    for module in sorted(graph):
        found = visit(module, [])
        if found is not None:
            return found
    return None


def test_find_cycle_finds_a_cycle_and_only_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_cycle_anywhere_in_enact() -> None:
    cycle = find_cycle(module_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_storage_interfaces_know_nothing_of_each_others_data() -> None:
    graph = module_graph()
    # Objects know nothing of runs; the index nothing of objects or journals.
    assert graph["enact.backends.objects"] <= {"enact.backends.base"}
    assert graph["enact.backends.index"] <= {"enact.backends.base"}
    assert graph["enact.backends.journals"] <= {
        "enact.backends.base",
        "enact.backends.index",
    }


def test_no_module_is_longer_than_800_lines() -> None:
    # One concept per module: a module past this has grown a second one.
    too_long = {
        module: lines
        for module, path in modules()
        if (lines := len(path.read_text().splitlines())) > 800
    }
    assert not too_long, f"split these modules (lines): {too_long}"


_FIRST_IMPORTS = """
import os, sys
import enact, fastapi, jinja2, uvicorn  # shared; enact does not import ui or api
failed = []
for name in sys.argv[1:]:
    pid = os.fork()
    if pid == 0:  # a child: a fresh enact.ui and enact.api, this module first
        try:
            __import__(name)
        except BaseException as error:
            print(f"{name}: {type(error).__name__}: {error}", flush=True)
            os._exit(1)
        os._exit(0)
    if os.waitpid(pid, 0)[1] != 0:
        failed.append(name)
sys.exit(1 if failed else 0)
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_every_web_module_imports_first_without_a_cycle() -> None:
    # Importing a module runs its packages' __init__ first, which the module
    # graph above does not model: enact.api builds on enact.ui's helpers and
    # enact.ui's pages on enact.api's functions, so each must import first,
    # without meeting a half-initialized module. Each is imported first in
    # a forked child of one interpreter.
    pytest.importorskip("fastapi", reason="the 'ui' extra is not installed")
    pytest.importorskip("jinja2", reason="the 'ui' extra is not installed")
    names = [m for m, _ in modules() if m.split(".")[1:2] in (["ui"], ["api"])]
    assert len(names) > 20
    result = subprocess.run(
        [sys.executable, "-c", _FIRST_IMPORTS, *names],
        env={**os.environ, "PYTHONPATH": str(SRC.parent)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"these fail when imported first:\n{result.stdout}"
