"""zoho-sync-service parts on their own: signatures, scheduling, history, log reading, legacy shapes.

The scheduling tests drive the real :class:`JobQueue` with a stand-in for ``meltano run`` that only
records when it was called: timing rules are what is under test here (the end-to-end module runs
the real Meltano CLI).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from pathlib import Path

import httpx
import pytest
from zoho_sync_service import intake, legacy
from zoho_sync_service.channels import ChannelManager, ZohoChannels
from zoho_sync_service.flight import Batch, JobQueue, RunBudget, RunResult
from zoho_sync_service.history import History
from zoho_sync_service.jobs import Job
from zoho_sync_service.runner import LogReader, RunOutcome
from zoho_sync_service.settings import ZohoCredentials

from tests.zoho_sandbox import Sandbox
from tests.zoho_sandbox.notifications import books_signature

SECRET = "s3cretWebhookKey42"
BODY = b'{"item":{"item_id":"1","name":"Mouse"}}'


# ---------------------------------------------------------------------- Books authentication
def hexmac(message: bytes) -> str:
    return hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()


def authentic(secret: str, headers: dict, query: list, body: bytes) -> bool:
    """The service's two steps: the check before the body is read, then the signature."""
    try:
        if intake.books_precheck(secret, headers, query):
            signature = headers["x-zoho-webhook-signature"]
            content_type = headers.get("content-type", "")
            intake.books_verify(secret, signature, query, body, content_type, tolerance=300)
    except intake.RejectedError:
        return False
    return True


def test_a_billing_style_signature_over_sorted_query_pairs_and_raw_json_verifies():
    query = [("org", "42"), ("entity", "item")]
    signature = books_signature(SECRET, dict(query), BODY)
    assert signature == hexmac(b"entityitemorg42" + BODY)
    headers = {"x-zoho-webhook-signature": signature, "content-type": "application/json"}
    assert authentic(SECRET, headers, query, BODY)
    assert not authentic(SECRET, headers, query, BODY.replace(b"Mouse", b"Mice"))
    assert not authentic("another-secret-000", headers, query, BODY)


def test_other_documented_signature_readings_verify():
    raw = {"x-zoho-webhook-signature": hexmac(BODY).upper()}
    assert authentic(SECRET, raw, [("a", "b")], BODY)  # raw body, any hex case
    digest = hmac.new(SECRET.encode(), BODY, hashlib.sha256).digest()
    b64 = {"x-zoho-webhook-signature": base64.b64encode(digest).decode()}
    assert authentic(SECRET, b64, [], BODY)
    now = str(int(time.time() * 1000))
    stamped = {"x-zoho-webhook-signature": f"t={now},v={hexmac(now.encode() + b'.' + BODY)}"}
    assert authentic(SECRET, stamped, [], BODY)
    form = b"name=Mouse&item_id=1"
    signed_form = {
        "x-zoho-webhook-signature": hexmac(b"item_id1nameMouse"),
        "content-type": "application/x-www-form-urlencoded",
    }
    assert authentic(SECRET, signed_form, [], form)


def test_without_a_signature_the_secret_must_come_as_a_header_bearer_or_query_parameter():
    assert authentic(SECRET, {"x-zoho-webhook-secret": SECRET}, [], BODY)
    assert authentic(SECRET, {"authorization": f"Bearer {SECRET}"}, [], BODY)
    assert authentic(SECRET, {}, [("secret", SECRET)], BODY)
    assert not authentic(SECRET, {}, [("secret", "nope")], BODY)
    assert not authentic(SECRET, {}, [], BODY)
    assert not authentic("", {}, [("secret", "")], BODY)  # unset secret: refuse all
    # a wrong signature is not rescued by a right token
    headers = {"x-zoho-webhook-signature": "00", "x-zoho-webhook-secret": SECRET}
    assert not authentic(SECRET, headers, [], BODY)


