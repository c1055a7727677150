"""What survives a restart, in one SQLite file: run history, unserved triggers, CRM channels.

A trigger is written here before its webhook is answered and deleted only once a run that covers
it has ended, so a service killed at any moment starts again with every change it acknowledged.
Triggers waiting for the same run share one row (:mod:`.flight` decides which), so the table holds
a handful of rows whatever the flood; a run's end and the deletion of the rows it served are one
transaction, and no statement binds more than a few parameters. The file (with its WAL and shared
memory, which SQLite creates with the database's mode) is readable by its owner only: it holds the
channels' tokens.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from pathlib import Path

PRIVATE = 0o600
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
CREATE INDEX IF NOT EXISTS runs_by_start ON runs (started_at);
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
    updated_at TEXT NOT NULL,
    previous_token TEXT NOT NULL DEFAULT '',
    rotated_at TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS deliveries (
    digest TEXT PRIMARY KEY,
    received_at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deliveries_by_age ON deliveries (received_at);
"""
# Columns later versions added to tables an older database already has.
ADDED_COLUMNS = {
    "channels": {
        "previous_token": "TEXT NOT NULL DEFAULT ''",
        "rotated_at": "TEXT NOT NULL DEFAULT ''",
    },
}


def now_iso() -> str:
    """UTC now, ISO 8601 with offset, to the millisecond."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class PendingRow:
    """Triggers no finished run has covered yet (one row per run they wait for)."""

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
    previous_token: str = ""
    rotated_at: str = ""

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

    def tokens(self, grace: float) -> list[str]:
        """Tokens a callback may carry: the current one, and the one it replaced for ``grace`` s.

        Zoho may still deliver callbacks it queued before the renewal that rotated the token.
        """
        if not self.previous_token or not self.rotated_at:
            return [self.token]
        age = time.time() - datetime.fromisoformat(self.rotated_at).timestamp()
        return [self.token, self.previous_token] if age < grace else [self.token]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, without the tokens."""
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


