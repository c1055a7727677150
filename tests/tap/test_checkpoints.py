"""Inside a module the tap writes resumable STATE by records and by time; a kill keeps progress."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.conftest import FAST, run_tap

TAP = Path(sys.executable).with_name("tap-zoho")


def _leads_bookmark(state: dict) -> str | None:
    return (state.get("bookmarks", {}).get("leads") or {}).get("replication_key_value")


def test_state_comes_every_state_checkpoint_records_inside_a_module(sandbox):
    run = run_tap(sandbox.tap_config(crm_modules=["Leads"], state_checkpoint_records=500))

    total = len(run.records["leads"])
    states_with_bookmark, seen = 0, 0
    for message in run.messages:
        if message["type"] == "RECORD":
            seen += 1
        elif message["type"] == "STATE" and _leads_bookmark(message["value"]) and seen < total:
            states_with_bookmark += 1
    assert states_with_bookmark >= total // 500 - 1


def test_a_tap_killed_mid_module_resumes_from_its_last_state(sandbox, tmp_path):
    sandbox.faults.latency_seconds = 0.05
    config = {
        **FAST,
        **sandbox.tap_config(
            crm_modules=["Leads"],
            page_size=50,
            crm_include_deleted=False,
            crm_detail_reads=False,
            state_checkpoint_records=10**9,  # only the time-based checkpoint
            state_checkpoint_seconds=1,
        ),
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    proc = subprocess.Popen(
        [str(TAP), "--config", str(path)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    before_state: set[str] = set()
    seen: list[str] = []
    state: dict = {}
    stop = threading.Event()

    def read() -> None:
        for line in proc.stdout:
            message = json.loads(line)
            if message["type"] == "RECORD" and message["stream"] == "leads":
                seen.append(message["record"]["id"])
            elif message["type"] == "STATE" and _leads_bookmark(message["value"]) and seen:
                state.clear()
                state.update(message["value"])
                before_state.clear()
                before_state.update(seen)
                stop.set()
                return
        stop.set()  # the tap ended without a STATE inside the module

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    stop.wait(120)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    time.sleep(0.1)
    sandbox.faults.latency_seconds = 0
    live = set(sandbox.records("Leads"))

    assert state, "no STATE inside the module before the kill"
    assert 0 < len(before_state) < len(live)  # killed mid-module, with progress saved
    resumed = run_tap({**config, "state_checkpoint_records": 1000}, state=state)
    again = {r["id"] for r in resumed.records["leads"]}
    assert before_state | again == live  # nothing lost
    assert len(again) < len(live)  # the resumed run did not start over
