"""tap-zoho imports only downward: the tap on top, then the families, the SDK adapters, the run
context, the HTTP layer, and pure helpers at the bottom.

Every import counts, those made only for type checking too: a lower layer that names a higher one
even for a type hint is the start of it reaching up for a service.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import tap_zoho

PACKAGE = Path(tap_zoho.__file__).parent

# Top to bottom; a module belongs to the first layer with a prefix of its dotted name.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("the tap", ("tap",)),
    (
        "families",
        (
            "crm",
            "bulk_read",
            "finance.",
            "completion",
            "budgeted_reads",
            "hidden_records",
            "linked_rows",
            "record_reads",
            "bulk_jobs",
            "spool",
        ),
    ),
    ("SDK adapters", ("sdk.",)),
    ("run context", ("run_context",)),
    ("HTTP layer", ("api.",)),
    (
        "pure helpers",
        (
            "keyset",
            "shaping",
            "datetimes",
            "schema",
            "summary",
            "details",
            "deletions",
            "bulk_csv",
            "progress_log",
            "errors",
        ),
    ),
]


def _modules() -> dict[str, Path]:
    return {
        ".".join(path.relative_to(PACKAGE).with_suffix("").parts): path
        for path in PACKAGE.rglob("*.py")
        if path.name != "__init__.py"
    }


def _resolve(module: str, node: ast.ImportFrom, known: set[str]) -> set[str]:
    """The package's modules an ``from ... import ...`` names (relative or ``tap_zoho.``)."""
    if node.level:
        base = module.split(".")[: -node.level]
        target = ".".join([*base, *([node.module] if node.module else [])])
    elif node.module and node.module.startswith("tap_zoho."):
        target = node.module.removeprefix("tap_zoho.")
    else:
        return set()
    names = {target} | {f"{target}.{alias.name}" if target else alias.name for alias in node.names}
    return {name for name in names if name in known}


def _imports() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                imported |= _resolve(module, node, known)
        graph[module] = imported - {module}
    return graph


def _layer(module: str) -> int:
    for index, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p) for p in prefixes):
            return index
    msg = f"tap_zoho.{module} belongs to no layer: add it to LAYERS"
    raise AssertionError(msg)


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


def test_every_module_belongs_to_a_layer():
    for module in _modules():
        _layer(module)


def test_no_module_imports_one_from_a_higher_layer():
    upward = [
        f"{module} ({LAYERS[_layer(module)][0]}) imports {imported} ({LAYERS[_layer(imported)][0]})"
        for module, imports in _imports().items()
        for imported in imports
        if _layer(imported) < _layer(module)
    ]

    assert upward == []


def test_nothing_imports_the_tap():
    assert [module for module, imports in _imports().items() if "tap" in imports] == []


@pytest.mark.xfail(
    strict=True,
    reason="crm.py and bulk_read.py import each other until the CRM family is layered",
)
def test_the_package_imports_form_no_circle():
    assert _circle(_imports()) is None