def test_books_payloads_name_their_resources():
    assert intake.books_resources(intake.books_payload(BODY, "application/json"), []) == {"items"}
    contact = intake.books_payload(b'{"contact": {"contact_id": "9"}}', "application/json")
    assert intake.books_resources(contact, []) == {"contacts"}
    custom = intake.books_payload(b'{"anything": 1}', "application/json")
    assert intake.books_resources(custom, [("entity", "pricebook")]) == {"pricebooks"}
    assert intake.books_resources(custom, []) is None  # unknown: the whole job
    form = b"JSONString=" + b'{"item": {"item_id": "1"}}'.replace(b" ", b"")
    parsed = intake.books_payload(form, "application/x-www-form-urlencoded")
    assert intake.books_resources(parsed, []) == {"items"}
    for bad in (b"", b"[1, 2]", b"{oops"):
        with pytest.raises(intake.RejectedError) as err:
            intake.books_payload(bad, "application/json")
        assert err.value.status == 400


def test_crm_callbacks_need_a_known_token_and_name_a_module():
    data = intake.crm_notification(
        b'{"module": "Deals", "token": "tok", "channel_id": 7, "ids": ["1"], "operation": "insert"}'
    )
    assert intake.crm_token_valid(data, ["", "tok"])
    assert not intake.crm_token_valid(data, ["other"])
    assert not intake.crm_token_valid({"token": None}, [""])
    assert intake.crm_module(data, []) == "Deals"
    assert intake.crm_module({"resource_uri": "https://x/crm/v8/Leads"}, []) == "Leads"
    assert intake.crm_module({}, ["Accounts"]) == "Accounts"
    with pytest.raises(intake.RejectedError):
        intake.crm_module({}, ["Accounts", "Leads"])


# ---------------------------------------------------------------------- scheduling
class FakeMeltano:
    """Records each run's start and end; each run takes ``seconds``; fails the first ``fail``."""

    def __init__(self, seconds: float = 0.2, fail: int = 0) -> None:
        self.seconds = seconds
        self.fail = fail
        self.calls: list[tuple[float, float, frozenset | None, int]] = []

    async def __call__(self, batch: Batch, attempt: int, force: bool) -> RunResult:
        start = time.monotonic()
        await asyncio.sleep(self.seconds)
        self.calls.append((start, time.monotonic(), batch.selection, attempt))
        ok = len(self.calls) > self.fail
        return RunResult(ok, len(self.calls))


def queue_with(fake: FakeMeltano, **kwargs) -> JobQueue:
    settings = {"debounce": 0.3, "retry_attempts": 3, "retry_backoff": 0.1, **kwargs}
    return JobQueue("job", fake, **settings)


async def settle(queue: JobQueue, limit: float = 10) -> None:
    deadline = time.monotonic() + limit
    while queue.running or queue.waiting:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)


def batch(module: str | None) -> Batch:
    return Batch({}, frozenset({module}) if module else None, [f"t:{module}"])


def test_a_burst_of_triggers_within_the_debounce_window_makes_one_run():
    async def scenario():
        fake = FakeMeltano()
        queue = queue_with(fake)
        queue.start()
        for module in ["Leads"] * 8 + ["Deals", "Leads"]:
            queue.add(batch(module))
            await asyncio.sleep(0.02)
        await settle(queue)
        await queue.stop()
        return fake.calls

    calls = asyncio.run(scenario())
    assert len(calls) == 1
    assert calls[0][2] == {"Leads", "Deals"}


def test_triggers_during_a_run_make_exactly_one_follow_up_after_it():
    async def scenario():
        fake = FakeMeltano(seconds=0.6)
        queue = queue_with(fake, debounce=0.05)
        queue.start()
        queue.add(batch("Leads"))
        while not queue.running:  # noqa: ASYNC110 - polling the state under test
            await asyncio.sleep(0.01)
        for module in ("Deals", "Leads", "Accounts", "Deals"):
            queue.add(batch(module))
            await asyncio.sleep(0.05)
        await settle(queue)
        await queue.stop()
        return fake.calls

    calls = asyncio.run(scenario())
    assert len(calls) == 2
    assert calls[1][0] >= calls[0][1]  # single flight: the follow-up starts after the run
    assert calls[1][2] == {"Deals", "Leads", "Accounts"}


