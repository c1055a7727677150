"""The service's HTTP app in the test process, runs by a stand-in Meltano script: intake refuses before it stores."""

from __future__ import annotations

import pytest


@pytest.fixture
def client(tmp_path, monkeypatch):
    from starlette.testclient import TestClient
    from zoho_sync_service.app import create_app
    from zoho_sync_service.settings import Settings

    fake = tmp_path / "meltano"
    fake.write_text(FAKE_MELTANO.format(calls=tmp_path / "calls"))
    fake.chmod(0o755)
    monkeypatch.setenv("ZOHO_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("ZOHO_SYNC_SERVICE_TOKEN", "tok")
    monkeypatch.setenv("ZOHO_SYNC_SERVICE_MELTANO_EXECUTABLE", str(fake))
    monkeypatch.setenv("ZOHO_SYNC_SERVICE_DATABASE", str(tmp_path / "service.db"))
    monkeypatch.setenv("ZOHO_SYNC_SERVICE_MAX_BODY_BYTES", "1000")
    monkeypatch.setenv("ZOHO_SYNC_SERVICE_DEBOUNCE_SECONDS", "0")
    with TestClient(create_app(Settings.from_environment(tmp_path))) as test_client:
        test_client.calls = tmp_path / "calls"
        yield test_client


def test_http_intake_refuses_before_storing_and_accepts_put_webhooks(client):
    def chunks():
        yield b"{" + b" " * 600
        yield b" " * 600 + b"}"

    oversized = client.post(f"/webhooks/books?secret={SECRET}", content=chunks())  # no length
    assert oversized.status_code == 413
    history = client.app.state.service.history
    assert history.pending() == []
    accepted = client.put(f"/webhooks/books?secret={SECRET}", json={"item": {"item_id": "1"}})
    assert accepted.status_code == 200
    assert accepted.json() == {"status": "accepted", "job": "products-to-erp"}
    channel = history.channels()
    assert channel == []
    callback = {"module": "Deals", "token": "t", "channel_id": "5"}
    assert client.post("/webhooks/crm", json=callback).status_code == 401


def test_legacy_incremental_waits_for_its_run_and_passes_the_selection(client):
    headers = {"Authorization": "Bearer tok"}
    answer = client.post("/sync/incremental", json={"selected_modules": ["Leads"]}, headers=headers)
    assert answer.status_code == 200
    assert answer.json()["synced_modules"] == [{"module": "Leads", "record_count": 4}]
    assert client.calls.read_text().split() == ["run", "crm-to-clickhouse", '["Leads"]']
    run = client.get("/runs", headers=headers).json()["runs"][0]
    assert run["records"] == {"leads": 4}
    assert run["selection"] == ["Leads"]
    assert client.get("/runs", headers={"Authorization": "Bearer nope"}).status_code == 401


SECRET = "s3cretWebhookKey42"


# ---------------------------------------------------------------------- HTTP, with a stand-in CLI
FAKE_MELTANO = """#!/bin/sh
echo "$@" "$TAP_ZOHO_CRM_MODULES" >> {calls}
echo '2026-12-01T15:19:36Z [info     ] tap-zoho     METRIC: {{"type":"counter","metric":"record_count","value":4,"tags":{{"stream":"leads"}}}}'
echo '2026-12-01T15:19:36Z [info     ] tap-zoho     Sync summary: {{"success":true,"synced_modules":[{{"module":"Leads","record_count":4}}],"failed_modules":[],"total_records":4,"errors":[]}}'
"""
