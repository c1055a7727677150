"""Shared fixtures: a fresh sandbox per test and helpers to run tap-zoho in-process or as a CLI."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.zoho_sandbox import Sandbox

REPO = Path(__file__).resolve().parent.parent
FAST = {
    "retry_backoff_seconds": 0.01,
    "max_retries": 6,
    "request_timeout": 5,
    "progress_interval_seconds": 0,
}


@pytest.fixture
def sandbox() -> Any:
    """A freshly seeded sandbox on an ephemeral port."""
    sb = Sandbox()
    sb.start()
    yield sb
    sb.stop()


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


def write_json(path: Path, data: Any) -> Path:
    """Write ``data`` as JSON and return the path."""
    path.write_text(json.dumps(data))
    return path