def test_a_steady_stream_cannot_postpone_the_run_past_max_delay():
    async def scenario():
        fake = FakeMeltano(seconds=0.05)
        queue = queue_with(fake, debounce=0.2, max_delay=0.6)
        queue.start()
        started = time.monotonic()
        while time.monotonic() - started < 1.0:
            queue.add(batch("Leads"))
            await asyncio.sleep(0.1)
        await settle(queue)
        await queue.stop()
        return started, fake.calls

    started, calls = asyncio.run(scenario())
    assert calls[0][0] - started < 0.9


def test_a_failed_run_is_retried_with_backoff_and_absorbs_new_triggers():
    async def scenario():
        fake = FakeMeltano(seconds=0.05, fail=2)
        queue = queue_with(fake, debounce=0.05, retry_backoff=0.2)
        queue.start()
        queue.add(batch("Leads"))
        while not fake.calls:  # noqa: ASYNC110 - polling the state under test
            await asyncio.sleep(0.01)
        queue.add(batch("Deals"))
        await settle(queue)
        await queue.stop()
        return fake.calls

    calls = asyncio.run(scenario())
    assert [c[3] for c in calls] == [1, 2, 3]
    assert calls[1][0] - calls[0][1] >= 0.2
    assert calls[2][0] - calls[1][1] >= 0.4  # exponential
    assert calls[2][2] == {"Leads", "Deals"}


def test_runs_beyond_the_budget_wait_for_the_window():
    async def scenario():
        fake = FakeMeltano(seconds=0.01)
        budget = RunBudget(2, 1.0)
        queue = queue_with(fake, debounce=0.0, budget=budget)
        queue.start()
        started = time.monotonic()
        for module in ("A", "B", "C"):
            queue.add(Batch({"n": module}, frozenset({module}), [module], urgent=True))
            await asyncio.sleep(0.05)
        await settle(queue)
        await queue.stop()
        return started, fake.calls

    started, calls = asyncio.run(scenario())
    assert len(calls) == 3
    assert calls[1][0] - started < 0.5
    assert calls[2][0] - calls[0][0] >= 0.95  # the third start waited for the window


# ---------------------------------------------------------------------- history, jobs, logs
def test_pending_triggers_and_channels_survive_reopening(tmp_path):
    history = History(tmp_path / "h.db")
    first = history.add_pending("crm", "n1", frozenset({"Leads"}), {})
    history.add_pending("crm", "n2", None, {"full_refresh": True})
    run = history.start_run("crm", "n1", frozenset({"Leads"}), {}, 1)
    history.close()

    reopened = History(tmp_path / "h.db")
    assert reopened.mark_interrupted() == ["crm"]
    assert reopened.mark_interrupted() == ["crm"]  # still the last run: the next one forces
    later = reopened.start_run("crm", "n3", None, {}, 1)
    reopened.finish_run(
        later, status="succeeded", exit_code=0, duration=1, records={}, errors=[], report=None
    )
    assert reopened.mark_interrupted() == []
    assert [r["status"] for r in reopened.runs()] == ["succeeded", "interrupted"]
    assert reopened.runs()[1]["id"] == run
    pending = reopened.pending()
    assert [(p.id, p.selection) for p in pending] == [(first, {"Leads"}), (first + 1, None)]
    reopened.remove_pending([first])
    assert [p.trigger for p in reopened.pending()] == ["n2"]


