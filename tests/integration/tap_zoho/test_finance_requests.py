"""Books/Inventory requests: pacing of every attempt, parameter names, throttles, failing organisations."""

from __future__ import annotations

import contextlib
import io
import itertools
import typing as t

import pytest
from tap_zoho.api.pacing import Pacer
from tap_zoho.errors import RetriesExhaustedError, ZohoError
from tap_zoho.tap import TapZoho

from tests.support.tap import FAST, books_config, run_tap
from tests.zoho_sandbox import BOOKS_ORG, Sandbox


def _books_tap(config: dict[str, t.Any]) -> TapZoho:
    return TapZoho(config={**FAST, **config})


def _sync(tap: TapZoho) -> None:
    with contextlib.redirect_stdout(io.TextIOWrapper(io.BytesIO(), encoding="utf-8")):
        tap.sync_all()


# ---------------------------------------------------------------------- the request path
def _books_calls(sandbox: t.Any) -> list[tuple[float, str, int]]:
    return [
        (at, path, status)
        for at, _, path, status in sandbox.stats.log
        if path.startswith("/books/")
    ]


def test_a_retried_books_request_is_paced_and_counted_against_the_per_minute_budget(finance):
    finance.faults.inject("429", times=1, path_contains="/books/v3/items")
    finance.faults.inject("500", times=1, path_contains="/books/v3/contacts")
    tap = _books_tap(finance.tap_config(crm_enabled=False, books_organization_id=BOOKS_ORG))
    tap.run_context.pacer = Pacer(per_minute=3, window_seconds=0.3)  # a minute made short

    _sync(tap)

    calls = _books_calls(finance)
    assert [status for _, _, status in calls].count(429) == 1
    assert [status for _, _, status in calls].count(500) == 1
    # Every attempt, the throttled and the failed one included, went through the pacer ...
    assert tap.run_context.pacer.sent == {BOOKS_ORG: len(calls)}
    # ... so no 0.3 s window (with 50 ms for the trip to the server) saw more than 3 calls.
    times = sorted(at for at, _, _ in calls)
    busiest = max(
        sum(1 for later in times[i:] if later - start < 0.25) for i, start in enumerate(times)
    )
    assert busiest <= 3
    assert tap.summary.success


def test_a_books_failure_that_outlives_every_retry_is_a_zoho_error_of_that_organisation(finance):
    finance.faults.inject("500", times=3, path_contains="/books/v3/contacts")
    tap = _books_tap(
        finance.tap_config(crm_enabled=False, books_organization_id=BOOKS_ORG, max_retries=2)
    )

    with pytest.raises(ZohoError, match="books_contacts"):
        _sync(tap)

    failed = {m["module"]: m["error"] for m in tap.summary.failed_modules}
    assert failed == {f"books_contacts[{BOOKS_ORG}]": failed[f"books_contacts[{BOOKS_ORG}]"]}
    assert failed[f"books_contacts[{BOOKS_ORG}]"].startswith(RetriesExhaustedError.__name__)
    assert "HTTP 500" in failed[f"books_contacts[{BOOKS_ORG}]"]
    assert "after 3 tries" in failed[f"books_contacts[{BOOKS_ORG}]"]
    assert {m["module"] for m in tap.summary.synced_modules} >= {f"books_items[{BOOKS_ORG}]"}


def test_books_reads_ask_for_every_record_by_page_with_the_documented_parameter_names(finance):
    tap = _books_tap(
        finance.tap_config(crm_enabled=False, books_organization_id=BOOKS_ORG, page_size=50)
    )

    _sync(tap)

    items = [q for path, q in finance.finance.queries if path == "/books/v3/items"]
    pricebooks = [q for path, q in finance.finance.queries if path == "/books/v3/pricebooks"]
    assert items
    assert all(q["organization_id"] == BOOKS_ORG for q in items)
    assert all(
        (q["filter_by"], q["sort_column"], q["sort_order"], q["per_page"])
        == ("Status.All", "last_modified_time", "A", "50")
        for q in items
    )
    assert "last_modified_time" not in items[0]  # the first run reads from the beginning
    assert all("last_modified_time" in q for q in items[1:])  # then window by window
    assert [q.get("page") for q in pricebooks] == [
        str(n) for n in itertools.islice(itertools.count(1), len(pricebooks))
    ]
    assert all(q["filter_by"] == "SalesOrPurchaseType.All" for q in pricebooks)


def test_a_price_list_endpoint_answering_404_is_reported_and_skipped(sandbox):
    sandbox.finance.pricebooks_missing.add(BOOKS_ORG)

    run = run_tap(books_config(sandbox))

    assert run.error is None
    failed = {m["module"]: m["error"] for m in run.summary["failed_modules"]}
    assert "404" in failed[f"books_pricebooks[{BOOKS_ORG}]"]
    assert run.records["books_items"]


def test_an_unknown_organisation_fails_that_partition_only(sandbox):
    run = run_tap(sandbox.tap_config(crm_enabled=False, books_organization_id=[BOOKS_ORG, "999"]))

    failed = {m["module"] for m in run.summary["failed_modules"]}
    assert "books_items[999]" in failed
    assert {r["organization_id"] for r in run.records["books_items"]} == {BOOKS_ORG}
    assert run.error is not None  # an unexpected failure makes the run exit non-zero


def test_the_per_minute_throttle_is_retried_until_the_window_frees():
    sandbox = Sandbox(specs=[])
    sandbox.finance.per_minute = 4
    sandbox.finance.window_seconds = 1.0
    sandbox.start()
    try:
        run = run_tap(
            books_config(sandbox, page_size=20, finance_requests_per_minute=1000, max_retries=10)
        )
        throttled = sandbox.stats.requests["TOO_MANY_REQUESTS"]
    finally:
        sandbox.stop()

    assert run.error is None
    assert throttled > 0
    assert len(run.records["books_items"]) == 120


def test_books_only_accounts_skip_crm_when_it_is_not_authorised(sandbox):
    narrow = sandbox.accounts.issue_refresh_token(
        sandbox.tap_config()["client_id"], "ZohoBooks.fullaccess.all"
    )
    run = run_tap(sandbox.tap_config(refresh_token=narrow, books_organization_id=BOOKS_ORG))

    assert run.error is None
    assert run.records["books_items"]
    assert not any(name in run.records for name in ("leads", "accounts"))
