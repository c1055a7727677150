"""Saved bookmark boundaries: fingerprints and the older bare ids (tap_zoho.sdk.bookmarks)."""

from __future__ import annotations

from tap_zoho.sdk.bookmarks import saved_boundary


def test_saved_boundaries_read_fingerprints_and_the_older_bare_ids():
    assert saved_boundary({"boundary_fingerprints": {"1": "ab"}, "boundary_ids": ["2"]}) == {
        "1": "ab"
    }
    assert saved_boundary({"boundary_ids": ["1", "2"]}) == {"1": None, "2": None}
    assert saved_boundary({}) == {}