def _private_file(path: Path) -> None:
    """Create ``path`` readable by its owner only, or take other users' access away."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, PRIVATE))
    for existing in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            if existing.stat().st_mode & 0o777 != PRIVATE:
                existing.chmod(PRIVATE)


class History:
    """The service's SQLite database; safe to call from the event loop and from threads."""

    def __init__(self, path: Path) -> None:
        """Open (and create, readable by its owner only) the database at ``path``."""
        _private_file(path)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA busy_timeout=10000")
            self._db.executescript(SCHEMA)
            self._add_columns()

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    def _add_columns(self) -> None:
        for table, columns in ADDED_COLUMNS.items():
            present = {r["name"] for r in self._db.execute(f"PRAGMA table_info({table})")}
            for name, declaration in columns.items():
                if name not in present:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {declaration}")

    def coalesce_pending(self) -> None:
        """Keep one row of identical triggers (a database written before they were coalesced).

        Only the service holding the instance lock calls this: it alone knows the rows' ids.
        """
        self._run(
            "DELETE FROM pending WHERE id NOT IN "
            "(SELECT min(id) FROM pending GROUP BY job, selection, options)"
        )

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Statements inside commit together (or not at all); nested uses join the outer one."""
        with self._lock:
            if self._db.in_transaction:
                yield
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _run(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, args)

    def _many(self, sql: str, rows: Iterable[tuple[Any, ...]]) -> None:
        with self.transaction():
            self._db.executemany(sql, rows)

    def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # ------------------------------------------------------------------ triggers
    def add_pending(
        self, job: str, trigger: str, selection: frozenset[str] | None, options: dict[str, Any]
    ) -> int:
        """Persist a trigger (durably, before it is acknowledged); return its row id."""
        cursor = self._run(
            "INSERT INTO pending (job, trigger, selection, options, received_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (
                job,
                trigger,
                _dump_selection(selection),
                json.dumps(options, sort_keys=True),
                now_iso(),
            ),
        )
        return int(cursor.lastrowid or 0)

    def widen_pending(
        self, pending_id: int, trigger: str, selection: frozenset[str] | None
    ) -> None:
        """Let a stored row cover more: the triggers that joined it and their selection."""
        self._run(
            "UPDATE pending SET trigger = ?, selection = ? WHERE id = ?",
            (trigger, _dump_selection(selection), pending_id),
        )

    def remove_pending(self, ids: Iterable[int]) -> None:
        """Forget rows a finished run covered (any number: one bound parameter per statement)."""
        self._many("DELETE FROM pending WHERE id = ?", ((i,) for i in ids))

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

    def pending_counts(self) -> dict[str, int]:
        """Stored rows per job."""
        rows = self._all("SELECT job, count(*) AS n FROM pending GROUP BY job")
        return {r["job"]: int(r["n"]) for r in rows}

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
        served: Iterable[int] = (),
    ) -> None:
        """Record how a run ended and, in the same transaction, forget the rows it ``served``."""
        with self.transaction():
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
            self.remove_pending(served)

    def mark_interrupted(self) -> list[str]:
        """Close runs a previous process left 'running'; return jobs whose last run was cut short.

        Only the service holding the instance lock (:mod:`.instance`) may call this: any run
        still marked running then belongs to a process that is gone. Meltano's own record of such
        a run may still say "running" until it goes stale, so the next run of these jobs needs
        ``--force``.
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

    def run_starts_since(self, seconds: float) -> list[float]:
        """Wall-clock start times (epoch seconds) of the runs started in the last ``seconds``."""
        since = datetime.fromtimestamp(time.time() - seconds, UTC)
        rows = self._all(
            "SELECT started_at FROM runs WHERE started_at >= ? ORDER BY id",
            (since.isoformat(timespec="milliseconds"),),
        )
        return [datetime.fromisoformat(r["started_at"]).timestamp() for r in rows]

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
            "INSERT OR REPLACE INTO channels (channel_id, modules, events, token, notify_url, "
            "channel_expiry, updated_at, previous_token, rotated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                channel.channel_id,
                json.dumps(channel.modules),
                json.dumps(channel.events),
                channel.token,
                channel.notify_url,
                channel.channel_expiry,
                now_iso(),
                channel.previous_token,
                channel.rotated_at,
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
                r["previous_token"],
                r["rotated_at"],
            )
            for r in self._all("SELECT * FROM channels ORDER BY channel_id")
        ]

    def channel(self, channel_id: str) -> Channel | None:
        """One channel by id."""
        return next((c for c in self.channels() if c.channel_id == channel_id), None)

    # ------------------------------------------------------------------ deliveries
    def remember_deliveries(self, seen: Iterable[tuple[str, float]]) -> None:
        """Store digests of accepted deliveries with their epoch time (see :mod:`.replay`)."""
        self._many("INSERT OR REPLACE INTO deliveries (digest, received_at) VALUES (?, ?)", seen)

    def recent_deliveries(self, since: float, limit: int) -> list[tuple[str, float]]:
        """The newest ``limit`` digests received after ``since`` (epoch), oldest first."""
        rows = self._all(
            "SELECT digest, received_at FROM deliveries WHERE received_at >= ? "
            "ORDER BY received_at DESC LIMIT ?",
            (since, limit),
        )
        return [(r["digest"], float(r["received_at"])) for r in reversed(rows)]

    def forget_deliveries(self, before: float, keep: int) -> None:
        """Drop digests older than ``before`` (epoch) and all but the newest ``keep``."""
        with self.transaction():
            self._run("DELETE FROM deliveries WHERE received_at < ?", (before,))
            self._run(
                "DELETE FROM deliveries WHERE digest IN (SELECT digest FROM deliveries "
                "ORDER BY received_at DESC LIMIT -1 OFFSET ?)",
                (keep,),
            )
