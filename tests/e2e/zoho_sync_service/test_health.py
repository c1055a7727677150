"""`GET /health`: open to monitors, details behind the token, and a dead background task shows."""

from __future__ import annotations

import sqlite3
import time

import httpx


def open_health(live) -> httpx.Response:
    """``GET /health`` without a token (polled: through the service's kept client)."""
    return live.http.get("/health")


def wait_for(predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not true within {timeout}s")


def test_health_answers_monitors_without_a_token_and_gives_details_with_it(live):
    anonymous = open_health(live)
    assert anonymous.status_code == 200
    assert anonymous.json()["status"] == "healthy"
    assert set(anonymous.json()) <= {"status", "service", "version"}
    wrong = httpx.get(f"{live.url}/health", headers={"Authorization": "Bearer nope"}, timeout=10)
    assert wrong.status_code == 401
    details = live.health()
    assert details["status"] == "healthy"
    assert details["problems"] == []
    assert {"crm-to-clickhouse", "products-to-erp"} <= set(details["jobs"])
    assert all(t["running"] for t in details["tasks"].values())
    assert "channel-renewal" in details["tasks"]


def test_a_background_task_that_dies_is_restarted_and_reported_until_it_recovers(live):
    db = sqlite3.connect(live.database, timeout=10)
    (channel_id, expiry) = db.execute("SELECT channel_id, channel_expiry FROM channels").fetchone()
    try:
        # a row the renewal loop cannot read: its task raises (not an error it expects)
        with db:
            db.execute(
                "UPDATE channels SET channel_expiry = 'garbage' WHERE channel_id = ?", (channel_id,)
            )

        def renewal_crashed() -> dict | None:
            details = live.health()
            crashed = [p for p in details["problems"] if p.startswith("channel-renewal: crashed")]
            return details if crashed else None

        details = wait_for(renewal_crashed)
        assert details["status"] == "degraded"
        assert any("ValueError" in p for p in details["problems"])
        assert open_health(live).json()["status"] == "degraded"
        assert "problems" not in open_health(live).json()  # the reason is behind the token
        wait_for(lambda: live.health()["tasks"]["channel-renewal"]["restarts"] >= 2)
    finally:
        with db:
            db.execute(
                "UPDATE channels SET channel_expiry = ? WHERE channel_id = ?", (expiry, channel_id)
            )
        db.close()
    wait_for(lambda: live.health()["status"] == "healthy")
    assert live.health()["tasks"]["channel-renewal"]["running"]
