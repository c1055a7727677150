"""zoho-sync-service end to end: started by `meltano invoke`, driving the real Meltano CLI.

One sandbox, one ERP database, one ClickHouse directory and one service for the whole module (each
Meltano run costs seconds); the sandbox sends the CRM notifications and Books webhooks. Tests read
the service's run history through ``GET /runs`` and the data from ClickHouse and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg2
import pytest

from tests.support.compare import query
from tests.support.erp import connect, new_database
from tests.support.meltano import SKIP_REASON, meltano_env, project_copy
from tests.support.paths import MELTANO
from tests.support.ports import free_port
from tests.support.worlds import small_world
from tests.zoho_sandbox import BOOKS_ORG, Sandbox
from tests.zoho_sandbox.notifications import send_books_webhook

CRM = ["Leads", "Accounts", "Deals", "Contacts"]
TOKEN = "service-bearer-token-never-logged"
SECRET = "books0webhook0secret0123"
DEADLINE = 30.0

pytestmark = pytest.mark.skipif(not MELTANO.exists(), reason=SKIP_REASON)


class Stack:
    """The sandbox, the stores and a running service, with helpers to drive and observe them."""

    def __init__(self, sandbox: Sandbox, tmp: Path, erp: dict) -> None:
        self.sandbox = sandbox
        self.tmp = tmp
        self.erp = erp
        self.project = project_copy(tmp / "project")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.clickhouse = tmp / "clickhouse"
        self.proc: subprocess.Popen | None = None
        self.log = tmp / "service.log"
        # One client for the polls (/health, /runs): a new httpx client per call builds an SSL
        # context each time, tens of milliseconds of CPU per poll while a test waits.
        self.http = httpx.Client(base_url=self.url, timeout=10)
        self.env = meltano_env(
            sandbox,
            tmp,
            TAP_ZOHO_CRM_MODULES=json.dumps(CRM),
            TARGET_TSH_POSTGRES_HOST=erp["host"],
            TARGET_TSH_POSTGRES_PORT=str(erp["port"]),
            TARGET_TSH_POSTGRES_USER=erp["user"],
            TARGET_TSH_POSTGRES_DATABASE=erp["database"],
            ZOHO_SYNC_SERVICE_TOKEN=TOKEN,
            ZOHO_WEBHOOK_SECRET=SECRET,
            ZOHO_SYNC_SERVICE_API_DOMAIN=sandbox.base_url,
            ZOHO_SYNC_SERVICE_NOTIFY_URL=f"{self.url}/webhooks/crm",
            ZOHO_SYNC_SERVICE_DATABASE=str(tmp / "service.db"),
            ZOHO_SYNC_SERVICE_DEBOUNCE_SECONDS="1.5",
            ZOHO_SYNC_SERVICE_RETRY_BACKOFF_SECONDS="2",
            ZOHO_SYNC_SERVICE_MAX_BODY_BYTES="65536",
            ZOHO_SYNC_SERVICE_MAX_RUNS_PER_WINDOW="90",
        )

    # ------------------------------------------------------------------ service
    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(MELTANO), "invoke", "zoho-sync-service", "serve", "--port", str(self.port)],
                cwd=self.project,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                if self.http.get("/health", headers=self.auth, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        pytest.fail(f"the service did not start: {self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL the service (``meltano invoke`` and the server); its run gets PDEATHSIG."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            self.proc = None

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {TOKEN}"}

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The console script itself (``serve`` goes through ``meltano invoke`` already)."""
        return subprocess.run(
            [str(Path(sys.executable).with_name("zoho-sync-service")), *args],
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    # ------------------------------------------------------------------ observing
    def runs(self, job: str | None = None) -> list[dict]:
        params = {"limit": "500", **({"job": job} if job else {})}
        answer = self.http.get("/runs", params=params, headers=self.auth)
        assert answer.status_code == 200, answer.text
        return list(reversed(answer.json()["runs"]))

    def status(self) -> dict:
        answer = self.http.get("/health", headers=self.auth)
        return answer.json()["jobs"]

    def idle(self, timeout: float = 120) -> None:
        """Wait until no job runs and nothing waits (debounce included)."""
        deadline = time.monotonic() + timeout
        quiet_since = None
        while time.monotonic() < deadline:
            busy = any(j["running"] or j["waiting"] for j in self.status().values())
            if busy:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > 0.5:
                return
            time.sleep(0.2)
        pytest.fail("the service did not become idle")

    def wait_running(self, job: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.status()[job]["running"]:
                return
            time.sleep(0.1)
        pytest.fail(f"{job} never started running")

    def clickhouse_value(self, table: str, column: str, record_id: str):
        rows = query(
            self.clickhouse, f"SELECT {column} FROM {table}_current WHERE id = '{record_id}'"
        )
        return rows[0][0] if rows else None

    def clickhouse_values(self, table: str, column: str, record_ids: list[str]) -> dict:
        """``clickhouse_value`` of several records, read in one helper process."""
        wanted = ", ".join(f"'{record_id}'" for record_id in record_ids)
        rows = query(
            self.clickhouse, f"SELECT id, {column} FROM {table}_current WHERE id IN ({wanted})"
        )
        return dict(rows)

    def erp_product(self, item_id: str) -> tuple | None:
        conn = connect(self.erp)
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT name, is_active FROM products WHERE zoho_item_id = %s", (item_id,)
                )
                return cur.fetchone()
        except psycopg2.errors.UndefinedTable:
            return None
        finally:
            conn.close()

    # ------------------------------------------------------------------ acting
    def edit_lead(self, record_id: str, value: str) -> None:
        self.sandbox.update("Leads", record_id, {"Last_Name": value})

    def notify(self, module: str, ids: list[str]) -> None:
        sent = self.sandbox.notifications.notify(module, ids)
        assert sent, "no channel watches this module"
        assert all(d.status == 200 for d in sent), [d.status for d in sent]

    def books_webhook(self, item_id: str, **kwargs) -> int:
        item = self.sandbox.finance.orgs[BOOKS_ORG].items[item_id]
        status, _ = send_books_webhook(f"{self.url}/webhooks/books", "item", item, **kwargs)
        return status


@pytest.fixture(scope="module")
def stack(tmp_path_factory, pg_server):
    tmp = tmp_path_factory.mktemp("service")
    sandbox = Sandbox(specs=small_world())
    # Each Meltano run mints two access tokens; Zoho allows ten per ten minutes, which the service's
    # default run budget (4 runs per 10 minutes) respects. This module starts about fifteen runs in
    # two minutes, so both limits are raised together and stay consistent (90 runs, 200 mints).
    sandbox.accounts.mints_per_window = 200
    sandbox.start()
    stack = Stack(sandbox, tmp, new_database(pg_server))
    stack.start()
    subscribed = stack.cli("channels", "subscribe")  # the CRM job's modules
    assert subscribed.returncode == 0, subscribed.stderr[-2000:]
    # The initial load, as a deployment starts: a full run of Leads (through the legacy endpoint).
    loaded = httpx.post(
        f"{stack.url}/sync/full",
        json={"selected_modules": ["Leads"]},
        headers=stack.auth,
        timeout=300,
    )
    assert loaded.status_code == 200, loaded.text
    yield stack
    stack.stop()
    stack.http.close()
    sandbox.stop()


def wait_for(predicate, timeout: float = DEADLINE, interval: float = 0.5) -> float:
    """Seconds until ``predicate()`` held; fails after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(interval)
    pytest.fail(f"not true within {timeout}s")


def a_lead(stack: Stack, index: int) -> str:
    return sorted(stack.sandbox.records("Leads"))[index]


def test_channels_are_subscribed_listed_and_stored(stack):
    listed = json.loads(stack.cli("channels", "list").stdout)
    zoho_events = sorted(e for w in listed["zoho"] for e in w["events"])
    assert zoho_events == sorted(f"{m}.all" for m in CRM)
    assert [c["modules"] for c in listed["local"]] == [sorted(CRM)]
    assert "token" not in json.dumps(listed)
    assert stack.sandbox.notifications.channels  # the sandbox holds it


def test_a_crm_edit_with_its_notification_reaches_the_current_view(stack):
    before = len(stack.runs("crm-to-clickhouse"))
    lead = a_lead(stack, 3)
    stack.edit_lead(lead, "Notified-Once")
    started = time.monotonic()
    stack.notify("Leads", [lead])

    def visible() -> bool:
        # chDB allows one process per data directory: query once the triggered run has ended
        if not any(r["status"] == "succeeded" for r in stack.runs("crm-to-clickhouse")[before:]):
            return False
        return stack.clickhouse_value("zoho_leads", "Last_Name", lead) == "Notified-Once"

    wait_for(visible, timeout=DEADLINE - (time.monotonic() - started))
    run = stack.runs("crm-to-clickhouse")[-1]
    assert run["status"] == "succeeded"
    assert run["selection"] == ["Leads"]  # the affected module only
    assert run["options"] == {}  # incremental
    assert run["trigger"] == "crm notification: Leads.update"
    assert 1 <= run["records"]["leads"] < 50  # the tap's state did the reading
    assert not stack.runs("products-to-erp")  # the other job did not run


def test_ten_notifications_within_a_second_cause_at_most_two_runs(stack):
    stack.idle()
    before = len(stack.runs("crm-to-clickhouse"))
    leads = [a_lead(stack, i) for i in range(10, 20)]
    started = time.monotonic()
    for index, lead in enumerate(leads):
        stack.edit_lead(lead, f"Burst-{index}")
        stack.notify("Leads", [lead])
    assert time.monotonic() - started < 1.0
    stack.idle()
    runs = stack.runs("crm-to-clickhouse")[before:]
    assert 1 <= len(runs) <= 2
    assert all(r["status"] == "succeeded" for r in runs)
    stored = stack.clickhouse_values("zoho_leads", "Last_Name", leads)
    assert stored == {lead: f"Burst-{index}" for index, lead in enumerate(leads)}


def test_notifications_during_a_run_cause_exactly_one_follow_up(stack):
    stack.idle()
    before = len(stack.runs("crm-to-clickhouse"))
    stack.sandbox.faults.latency_seconds = 0.2  # a run long enough to notify during it
    try:
        first, second = a_lead(stack, 30), a_lead(stack, 31)
        stack.edit_lead(first, "Before-Run")
        stack.notify("Leads", [first])
        stack.wait_running("crm-to-clickhouse")
        stack.edit_lead(second, "During-Run")
        for _ in range(5):
            stack.notify("Leads", [second])
    finally:
        stack.sandbox.faults.latency_seconds = 0
    stack.idle()
    runs = stack.runs("crm-to-clickhouse")[before:]
    assert len(runs) == 2, [(r["trigger"], r["status"]) for r in runs]
    follow_up = runs[1]
    assert follow_up["started_at"] >= runs[0]["ended_at"]
    assert follow_up["selection"] == ["Leads"]
    assert stack.clickhouse_value("zoho_leads", "Last_Name", second) == "During-Run"


def test_unauthenticated_malformed_and_oversized_calls_start_nothing(stack):
    stack.idle()
    before = len(stack.runs())
    item = next(iter(stack.sandbox.finance.orgs[BOOKS_ORG].items))
    assert stack.books_webhook(item) == 401  # no signature, no secret
    assert stack.books_webhook(item, secret="wrong-secret-000000") == 401
    assert stack.books_webhook(item, query={"secret": "wrong-secret-000000"}) == 401
    crm = httpx.post(
        f"{stack.url}/webhooks/crm",
        json={
            "module": "Leads",
            "ids": ["1"],
            "operation": "update",
            "channel_id": "1",
            "token": "forged",
        },
        timeout=10,
    )
    assert crm.status_code == 401
    malformed = httpx.post(f"{stack.url}/webhooks/crm", content=b'{"token": not', timeout=10)
    assert malformed.status_code == 400
    big = httpx.post(
        f"{stack.url}/webhooks/books?secret={SECRET}",
        content=json.dumps({"item": {"description": "x" * 70_000}}),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert big.status_code == 413
    assert httpx.post(f"{stack.url}/sync/incremental", json={}, timeout=10).status_code == 401
    time.sleep(2.5)  # longer than the debounce: a run would have started
    assert len(stack.runs()) == before
    assert all(not j["running"] and not j["waiting"] for j in stack.status().values())


def test_a_books_item_edit_with_its_webhook_reaches_the_erp(stack):
    stack.idle()
    org = stack.sandbox.finance.orgs[BOOKS_ORG]
    item = next(i for i, r in org.items.items() if r["status"] == "active")
    stack.sandbox.finance.update_item(BOOKS_ORG, item, {"name": "Webhooked Inverter"})
    started = time.monotonic()
    assert stack.books_webhook(item, secret=SECRET) == 200  # signed (X-Zoho-Webhook-Signature)
    # the secret as a query parameter of the webhook URL is accepted too (same debounce window)
    assert stack.books_webhook(item, query={"secret": SECRET}) == 200
    wait_for(
        lambda: (stack.erp_product(item) or ("",))[0] == "Webhooked Inverter",
        timeout=DEADLINE - (time.monotonic() - started),
    )
    stack.idle()
    run = stack.runs("products-to-erp")[-1]
    assert run["status"] == "succeeded"
    assert run["selection"] == ["items"]
    assert run["report"]["erp_report"]["tables"]["products"]["total_processed"] >= 1
    assert run["trigger"] == "books webhook: items"  # both webhooks, one run


def test_legacy_crm_endpoints_answer_the_legacy_shape_with_the_runs_counts(stack):
    stack.idle()
    refused = httpx.post(
        f"{stack.url}/sync/full",
        json={"zoho": {"refresh_token": "x"}, "selected_modules": ["Leads"]},
        headers=stack.auth,
        timeout=10,
    )
    assert refused.status_code == 400
    assert "environment" in refused.json()["errors"][0]
    assert refused.json()["success"] is False

    answer = httpx.post(
        f"{stack.url}/sync/incremental",
        json={"selected_modules": ["Deals"]},
        headers=stack.auth,
        timeout=120,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"success", "synced_modules", "failed_modules", "total_records", "errors"}
    deals = len(stack.sandbox.records("Deals"))  # never read before: all of them
    assert body == {
        "success": True,
        "synced_modules": [{"module": "Deals", "record_count": deals}],
        "failed_modules": [],
        "total_records": deals,
        "errors": [],
    }
    run = stack.runs("crm-to-clickhouse")[-1]
    assert run["trigger"] == "legacy /sync/incremental"
    assert run["selection"] == ["Deals"]
    assert query(stack.clickhouse, "SELECT count() FROM zoho_deals_current")[0][0] == deals


def test_legacy_bulk_sync_endpoints_answer_the_legacy_shape_with_the_runs_counts(stack):
    stack.idle()
    org = stack.sandbox.finance.orgs[BOOKS_ORG]
    answer = httpx.post(
        f"{stack.url}/api/zoho/bulk-sync/products",
        json={
            "incremental": False,
            "active_only": True,
            "with_stock_only": True,
            "sync_images": True,
            "batch_size": 50,
        },
        headers=stack.auth,
        timeout=120,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"success", "message", "stats", "duration_seconds"}
    assert body["success"] is True
    assert body["message"] == "Products bulk sync completed successfully"
    stats = body["stats"]
    assert set(stats) == {
        "total_processed",
        "successful",
        "failed",
        "skipped",
        "errors",
        "duration_seconds",
    }
    run = stack.runs("products-to-erp")[-1]
    assert run["options"]["full_refresh"] is True
    assert (
        stats["total_processed"]
        == run["report"]["erp_report"]["tables"]["products"]["total_processed"]
    )
    assert stats["total_processed"] == run["records"]["books_items"]  # tap and target agree
    active = [r for r in org.items.values() if r["status"] == "active"]
    no_stock = [r for r in active if not (r.get("stock_on_hand") or 0) > 0]
    assert stats["total_processed"] >= len(active)
    assert stats["skipped"] >= len(no_stock) > 0  # with_stock_only honoured
    assert body["duration_seconds"] == stats["duration_seconds"] > 0

    status = httpx.get(
        f"{stack.url}/api/zoho/bulk-sync/status", headers=stack.auth, timeout=10
    ).json()
    assert status["service"] == "Zoho Bulk Sync"
    assert status["status"] == "healthy"
    assert "POST /api/zoho/bulk-sync/products" in status["available_operations"]
    assert httpx.get(f"{stack.url}/api/zoho/bulk-sync/status", timeout=10).status_code == 401


def test_killing_the_service_during_a_run_loses_no_change(stack):
    stack.idle()
    before = len(stack.runs("crm-to-clickhouse"))
    lead = a_lead(stack, 40)
    stack.edit_lead(lead, "Survives-The-Crash")
    stack.sandbox.faults.latency_seconds = 0.3
    try:
        stack.notify("Leads", [lead])
        stack.wait_running("crm-to-clickhouse")
        time.sleep(1.0)
        stack.kill()
    finally:
        stack.sandbox.faults.latency_seconds = 0
    stack.start()
    stack.idle(timeout=180)
    runs = stack.runs("crm-to-clickhouse")[before:]
    assert runs[0]["status"] == "interrupted"
    # the recovered trigger ran again (a retry may come first if the killed run's plugins linger)
    assert runs[-1]["status"] == "succeeded"
    assert {r["trigger"] for r in runs} == {"crm notification: Leads.update"}
    assert stack.clickhouse_value("zoho_leads", "Last_Name", lead) == "Survives-The-Crash"


def test_no_secret_appears_in_the_service_logs(stack):
    logs = stack.log.read_text(errors="replace")
    for run_log in (stack.tmp / "service-runs").glob("*.log"):
        logs += run_log.read_text(errors="replace")
    assert "POST /webhooks/books" in logs  # the access log is there, query strings are not
    secrets = [
        SECRET,
        TOKEN,
        stack.env["TAP_ZOHO_CLIENT_SECRET"],
        stack.env["TAP_ZOHO_REFRESH_TOKEN"],
        *(c.token for c in stack.sandbox.notifications.channels.values()),
    ]
    for secret in secrets:
        assert secret not in logs
