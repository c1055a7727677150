"""CRM channel tokens rotate at every renewal; callbacks with the old one fade out."""

from __future__ import annotations

import json

import httpx


def test_renewing_channels_gives_them_new_tokens_that_zoho_then_sends(live):
    live.idle()
    before = {cid: c.token for cid, c in live.sandbox.notifications.channels.items()}
    renewed = live.cli("channels", "renew", "--all")
    assert renewed.returncode == 0, renewed.stderr[-2000:]
    after = {cid: c.token for cid, c in live.sandbox.notifications.channels.items()}
    assert set(after) == set(before)
    assert all(after[cid] != before[cid] for cid in after)
    assert "token" not in renewed.stdout  # tokens are never printed

    lead = sorted(live.sandbox.records("Leads"))[9]
    job = "crm-to-clickhouse"
    runs_before = len(live.runs(job))
    assert [d.status for d in live.sandbox.notifications.notify("Leads", [lead])] == [200]
    # a callback Zoho queued before the renewal still carries the old token: accepted for a while
    (channel_id,) = [
        cid for cid, c in live.sandbox.notifications.channels.items() if "Leads.all" in c.events
    ]
    queued = {
        "module": "Leads",
        "ids": [lead],
        "operation": "update",
        "channel_id": channel_id,
        "token": before[channel_id],
        "server_time": 1,
    }
    late = httpx.post(f"{live.url}/webhooks/crm", content=json.dumps(queued), timeout=10)
    assert late.status_code == 200
    forged = httpx.post(
        f"{live.url}/webhooks/crm", content=json.dumps({**queued, "token": "x" * 40}), timeout=10
    )
    assert forged.status_code == 401
    live.idle()
    assert [r["status"] for r in live.runs(job)[runs_before:]] == ["succeeded"]


def test_the_replaced_token_is_accepted_only_for_the_grace_period():
    import dataclasses

    from zoho_sync_service.history import Channel, now_iso

    never = Channel("1", ["Leads"], ["Leads.all"], "new", "https://x", "2030-01-01T00:00:00+00:00")
    assert never.tokens(3600) == ["new"]
    fresh = dataclasses.replace(never, previous_token="old", rotated_at=now_iso())
    assert fresh.tokens(3600) == ["new", "old"]
    stale = dataclasses.replace(fresh, rotated_at="2001-01-01T00:00:00+00:00")
    assert stale.tokens(3600) == ["new"]
