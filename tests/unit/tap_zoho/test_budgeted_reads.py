"""Per-record reads within the run's cap (``tap_zoho.crm.completion.budgeted_reads``)."""

from __future__ import annotations

import logging

import pytest
from tap_zoho.crm.completion.budget import DetailBudget
from tap_zoho.crm.completion.budgeted_reads import (
    DETAIL_PENDING,
    BudgetedReads,
    truncated_fields,
)
from tap_zoho.crm.completion.plan import CompletionFields, Source
from tap_zoho.crm.completion.row_order import ROW_ORDER, RowOrders

ITEMS = Source("Quoted_Items", "subform", "Quoted_Items")


@pytest.mark.parametrize("has_more", [{"Quoted_Items": True}, ["Quoted_Items"]])
def test_has_more_is_read_as_a_map_or_a_list_of_field_names(has_more):
    detail = {"id": "1", "Quoted_Items": [{"id": "9"}], "$has_more": has_more}

    assert truncated_fields(detail, ["Quoted_Items", "Other"]) == ("Quoted_Items",)


def test_has_more_false_or_absent_cuts_nothing():
    assert truncated_fields({"$has_more": {"Quoted_Items": False}}, ["Quoted_Items"]) == ()
    assert truncated_fields({"id": "1"}, ["Quoted_Items"]) == ()


class _Reads:
    """Single-record reads answered from a dict (what Zoho's GET /{module}/{id} would say)."""

    def __init__(self, details):
        self.details = details

    def whole(self, ids, fields=()):
        return [dict(self.details[rid]) for rid in ids]


class _Run:
    budget = DetailBudget(100)
    logger = logging.getLogger("test")
    module = "Quotes"
    cap = 100


def _budgeted(details, state):
    fields = CompletionFields(sources=(ITEMS,))
    return BudgetedReads(_Reads(details), _Run(), fields, state)


def _item(rid, sequence):
    return {"id": rid, "Sequence_Number": sequence}


def test_a_read_that_cuts_an_array_is_held_and_waits_in_state_until_released():
    details = {
        "1": {"id": "1", "Quoted_Items": [_item("11", 1)], "$has_more": {"Quoted_Items": True}},
        "2": {"id": "2", "Quoted_Items": [_item("21", 1)], "$has_more": {"Quoted_Items": False}},
    }
    state: dict = {}
    reads = _budgeted(details, state)
    held = []
    reads.hold = lambda record, cut: held.append((record["id"], cut))
    rows = [{"id": "1"}, {"id": "2"}]

    kept_back = reads.read(rows, whole=True)

    assert kept_back == {"1"}
    assert held == [("1", ("Quoted_Items",))]
    assert state[DETAIL_PENDING] == ["1"]
    assert reads.incomplete == 0
    reads.release("1")
    assert DETAIL_PENDING not in state


def test_without_a_hold_a_cut_read_is_counted_incomplete_and_emitted():
    details = {"1": {"id": "1", "Quoted_Items": [], "$has_more": ["Quoted_Items"]}}
    reads = _budgeted(details, {})

    assert reads.read([{"id": "1"}], whole=True) == set()
    assert reads.incomplete == 1


def test_whole_reads_teach_the_row_order_zoho_uses():
    details = {"1": {"id": "1", "Quoted_Items": [_item("12", 2), _item("13", 1)]}}
    state: dict = {}
    reads = _budgeted(details, state)
    reads.orders = RowOrders(state)

    reads.read([{"id": "1"}], whole=True)

    assert state[ROW_ORDER] == {"Quoted_Items": "id"}


def test_whole_records_of_a_later_pass_are_held_when_cut():
    details = {"1": {"id": "1", "Quoted_Items": [_item("11", 1)], "$has_more": ["Quoted_Items"]}}
    reads = _budgeted(details, {})
    held = []
    reads.hold = lambda record, cut: held.append(record["id"])

    assert list(reads.whole_records(["1"], ["Quoted_Items"])) == []
    assert held == ["1"]
