"""tap-zoho imports only downward: the tap on top, then the families, the SDK adapters, the run
context, the HTTP layer, and pure helpers at the bottom.

Every import counts, those made only for type checking too: a lower layer that names a higher one
even for a type hint is the start of it reaching up for a service.
"""

from __future__ import annotations

import ast
import typing as t
from pathlib import Path

import pytest
import tap_zoho

PACKAGE = Path(tap_zoho.__file__).parent

# Top to bottom; a module belongs to the first layer with a prefix of its dotted name.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("the tap", ("tap",)),
    ("families", ("crm.", "finance.")),
    ("SDK adapters", ("sdk.",)),
    ("run context", ("run_context",)),
    ("HTTP layer", ("api.",)),
    (
        "pure helpers",
        (
            "keyset",
            "position_paging",
            "fingerprints",
            "shaping",
            "datetimes",
            "summary",
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


def test_the_package_imports_form_no_circle():
    assert _circle(_imports()) is None


def _packages() -> set[str]:
    return {module.rpartition(".")[0] for module in _modules()}  # "" is the package itself


def _rooms(graph: dict[str, set[str]], package: str) -> dict[str, set[str]]:
    """The imports between the rooms of ``package``: its modules, each sub-package as one."""
    prefix = f"{package}." if package else ""

    def room(module: str) -> str | None:
        if not module.startswith(prefix):
            return None
        return module.removeprefix(prefix).split(".")[0]

    rooms: dict[str, set[str]] = {}
    for module, imports in graph.items():
        own = room(module)
        if own is None:
            continue
        targets = {room(imported) for imported in imports} - {None, own}
        rooms.setdefault(own, set()).update(t.cast("set[str]", targets))
    return rooms


@pytest.mark.parametrize("package", sorted(_packages()))
def test_no_two_rooms_of_a_package_import_each_other(package):
    """A sub-package is one room of its parent: no circle between rooms either."""
    assert _circle(_rooms(_imports(), package)) is None
