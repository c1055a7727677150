"""Unit tests of the Get Records cursors (``tap_zoho.keyset``): which request comes next.

Keyset windows and what a page keeps, paging by position and by token inside one window, tie
seconds read again until a pass finds nothing new, the position cap, the resumable boundary and
fingerprints, the error messages and the plain position cursor.
"""

from __future__ import annotations

import random

import pytest
from tap_zoho.fingerprints import fingerprint
from tap_zoho.keyset import (
    MAX_TIE_PASSES,
    Boundary,
    ModifiedTimeCursor,
    PageRequest,
    UnsortedResponseError,
)


def _tied_cursor(*, discrete_cap: int = 2000, per_page: int = 4) -> ModifiedTimeCursor:
    """A cursor whose window sits at second 5, after a first page entirely inside it."""
    cursor = ModifiedTimeCursor(5, per_page=per_page, discrete_cap=discrete_cap)
    rows = [(str(n), 5) for n in range(1, per_page + 1)]
    cursor.accept(rows, more=True, next_token=None)  # the window: no progress
    return cursor


def test_a_first_page_inside_one_second_goes_on_by_position_in_its_own_window():
    cursor = ModifiedTimeCursor(None, per_page=4)

    cursor.accept([("1", 5), ("2", 5), ("3", 5), ("4", 5)], more=True, next_token="t")

    # A fresh window at second 5 would answer these very rows again: page 2 of the same window
    # (the same question, so every field group can ask it too), asking the last row again.
    assert cursor.next_request() == PageRequest(None, page=2, per_page=3)
    assert cursor.bookmark == 5


def test_each_position_page_inside_a_tie_asks_the_tail_of_the_page_before_again():
    cursor = _tied_cursor()
    assert cursor.next_request() == PageRequest(4, page=2, per_page=3)  # rows 4-6

    keep = cursor.accept([("4", 5), ("5", 5), ("6", 5)], more=True, next_token=None)

    assert keep == [False, True, True]
    assert cursor.next_request() == PageRequest(4, page=2)  # rows 5-8, the usual size
    assert not cursor.finished


def test_a_pass_whose_pages_all_overlapped_moves_past_the_tie_at_once():
    cursor = _tied_cursor()

    keep = cursor.accept([("4", 5), ("5", 5), ("6", 8)], more=True, next_token=None)

    assert keep == [False, True, True]  # nothing can have been skipped: no second pass
    assert cursor.next_request() == PageRequest(7)
    assert cursor.reread_calls == 0


def test_a_page_that_lost_its_overlap_is_asked_again_reaching_further_back():
    cursor = _tied_cursor(per_page=10)
    assert cursor.next_request() == PageRequest(4, page=2, per_page=9)  # rows 10-18
    # Rows 2-4 were edited meanwhile (they left second 5): everything after moved back three
    # places, so row 10 is no longer where it was asked for and rows 11-12 would be skipped.
    shifted = [str(n) for n in (1, *range(5, 30))]

    keep = cursor.accept([(rid, 5) for rid in shifted[9:18]], more=True, next_token=None)

    assert keep == [False] * 9
    assert cursor.next_request() == PageRequest(4, page=2, per_page=6)  # rows 7-12
    keep = cursor.accept([(rid, 5) for rid in shifted[6:12]], more=True, next_token=None)
    assert keep == [False, True, True, True, True, True]  # row 10 found again: 11-15 are new
    assert cursor.reread_calls == 1


def test_a_pass_that_could_not_bridge_a_shift_reads_the_tie_again_before_moving_on():
    cursor = _tied_cursor()

    keep = cursor.accept([("7", 5), ("8", 6)], more=True, next_token=None)  # row 4 is gone

    assert keep == [True, False]  # rows 5-6 may have been skipped: row 8 waits
    assert cursor.next_request() == PageRequest(4, tie_pass=1)
    cursor.accept([("1", 5), ("5", 5), ("6", 5), ("7", 5)], more=True, next_token=None)
    assert cursor.next_request() == PageRequest(4, page=2, per_page=3, tie_pass=1)
    keep = cursor.accept([("7", 5), ("8", 6)], more=True, next_token=None)
    assert keep == [False, True]
    assert cursor.next_request() == PageRequest(5)
    assert cursor.reread_calls == 2


