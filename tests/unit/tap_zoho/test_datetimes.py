"""Zoho's time formats: offsets with and without a colon, HTTP dates (tap_zoho.datetimes)."""

from __future__ import annotations

from tap_zoho.datetimes import http_date_epoch, to_epoch, utc_iso


def test_offsets_with_and_without_colon_are_the_same_instant():
    assert to_epoch("2024-01-05T10:20:30+05:30") == to_epoch("2024-01-05T10:20:30+0530")
    assert to_epoch("2024-01-05T10:20:30+05:30") == to_epoch("2024-01-05T04:50:30Z")
    assert utc_iso(to_epoch("2024-01-05T10:20:30+05:30")) == "2024-01-05T04:50:30+00:00"


def test_http_dates_are_read_as_epoch_seconds():
    assert http_date_epoch("Tue, 01 Dec 2026 18:00:00 GMT") == 1796148000
    assert http_date_epoch("not a date") is None
    assert http_date_epoch(None) is None
