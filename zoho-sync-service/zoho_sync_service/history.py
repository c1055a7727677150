"""What survives a restart, in one SQLite file: run history, unserved triggers, CRM channels.

A trigger is written here before its webhook is answered and deleted only once a run that covers
it has ended, so a service killed at any moment starts again with every change it acknowledged.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job TEXT NOT NULL,
    trigger TEXT NOT NULL,
    selection TEXT,
    options TEXT NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 1,
    status TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    duration_seconds REAL,
    exit_code INTEGER,
    records TEXT,
    total_records INTEGER,
    errors TEXT,
    report TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_job ON runs (job, id);
CREATE TABLE IF NOT EXISTS pending (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job TEXT NOT NULL,
    trigger TEXT NOT NULL,
    selection TEXT,
    options TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS channels (
    channel_id TEXT PRIMARY KEY,
    modules TEXT NOT NULL,
    events TEXT NOT NULL,
    token TEXT NOT NULL,
    notify_url TEXT NOT NULL,
    channel_expiry TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""


def now_iso() -> str:
    """UTC now, ISO 8601 with offset, to the millisecond."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class PendingRow:
    """A trigger no finished run has covered yet."""

    id: int
    job: str
    trigger: str
    selection: frozenset[str] | None
    options: dict[str, Any]


@dataclass(frozen=True)
class Channel:
    """A CRM notification channel this service subscribed."""

    channel_id: str
    modules: list[str]
    events: list[str]
    token: str
    notify_url: str
    channel_expiry: str
    updated_at: str = ""

    def expires_in(self) -> float:
        """Seconds until ``channel_expiry`` (negative once expired)."""
        expiry = datetime.fromisoformat(self.channel_expiry)
        return expiry.timestamp() - time.time()

    def granted(self) -> float | None:
        """Lifetime Zoho granted at the last subscription or renewal (None when unknown)."""
        if not self.updated_at:
            return None
        start = datetime.fromisoformat(self.updated_at)
        return datetime.fromisoformat(self.channel_expiry).timestamp() - start.timestamp()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, without the token."""
        return {
            "channel_id": self.channel_id,
            "modules": self.modules,
            "events": self.events,
            "notify_url": self.notify_url,
            "channel_expiry": self.channel_expiry,
        }


def _selection(raw: str | None) -> frozenset[str] | None:
    return None if raw is None else frozenset(json.loads(raw))


def _dump_selection(selection: frozenset[str] | None) -> str | None:
    return None if selection is None else json.dumps(sorted(selection))


class History:
    """The service's SQLite database; safe to call from the event loop and from threads."""

    def __init__(self, path: Path) -> None:
        """Open (and create) the database at ``path``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA busy_timeout=10000")
            self._db.executescript(SCHEMA)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    def _run(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, args)

    def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # ------------------------------------------------------------------ triggers
    def add_pending(
        self, job: str, trigger: str, selection: frozenset[str] | None, options: dict[str, Any]
    ) -> int:
        """Persist a trigger (durably, before it is acknowledged); return its id."""
        cursor = self._run(
            "INSERT INTO pending (job, trigger, selection, options, received_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (job, trigger, _dump_selection(selection), json.dumps(options), now_iso()),
        )
        return int(cursor.lastrowid or 0)

    def remove_pending(self, ids: list[int]) -> None:
        """Forget triggers a finished run covered."""
        if ids:
            marks = ",".join("?" * len(ids))
            self._run(f"DELETE FROM pending WHERE id IN ({marks})", tuple(ids))  # noqa: S608

    def pending(self) -> list[PendingRow]:
        """Triggers not yet covered, oldest first."""
        return [
            PendingRow(
                r["id"],
                r["job"],
                r["trigger"],
                _selection(r["selection"]),
                json.loads(r["options"]),
            )
            for r in self._all("SELECT * FROM pending ORDER BY id")
        ]

    # ------------------------------------------------------------------ runs
    def start_run(
        self,
        job: str,
        trigger: str,
        selection: frozenset[str] | None,
        options: dict[str, Any],
        attempt: int,
    ) -> int:
        """Record a run that is starting; return its id."""
        cursor = self._run(
            "INSERT INTO runs (job, trigger, selection, options, attempt, status, started_at) "
            "VALUES (?, ?, ?, ?, ?, 'running', ?)",
            (job, trigger, _dump_selection(selection), json.dumps(options), attempt, now_iso()),
        )
        return int(cursor.lastrowid or 0)

    def finish_run(  # noqa: PLR0913 - one column each
        self,
        run_id: int,
        *,
        status: str,
        exit_code: int | None,
        duration: float,
        records: dict[str, int],
        errors: list[str],
        report: dict[str, Any] | None,
    ) -> None:
        """Record how a run ended."""
        self._run(
            "UPDATE runs SET status = ?, ended_at = ?, duration_seconds = ?, exit_code = ?, "
            "records = ?, total_records = ?, errors = ?, report = ? WHERE id = ?",
            (
                status,
                now_iso(),
                round(duration, 3),
                exit_code,
                json.dumps(records),
                sum(records.values()),
                json.dumps(errors),
                json.dumps(report, default=str) if report is not None else None,
                run_id,
            ),
        )

    def mark_interrupted(self) -> list[str]:
        """Close runs a previous process left 'running'; return jobs whose last run was cut short.

        Meltano's own record of such a run may still say "running" until it goes stale, so the
        next run of these jobs needs ``--force``.
        """
        self._run(
            "UPDATE runs SET status = 'interrupted', ended_at = ?, "
            "errors = '[\"the service stopped during the run\"]' WHERE status = 'running'",
            (now_iso(),),
        )
        last = self._all(
            "SELECT job, status FROM runs WHERE id IN (SELECT max(id) FROM runs GROUP BY job)"
        )
        return sorted(r["job"] for r in last if r["status"] == "interrupted")

    def runs(self, job: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """The latest runs, newest first, as JSON-ready dicts."""
        where, args = ("WHERE job = ?", (job, limit)) if job else ("", (limit,))
        rows = self._all(f"SELECT * FROM runs {where} ORDER BY id DESC LIMIT ?", args)  # noqa: S608
        out = []
        for row in rows:
            item = dict(row)
            for key in ("selection", "options", "records", "errors", "report"):
                item[key] = json.loads(item[key]) if item[key] is not None else None
            out.append(item)
        return out

    # ------------------------------------------------------------------ channels
    def save_channel(self, channel: Channel) -> None:
        """Insert or replace a channel."""
        self._run(
            "INSERT OR REPLACE INTO channels VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                channel.channel_id,
                json.dumps(channel.modules),
                json.dumps(channel.events),
                channel.token,
                channel.notify_url,
                channel.channel_expiry,
                now_iso(),
            ),
        )

    def delete_channel(self, channel_id: str) -> None:
        """Forget a channel."""
        self._run("DELETE FROM channels WHERE channel_id = ?", (channel_id,))

    def channels(self) -> list[Channel]:
        """Every channel this service subscribed."""
        return [
            Channel(
                r["channel_id"],
                json.loads(r["modules"]),
                json.loads(r["events"]),
                r["token"],
                r["notify_url"],
                r["channel_expiry"],
                r["updated_at"],
            )
            for r in self._all("SELECT * FROM channels ORDER BY channel_id")
        ]

    def channel(self, channel_id: str) -> Channel | None:
        """One channel by id."""
        return next((c for c in self.channels() if c.channel_id == channel_id), None)
