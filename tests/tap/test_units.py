"""Pure pieces: keyset cursor decisions, data-centre mapping, token lifetime, time parsing."""

from __future__ import annotations

import pytest
from tap_zoho.auth import _lifetime_seconds
from tap_zoho.datacenters import accounts_domain_for
from tap_zoho.pagination import ModifiedTimeCursor, PageRequest, UnsortedResponseError
from tap_zoho.timeutil import to_epoch, utc_iso


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
    assert cursor.seen_at_bookmark == {"3", "4"}


def test_cursor_pages_inside_a_second_that_fills_whole_pages():
    cursor = ModifiedTimeCursor(None, per_page=2)
    cursor.accept([("1", 5), ("2", 5)], more=True, next_token="a")
    assert cursor.next_request() == PageRequest(4)  # fresh window at the tie second
    cursor.accept([("1", 5), ("2", 5)], more=True, next_token="b")
    assert cursor.next_request() == PageRequest(4, page_token="b")
    keep = cursor.accept([("3", 5), ("4", 6)], more=True, next_token="c")
    assert keep == [True, True]
    assert cursor.next_request() == PageRequest(5)


def test_cursor_refuses_a_server_that_ignores_the_sort_order():
    cursor = ModifiedTimeCursor(None)
    with pytest.raises(UnsortedResponseError):
        cursor.accept([("1", 9), ("2", 3)], more=True, next_token=None)
