"""Shared fixtures: a fresh sandbox per test and helpers to run tap-zoho in-process or as a CLI."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from tests.erp.pgserver import PgServer
from tests.zoho_sandbox import Sandbox

REPO = Path(__file__).resolve().parent.parent
FAST = {
    "retry_backoff_seconds": 0.01,
    "max_retries": 6,
    "request_timeout": 5,
    "progress_interval_seconds": 0,
}
# A Books-only tap that needs no server until it syncs: for tests of its streams' pieces.
OFFLINE_BOOKS = {
    **FAST,
    "client_id": "1000.X",
    "client_secret": "s",
    "refresh_token": "r",
    "crm_enabled": False,
    "books_organization_id": "123",
}


@pytest.fixture
def sandbox() -> Any:
    """A freshly seeded sandbox on an ephemeral port."""
    sb = Sandbox()
    sb.start()
    yield sb
    sb.stop()


@pytest.fixture
def finance() -> Any:
    """A sandbox with Books and Inventory data only (no CRM seed: quick to build)."""
    sb = Sandbox(specs=[])
    sb.start()
    yield sb
    sb.stop()


@pytest.fixture(scope="session")
def pg_server():
    """A real PostgreSQL server for the whole pytest session."""
    server = PgServer().start()
    yield server
    server.stop()


@pytest.fixture
def erp_db(pg_server):
    """A fresh database per test; returns target-tsh-postgres connection settings."""
    return new_database(pg_server)


def new_database(pg_server):
    """Create an empty database on ``pg_server``; return target-tsh-postgres settings."""
    name = f"erp_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(
        host="127.0.0.1", port=pg_server.port, user="postgres", dbname="postgres"
    )
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return pg_server.dsn(name)


def connect(dsn):
    """A psycopg2 connection from target-style settings."""
    return psycopg2.connect(
        host=dsn["host"], port=dsn["port"], user=dsn["user"], dbname=dsn["database"]
    )


@dataclass
class TapRun:
    """What one tap run wrote."""

    messages: list[dict[str, Any]]
    error: Exception | None = None
    records: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    state: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None

    def ids(self, stream: str, *, deleted: bool | None = None) -> list[str]:
        """Ids emitted for a stream (all, only tombstones, or only live records)."""
        return [
            r["id"]
            for r in self.records[stream]
            if deleted is None or bool(r.get("_sdc_deleted_at")) == deleted
        ]


def run_tap(
    config: dict[str, Any], state: dict | None = None, catalog: dict | None = None
) -> TapRun:
    """Run tap-zoho in this process and parse what it printed."""
    from tap_zoho.errors import ZohoError
    from tap_zoho.tap import TapZoho

    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    error: Exception | None = None
    summary = None
    with contextlib.redirect_stdout(out):
        try:
            tap = TapZoho(config={**FAST, **config}, state=state, catalog=catalog)
            try:
                tap.sync_all()
            finally:
                summary = tap.summary.as_dict()
        except ZohoError as exc:
            error = exc
    out.flush()
    text = out.buffer.getvalue().decode()
    run = TapRun([json.loads(line) for line in text.splitlines() if line.strip()], error)
    run.summary = summary
    for message in run.messages:
        if message["type"] == "RECORD":
            run.records[message["stream"]].append(message["record"])
        elif message["type"] == "SCHEMA":
            run.schemas[message["stream"]] = message["schema"]
        elif message["type"] == "STATE":
            run.state = message["value"]
    return run


def run_cli(
    args: list[str], *, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``tap-zoho`` console script."""
    exe = Path(sys.executable).with_name("tap-zoho")
    return subprocess.run(
        [str(exe), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )


def shell_pipe(
    tap: list[str], target: list[str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``tap | target`` as two real processes; asserts both succeed; returns the target's run."""
    producer = subprocess.Popen(tap, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        consumer = subprocess.run(
            target,
            stdin=producer.stdout,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    finally:
        producer.stdout.close()  # a target that died early must not leave the tap blocked on a write
    assert consumer.returncode == 0, consumer.stderr[-3000:]
    assert producer.wait(timeout=timeout) == 0
    return consumer


def write_json(path: Path, data: Any) -> Path:
    """Write ``data`` as JSON and return the path."""
    path.write_text(json.dumps(data))
    return path
