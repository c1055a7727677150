"""Books/Inventory paging on the SDK's paginator, from canned answers: has_more_page, keyset windows, pacing."""

from __future__ import annotations

import time
import typing as t

import pytest
import requests
from tap_zoho.api.pacing import Pacer
from tap_zoho.errors import ZohoError
from tap_zoho.finance.paging import FinancePaginator, ListPass
from tap_zoho.fingerprints import fingerprint
from tap_zoho.keyset import ModifiedTimeCursor, PageRequest
from tap_zoho.position_paging import PositionCursor
from tap_zoho.tap import TapZoho

from tests.support.tap import OFFLINE_BOOKS

ORG = "123"


def _response(status: int = 200, body: bytes = b"") -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body  # a hand-made answer, as requests builds it
    response.url = f"https://www.zohoapis.com/books/v3/items?organization_id={ORG}"
    return response


def _item(n: int, modified: str) -> dict[str, t.Any]:
    return {"item_id": str(n), "last_modified_time": modified}


# ---------------------------------------------------------------------- the paginator
def test_page_numbers_continue_while_zoho_says_has_more_page_and_stop_when_it_does_not():
    paginator = FinancePaginator(PositionCursor())
    assert paginator.current_value == PageRequest(None, page=1)

    rows = [_item(1, "2024-01-05T10:20:30+0530")]
    assert paginator.take_page(_response(), rows, "item_id", more=True) == rows
    paginator.advance(_response())
    assert not paginator.finished
    assert paginator.current_value == PageRequest(None, page=2)

    paginator.take_page(_response(), rows, "item_id", more=False)
    paginator.advance(_response())
    assert paginator.finished


def test_keyset_pages_open_a_window_after_the_newest_row_and_drop_rows_already_emitted():
    cursor = ModifiedTimeCursor(None, per_page=2)
    paginator = FinancePaginator(cursor)
    first = [_item(1, "2024-01-05T10:20:30+0530"), _item(2, "2024-01-05T10:20:31+0530")]

    kept = paginator.take_page(_response(), first, "item_id", more=True)
    paginator.advance(_response())

    assert kept == first
    assert [row["last_modified_time"] for row in kept] == [  # the SCHEMA's RFC 3339 form
        "2024-01-05T10:20:30+05:30",
        "2024-01-05T10:20:31+05:30",
    ]
    assert paginator.current_value == PageRequest(cursor.bookmark - 1)  # type: ignore[operator]
    again = [_item(2, "2024-01-05T10:20:31+0530"), _item(3, "2024-01-05T10:20:32+0530")]
    assert [
        r["item_id"] for r in paginator.take_page(_response(), again, "item_id", more=False)
    ] == ["3"]
    paginator.advance(_response())
    assert paginator.finished


def test_a_page_whose_rows_were_all_emitted_before_does_not_end_the_read():
    # Two rows emitted at the bookmark second on the last run, and Zoho says more follow.
    epoch = 1_704_430_230  # 2024-01-05T04:50:30Z
    seen = [_item(1, "2024-01-05T04:50:30Z"), _item(2, "2024-01-05T04:50:30Z")]
    emitted = {str(row["item_id"]): fingerprint(row) for row in seen}  # unchanged since
    paginator = FinancePaginator(ModifiedTimeCursor(epoch, emitted, per_page=2))

    assert paginator.take_page(_response(), seen, "item_id", more=True) == []

    assert paginator.continue_if_empty(_response())
    paginator.advance(_response())
    assert paginator.current_value == PageRequest(epoch - 1, page=2)


def test_a_row_without_a_readable_modification_time_stops_its_organisation_in_one_line():
    paginator = FinancePaginator(ModifiedTimeCursor(None))

    with pytest.raises(ZohoError, match="item_id 7 has no valid last_modified_time"):
        paginator.take_page(_response(), [_item(7, "yesterday")], "item_id", more=False)


@pytest.mark.parametrize(("status", "body"), [(204, b""), (200, b"")])
def test_an_empty_answer_is_a_last_page_without_rows(status, body):
    tap = TapZoho(config=OFFLINE_BOOKS)
    stream = tap.streams["books_contacts"]
    list_pass = ListPass(ORG, ModifiedTimeCursor(None))
    stream._pass = list_pass  # what read_pass sets for the SDK's loop

    assert list(stream.parse_response(_response(status, body))) == []
    assert not list_pass.paginator.continue_if_empty(_response(status, body))
    list_pass.paginator.advance(_response(status, body))
    assert list_pass.paginator.finished


def test_a_tie_second_read_again_is_a_new_request_for_the_sdk_paginator():
    # A pass over the tie second that cannot show it skipped nothing, then a row past it: the
    # same window is read again from its start. The SDK's paginator refuses a request equal to
    # the previous one.
    tie = "2024-01-05T04:50:30Z"
    paginator = FinancePaginator(ModifiedTimeCursor(None, per_page=2))
    paginator.take_page(_response(), [_item(1, tie), _item(2, tie)], "item_id", more=True)
    paginator.advance(_response())  # fresh window at the tie second
    paginator.take_page(_response(), [_item(1, tie), _item(2, tie)], "item_id", more=True)
    paginator.advance(_response())  # page 2 of that second
    paginator.take_page(
        _response(), [_item(3, tie), _item(4, "2024-01-05T04:50:31Z")], "item_id", more=True
    )
    paginator.advance(_response())  # that second again, from its start

    # Pages of two rows leave no room for a page that overlaps the one before, so no pass can
    # show that it skipped nothing: the second is read again, and the next request is that very
    # window once more.
    paginator.take_page(_response(), [_item(5, tie), _item(1, tie)], "item_id", more=True)
    paginator.advance(_response())  # page 2 of that second
    paginator.take_page(
        _response(), [_item(3, tie), _item(4, "2024-01-05T04:50:31Z")], "item_id", more=True
    )
    paginator.advance(_response())  # raised "Loop detected in pagination" before tie_pass

    assert paginator.current_value.page is None
    assert paginator.current_value.tie_pass == 2


def test_the_pacer_keeps_calls_under_the_limit():
    pacer = Pacer(per_minute=3, window_seconds=0.3)
    started = time.monotonic()
    for _ in range(7):
        pacer.wait("org")
    assert time.monotonic() - started >= 0.55  # 7 calls at 3 per 0.3 s need two full waits
