"""Plain paging of modules without ``Modified_Time``: by page number, then by page token."""

from __future__ import annotations

import pytest
from tap_zoho.keyset import PageRequest
from tap_zoho.position_paging import PositionCursor


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
