"""Access tokens are reused for most of their life whatever it is; throttled refreshes are waited out.

Zoho allows 10 mints per refresh token per 10 minutes (zoho-api.md 1.4) and answers a throttled
mint with ``Access Denied`` (1.3).
"""

from __future__ import annotations

import logging
import time

from tap_zoho.api.auth import expiry_margin

from tests.support.tap import run_tap
from tests.zoho_sandbox import Sandbox
from tests.zoho_sandbox.seed import ModuleSpec


def test_tokens_living_five_seconds_are_each_minted_once_over_a_long_run():
    spec = ModuleSpec("Slow_X", 2400, [("Name", "text")], [], seconds_apart=1)
    sandbox = Sandbox(specs=[spec], token_ttl=5)
    sandbox.start()
    sandbox.faults.latency_seconds = 0.25  # about 120 calls: a 30-second run
    try:
        started = time.monotonic()
        run = run_tap(sandbox.tap_config(page_size=20, crm_include_deleted=False))
        seconds = time.monotonic() - started
    finally:
        sandbox.stop()

    assert run.error is None
    assert seconds > 20
    mints = sandbox.accounts.mint_count
    assert seconds / 5 - 1 <= mints <= seconds / (5 - expiry_margin(5)) + 1  # one per lifetime
    assert sandbox.stats.requests["token_error"] == 0  # never throttled
    assert sandbox.stats.requests["INVALID_TOKEN"] == 0  # never used past its expiry
    assert sorted(run.ids("slow_x")) == sorted(sandbox.records("Slow_X"))


def test_a_refresh_throttled_mid_run_is_retried_with_backoff_and_logged(sandbox, caplog):
    caplog.set_level(logging.WARNING)

    def revoke_and_throttle():
        sandbox.faults.inject("throttle", times=2, path_contains="/oauth/v2/token")
        sandbox.accounts.revoke_access_tokens()

    sandbox.on_call(3, revoke_and_throttle)  # modules, fields, count: then the first list

    run = run_tap(sandbox.tap_config(crm_modules=["Accounts"], token_throttle_max_wait_seconds=10))

    assert run.error is None
    assert sandbox.stats.requests["token_error"] == 2
    assert sandbox.accounts.mint_count == 2
    assert "throttled the token refresh mid-run" in caplog.text
    live = [r["id"] for r in run.records["accounts"] if not r.get("_sdc_deleted_at")]
    assert sorted(live) == sorted(sandbox.records("Accounts"))


def test_a_throttled_first_token_is_one_clear_error_without_waiting(sandbox):
    sandbox.faults.inject("throttle", times=100, path_contains="/oauth/v2/token")
    started = time.monotonic()

    run = run_tap(sandbox.tap_config(crm_modules=["Accounts"]))

    assert run.error is not None
    assert "Access Denied" in str(run.error)
    assert sandbox.stats.requests["token_error"] == 1
    assert time.monotonic() - started < 5


def test_a_throttle_outlasting_the_bound_stops_the_run(sandbox):
    def revoke_and_throttle():
        sandbox.faults.inject("throttle", times=1000, path_contains="/oauth/v2/token")
        sandbox.accounts.revoke_access_tokens()

    sandbox.on_call(3, revoke_and_throttle)  # modules, fields, count: then the first list

    run = run_tap(sandbox.tap_config(crm_modules=["Accounts"], token_throttle_max_wait_seconds=1))

    assert run.error is not None
    assert "token_throttle_max_wait_seconds" in str(run.error)
    assert sandbox.stats.requests["token_error"] >= 2
