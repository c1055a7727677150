"""The pending table stays small and nothing depends on SQLite's host-parameter limit."""

from __future__ import annotations

import asyncio
import sqlite3

from zoho_sync_service.history import History
from zoho_sync_service.service import SyncService
from zoho_sync_service.settings import Settings

STOCK_LIMIT = 32_766  # SQLite's default SQLITE_MAX_VARIABLE_NUMBER (some builds raise it)
MANY = 40_000


def stock(history: History) -> History:
    history._db.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, STOCK_LIMIT)
    return history


def old_rows(path, count: int) -> None:
    """What a version that stored one row per trigger left behind after a flood."""
    history = History(path)
    with history.transaction():
        history._db.executemany(
            "INSERT INTO pending (job, trigger, selection, options, received_at) "
            "VALUES ('products-to-erp', 'books webhook: items', '[\"items\"]', '{}', '2026')",
            [()] * count,
        )
    history.close()


def test_any_number_of_served_rows_is_forgotten_under_the_stock_parameter_limit(tmp_path):
    old_rows(tmp_path / "h.db", MANY)
    history = stock(History(tmp_path / "h.db"))
    ids = [row.id for row in history.pending()]
    run = history.start_run("products-to-erp", "t", None, {}, 1)
    history.finish_run(
        run,
        status="succeeded",
        exit_code=0,
        duration=1.0,
        records={},
        errors=[],
        report=None,
        served=ids,
    )
    assert history.pending() == []
    assert history.runs()[0]["status"] == "succeeded"
    history.close()


def test_a_database_left_with_forty_thousand_identical_rows_is_coalesced_to_one(tmp_path):
    old_rows(tmp_path / "h.db", MANY)
    old_rows(tmp_path / "h.db", 3)
    history = History(tmp_path / "h.db")
    history.add_pending("products-to-erp", "books webhook: contacts", frozenset({"contacts"}), {})
    history.coalesce_pending()
    assert [(p.trigger, p.selection) for p in history.pending()] == [
        ("books webhook: items", {"items"}),
        ("books webhook: contacts", {"contacts"}),
    ]
    history.close()


FAKE_MELTANO = """#!/bin/sh
echo "$@" >> {calls}
"""


def settings_for(tmp_path, **overrides) -> Settings:
    fake = tmp_path / "meltano"
    fake.write_text(FAKE_MELTANO.format(calls=tmp_path / "calls"))
    fake.chmod(0o755)
    (tmp_path / "meltano.yml").write_text("plugins: {}\n")
    values = {
        "project_dir": tmp_path,
        "database": tmp_path / "service.db",
        "meltano": str(fake),
        "debounce_seconds": 0.2,
        "retry_backoff_seconds": 0.1,
        "channel_check_seconds": 60,
        **overrides,
    }
    return Settings(**values)


async def settle(service: SyncService) -> None:
    for _ in range(200):
        if not any(q.running or q.waiting for q in service.queues.values()):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the service did not settle")


def test_forty_thousand_triggers_are_one_stored_row_one_write_and_one_run(tmp_path):
    async def scenario():
        service = SyncService(settings_for(tmp_path, debounce_seconds=0.5))
        await service.start()
        writes = service.history._db.total_changes
        for sequence in range(MANY):
            service.trigger(
                "finance", "books webhook: items", frozenset({"items"}), delivery=f"d{sequence}"
            )
        stored = service.history.pending_counts()
        changes = service.history._db.total_changes - writes
        await settle(service)
        runs = service.history.runs()
        left = service.history.pending_counts()
        await service.stop()
        return stored, changes, runs, left

    stored, changes, runs, left = asyncio.run(scenario())
    assert stored == {"products-to-erp": 1}
    assert changes <= 2  # the row and the first delivery's digest; the rest are covered by them
    assert [(r["status"], r["selection"]) for r in runs] == [("succeeded", ["items"])]
    assert left == {}
    assert (tmp_path / "calls").read_text().split() == ["run", "products-to-erp"]


def test_triggers_widen_the_waiting_row_and_a_running_batch_takes_none(tmp_path):
    async def scenario():
        service = SyncService(settings_for(tmp_path, debounce_seconds=30))
        await service.start()
        service.trigger("crm", "crm notification: Leads.update", frozenset({"Leads"}))
        service.trigger("crm", "crm notification: Leads.update", frozenset({"Leads"}))
        service.trigger("crm", "crm notification: Deals.insert", frozenset({"Deals"}))
        rows = service.history.pending()
        await service.stop()
        return rows

    (row,) = asyncio.run(scenario())
    assert row.selection == {"Leads", "Deals"}
    assert row.trigger == "crm notification: Leads.update, crm notification: Deals.insert"
