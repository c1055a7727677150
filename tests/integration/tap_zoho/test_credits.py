"""A credit budget stops reading cleanly; the next run continues from the state."""

from __future__ import annotations

import pytest
from tap_zoho.crm.bulk_read import jobs as bulk_jobs

from tests.support.tap import run_tap
from tests.zoho_sandbox import Sandbox
from tests.zoho_sandbox.bulk_read import BulkOptions
from tests.zoho_sandbox.seed import wide_module_spec


@pytest.fixture
def two_modules():
    sandbox = Sandbox(
        specs=[wide_module_spec("Alpha_X", 8, 900), wide_module_spec("Beta_X", 8, 700)]
    )
    sandbox.start()
    yield sandbox
    sandbox.stop()


def live_ids(run, stream):
    return [r["id"] for r in run.records[stream] if not r.get("_sdc_deleted_at")]


def test_budget_stops_reading_reports_the_cut_and_the_next_runs_finish(two_modules):
    sandbox = two_modules
    config = sandbox.tap_config(
        max_api_credits=12, page_size=100, max_parallel_modules=1, crm_reference_data=False
    )
    seen = {"alpha_x": set(), "beta_x": set()}
    state = None
    for _ in range(6):
        before = sandbox.stats.credits
        run = run_tap(config, state=state)
        assert run.error is None  # a planned stop: exit code 0
        assert run.summary["credits_used"] <= 12
        assert sandbox.stats.credits - before == run.summary["credits_used"]
        for stream, ids in seen.items():
            ids.update(live_ids(run, stream))
        state = run.state
        if not run.summary["cut_short_modules"]:
            break
        assert run.summary["success"] is True
        assert {"module", "reason", "record_count"} <= set(run.summary["cut_short_modules"][0])
    else:
        pytest.fail("the runs never finished")
    assert seen["alpha_x"] == set(sandbox.records("Alpha_X"))
    assert seen["beta_x"] == set(sandbox.records("Beta_X"))


def test_state_after_a_cut_covers_only_emitted_records(two_modules):
    sandbox = two_modules
    run = run_tap(sandbox.tap_config(max_api_credits=5, page_size=100, max_parallel_modules=1))

    cut = {m["module"] for m in run.summary["cut_short_modules"]}
    assert "Alpha_X" in cut or "Beta_X" in cut
    emitted = run.records["alpha_x"]
    bookmark = run.state["bookmarks"]["alpha_x"].get("replication_key_value")
    if emitted:
        from tap_zoho.datetimes import to_epoch

        newest = max(to_epoch(r["Modified_Time"]) for r in emitted)
        assert to_epoch(bookmark) == newest
    # STATE is the last message: nothing after it claims more
    assert run.messages[-1]["type"] == "STATE"


def test_low_remaining_credits_reported_by_zoho_stop_the_run(two_modules):
    sandbox = two_modules
    sandbox.faults.daily_credit_budget = 40  # the header appears once 20 are used
    # Two readers (the modules) in flight when the header crosses the line: one call over at most.
    config = sandbox.tap_config(min_remaining_credits=15, page_size=50, crm_reference_data=False)
    run = run_tap(config)

    assert run.error is None
    assert run.summary["cut_short_modules"]
    assert "min_remaining_credits=15" in run.summary["cut_short_modules"][0]["reason"]
    assert sandbox.stats.credits <= 40 - 15 + 1
    assert sandbox.stats.requests["TOO_MANY_REQUESTS"] == 0


def test_bulk_read_jobs_are_charged_fifty_credits(monkeypatch):
    monkeypatch.setattr(bulk_jobs, "DOWNLOADS", bulk_jobs.DownloadThrottle())
    sandbox = Sandbox(
        specs=[wide_module_spec("Alpha_X", 8, 300)], bulk=BulkOptions(delay_seconds=0)
    )
    sandbox.start()
    try:
        run = run_tap(sandbox.tap_config(crm_bulk_read_min_records=100))
        assert sandbox.stats.requests["crm_bulk_create"] == 1
        assert run.summary["credits_used"] == sandbox.stats.credits
        assert run.summary["credits_used"] >= 50
        cut = run_tap(sandbox.tap_config(crm_bulk_read_min_records=100, max_api_credits=40))
        assert sandbox.stats.requests["crm_bulk_create"] == 1  # the job would pass the budget
        assert cut.summary["cut_short_modules"]
    finally:
        sandbox.stop()
