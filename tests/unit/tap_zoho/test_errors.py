"""One error tree: every failure a module meets is a ZohoError, reported while the run goes on."""

from __future__ import annotations

import typing as t

import pytest
from tap_zoho.errors import (
    CreditBudgetExhaustedError,
    TokenRejectedError,
    UnsortedResponseError,
    ZohoApiError,
    ZohoAuthError,
    ZohoError,
)
from tap_zoho.keyset import ModifiedTimeCursor
from tap_zoho.tap import TapZoho

from tests.support.tap import OFFLINE_BOOKS


def _failing(exc: Exception) -> t.Iterator[dict[str, t.Any]]:
    yield {"item_id": "1"}
    raise exc


@pytest.mark.parametrize(
    "exc",
    [
        TokenRejectedError("old-token", "INVALID_TOKEN"),
        UnsortedResponseError("Zoho returned records out of Modified_Time order"),
        ZohoApiError("GET /books/v3/items: HTTP 400 2: bad", code="2", status=400),
    ],
    ids=["token-rejected", "unsorted", "api-error"],
)
def test_a_module_failing_with_any_tap_error_is_reported_and_the_run_goes_on(exc):
    tap = TapZoho(config=OFFLINE_BOOKS)
    stream = tap.streams["books_items"]

    emitted = list(stream.isolated("books_items[123]", _failing(exc)))

    assert emitted == [{"item_id": "1"}]  # what was read before the failure stays emitted
    (failed,) = tap.summary.failed_modules
    assert failed["module"] == "books_items[123]"
    assert failed["error"] == f"{type(exc).__name__}: {exc}"
    assert failed["record_count"] == 1
    assert not tap.summary.success


def test_the_cursor_refusing_an_unsorted_page_raises_a_zoho_error():
    cursor = ModifiedTimeCursor(None)

    with pytest.raises(ZohoError):
        cursor.accept([("1", 20), ("2", 10)], more=False, next_token=None)


def test_authentication_errors_still_stop_the_whole_run():
    tap = TapZoho(config=OFFLINE_BOOKS)
    stream = tap.streams["books_items"]

    with pytest.raises(ZohoAuthError):
        list(stream.isolated("books_items[123]", _failing(ZohoAuthError("invalid_client"))))
    assert not tap.summary.failed_modules


def test_a_spent_credit_budget_cuts_the_module_short_without_failing_it():
    tap = TapZoho(config=OFFLINE_BOOKS)
    stream = tap.streams["books_items"]

    list(stream.isolated("leads", _failing(CreditBudgetExhaustedError("max_api_credits=5"))))

    assert tap.summary.success
    assert [m["module"] for m in tap.summary.cut_short_modules] == ["leads"]
