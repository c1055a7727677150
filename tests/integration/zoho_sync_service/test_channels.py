"""CRM notification channels against the sandbox: subscribed, renewed before they expire, removed."""

from __future__ import annotations

import asyncio
import time

import httpx
from zoho_sync_service.channels import ChannelManager, ZohoChannels
from zoho_sync_service.history import History
from zoho_sync_service.settings import ZohoCredentials


# ---------------------------------------------------------------------- channels vs the sandbox
def credentials(sandbox) -> ZohoCredentials:
    config = sandbox.tap_config()
    return ZohoCredentials(
        config["client_id"],
        config["client_secret"],
        config["refresh_token"],
        sandbox.base_url,
        sandbox.base_url,
    )


def test_channels_are_subscribed_renewed_and_removed_at_the_sandbox(sandbox, tmp_path):
    async def scenario():
        history = History(tmp_path / "h.db")
        manager = ChannelManager(ZohoChannels(credentials(sandbox)), history, lifetime=600)
        modules = [f"M{i}" for i in range(12)]
        for name in modules:  # modules the sandbox must know
            sandbox.store.add_module(type(sandbox.store.modules["Leads"])(name, f"9{len(name)}"))
        made = await manager.subscribe(modules, "http://127.0.0.1:1/webhooks/crm")
        assert [len(c.modules) for c in made] == [10, 2]  # ten events per channel at most
        assert all(len(c.token) <= 50 for c in made)
        first = made[0]
        assert 590 < first.expires_in() <= 600
        assert await manager.renew_due(renew_before=100) == []  # nothing due
        # Zoho dropped the channel: renewal subscribes it again, same id, a new token (rotated)
        del sandbox.notifications.channels[first.channel_id]
        manager.lifetime = 900
        renewed = await manager.renew_due(renew_before=100, everything=True)
        assert {c.channel_id for c in renewed} == {c.channel_id for c in made}
        stored = history.channel(first.channel_id)
        assert sandbox.notifications.channels[first.channel_id].token == stored.token != first.token
        assert stored.previous_token == first.token
        assert 890 < history.channel(first.channel_id).expires_in() <= 900
        # renewal comes halfway through the granted lifetime when that is shorter than the margin
        assert await manager.renew_due(renew_before=3 * 3600) == []
        manager.lifetime = 2
        await manager.renew(first)
        await asyncio.sleep(1.2)
        assert [c.channel_id for c in await manager.renew_due(renew_before=3 * 3600)] == [
            first.channel_id
        ]
        removed = await manager.remove()
        assert sorted(removed) == sorted(c.channel_id for c in made)
        assert sandbox.notifications.channels == {}
        assert history.channels() == []
        await manager.zoho.aclose()

    asyncio.run(scenario())


def test_the_sandbox_watch_api_is_as_strict_as_the_contract(sandbox):
    config = sandbox.tap_config()
    token = httpx.post(
        f"{sandbox.base_url}/oauth/v2/token",
        data={
            "grant_type": "refresh_token",
            **{k: config[k] for k in ("client_id", "client_secret", "refresh_token")},
        },
    ).json()["access_token"]
    headers = {"Authorization": f"Zoho-oauthtoken {token}"}
    url = f"{sandbox.base_url}/crm/v8/actions/watch"
    good = {
        "channel_id": "100",
        "events": ["Leads.all"],
        "notify_url": "http://127.0.0.1:1/x",
        "token": "t",
    }

    def post(**changes):
        return httpx.post(url, json={"watch": [{**good, **changes}]}, headers=headers)

    from datetime import UTC, datetime, timedelta

    in_two_days = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    assert post(channel_expiry=in_two_days).status_code == 400
    assert post(token="x" * 51).status_code == 400
    assert post(events=["Nope.all"]).status_code == 400
    assert post(events=["Leads.upsert"]).status_code == 400
    assert post(channel_id="abc").status_code == 400
    assert (
        httpx.post(
            url, json={"watch": [{"channel_id": "1", "events": ["Leads.all"]}]}, headers=headers
        ).json()["watch"][0]["code"]
        == "MANDATORY_NOT_FOUND"
    )
    assert httpx.get(url, headers=headers).status_code == 204
    ok = post(channel_id=101)
    assert ok.status_code == 200
    assert ok.json()["watch"][0]["details"]["events"][0]["resource_name"] == "Leads"
    listed = httpx.get(url, headers=headers).json()["watch"]
    assert [w["channel_id"] for w in listed] == ["101"]
    assert httpx.get(url).status_code == 401
    assert httpx.delete(url, params={"channel_ids": "101"}, headers=headers).status_code == 200
    assert httpx.get(url, headers=headers).status_code == 204


def test_the_running_service_renews_channels_before_they_expire(sandbox, tmp_path, monkeypatch):
    from zoho_sync_service.service import SyncService
    from zoho_sync_service.settings import Settings

    creds = credentials(sandbox)
    for name in ("client_id", "client_secret", "refresh_token", "api_domain"):
        monkeypatch.setenv(f"ZOHO_SYNC_SERVICE_{name.upper()}", getattr(creds, name))
    settings = Settings(
        project_dir=tmp_path,
        database=tmp_path / "service.db",
        meltano="meltano",
        channel_lifetime_seconds=2,
        channel_renew_before_seconds=3600,
        channel_check_seconds=0.2,
    )

    async def scenario():
        service = SyncService(settings)
        [channel] = await service.channel_manager().subscribe(["Leads"], "http://127.0.0.1:1/x")
        first = sandbox.notifications.channels[channel.channel_id].expiry
        await service.start()
        deadline = time.monotonic() + 10
        while sandbox.notifications.channels[channel.channel_id].expiry <= first:
            assert time.monotonic() < deadline, "not renewed"
            await asyncio.sleep(0.2)
        # each renewal gives the channel a new token (callbacks are not signed)
        assert sandbox.notifications.channels[channel.channel_id].token != channel.token
        await service.stop()

    asyncio.run(scenario())