def _page_of(request: PageRequest, per_page: int, second: int = 5) -> list[tuple[str, int]]:
    """The rows a still list (ids 1, 2, ... all at ``second``) holds where ``request`` asks."""
    size = request.per_page or per_page
    start = (request.page - 1) * size if request.page else 0
    return [(str(n), second) for n in range(start + 1, start + size + 1)]


def test_a_large_tie_second_is_paged_by_overlapping_pages_to_the_cap_then_by_token():
    cursor = ModifiedTimeCursor(4, per_page=200, discrete_cap=2000)
    cursor.accept(_page_of(PageRequest(4), 200), more=True, next_token="t1")
    asked = []
    while not (request := cursor.next_request()).page_token:
        asked.append((request.page, request.per_page))
        keep = cursor.accept(_page_of(request, 200), more=True, next_token=f"t{request.page}")
        assert keep[0] is False  # each page starts on a row of the page before
        assert keep[-1] is True

    # Each page starts a row or a few before the last one ended (page 2 of 199 rows starts at
    # row 200), the last position page ends at the cap, then the token of its size follows.
    assert asked == [
        (2, 199), (3, 198), (4, 197), (5, 196), (6, 195), (7, 194), (8, 193), (9, 192),
        (10, 191), (10, None),
    ]  # fmt: skip
    assert request == PageRequest(3, page_token="t10")  # minted by a page of the usual size
    assert cursor.reread_calls == 0


def test_a_page_without_its_overlap_is_asked_again_reaching_four_times_further_back():
    cursor = ModifiedTimeCursor(4, per_page=200)
    cursor.accept(_page_of(PageRequest(4), 200), more=True, next_token=None)
    asked, keep = [], []
    for _ in range(4):  # every row of page 1 left the second: no page can show one again
        request = cursor.next_request()
        asked.append((request.page, request.per_page))
        keep = cursor.accept([("x", 5)], more=True, next_token=None)

    assert asked == [(2, 199), (2, 192), (2, 168), (2, 101)]  # 1, 8, 32, then 99 rows back
    assert keep == [True]  # it reached back to page 1's first row: taken, the pass unsettled
    assert cursor.reread_calls == 3
    cursor.accept([("y", 5), ("z", 9)], more=True, next_token=None)
    assert cursor.next_request() == PageRequest(4, tie_pass=1)


@pytest.mark.parametrize("per_page", [1, 2])
def test_pages_too_small_to_overlap_start_right_where_the_last_one_ended(per_page):
    cursor = ModifiedTimeCursor(4, per_page=per_page)

    cursor.accept([(str(n), 5) for n in range(1, per_page + 1)], more=True, next_token=None)

    assert cursor.next_request() == PageRequest(3, page=2)


def test_a_refused_position_is_asked_again_by_the_last_page_token_and_its_size():
    cursor = ModifiedTimeCursor(5, per_page=4)
    cursor.accept([("1", 5), ("2", 5), ("3", 5), ("4", 5)], more=True, next_token="t1")
    assert cursor.next_request() == PageRequest(4, page=2, per_page=3)

    assert cursor.position_refused()

    assert cursor.next_request() == PageRequest(4, page_token="t1")  # page 1's size: the usual
    assert cursor.discrete_cap == 3  # where the refused page started
    assert not cursor.position_refused()  # already following the token


def test_a_refused_position_without_a_token_to_follow_is_left_to_the_caller():
    cursor = _tied_cursor()

    assert not cursor.position_refused()
    assert not ModifiedTimeCursor(None).position_refused()  # a window's first page: no position


def test_position_paging_stops_at_the_cap_when_zoho_gives_no_token():
    cursor = _tied_cursor(discrete_cap=6)

    with pytest.raises(UnsortedResponseError) as refused:
        cursor.accept([("4", 5), ("5", 5), ("6", 5)], more=True, next_token=None)  # to row 6

    assert str(refused.value) == "Zoho gave no page token past the position cap"


