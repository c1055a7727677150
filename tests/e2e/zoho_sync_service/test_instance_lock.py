"""One service per database, in process: the claim, who holds it, and what a refused start touches."""

from __future__ import annotations

import os
import stat
import subprocess

import pytest
from zoho_sync_service.errors import AlreadyRunningError, ServiceError
from zoho_sync_service.history import History
from zoho_sync_service.instance import InstanceLock, lock_path
from zoho_sync_service.service import SyncService
from zoho_sync_service.settings import Settings


def test_a_second_claim_is_refused_naming_the_holder_and_a_released_one_is_free(tmp_path):
    database = tmp_path / "service.db"
    first = InstanceLock(database)
    first.acquire("http://127.0.0.1:8080")
    with pytest.raises(AlreadyRunningError) as refused:
        InstanceLock(database).acquire("http://127.0.0.1:9090")
    assert isinstance(refused.value, ServiceError)
    message = str(refused.value)
    assert f"pid {os.getpid()}" in message
    assert "http://127.0.0.1:8080" in message
    assert str(database) in message
    assert "\n" not in message
    assert stat.S_IMODE(lock_path(database).stat().st_mode) == 0o600
    first.release()
    again = InstanceLock(database)
    again.acquire("http://127.0.0.1:9090")
    again.release()


def test_a_run_started_while_holding_the_claim_does_not_inherit_it(tmp_path):
    database = tmp_path / "service.db"
    holder = InstanceLock(database)
    holder.acquire("here")
    child = subprocess.Popen(["sleep", "30"], close_fds=False)  # noqa: S607
    try:
        holder.release()
        InstanceLock(database).acquire("next")  # the child keeps no copy of the lock
    finally:
        child.kill()
        child.wait()


def test_a_second_service_stops_before_touching_the_database(tmp_path):
    settings = Settings(project_dir=tmp_path, database=tmp_path / "service.db", meltano="meltano")
    first = SyncService(settings)
    run = first.history.start_run("crm-to-clickhouse", "t", None, {}, 1)
    first.history.add_pending("crm-to-clickhouse", "t", None, {})
    first.history.add_pending("crm-to-clickhouse", "t", None, {})
    with pytest.raises(AlreadyRunningError):
        SyncService(settings)
    look = History(tmp_path / "service.db")
    assert [r["status"] for r in look.runs()] == ["running"]  # not marked interrupted
    assert len(look.pending()) == 2  # not coalesced under the first one's feet
    assert run == look.runs()[0]["id"]
    look.close()
    first.history.close()
    first.lock.release()
