"""The run budget counts the runs a previous process started: a restart resets nothing."""

from __future__ import annotations

import asyncio

from zoho_sync_service.history import History
from zoho_sync_service.service import SyncService
from zoho_sync_service.settings import Settings


def test_runs_started_before_a_restart_still_count_against_the_window(tmp_path):
    database = tmp_path / "service.db"
    history = History(database)
    for attempt in (1, 2):  # the previous process spent the whole budget just now
        run = history.start_run("crm-to-clickhouse", "t", None, {}, attempt)
        history.finish_run(
            run, status="failed", exit_code=1, duration=1, records={}, errors=[], report=None
        )
    old = history.start_run("crm-to-clickhouse", "t", None, {}, 1)
    history._db.execute(
        "UPDATE runs SET started_at = '2001-01-01T00:00:00.000+00:00' WHERE id = ?", (old,)
    )
    history.close()
    settings = Settings(
        project_dir=tmp_path,
        database=database,
        meltano="meltano",
        max_runs_per_window=2,
        run_window_seconds=600,
    )

    async def scenario() -> float:
        service = SyncService(settings)
        await service.start()
        delay = service.budget.delay()
        await service.stop()
        return delay

    assert 590 < asyncio.run(scenario()) <= 600