def test_selections_become_meltano_environment_overrides(tmp_path, monkeypatch):
    crm = Job("crm-to-clickhouse", "crm", "tap-zoho")
    spec = crm.spec(frozenset({"Leads", "Deals"}), {}, force=True, report_dir=tmp_path)
    assert spec.env == {"TAP_ZOHO_CRM_MODULES": '["Deals", "Leads"]'}
    assert spec.force
    monkeypatch.setenv("TAP_ZOHO_SALES_CRM_MODULES", '["Leads", "Contacts"]')
    sales = Job("sales", "crm", "tap-zoho-sales")
    assert sales.narrow(frozenset({"Leads", "Products"})) == {"Leads"}
    assert sales.narrow(frozenset({"Products"})) == frozenset()
    finance = Job("products-to-erp", "finance", "tap-zoho-products", "target-tsh-postgres")
    options = {
        "active_only": False,
        "with_stock_only": True,
        "sync_images": False,
        "batch_size": 50,
    }
    spec = finance.spec(
        frozenset({"items"}), {**options, "full_refresh": True}, force=False, report_dir=tmp_path
    )
    assert json.loads(spec.env["TAP_ZOHO_PRODUCTS__SELECT"]) == [
        "books_items.*",
        "inventory_items.*",
        "!books_items.image_url",
        "!inventory_items.image_url",
    ]
    assert spec.env["TAP_ZOHO_PRODUCTS_ITEMS_ACTIVE_ONLY"] == "false"
    assert spec.env["TARGET_TSH_POSTGRES_WITH_STOCK_ONLY"] == "true"
    assert spec.env["TARGET_TSH_POSTGRES_BATCH_SIZE_ROWS"] == "50"
    assert spec.env["TARGET_TSH_POSTGRES_REPORT_PATH"] == str(spec.report_path)
    assert spec.full_refresh
    assert "TAP_ZOHO_PRODUCTS_ITEMS_RECONCILE_DELETIONS" not in spec.env  # the tap decides
    spec = finance.spec(None, {"reconcile_deletions": True}, force=False, report_dir=tmp_path)
    assert spec.env["TAP_ZOHO_PRODUCTS_ITEMS_RECONCILE_DELETIONS"] == "true"


def test_the_log_reader_counts_the_taps_records_and_keeps_its_summary():
    reader = LogReader("tap-zoho")
    metric = {"type": "counter", "metric": "record_count", "value": 7, "tags": {"stream": "leads"}}
    lines = [
        f"2026-12-01T15:19:36Z [info     ] tap-zoho     METRIC: {json.dumps(metric)}",
        f"2026-12-01T15:19:36Z [info     ] tap-zoho     METRIC: {json.dumps({**metric, 'value': 3})}",
        f"2026-12-01T15:19:36Z [info     ] target-clickhouse METRIC: {json.dumps({**metric, 'value': 10})}",
        '2026-12-01T15:19:36Z [info     ] tap-zoho     Sync summary: {"success":true,"synced_modules":[]} tail',
        "2026-12-01T15:19:38Z [error    ] meltano      Extractor failed",
    ]
    for line in lines:
        reader.feed(line + "\n")
    assert reader.records() == {"leads": 10}
    assert reader.tap_summary == {"success": True, "synced_modules": []}
    assert reader.errors == ["meltano: Extractor failed"]


# ---------------------------------------------------------------------- legacy shapes
def test_legacy_bodies_with_credentials_or_bad_fields_are_refused():
    with pytest.raises(intake.RejectedError) as err:
        legacy.crm_selection({"zoho": {"refresh_token": "x"}})
    assert "environment" in err.value.message
    with pytest.raises(intake.RejectedError):
        legacy.crm_selection({"selected_modules": "Leads"})
    assert legacy.crm_selection({"selected_modules": ["Leads"]}) == {"Leads"}
    assert legacy.crm_selection(None) is None
    assert legacy.bulk_options(None) == {
        "full_refresh": True,
        "active_only": True,
        "with_stock_only": False,
        "sync_images": True,
        "batch_size": 100,
    }
    asked = legacy.bulk_options({"incremental": True, "reconcile_deletions": True})
    assert asked["reconcile_deletions"] is True
    assert not asked["full_refresh"]
    for bad in (
        {"batch_size": 0},
        {"batch_size": "100"},
        {"incremental": "yes"},
        {"reconcile_deletions": "yes"},
    ):
        with pytest.raises(intake.RejectedError):
            legacy.bulk_options(bad)