def test_past_the_cap_the_window_follows_the_page_token_of_the_size_that_minted_it():
    cursor = _tied_cursor(discrete_cap=6)

    keep = cursor.accept([("4", 5), ("5", 5), ("6", 5)], more=True, next_token="tok")

    assert keep == [False, True, True]
    assert cursor.next_request() == PageRequest(4, page_token="tok", per_page=3)
    cursor.accept([("7", 5), ("8", 5), ("9", 5)], more=True, next_token="tok2")
    assert cursor.next_request() == PageRequest(4, page_token="tok2", per_page=3)


def test_a_token_pass_that_found_new_rows_reads_the_tie_again_and_carries_the_pass():
    cursor = _tied_cursor(discrete_cap=6)
    cursor.accept([("4", 5), ("5", 5), ("6", 5)], more=True, next_token="tok")

    keep = cursor.accept([("7", 5), ("5", 5), ("9", 8)], more=True, next_token="tok2")

    assert keep == [True, False, False]  # tokens cannot show a skip: another pass first
    assert cursor.next_request() == PageRequest(4, tie_pass=1)
    cursor.accept([("1", 5), ("2", 5), ("3", 5), ("4", 5)], more=True, next_token=None)
    assert cursor.next_request() == PageRequest(4, page=2, per_page=3, tie_pass=1)
    cursor.accept([("4", 5), ("5", 5), ("6", 5)], more=True, next_token="t")
    assert cursor.next_request() == PageRequest(4, page_token="t", per_page=3, tie_pass=1)
    keep = cursor.accept([("7", 5), ("8", 5), ("9", 8)], more=True, next_token="t2")
    assert keep == [False, True, False]  # "8" is new: once more
    assert cursor.next_request() == PageRequest(4, tie_pass=2)
    cursor.accept([("1", 5), ("2", 5), ("3", 5), ("4", 5)], more=True, next_token=None)
    cursor.accept([("4", 5), ("5", 5), ("6", 5)], more=True, next_token="t")
    keep = cursor.accept([("7", 5), ("8", 5), ("9", 8)], more=True, next_token="t2")
    assert keep == [False, False, False]  # nothing new in second 5: settled, but row 9 came
    assert cursor.next_request() == PageRequest(5)  # by token: a window past second 5 reads it
    assert cursor.accept([("9", 8)], more=False, next_token=None) == [True]
    assert cursor.finished


def _race(
    seed: int,
    *,
    rows: int,
    per_page: int,
    most: int,
    inclusive: bool,
    cap: int = 10**9,
    next_second: int = 0,
) -> list[str]:
    """Page a live list in which already-served rows are edited again before each follow-up
    page (they leave for new seconds, the rest shift back), as runs resuming from the settled
    boundary would; return the ids whose newest version was never taken. Past ``cap`` rows the
    list is paged by tokens that are live offsets (one reading of an unconfirmed behaviour);
    ``next_second`` more rows share the second after the mass update."""
    rng = random.Random(seed)
    clock = 1000
    modified = {str(n): clock for n in range(1, rows + 1)}  # a mass update: one second
    modified.update({str(n): clock + 1 for n in range(rows + 1, rows + next_second + 1)})
    taken: dict[str, int] = {}
    saved: tuple[int | None, dict[str, str | None]] = (None, {})
    for run in range(5):
        cursor = ModifiedTimeCursor(*saved, per_page=per_page, discrete_cap=cap)
        served: list[str] = []
        while not cursor.finished:
            request = cursor.next_request()
            if run < 2 and (request.page or request.page_token) and served:
                for rid in rng.sample(served, min(len(served), rng.randint(1, most))):
                    clock += 1
                    modified[rid] = clock
            after = -1 if request.modified_after is None else request.modified_after
            listed = sorted(
                (epoch, int(rid))
                for rid, epoch in modified.items()
                if epoch > after or (inclusive and epoch == after)
            )
            size = request.per_page or per_page
            start = ((request.page or 1) - 1) * size
            if request.page_token:
                start = int(request.page_token)
            page = [(str(rid), epoch) for epoch, rid in listed[start : start + size]]
            served = ([] if start == 0 else served) + [rid for rid, _ in page]
            more = len(listed) > start + size
            keep = cursor.accept(
                page,
                more=more,
                next_token=str(start + size) if more else None,
                fingerprints=[f"{rid}@{epoch}" for rid, epoch in page],
                server_now=clock + 10,
            )
            taken.update(
                (rid, epoch) for (rid, epoch), wanted in zip(page, keep, strict=True) if wanted
            )
        saved = (cursor.settled.second, cursor.settled.fingerprints)
    return [rid for rid, epoch in modified.items() if taken.get(rid) != epoch]


