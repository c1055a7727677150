"""target-tsh-postgres imports downward only: no module reaches back up to one that imports it.

Every import counts, those made only for type checking too: a sink that names its target even
for a type hint is the start of a sink calling its target.
"""

from __future__ import annotations

import ast
from pathlib import Path

import target_tsh_postgres

PACKAGE = Path(target_tsh_postgres.__file__).parent


def _imports() -> dict[str, set[str]]:
    modules = {path.stem for path in PACKAGE.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.glob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level == 1 and node.module:
                    names.add(node.module.split(".")[0])
                elif node.level == 1:
                    names.update(alias.name for alias in node.names)
                elif node.module and node.module.startswith("target_tsh_postgres."):
                    names.add(node.module.split(".")[1])
        graph[path.stem] = names & modules
    return graph


def _circle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, as the modules along it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for imported in sorted(graph[module]):
            if state.get(imported) == 1:
                return [*path[path.index(imported) :], imported]
            if imported not in state and (found := visit(imported)):
                return found
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state and (found := visit(module)):
            return found
    return None


def test_the_package_imports_form_no_circle():
    assert _circle(_imports()) is None


def test_sinks_know_the_writer_and_never_the_target():
    graph = _imports()

    assert "writer" in graph["sinks"]
    assert "target" not in graph["sinks"]
