"""One service per database: a second `serve` on the same project refuses and touches nothing."""

from __future__ import annotations

import time

from tests.support.live_service import free_port


def test_a_second_serve_on_the_same_project_exits_naming_the_first_and_leaves_its_run_alone(live):
    live.idle()
    job = "crm-to-clickhouse"
    before = len(live.runs(job))
    lead = sorted(live.sandbox.records("Leads"))[5]
    live.sandbox.update("Leads", lead, {"Last_Name": "While-A-Second-Starts"})
    live.sandbox.faults.latency_seconds = 0.3  # a run long enough to start a second service in
    try:
        sent = live.sandbox.notifications.notify("Leads", [lead])
        assert [d.status for d in sent] == [200]
        live.wait_running(job)
        first = live.server_pid()
        second = live.cli("serve", "--port", str(free_port()), timeout=60)
        through_meltano = live.serve(port=free_port()).wait(timeout=120)
        still = live.health()["jobs"][job]
        assert still["running"], "the first service's run was stopped"
        assert live.runs(job)[-1]["status"] == "running"
    finally:
        live.sandbox.faults.latency_seconds = 0

    assert second.returncode != 0
    assert through_meltano != 0
    (line,) = second.stderr.strip().splitlines()  # one line, no traceback
    assert f"pid {first}" in line
    assert live.url in line
    assert str(live.database) in line

    live.idle()
    runs = live.runs(job)[before:]
    # neither marked interrupted nor run a second time (no recovered trigger, no --force run)
    assert [(r["status"], r["trigger"]) for r in runs] == [
        ("succeeded", "crm notification: Leads.update")
    ]
    assert live.pending_rows() == 0
    assert live.server_pid() == first
    time.sleep(0.5)
    assert live.health()["status"] == "healthy"
