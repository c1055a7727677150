"""target-clickhouse in this process, on this process's one chDB data path.

chDB opens one data path per process: every in-process target run and every ``ch`` client of a
test process uses :data:`CHDB_PATH` (named per process, so parallel workers never share it).
Other data directories (a CLI's, Meltano's) are read from a helper process (:mod:`.compare`).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: Named at import, created by the first client that opens it, removed after the session.
CHDB_PATH = str(Path(tempfile.gettempdir()) / f"chdb-tests-{os.getpid()}-{uuid.uuid4().hex[:8]}")
#: The two load paths: ClickHouse parsing raw records, and Python dicts (validate_records on).
LOAD_PATHS = ("raw", "dicts")


def settings(database: str, *, load_path: str = "raw", **overrides: Any) -> dict[str, Any]:
    """target-clickhouse settings for ``database`` on :data:`CHDB_PATH`, on one load path."""
    path = {"validate_records": True} if load_path == "dicts" else {}
    return {"path": CHDB_PATH, "database": database, **path, **overrides}


class _StateOutput(io.StringIO):
    """Standard output that calls ``on_state`` with each STATE value as it is written."""

    def __init__(self, on_state: Callable[[dict[str, Any]], None]) -> None:
        super().__init__()
        self.on_state = on_state
        self.pending = ""

    def write(self, text: str) -> int:
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            if line.strip():
                self.on_state(json.loads(line))
        return super().write(text)


def run_target(
    config: dict[str, Any],
    messages: list[dict[str, Any]],
    on_state: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Feed Singer messages to target-clickhouse in-process; return the STATE values it wrote.

    ``on_state`` is called with each STATE value at the moment the target writes it.
    """
    from target_clickhouse.target import TargetClickHouse

    text = "".join(json.dumps(m) + "\n" for m in messages)
    out = io.StringIO() if on_state is None else _StateOutput(on_state)
    with contextlib.redirect_stdout(out):
        target = TargetClickHouse(config=config)
        target.listen(io.StringIO(text))
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def schema_message(
    stream: str, properties: dict, keys: list[str] | None = None, bookmark: list[str] | None = None
) -> dict[str, Any]:
    """A SCHEMA message."""
    message: dict[str, Any] = {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {"type": "object", "properties": properties},
        "key_properties": keys or [],
    }
    if bookmark:
        message["bookmark_properties"] = bookmark
    return message


def record(stream: str, data: dict[str, Any]) -> dict[str, Any]:
    """A RECORD message."""
    return {"type": "RECORD", "stream": stream, "record": data}


def rows(ch: Any, sql: str, **params: Any) -> list[tuple]:
    """The rows of a query, bound parameters and all."""
    return list(ch.query(sql, parameters=params).result_rows)


#: A CRM-like stream: a key, a decimal, the bookmark and the deletion marker.
LEADS = {
    "id": {"type": ["string"]},
    "Name": {"type": ["string", "null"]},
    "Amount": {
        "type": ["number", "null"],
        "x-sql-datatype": "decimal",
        "x-sql-datatype-properties": {"precision": 18, "scale": 2},
    },
    "Modified_Time": {"type": ["string", "null"], "format": "date-time"},
    "_sdc_deleted_at": {"type": ["string", "null"], "format": "date-time"},
}


def leads_schema() -> dict[str, Any]:
    """The SCHEMA message of ``leads`` (key ``id``, bookmark ``Modified_Time``)."""
    return schema_message("leads", LEADS, ["id"], ["Modified_Time"])


def lead(rid: str, name: str, modified: str | None, **extra: Any) -> dict[str, Any]:
    """A RECORD of ``leads``."""
    return record("leads", {"id": rid, "Name": name, "Modified_Time": modified, **extra})
