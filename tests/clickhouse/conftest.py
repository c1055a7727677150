"""One chDB data path for the whole pytest process (chDB allows one per process)."""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import clickhouse_connect
import pytest

#: Named at import, created by the first client that opens it, removed after the session.
CHDB_PATH = str(Path(tempfile.gettempdir()) / f"chdb-tests-{os.getpid()}-{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="session", autouse=True)
def _remove_the_chdb_path() -> Iterator[None]:
    yield
    shutil.rmtree(CHDB_PATH, ignore_errors=True)


@pytest.fixture
def database() -> str:
    """A fresh database name per test."""
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def ch():
    """A client on the shared embedded path."""
    return clickhouse_connect.get_client(interface="chdb", path=CHDB_PATH)


#: Set by the ``load_path`` fixture: "dicts" forces the row-by-row path (validate_records on).
LOAD_PATH = {"name": "raw"}


@pytest.fixture(params=["raw", "dicts"])
def load_path(request):
    """Run a test on both load paths: ClickHouse parsing raw records, and Python dicts."""
    LOAD_PATH["name"] = request.param
    yield request.param
    LOAD_PATH["name"] = "raw"


def target_config(database: str, **overrides: Any) -> dict[str, Any]:
    path = {"validate_records": True} if LOAD_PATH["name"] == "dicts" else {}
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
    import contextlib

    with contextlib.redirect_stdout(out):
        target = TargetClickHouse(config=config)
        target.listen(io.StringIO(text))
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def schema_message(
    stream: str, properties: dict, keys: list[str] | None = None, bookmark: list[str] | None = None
) -> dict[str, Any]:
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
    return {"type": "RECORD", "stream": stream, "record": data}


def rows(ch, sql: str, **params: Any) -> list[tuple]:
    return list(ch.query(sql, parameters=params).result_rows)
