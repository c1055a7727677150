"""Transient faults are retried, a revoked token is refreshed once, and nothing is lost."""

from __future__ import annotations

import logging

from tests.support.tap import run_tap


def _complete(run, sandbox, module, stream):
    live = sorted(r["id"] for r in run.records[stream] if not r.get("_sdc_deleted_at"))
    return live == sorted(sandbox.records(module))


def test_a_storm_of_429s_is_ridden_out(sandbox):
    sandbox.faults.inject("429", times=8, path_contains="/crm/v8/Leads")

    run = run_tap(sandbox.tap_config(crm_modules=["Leads"], max_retries=10))

    assert run.error is None
    assert sandbox.stats.requests["TOO_MANY_REQUESTS"] == 8
    assert _complete(run, sandbox, "Leads", "leads")


def test_retries_are_warnings_with_their_attempt_and_a_successful_run_logs_no_error(
    sandbox, caplog
):
    sandbox.faults.inject("429", times=2, path_contains="/crm/v8/Leads")
    sandbox.faults.inject("500", times=1, path_contains="/crm/v8/Leads")

    with caplog.at_level(logging.INFO):
        run = run_tap(sandbox.tap_config(crm_modules=["Leads"], max_retries=5))

    assert run.error is None
    retries = [r for r in caplog.records if "retrying in" in r.getMessage()]
    assert len(retries) == 3
    assert {r.levelno for r in retries} == {logging.WARNING}
    assert any("attempt 1 of 6 failed (HTTP 429)" in r.getMessage() for r in retries)
    assert any("(HTTP 500)" in r.getMessage() for r in retries)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_server_errors_and_dropped_connections_are_retried(sandbox):
    sandbox.faults.inject("500", times=3, path_contains="/crm/v8/Accounts")
    sandbox.faults.inject("drop", times=2, path_contains="/crm/v8/Accounts")

    run = run_tap(sandbox.tap_config(crm_modules=["Accounts"]))

    assert run.error is None
    assert _complete(run, sandbox, "Accounts", "accounts")


def _timeouts(caplog):
    return [r for r in caplog.records if "failed (ReadTimeout); retrying" in r.getMessage()]


def test_a_slow_response_times_out_and_is_retried(sandbox, caplog):
    sandbox.faults.slow_seconds = 3
    sandbox.faults.inject("slow", times=1, path_contains="/crm/v8/Accounts")

    with caplog.at_level(logging.WARNING):
        run = run_tap(sandbox.tap_config(crm_modules=["Accounts"], request_timeout=1))

    assert run.error is None
    assert len(_timeouts(caplog)) == 1  # abandoned after request_timeout, not waited for
    assert _complete(run, sandbox, "Accounts", "accounts")


def test_a_slow_response_within_request_timeout_is_waited_for(sandbox, caplog):
    sandbox.faults.slow_seconds = 2
    sandbox.faults.inject("slow", times=1, path_contains="/crm/v8/Accounts")

    with caplog.at_level(logging.WARNING):
        run = run_tap(sandbox.tap_config(crm_modules=["Accounts"], request_timeout=10))

    assert run.error is None
    assert _timeouts(caplog) == []
    assert _complete(run, sandbox, "Accounts", "accounts")


def test_a_token_revoked_mid_run_is_refreshed_once_and_the_run_completes(sandbox):
    sandbox.faults.revoke_after_calls = 8

    run = run_tap(sandbox.tap_config(crm_modules=["Leads", "Accounts"], max_concurrent_calls=3))

    assert run.error is None
    assert sandbox.accounts.mint_count == 2  # one refresh, even with modules and groups in flight
    assert 1 <= sandbox.stats.requests["INVALID_TOKEN"] <= 3  # each request in flight, once
    assert _complete(run, sandbox, "Leads", "leads")


def test_authentication_failure_for_an_expired_token_also_triggers_one_refresh(sandbox):
    sandbox.faults.expired_token_code = "AUTHENTICATION_FAILURE"
    sandbox.on_call(5, sandbox.accounts.expire_access_tokens)

    run = run_tap(sandbox.tap_config(crm_modules=["Accounts"]))

    assert run.error is None
    assert sandbox.accounts.mint_count == 2
    assert _complete(run, sandbox, "Accounts", "accounts")


def test_a_token_rejected_right_after_refresh_stops_the_run_instead_of_looping(sandbox):
    sandbox.faults.inject("auth_failure", times=1000)

    run = run_tap(sandbox.tap_config(crm_modules=["Accounts"]))

    assert run.error is not None
    assert "another data centre" in str(run.error)
    assert sandbox.accounts.mint_count == 1


def test_a_module_without_permission_is_skipped_while_the_others_complete(sandbox):
    run = run_tap(sandbox.tap_config())

    assert run.error is None  # auto-discovered modules without access are warnings
    failed = {m["module"]: m["error"] for m in run.summary["failed_modules"]}
    assert "NO_PERMISSION" in failed["Forecasts"]
    assert "api_supported" in failed["Visits"]
    assert "field metadata" in failed["Social"]
    synced = {m["module"] for m in run.summary["synced_modules"]}
    assert {"Leads", "Accounts", "Contacts", "Deals", "Price_Books", "Projects_X"} <= synced
    empty = next(m for m in run.summary["synced_modules"] if m["module"] == "Campaigns")
    assert empty["record_count"] == 0  # an empty module answers 204 and is not an error
    assert _complete(run, sandbox, "Deals", "deals")


def test_a_named_module_that_fails_makes_the_run_fail_after_the_others_complete(sandbox):
    run = run_tap(sandbox.tap_config(crm_modules=["Forecasts", "Accounts", "Nope"]))

    assert run.error is not None
    assert "Forecasts" in str(run.error)
    assert "Nope" in str(run.error)
    assert _complete(run, sandbox, "Accounts", "accounts")


def test_an_exhausted_daily_credit_budget_fails_the_module_with_the_zoho_code(sandbox):
    sandbox.faults.daily_credit_budget = 6

    run = run_tap(sandbox.tap_config(crm_modules=["Leads"], max_retries=1))

    assert run.error is not None
    assert "TOO_MANY_REQUESTS" in run.summary["errors"][0]