@pytest.mark.parametrize(
    ("rows", "per_page", "most", "inclusive", "cap", "next_second"),
    [
        (260, 100, 15, False, 10**9, 0),
        (300, 25, 30, False, 10**9, 0),
        (700, 200, 250, False, 10**9, 0),
        (450, 200, 60, True, 10**9, 0),
        (900, 100, 30, False, 400, 0),
        (900, 100, 30, True, 400, 0),
        (900, 100, 5, True, 400, 200),
    ],
    ids=[
        "within-a-page",
        "past-a-page",
        "whole-pages",
        "inclusive-if-modified-since",
        "past-the-cap-by-live-tokens",
        "past-the-cap-inclusive",
        "two-ties-inclusive",
    ],
)
def test_rows_edited_again_while_their_second_is_paged_are_never_lost(
    rows, per_page, most, inclusive, cap, next_second
):
    shape = {"rows": rows, "per_page": per_page, "most": most, "inclusive": inclusive}
    lost = {
        seed: missing
        for seed in range(40)
        if (missing := _race(seed, **shape, cap=cap, next_second=next_second))
    }

    assert lost == {}


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


def test_cursor_opens_a_fresh_window_after_each_page_that_moved_the_bookmark():
    cursor = ModifiedTimeCursor(None, per_page=3)
    assert cursor.next_request() == PageRequest(None)

    keep = cursor.accept([("1", 10), ("2", 11), ("3", 12)], more=True, next_token="t")

    assert keep == [True, True, True]
    assert cursor.next_request() == PageRequest(11)  # one second before the newest seen


def test_cursor_skips_what_it_already_emitted_at_the_boundary_second():
    cursor = ModifiedTimeCursor(12, {"3"}, per_page=3)

    keep = cursor.accept([("2", 11), ("3", 12), ("4", 12)], more=False, next_token=None)

    assert keep == [False, False, True]
    assert cursor.finished
    assert set(cursor.seen_at_bookmark) == {"3", "4"}


def test_cursor_leaves_a_second_that_never_settles_to_the_next_run():
    cursor = ModifiedTimeCursor(5, per_page=1)
    for n in range(MAX_TIE_PASSES * 2):
        if cursor.finished:
            break
        cursor.accept([(f"r{n}", 5)], more=True, next_token=None)
        cursor.accept([(f"s{n}", 6)], more=True, next_token=None)
    assert cursor.finished
    assert cursor.bookmark == 5
    assert cursor.settled.second == 5


def test_cursor_emits_a_boundary_row_again_when_its_content_changed_within_the_second():
    cursor = ModifiedTimeCursor(12, {"3": fingerprint({"v": 1}), "4": fingerprint({"v": 1})})

    keep = cursor.accept(
        [("3", 12), ("4", 12)],
        more=False,
        next_token=None,
        fingerprints=[fingerprint({"v": 2}), fingerprint({"v": 1})],
    )

    assert keep == [True, False]


def test_cursor_emits_boundary_ids_of_an_older_state_again_their_content_being_unknown():
    cursor = ModifiedTimeCursor(12, {"3"})

    keep = cursor.accept([("3", 12)], more=False, next_token=None, fingerprints=["abc"])

    assert keep == [True]
    assert cursor.seen_at_bookmark == {"3": "abc"}


def test_cursor_never_settles_past_a_second_the_server_clock_may_still_change():
    cursor = ModifiedTimeCursor(None, per_page=3, lag_seconds=5)

    cursor.accept([("1", 90), ("2", 95), ("3", 97)], more=True, next_token=None, server_now=100)
    cursor.accept([("4", 99), ("5", 101)], more=False, next_token=None, server_now=105)

    assert cursor.bookmark == 101  # every row is emitted ...
    assert cursor.settled == Boundary(95, {"2": None}, frozen=True)  # ... resumable before 96
    assert cursor.horizon == 100


