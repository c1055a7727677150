"""tap-zoho in this process (``run_tap``) or as its installed command line (``run_cli``)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from tests.support.paths import BIN
from tests.zoho_sandbox import BOOKS_ORG, SECOND_ORG

#: Settings that keep retries and progress logs from slowing a test down.
FAST = {
    "retry_backoff_seconds": 0.01,
    "max_retries": 6,
    "request_timeout": 5,
    "progress_interval_seconds": 0,
}
#: A Books-only tap that needs no server until it syncs: for tests of its streams' pieces.
OFFLINE_BOOKS = {
    **FAST,
    "client_id": "1000.X",
    "client_secret": "s",
    "refresh_token": "r",
    "crm_enabled": False,
    "books_organization_id": "123",
}
TAP = BIN / "tap-zoho"


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
    return subprocess.run(
        [str(TAP), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )


def finance_config(sandbox: Any, *, books_only: bool = False, **extra: Any) -> dict[str, Any]:
    """A Books/Inventory-only tap config of ``sandbox``: Books of one organisation, Inventory of
    both (or Books alone with ``books_only``)."""
    orgs: dict[str, Any] = {"books_organization_id": BOOKS_ORG}
    if not books_only:
        orgs["inventory_organization_id"] = [BOOKS_ORG, SECOND_ORG]
    return {**sandbox.tap_config(crm_enabled=False, **orgs), **extra}


def books_config(sandbox: Any, **extra: Any) -> dict[str, Any]:
    """``finance_config`` of Books alone."""
    return finance_config(sandbox, books_only=True, **extra)


def leads_bookmark(state: dict[str, Any]) -> str | None:
    """The Leads bookmark a STATE holds, if any."""
    return (state.get("bookmarks", {}).get("leads") or {}).get("replication_key_value")
