"""curate's layers import one way only, and no curate modules import each other in a cycle.

Every ``import`` counts, at module level or inside a function (a lazy import still ties two
modules together). docs/architecture.md explains the layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "curate"
# Lowest first: a module may import its own layer and those below it, never one above.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("core", ("curate", "curate.core", "curate.schema", "curate.stats", "curate.strict_yaml")),
    ("io", ("curate.io",)),
    ("libraries", ("curate.models", "curate.pii", "curate.dedup")),
    ("stages", ("curate.stages",)),
    ("recipe", ("curate.recipe",)),
    ("pipeline", ("curate.pipeline",)),
    ("engine", ("curate.engine",)),
    ("runner", ("curate.runner", "curate.erasure.state")),
    (
        "applications",
        (
            "curate.card",
            "curate.erasure",
            "curate.mixture",
            "curate.publish",
            "curate.slurm",
            "curate.testing",
            "curate.tools",
        ),
    ),
    ("cli", ("curate.cli",)),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> int:
    """The index of the layer whose longest prefix names ``module``."""
    best, best_length = None, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            matches = module == prefix or module.startswith(prefix + ".")
            if matches and len(prefix) > best_length:
                best, best_length = index, len(prefix)
    assert best is not None, f"{module} is in no layer; add it to LAYERS"
    return best


def _target(name: str) -> str:
    """The curate module an import names (``curate.a.b`` may be a name in module ``curate.a``)."""
    while name not in MODULES and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def imports_of(module: str) -> set[str]:
    """The curate modules ``module`` imports, wherever in the file the import sits."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {_target(n) for n in names if n == "curate" or n.startswith("curate.")}
    found.discard(module)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        layer_of(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down_the_layers(module: str) -> None:
    own = layer_of(module)
    upward = sorted(t for t in GRAPH[module] if layer_of(t) > own)
    assert not upward, f"{module} ({LAYERS[own][0]}) imports " + ", ".join(
        f"{t} ({LAYERS[layer_of(t)][0]})" for t in upward
    )


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first = last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                return path[path.index(target) :] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            return cycle
    return None


def test_no_import_cycles() -> None:
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_checks_catch_a_cycle_and_an_upward_import() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    assert layer_of("curate.io.jsonl") < layer_of("curate.recipe") < layer_of("curate.cli")
    assert layer_of("curate.core.stage") == layer_of("curate.schema")
