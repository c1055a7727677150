"""Field-by-field comparison of ClickHouse rows with the sandbox's Zoho records.

ClickHouse stores typed values (Decimal, UTC DateTime64, Date32, JSON text for objects); the
sandbox keeps Zoho's wire values. Two values are equal when they denote the same thing.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:?\d\d)$")
DATE = re.compile(r"^\d{4}-\d\d-\d\d$")
# chDB allows one data path per process, so queries run in a helper process.
QUERY = r"""
import json, sys, clickhouse_connect
client = clickhouse_connect.get_client(interface="chdb", path=sys.argv[1])
for sql in sys.argv[2:]:
    result = client.query(sql)
    print(json.dumps({"columns": list(result.column_names),
                      "rows": [list(r) for r in result.result_rows]}, default=str))
"""


def _run_many(path: Path, sqls: list[str]) -> list[dict[str, list]]:
    """Several queries in one helper process (starting the engine is the slow part)."""
    out = subprocess.run(
        [sys.executable, "-c", QUERY, str(path), *sqls],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def _run(path: Path, sql: str) -> dict[str, list]:
    return _run_many(path, [sql])[0]


def query(path: Path, sql: str) -> list[list]:
    """The rows of a query against an embedded ClickHouse data directory."""
    return _run(path, sql)["rows"]


def queries(path: Path, sqls: list[str]) -> list[list[list]]:
    """The rows of each query, all run in one helper process."""
    return [dump["rows"] for dump in _run_many(path, sqls)]


def table_rows(path: Path, table: str, key: str = "id") -> dict[Any, dict[str, Any]]:
    """Every live row of a table (read with FINAL), by ``key``, as column -> value."""
    return tables_rows(path, {table: key})[table]


def tables_rows(path: Path, keys: dict[str, str]) -> dict[str, dict[Any, dict[str, Any]]]:
    """``table_rows`` of several tables (table -> key column), read in one helper process."""
    return tables_rows_and_queries(path, keys, [])[0]


def tables_rows_and_queries(
    path: Path, keys: dict[str, str], sqls: list[str]
) -> tuple[dict[str, dict[Any, dict[str, Any]]], list[list[list]]]:
    """``tables_rows`` and then ``queries``, all in one helper process."""
    dumps = _run_many(path, [*(f"SELECT * FROM `{table}` FINAL" for table in keys), *sqls])
    tables = {}
    for (table, key), dump in zip(keys.items(), dumps, strict=False):
        rows = [dict(zip(dump["columns"], row, strict=True)) for row in dump["rows"]]
        tables[table] = {row[key]: row for row in rows}
    return tables, [dump["rows"] for dump in dumps[len(keys) :]]


def utc(value: str) -> str:
    """A Zoho date-time as ClickHouse prints a UTC ``DateTime`` (to the second)."""
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _instant(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def same(source: Any, stored: Any) -> bool:  # noqa: PLR0911
    """True when the stored value denotes the source value."""
    if source is None:
        return stored is None
    if isinstance(source, bool):
        return stored is source
    if isinstance(source, (dict, list)):
        return isinstance(stored, str) and json.loads(stored) == source
    if isinstance(source, (int, float)):
        return stored is not None and Decimal(str(source)) == Decimal(str(stored))
    if isinstance(source, str) and DATETIME.match(source):
        return stored is not None and _instant(source) == _instant(str(stored))
    if isinstance(source, str) and DATE.match(source):
        return str(stored)[:10] == source
    return stored == source


def differences(
    expected: dict[str, dict[str, Any]], stored: dict[str, dict[str, Any]]
) -> list[str]:
    """Every mismatch, as readable lines (empty when ClickHouse equals the sandbox)."""
    problems = [f"missing id {rid}" for rid in expected.keys() - stored.keys()]
    problems += [f"unexpected id {rid}" for rid in stored.keys() - expected.keys()]
    for rid in expected.keys() & stored.keys():
        for field, value in expected[rid].items():
            if not same(value, stored[rid].get(field)):
                problems.append(f"{rid}.{field}: {value!r} != {stored[rid].get(field)!r}")
    return problems
