"""The order of subform rows inside their parent (``tap_zoho.crm.completion.row_order``)."""

from __future__ import annotations

import pytest
from tap_zoho.crm.completion.row_order import (
    BY_ID,
    BY_SEQUENCE,
    ROW_ORDER,
    RowOrders,
    observed,
)


def rows(*pairs):
    return [{"id": rid, "Sequence_Number": n} for rid, n in pairs]


@pytest.mark.parametrize(
    ("held", "reading"),
    [
        (rows(("30", 1), ("10", 2), ("20", 3)), BY_SEQUENCE),  # a line added at the top
        (rows(("10", 2), ("20", 3), ("30", 1)), BY_ID),
        (rows(("10", 1), ("20", 2)), None),  # both orders agree: nothing to learn
        (rows(("20", 3), ("30", 1), ("10", 2)), None),  # neither order
        (rows(("10", 1)), None),
        ([{"id": "30"}, {"id": "10"}], None),  # no positions
        (None, None),
    ],
)
def test_a_single_record_read_tells_the_order_only_where_the_two_orders_differ(held, reading):
    assert observed(held) == reading


def test_the_reading_starts_at_sequence_and_follows_what_zoho_shows():
    state: dict = {}
    orders = RowOrders(state)
    assert orders.reading("Quoted_Items") == BY_SEQUENCE
    assert not orders.observe("Quoted_Items", rows(("10", 1), ("20", 2)))

    assert orders.observe("Quoted_Items", rows(("10", 2), ("20", 3), ("30", 1)))

    assert state[ROW_ORDER] == {"Quoted_Items": BY_ID}
    assert RowOrders(state).reading("Quoted_Items") == BY_ID
    assert RowOrders.position({"Sequence_Number": 4}, BY_SEQUENCE) == 4
    assert RowOrders.position({"Sequence_Number": 4}, BY_ID) is None
    assert RowOrders.position({"Sequence_Number": True}, BY_SEQUENCE) is None
