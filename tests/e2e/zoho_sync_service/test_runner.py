"""A cancelled or overlong run is stopped with its whole process group (zoho_sync_service.runner)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest


def test_a_cancelled_or_overlong_run_is_stopped_with_its_whole_process_group(tmp_path):
    from zoho_sync_service.runner import MeltanoRunner, RunSpec

    fake = tmp_path / "meltano"
    marker = tmp_path / "children"
    fake.write_text(f"#!/bin/sh\nsleep 60 &\necho $! > {marker}\nwait\n")
    fake.chmod(0o755)

    def alive(pid: int) -> bool:  # a zombie waiting for init to reap it is not alive
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            return False
        return "\nState:\tZ" not in status

    async def scenario():
        runner = MeltanoRunner(str(fake), tmp_path, timeout=60)
        task = asyncio.create_task(runner.run(RunSpec("job", {}), "tap"))
        while not marker.exists() or not marker.read_text().strip():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        child = int(marker.read_text())
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        deadline = time.monotonic() + 5  # dying takes a moment on a loaded machine
        while alive(child) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        cancelled_child_alive = alive(child)
        marker.unlink()
        slow = MeltanoRunner(str(fake), tmp_path, timeout=0.5)
        outcome = await slow.run(RunSpec("job", {}), "tap")
        return cancelled_child_alive, outcome, int(marker.read_text())

    cancelled_child_alive, outcome, child = asyncio.run(scenario())
    assert not cancelled_child_alive
    assert not outcome.succeeded
    assert "longer than 0.5s" in outcome.errors[-1]
    deadline = time.monotonic() + 5
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child)
