"""What tap-zoho must emit for a Books/Inventory row of the sandbox, field by field.

The documented equivalences (tap-zoho README, "Books and Inventory"): a ``cf_x`` column holds the
typed ``cf_x_unformatted`` value and the twin is no column of its own; ``""`` in a field that is
not a plain string is null (or absent, for a field that never had a value); numeric strings
(``"12.5"``, ``"70%"``) are numbers; datetimes are RFC 3339 with the same instant; in a discovered
field (custom fields, keys the tap does not declare itself) ``""`` is null. Records add
``organization_id`` (and ``image_url`` for items). Anything else must be equal.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
ZOHO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}$")
ADDED = {"organization_id", "image_url"}


def _plain_string(prop: dict[str, Any] | None) -> bool:
    if prop is None:
        return False
    types = prop.get("type", [])
    types = {types} if isinstance(types, str) else set(types)
    return types - {"null"} == {"string"} and "format" not in prop


def _same(source: Any, emitted: Any, prop: dict[str, Any] | None, *, declared: bool) -> bool:
    if source == "" and (not declared or not _plain_string(prop)):
        return emitted is None
    if isinstance(source, str) and ZOHO_TIME.match(source):
        return (
            isinstance(emitted, str)
            and bool(RFC3339.match(emitted))
            and datetime.strptime(source, "%Y-%m-%dT%H:%M:%S%z") == datetime.fromisoformat(emitted)
        )
    if isinstance(source, str) and prop and "number" in str(prop.get("type")):
        return emitted == float(source.rstrip("%"))
    if isinstance(source, list):
        return (
            isinstance(emitted, list)
            and len(source) == len(emitted)
            and all(
                record_problems(s, e, {}) == [] if isinstance(s, dict) else s == e
                for s, e in zip(source, emitted, strict=True)
            )
        )
    return source == emitted and type(source) is type(emitted)


def record_problems(
    row: dict[str, Any],
    emitted: dict[str, Any],
    properties: dict[str, Any],
    declared: frozenset[str] = frozenset(),
) -> list[str]:
    """Every field where ``emitted`` does not denote the sandbox ``row`` (empty: equal)."""
    problems = []
    for key, value in row.items():
        if key.endswith("_unformatted") and key.removesuffix("_unformatted") in row:
            if f"{key}" in emitted:
                problems.append(f"{key}: the twin is a column of its own")
            continue
        source = row.get(f"{key}_unformatted", value)
        if key not in emitted and source in ("", None) and key not in declared:
            continue  # a discovered field without a value: absent equals null
        if not _same(source, emitted.get(key), properties.get(key), declared=key in declared):
            problems.append(f"{key}: sandbox {source!r}, emitted {emitted.get(key)!r}")
    problems += [f"{k}: not in the sandbox row" for k in emitted.keys() - row.keys() - ADDED]
    return problems


def expected_columns(
    row: dict[str, Any], properties: dict[str, Any], declared: frozenset[str]
) -> dict[str, Any]:
    """The sandbox row as a target should store it: column -> value, by the same equivalences.

    Fields that never had a value have no column (and must be empty in the row).
    """
    columns: dict[str, Any] = {}
    for key, value in row.items():
        if key.endswith("_unformatted") and key.removesuffix("_unformatted") in row:
            continue
        source = row.get(f"{key}_unformatted", value)
        prop = properties.get(key)
        if prop is None:
            assert source in ("", None), f"{key} holds {source!r} but has no column"
            continue
        if source == "" and (key not in declared or not _plain_string(prop)):
            source = None
        elif isinstance(source, str) and "number" in str(prop.get("type")):
            source = float(source.rstrip("%"))
        columns[key] = source
    return columns
