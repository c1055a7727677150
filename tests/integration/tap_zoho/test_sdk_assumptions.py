"""The private singer-sdk member tap-zoho's bookmarks override still works the way they assume.

``tap_zoho/sdk/bookmarks.py`` overrides ``Stream._increment_stream_state`` (no public hook says "this
record was written: advance the bookmark"), pinned to singer-sdk 0.54.x. These tests fail before
a new SDK release could move a bookmark ahead of its records or stop calling the override."""

from __future__ import annotations

from tests.support.tap import run_tap


def test_the_sdk_stores_the_bookmark_the_override_hands_it(sandbox):
    run = run_tap(sandbox.tap_config(crm_modules=["Accounts"], crm_include_deleted=False))

    bookmark = run.state["bookmarks"]["accounts"]
    newest = max(r["Modified_Time"] for r in run.records["accounts"])
    from tap_zoho.datetimes import to_epoch, utc_iso

    assert bookmark["replication_key_value"] == utc_iso(to_epoch(newest))
    assert bookmark["replication_key"] == "Modified_Time"
    assert set(bookmark["boundary_fingerprints"]) == {
        r["id"] for r in run.records["accounts"] if to_epoch(r["Modified_Time"]) == to_epoch(newest)
    }
