"""Pure pieces: keyset cursor decisions, data-centre mapping, token lifetime, time parsing."""

from __future__ import annotations

import pytest
from tap_zoho.api.auth import _lifetime_seconds
from tap_zoho.api.datacenters import accounts_domain_for
from tap_zoho.datetimes import http_date_epoch, to_epoch, utc_iso
from tap_zoho.keyset import (
    MAX_TIE_PASSES,
    Boundary,
    ModifiedTimeCursor,
    PageRequest,
    UnsortedResponseError,
    fingerprint,
)
from tap_zoho.sdk.bookmarks import saved_boundary


@pytest.mark.parametrize(
    ("api_domain", "accounts"),
    [
        ("https://www.zohoapis.com", "https://accounts.zoho.com"),
        ("https://www.zohoapis.eu/", "https://accounts.zoho.eu"),
        ("www.zohoapis.in", "https://accounts.zoho.in"),
        ("https://www.zohoapis.com.au", "https://accounts.zoho.com.au"),
        ("https://www.zohoapis.jp", "https://accounts.zoho.jp"),
        ("https://www.zohoapis.com.cn", "https://accounts.zoho.com.cn"),
        ("https://www.zohoapis.ca", "https://accounts.zohocloud.ca"),
        ("https://www.zohoapis.sa", "https://accounts.zoho.sa"),
        ("https://sandbox.zohoapis.eu", "https://accounts.zoho.eu"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ],
)
def test_accounts_server_is_derived_from_the_api_domain(api_domain, accounts):
    assert accounts_domain_for(api_domain) == accounts


def test_token_lifetime_reads_seconds_and_the_legacy_millisecond_form():
    assert _lifetime_seconds({"expires_in": 3600}) == 3600
    assert _lifetime_seconds({"expires_in": 3600000, "expires_in_sec": 3600}) == 3600
    assert _lifetime_seconds({"expires_in": 3600000}) == 3600


def test_offsets_with_and_without_colon_are_the_same_instant():
    assert to_epoch("2024-01-05T10:20:30+05:30") == to_epoch("2024-01-05T10:20:30+0530")
    assert to_epoch("2024-01-05T10:20:30+05:30") == to_epoch("2024-01-05T04:50:30Z")
    assert utc_iso(to_epoch("2024-01-05T10:20:30+05:30")) == "2024-01-05T04:50:30+00:00"


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


def test_cursor_pages_inside_a_second_that_fills_whole_pages():
    cursor = ModifiedTimeCursor(None, per_page=2)
    cursor.accept([("1", 5), ("2", 5)], more=True, next_token="a")
    assert cursor.next_request() == PageRequest(None, page=2)  # on through the tie second
    keep = cursor.accept([("3", 5), ("4", 6)], more=True, next_token="c")
    assert keep == [True, False]  # not past the tie second before a pass finds nothing new
    assert cursor.next_request() == PageRequest(4, tie_pass=1)  # that second again, from its start


def test_cursor_rereads_a_tie_second_until_a_pass_finds_nothing_new():
    cursor = ModifiedTimeCursor(4, per_page=2)
    assert cursor.accept([("1", 5), ("2", 5)], more=True, next_token="a") == [True, True]
    cursor.accept([("1", 5), ("2", 5)], more=True, next_token="b")  # fresh window at 5: a tie
    # "2" was edited again meanwhile (it left second 5): "3" shifted onto page 1, so page 2
    # starts at "4" and "3" is skipped by this pass.
    assert cursor.accept([("4", 5), ("2", 6)], more=True, next_token="c") == [True, False]
    assert cursor.next_request() == PageRequest(4, tie_pass=1)
    assert cursor.accept([("1", 5), ("3", 5)], more=True, next_token="d") == [False, True]
    assert cursor.accept([("4", 5), ("2", 6)], more=True, next_token="e") == [False, False]
    assert cursor.next_request() == PageRequest(4, tie_pass=2)  # that pass found "3": once more
    cursor.accept([("1", 5), ("3", 5)], more=True, next_token="f")
    assert cursor.accept([("4", 5), ("2", 6)], more=True, next_token="g") == [False, True]
    assert cursor.next_request() == PageRequest(5)  # a clean pass: move on
    assert cursor.reread_calls == 4


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


def test_fingerprints_ignore_key_order_empty_values_and_ui_flags_only():
    assert fingerprint({"a": 1, "b": "x"}) == fingerprint(
        {"b": "x", "a": 1, "c": None, "d": "", "f": [], "$e": 1}
    )
    assert fingerprint({"a": 0, "b": False}) != fingerprint({})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})
    assert fingerprint({"a": 1, "b": "x"}) != fingerprint({"a": 1})
    assert len(fingerprint({"a": 1})) == 16


def test_saved_boundaries_read_fingerprints_and_the_older_bare_ids():
    assert saved_boundary({"boundary_fingerprints": {"1": "ab"}, "boundary_ids": ["2"]}) == {
        "1": "ab"
    }
    assert saved_boundary({"boundary_ids": ["1", "2"]}) == {"1": None, "2": None}
    assert saved_boundary({}) == {}


def test_http_dates_are_read_as_epoch_seconds():
    assert http_date_epoch("Tue, 01 Dec 2026 18:00:00 GMT") == 1796148000
    assert http_date_epoch("not a date") is None
    assert http_date_epoch(None) is None


def test_cursor_refuses_a_server_that_ignores_the_sort_order():
    cursor = ModifiedTimeCursor(None)
    with pytest.raises(UnsortedResponseError):
        cursor.accept([("1", 9), ("2", 3)], more=True, next_token=None)