def test_legacy_answers_are_filled_from_the_run_reports():
    summary = {
        "success": True,
        "synced_modules": [{"module": "Leads", "record_count": 5, "deleted_count": 1}],
        "failed_modules": [{"module": "Tasks", "error": "no permission", "record_count": 0}],
        "errors": ["Tasks: no permission"],
    }
    answer = legacy.crm_answer(RunOutcome(0, 3.0, tap_summary=summary))
    assert answer == {
        "success": True,
        "synced_modules": [{"module": "Leads", "record_count": 5}],
        "failed_modules": [{"module": "Tasks", "error": "no permission"}],
        "total_records": 5,
        "errors": ["Tasks: no permission"],
    }
    report = {
        "total_processed": 12,
        "successful": 10,
        "failed": 1,
        "skipped": 1,
        "errors": [{"table": "products", "zoho_id": "9", "name": "X", "error": "RLS"}],
        "tables": {
            "products": {"total_processed": 8, "successful": 7, "failed": 1, "skipped": 0},
            "customers": {"total_processed": 4, "successful": 3, "failed": 0, "skipped": 1},
        },
    }
    outcome = RunOutcome(0, 16.4218, erp_report=report)
    products = legacy.bulk_answer(legacy.BULK_OPERATIONS["products"], outcome)
    assert products == {
        "success": True,
        "message": "Products bulk sync completed successfully",
        "stats": {
            "total_processed": 8,
            "successful": 7,
            "failed": 1,
            "skipped": 0,
            "errors": report["errors"],
            "duration_seconds": 16.42,
        },
        "duration_seconds": 16.42,
    }
    everything = legacy.bulk_answer(legacy.BULK_OPERATIONS["sync-all"], outcome)
    assert everything["stats"]["total_processed"] == 12
    assert everything["results"]["customers"]["skipped"] == 1
    failed = legacy.bulk_answer(
        legacy.BULK_OPERATIONS["customers"], RunOutcome(1, 2.0, errors=["tap-zoho: boom"])
    )
    assert failed["success"] is False
    assert failed["message"] == "Customers bulk sync failed: tap-zoho: boom"


# ---------------------------------------------------------------------- channels vs the sandbox
@pytest.fixture
def sandbox():
    sb = Sandbox()
    sb.start()
    yield sb
    sb.stop()


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


def test_a_cancelled_or_overlong_run_is_stopped_with_its_whole_process_group(tmp_path):
    from zoho_sync_service.runner import MeltanoRunner, RunSpec

    fake = tmp_path / "meltano"
    marker = tmp_path / "children"
    fake.write_text(f"#!/bin/sh\nsleep 60 &\necho $! > {marker}\nwait\n")
    fake.chmod(0o755)

    def alive(pid: int) -> bool:  # a zombie waiting for init to reap it is not alive
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            return False
        return "\nState:\tZ" not in status

    async def scenario():
        runner = MeltanoRunner(str(fake), tmp_path, timeout=60)
        task = asyncio.create_task(runner.run(RunSpec("job", {}), "tap"))
        while not marker.exists() or not marker.read_text().strip():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        child = int(marker.read_text())
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        deadline = time.monotonic() + 5  # dying takes a moment on a loaded machine
        while alive(child) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        cancelled_child_alive = alive(child)
        marker.unlink()
        slow = MeltanoRunner(str(fake), tmp_path, timeout=0.5)
        outcome = await slow.run(RunSpec("job", {}), "tap")
        return cancelled_child_alive, outcome, int(marker.read_text())

    cancelled_child_alive, outcome, child = asyncio.run(scenario())
    assert not cancelled_child_alive
    assert not outcome.succeeded
    assert "longer than 0.5s" in outcome.errors[-1]
    deadline = time.monotonic() + 5
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child)


# ---------------------------------------------------------------------- HTTP, with a stand-in CLI
FAKE_MELTANO = """#!/bin/sh
echo "$@" "$TAP_ZOHO_CRM_MODULES" >> {calls}
echo '2026-12-01T15:19:36Z [info     ] tap-zoho     METRIC: {{"type":"counter","metric":"record_count","value":4,"tags":{{"stream":"leads"}}}}'
echo '2026-12-01T15:19:36Z [info     ] tap-zoho     Sync summary: {{"success":true,"synced_modules":[{{"module":"Leads","record_count":4}}],"failed_modules":[],"total_records":4,"errors":[]}}'
"""


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