def test_a_frozen_boundary_still_notes_rows_of_its_own_second():
    boundary = Boundary(10, {"a": "1"})
    boundary.note("b", 11, "2", horizon=10)
    boundary.note("c", 10, "3", horizon=20)
    boundary.note("d", 12, "4", horizon=20)
    assert boundary == Boundary(10, {"a": "1", "c": "3"}, frozen=True)


def test_cursor_refuses_a_server_that_ignores_the_sort_order():
    cursor = ModifiedTimeCursor(None)
    with pytest.raises(UnsortedResponseError):
        cursor.accept([("1", 9), ("2", 3)], more=True, next_token=None)


def test_a_cursor_can_resume_from_its_saved_boundary_before_it_reads_anything():
    cursor = ModifiedTimeCursor(12, {"3": "ab"})

    assert cursor.settled == Boundary(12, {"3": "ab"})


def test_a_second_that_never_settles_is_given_up_after_the_last_allowed_pass():
    cursor = ModifiedTimeCursor(5, per_page=1)
    pairs = 0
    while not cursor.finished:
        cursor.accept([(f"r{pairs}", 5)], more=True, next_token=None)
        cursor.accept([(f"s{pairs}", 6)], more=True, next_token=None)
        pairs += 1

    assert cursor.gave_up
    assert pairs == MAX_TIE_PASSES
    assert cursor.reread_calls == 2 * MAX_TIE_PASSES - 2  # the first pass is no re-read


def test_the_horizon_never_moves_back_when_a_later_answer_carries_an_older_clock():
    cursor = ModifiedTimeCursor(None, per_page=3)
    cursor.accept([("1", 90)], more=True, next_token=None, server_now=100)
    cursor.accept([("2", 91)], more=True, next_token=None, server_now=95)

    assert cursor.horizon == 100


def test_a_tie_pass_whose_last_page_brought_new_rows_reads_the_tie_second_again():
    cursor = ModifiedTimeCursor(4, per_page=2)
    cursor.accept([("1", 5), ("2", 5)], more=True, next_token="a")
    cursor.accept([("1", 5), ("2", 5)], more=True, next_token="b")  # a tie at second 5

    keep = cursor.accept([("3", 5)], more=False, next_token=None)  # the last page: a new row

    assert keep == [True]
    assert not cursor.finished
    assert cursor.next_request() == PageRequest(4, tie_pass=1)


def test_the_resumable_boundary_keeps_the_fingerprints_of_its_second():
    cursor = ModifiedTimeCursor(None)

    cursor.accept(
        [("1", 5), ("2", 6)], more=False, next_token=None, fingerprints=["a", "b"], server_now=100
    )

    assert cursor.settled == Boundary(6, {"2": "b"})


def test_every_row_after_the_cut_of_a_tie_pass_waits_for_the_next_pass():
    cursor = ModifiedTimeCursor(4, per_page=2)
    cursor.accept([("1", 5), ("2", 5)], more=True, next_token="a")
    cursor.accept([("1", 5), ("2", 5)], more=True, next_token="b")  # a tie at second 5

    keep = cursor.accept([("3", 5), ("6", 8), ("7", 9)], more=True, next_token="c")

    assert keep == [True, False, False]


def test_fingerprints_come_one_per_row_or_the_page_is_refused():
    cursor = ModifiedTimeCursor(None)

    with pytest.raises(ValueError, match="zip"):
        cursor.accept([("1", 5), ("2", 6)], more=False, next_token=None, fingerprints=["a"])


def test_a_row_older_than_the_boundary_second_never_moves_it_back():
    boundary = Boundary(10, {"a": "p"})

    boundary.note("late", 7, "q", horizon=100)  # e.g. a held record emitted after newer ones

    assert boundary == Boundary(10, {"a": "p"})


def _read_still(cursor: ModifiedTimeCursor, rows: list[tuple[str, int]], per_page: int) -> int:
    """Read a list nobody edits to its end (tokens as offsets); return the calls it took."""
    calls = 0
    while not cursor.finished:
        request = cursor.next_request()
        size = request.per_page or per_page
        token = request.page_token
        start = int(token) if token else ((request.page or 1) - 1) * size
        page = rows[start : start + size]
        cursor.accept(page, more=start + size < len(rows), next_token=str(start + size))
        calls += 1
    return calls


