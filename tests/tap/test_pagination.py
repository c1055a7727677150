"""Unit tests of the Get Records cursors (``tap_zoho.keyset``): which request comes next.

The keyset windows themselves are in ``test_units.py``; these cover paging by position and by
token inside one window, the position cap, the error messages and the plain position cursor.
"""

from __future__ import annotations

import pytest
from tap_zoho.keyset import (
    ModifiedTimeCursor,
    PageRequest,
    PositionCursor,
    UnsortedResponseError,
)


def _tied_cursor(*, discrete_cap: int) -> ModifiedTimeCursor:
    """A cursor whose window sits at second 5, after a first page entirely inside it."""
    cursor = ModifiedTimeCursor(5, per_page=2, discrete_cap=discrete_cap)
    cursor.accept([("1", 5), ("2", 5)], more=True, next_token=None)  # the window: no progress
    return cursor


def test_a_first_page_inside_one_second_goes_on_by_position_in_its_own_window():
    cursor = ModifiedTimeCursor(None, per_page=2)

    cursor.accept([("1", 5), ("2", 5)], more=True, next_token="t")

    # A fresh window at second 5 would answer these very rows again: page 2 of the same window
    # (the same question, so every field group can ask it too).
    assert cursor.next_request() == PageRequest(None, page=2)
    assert cursor.bookmark == 5


def test_a_second_of_whole_pages_without_tokens_is_paged_by_position_inside_its_window():
    cursor = _tied_cursor(discrete_cap=100)

    assert cursor.next_request() == PageRequest(4, page=2)
    keep = cursor.accept([("3", 5), ("4", 5)], more=True, next_token=None)

    assert keep == [True, True]
    assert cursor.next_request() == PageRequest(4, page=3)
    assert not cursor.finished


def test_position_paging_stops_at_the_cap_when_zoho_gives_no_token():
    cursor = _tied_cursor(discrete_cap=6)
    cursor.accept([("3", 5), ("4", 5)], more=True, next_token=None)  # rows 3-4: page 3 next

    with pytest.raises(UnsortedResponseError) as refused:
        cursor.accept([("5", 5), ("6", 5)], more=True, next_token=None)  # rows 5-6 reach 6

    assert str(refused.value) == "Zoho gave no page token past the position cap"


def test_past_the_cap_the_window_follows_the_page_token():
    cursor = _tied_cursor(discrete_cap=6)
    cursor.accept([("3", 5), ("4", 5)], more=True, next_token=None)

    keep = cursor.accept([("5", 5), ("6", 5)], more=True, next_token="tok")

    assert keep == [True, True]
    assert cursor.next_request() == PageRequest(4, page_token="tok")


def test_a_tie_pass_with_new_rows_reads_its_second_again_before_moving_past_it():
    cursor = _tied_cursor(discrete_cap=100)
    cursor.accept([("3", 5), ("4", 5)], more=True, next_token="tok")
    assert cursor.next_request() == PageRequest(4, page=3)  # by position while it reaches

    keep = cursor.accept([("5", 5), ("6", 8)], more=True, next_token="tok2")

    assert keep == [True, False]  # row 6 waits: second 5 may have shifted rows back meanwhile
    # The tie second again, from its start: a new request (the SDK refuses an identical one).
    assert cursor.next_request() == PageRequest(4, tie_pass=1)
    assert cursor.bookmark == 5


def test_a_clean_pass_over_the_tie_opens_a_fresh_window_without_the_old_token():
    cursor = _tied_cursor(discrete_cap=100)
    cursor.accept([("3", 5), ("4", 5)], more=True, next_token="tok")
    cursor.accept([("5", 5), ("6", 8)], more=True, next_token="tok2")  # cut: re-read second 5

    cursor.accept([("1", 5), ("2", 5)], more=True, next_token="t1")
    cursor.accept([("3", 5), ("4", 5)], more=True, next_token="t2")
    keep = cursor.accept([("5", 5), ("6", 8)], more=True, next_token="t3")

    assert keep == [False, True]  # nothing new in second 5: move on
    assert cursor.next_request() == PageRequest(7)
    assert cursor.bookmark == 8
    assert set(cursor.seen_at_bookmark) == {"6"}


def test_an_unsorted_page_is_refused_with_a_message_that_says_why():
    cursor = ModifiedTimeCursor(None)

    with pytest.raises(UnsortedResponseError) as refused:
        cursor.accept([("1", 9), ("2", 3)], more=True, next_token=None)

    assert str(refused.value) == (
        "Zoho returned records out of Modified_Time order; refusing to page unsafely"
    )


def test_an_empty_page_or_the_last_page_finishes_the_cursor():
    assert _finished_after([], more=True)
    assert _finished_after([("1", 5)], more=False)
    assert not _finished_after([("1", 5)], more=True)


def _finished_after(rows: list[tuple[str, int]], *, more: bool) -> bool:
    cursor = ModifiedTimeCursor(None)
    cursor.accept(rows, more=more, next_token=None)
    return cursor.finished


def test_the_position_cursor_pages_by_number_then_by_token():
    cursor = PositionCursor()
    assert cursor.next_request() == PageRequest(None, page=1)

    cursor.accept(["a", "b"], more=True, next_token=None)
    assert cursor.next_request() == PageRequest(None, page=2)

    cursor.accept(["c", "d"], more=True, next_token="tok")
    assert cursor.next_request() == PageRequest(None, page_token="tok")
    assert not cursor.finished


@pytest.mark.parametrize(("rows", "more"), [(["a"], False), ([], True)], ids=["last", "empty"])
def test_the_position_cursor_finishes_on_the_last_or_an_empty_page(rows, more):
    cursor = PositionCursor()

    cursor.accept(rows, more=more, next_token="tok")

    assert cursor.finished
    assert cursor.next_request() == PageRequest(None, page=1)  # nothing moved
