"""The service's database (channel tokens included) is readable by its owner only."""

from __future__ import annotations

import stat
from pathlib import Path

from zoho_sync_service.history import History


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_live_database_its_wal_shared_memory_and_lock_are_owner_only(live):
    database = live.database
    for path in (database, *(database.with_name(database.name + s) for s in ("-wal", "-shm"))):
        assert mode(path) == 0o600, path
    assert mode(database.with_name(database.name + ".lock")) == 0o600
    assert mode(database.parent / f"{database.stem}-runs") == 0o700


def test_a_world_readable_database_from_an_older_version_is_made_owner_only(tmp_path):
    path = tmp_path / "service.db"
    History(path).close()
    for suffix in ("", "-wal", "-shm"):
        extra = path.with_name(path.name + suffix)
        extra.touch()
        extra.chmod(0o644)
    history = History(path)
    history.add_pending("job", "t", None, {})
    for suffix in ("", "-wal", "-shm"):
        assert mode(path.with_name(path.name + suffix)) == 0o600, suffix
    history.close()


def test_a_new_database_is_created_owner_only_whatever_the_umask(tmp_path):
    import os

    old = os.umask(0o000)
    try:
        history = History(tmp_path / "fresh" / "service.db")
        history.add_pending("job", "t", None, {})
    finally:
        os.umask(old)
    for suffix in ("", "-wal", "-shm"):
        assert mode(tmp_path / "fresh" / f"service.db{suffix}") == 0o600, suffix
    history.close()