@pytest.mark.parametrize(("per_page", "tied"), [(30, 1200), (10, 95), (200, 1999), (2, 40)])
def test_a_large_tie_second_nobody_edits_is_read_to_the_records_after_it(per_page, tied):
    rows = [(str(n), 5) for n in range(tied)] + [(f"after{n}", 6 + n) for n in range(5)]
    cursor = ModifiedTimeCursor(4, per_page=per_page)

    calls = _read_still(cursor, rows, per_page)

    assert not cursor.gave_up
    assert cursor.bookmark == 10  # the records after the tie second were read
    # Overlapping pages are smaller than per_page (small page sizes most), and a pass with a
    # page too small to overlap is read twice.
    assert calls <= 4 * len(rows) / per_page + 6


def test_a_short_answer_inside_a_tie_never_makes_the_same_request_again():
    cursor = ModifiedTimeCursor(4, per_page=200)
    cursor.accept([(str(n), 5) for n in range(1, 201)], more=True, next_token=None)
    asked = cursor.next_request()

    cursor.accept([("200", 5)], more=True, next_token=None)  # only the overlapping row

    assert cursor.next_request() != asked
    assert cursor.next_request().page == 2  # it starts further on, at row 201


def test_a_refused_position_after_a_shift_still_reads_the_tie_second_again():
    seen = {str(n): None for n in range(1, 40)}  # a second pass: every row known
    cursor = ModifiedTimeCursor(5, seen, per_page=10)
    cursor.accept([(str(n), 5) for n in range(1, 11)], more=True, next_token="t1")
    cursor.accept([(str(n), 5) for n in range(13, 22)], more=True, next_token="t2")  # a shift
    assert cursor.position_refused()  # the page asked again is refused: tokens from page 1

    keep = cursor.accept([("11", 5), ("99", 8)], more=True, next_token="t3")

    assert keep == [False, False]  # rows may have been skipped: row 99 waits for another pass
    assert cursor.next_request() == PageRequest(4, tie_pass=1)


def test_a_refused_position_without_a_shift_settles_a_second_with_nothing_new():
    seen = {str(n): None for n in range(1, 40)}
    cursor = ModifiedTimeCursor(5, seen, per_page=10)
    cursor.accept([(str(n), 5) for n in range(1, 11)], more=True, next_token="t1")
    assert cursor.position_refused()

    keep = cursor.accept([("11", 5), ("99", 8)], more=True, next_token="t3")

    assert keep == [False, False]  # settled; row 99 is read by a window past second 5
    assert cursor.next_request() == PageRequest(5)


def _past_a_settled_tie() -> ModifiedTimeCursor:
    """A second pass over second 5 that settled it on a token page crossing out of it."""
    seen = {str(n): None for n in range(1, 40)}
    cursor = ModifiedTimeCursor(5, seen, per_page=10)
    cursor.accept([(str(n), 5) for n in range(1, 11)], more=True, next_token="t1")
    assert cursor.position_refused()
    cursor.accept([("11", 5), ("99", 8)], more=True, next_token="t3")
    assert cursor.next_request() == PageRequest(5)
    return cursor


def test_a_window_past_a_tie_answered_with_the_tie_asks_from_the_next_second():
    cursor = _past_a_settled_tie()

    keep = cursor.accept([("1", 5)], more=True, next_token=None)  # inclusive: second 5 again

    assert keep == [False]
    assert cursor.next_request() == PageRequest(6)
    assert cursor.accept([("99", 8)], more=False, next_token=None) == [True]


def test_a_window_past_a_tie_that_also_reaches_newer_rows_reads_on_from_them():
    cursor = _past_a_settled_tie()

    keep = cursor.accept([("1", 5), ("99", 8)], more=True, next_token=None)

    assert keep == [False, True]
    assert cursor.next_request() == PageRequest(7)  # a window at the new bookmark, as usual


