"""One service per database: ``serve`` holds an exclusive lock on a file beside the SQLite file.

Two services on one database would both recover the same triggers, each mark the other's run
interrupted and start ``meltano run --force`` on the same job at once. The lock is an ``flock``,
which the kernel releases when its holder dies (SIGKILL included), so a crashed service never
blocks the next start; the file names its holder, so a refused start can say who it is.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from .errors import AlreadyRunningError

if TYPE_CHECKING:
    from pathlib import Path


def lock_path(database: Path) -> Path:
    """The lock file of ``database``."""
    return database.with_name(database.name + ".lock")


class InstanceLock:
    """The claim of one running service on one database."""

    def __init__(self, database: Path) -> None:
        """Claim ``database`` (nothing happens until :meth:`acquire`)."""
        self.database = database
        self.path = lock_path(database)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this process holds the lock."""
        return self._fd is not None

    def acquire(self, address: str) -> None:
        """Take the lock, naming this process and ``address``; raise if another service has it."""
        if self._fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # O_CLOEXEC: a child (meltano run) must never inherit the lock and outlive us with it.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise AlreadyRunningError(
                f"another zoho-sync-service ({holder}) is serving {self.database}; stop it "
                "first, or give this one its own database (ZOHO_SYNC_SERVICE_DATABASE)"
            ) from None
        claim = {
            "pid": os.getpid(),
            "address": address,
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(claim).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Give the lock up (exiting does it too)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None


def _holder(fd: int) -> str:
    """How the lock file describes its holder, in words."""
    try:
        raw = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        raw = {}
    if not isinstance(raw, dict) or "pid" not in raw:
        return "pid unknown"
    return f"pid {raw.get('pid')}, {raw.get('address') or 'no address'}, since {raw.get('since')}"
