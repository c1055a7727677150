"""A listing paged by position is read again until two passes agree (tap_zoho.crm.reference.passes)."""

from __future__ import annotations

import logging

from tap_zoho.crm.reference.passes import MAX_PASSES, Passes

LOGGER = logging.getLogger("test-passes")


def listing(*passes):
    """A ``read`` answering each pass with the next of ``passes`` (lists of pages of ids)."""
    answers = iter(passes)
    calls = []

    def read():
        for page in next(answers):
            calls.append(page)
            yield [{"id": rid} for rid in page]

    return read, calls


def run(read, **kwargs):
    passes = Passes(read, label="crm-users", what="users", logger=LOGGER, **kwargs)
    rows = [row["id"] for page in passes for row in page]
    return passes, rows


def test_a_listing_of_one_page_is_read_once():
    read, calls = listing([["1", "2"]])
    passes, rows = run(read)
    assert (passes.settled, passes.passes, rows, len(calls)) == (True, 1, ["1", "2"], 1)


def test_an_empty_listing_is_read_once():
    read, calls = listing([[]])
    passes, rows = run(read)
    assert (passes.settled, passes.passes, rows, len(calls)) == (True, 1, [], 1)


def test_a_listing_of_several_pages_is_read_twice_when_both_passes_agree():
    read, calls = listing([["1", "2"], ["3"]], [["1", "2"], ["3"]])
    passes, rows = run(read)
    assert (passes.settled, passes.passes, len(calls)) == (True, 2, 4)
    assert rows == ["1", "2", "3"] * 2


def test_a_row_shifted_out_of_a_pass_is_found_by_the_next_and_a_third_confirms_it():
    # "2" removed after page one of the first pass: "3" moved onto page one, out of reach
    read, calls = listing([["1", "2"], ["4"]], [["1", "3"], ["4"]], [["1", "3"], ["4"]])
    passes, rows = run(read)
    assert (passes.settled, passes.passes, len(calls)) == (True, 3, 6)
    assert set(rows) == {"1", "2", "3", "4"}


def test_a_pass_that_only_lost_a_row_is_confirmed_by_another():
    read, calls = listing([["1", "2"], ["3"]], [["1", "3"]], [["1", "3"]])
    passes, _ = run(read)
    assert (passes.settled, passes.passes, len(calls)) == (True, 2, 3)  # one page: a snapshot


def test_a_pass_whose_last_page_came_back_empty_was_not_one_page():
    read, calls = listing([["1", "2"], []], [["1", "3"]])
    passes, rows = run(read)
    assert (passes.settled, passes.passes, len(calls)) == (True, 2, 3)
    assert rows == ["1", "2", "1", "3"]


def test_passes_that_never_agree_stop_at_the_bound_unsettled_with_one_warning(caplog):
    caplog.set_level(logging.INFO)
    answers = [[["1", str(n)], ["x"]] for n in range(MAX_PASSES + 3)]
    read, calls = listing(*answers)
    passes, _ = run(read, unsettled="the bookmark stays at B")

    assert (passes.settled, passes.passes, len(calls)) == (False, MAX_PASSES, 2 * MAX_PASSES)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "crm-users" in warnings[0]
    assert "the bookmark stays at B" in warnings[0]