def test_once_zoho_answered_inclusively_a_later_tie_is_left_from_its_next_second():
    seen = {str(n): None for n in range(1, 40)}
    cursor = ModifiedTimeCursor(5, seen, per_page=10, discrete_cap=10)  # tokens at once
    cursor.accept([(str(n), 5) for n in range(1, 11)], more=True, next_token="t1")
    cursor.accept([("11", 5), ("99", 8)], more=True, next_token="t2")  # settled, cut
    cursor.accept([("1", 5)], more=True, next_token=None)  # inclusive
    tie_8 = [(f"a{n}", 8) for n in range(10)]
    cursor.accept(tie_8, more=True, next_token="u1")  # a tie at second 8: new rows, by token
    cursor.accept([("zz", 9)], more=True, next_token="u2")  # cut: that pass found new rows
    assert cursor.next_request() == PageRequest(8, tie_pass=1)  # inclusive: from second 8
    cursor.accept(tie_8, more=True, next_token="v1")

    keep = cursor.accept([("zz", 9)], more=True, next_token="v2")  # nothing new: settled

    assert keep == [False]
    assert cursor.next_request() == PageRequest(9)  # second 8 left out: from second 9 on


def test_a_window_start_zoho_ignores_falls_back_to_the_token_rows():
    cursor = _past_a_settled_tie()
    tie_page = [(str(n), 5) for n in range(1, 11)]
    cursor.accept(tie_page, more=True, next_token=None)  # If-Modified-Since 5: second 5
    assert cursor.next_request() == PageRequest(6)

    cursor.accept(tie_page, more=True, next_token=None)  # If-Modified-Since 6: second 5 too

    assert cursor.next_request() == PageRequest(4)  # the start is ignored: read on as before


def test_pages_of_ten_overlap_each_other_and_reach_at_least_half_a_page_further():
    cursor = ModifiedTimeCursor(4, per_page=10)
    rows = [(str(n), 5) for n in range(60)] + [("after", 9)]
    asked = []
    while not cursor.finished:
        request = cursor.next_request()
        asked.append((request.page, request.per_page))
        size = request.per_page or 10
        start = ((request.page or 1) - 1) * size
        cursor.accept(rows[start : start + size], more=start + size < len(rows), next_token=None)

    # Positions 0-9, 9-17, 16-23, 20-29, 27-35, 35-41, 40-49, 48-55, 54-62: one pass, no re-read.
    assert asked == [
        (None, None), (2, 9), (3, 8), (3, None), (4, 9), (6, 7), (5, None), (7, 8), (7, 9),
    ]  # fmt: skip
    assert cursor.bookmark == 9


def test_a_shift_found_earlier_in_the_pass_survives_a_refused_position():
    seen = {str(n): None for n in range(1, 40)}  # a second pass: every row known
    cursor = ModifiedTimeCursor(5, seen, per_page=4)  # too small to ask a page again
    cursor.accept([(str(n), 5) for n in range(1, 5)], more=True, next_token="t1")
    cursor.accept([("9", 5), ("10", 5), ("11", 5)], more=True, next_token="t2")  # a shift
    assert cursor.position_refused()  # the next page is refused: tokens from here

    keep = cursor.accept([("12", 5), ("99", 8)], more=True, next_token="t3")

    assert keep == [False, False]
    assert cursor.next_request() == PageRequest(4, tie_pass=1)


def test_after_an_inclusive_answer_a_full_page_of_the_next_second_is_read_on():
    cursor = _past_a_settled_tie()
    cursor.accept([(str(n), 5) for n in range(1, 11)], more=True, next_token=None)  # inclusive
    assert cursor.next_request() == PageRequest(6)
    second_6 = [(f"a{n}", 6) for n in range(10)]  # rows of the window's own second belong

    keep = cursor.accept(second_6, more=True, next_token="u1")

    assert keep == [True] * 10
    assert cursor.next_request().modified_after == 6  # paging on inside second 6


def test_once_zoho_answered_inclusively_windows_start_at_the_bookmark_itself():
    cursor = _past_a_settled_tie()
    cursor.accept([(str(n), 5) for n in range(1, 11)], more=True, next_token=None)  # inclusive
    cursor.accept([("99", 8), ("100", 9)], more=True, next_token=None)

    assert cursor.next_request() == PageRequest(9)  # not 8: that second was read already
