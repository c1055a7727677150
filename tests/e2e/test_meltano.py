"""End to end through the real Meltano CLI, against the Zoho sandbox.

Each test gets its own sandbox (in this process, so faults can be injected), its own Meltano
system database (so state never leaks between tests) and its own ClickHouse data directory.
ClickHouse is queried from a helper process: chDB allows one data path per process.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import REPO, connect, run_tap
from tests.e2e.compare import differences, query, table_rows
from tests.e2e.test_pipe import utc
from tests.zoho_sandbox import BOOKS_ORG

MELTANO = REPO / ".venv-meltano" / "bin" / "meltano"
CRM = [
    "Leads",
    "Accounts",
    "Deals",
    "Contacts",
    "Projects_X",
    "Contacts_X_Deals",
    "Quotes",
    "Invoices",
    "Sales_Orders",
    "Purchase_Orders",
]


def readme_line_item_view() -> str:
    """The ``CREATE VIEW`` of tap-zoho's README ("Line items as rows"), as users copy it."""
    text = (REPO / "tap-zoho" / "README.md").read_text()
    block = text.split("### Line items as rows", 1)[1].split("```sql", 1)[1].split("```", 1)[0]
    return next(part for part in block.split(";") if "CREATE VIEW" in part).strip()


pytestmark = pytest.mark.skipif(
    not MELTANO.exists(), reason="the Meltano CLI is installed by `make test` (.venv-meltano)"
)


def meltano_env(sandbox, tmp_path, **extra) -> dict[str, str]:
    config = sandbox.tap_config()
    env = {
        **os.environ,
        "PATH": f"{MELTANO.parent}:{os.environ['PATH']}",
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path}/meltano.db",
        "MELTANO_ENVIRONMENT": "sandbox",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "TAP_ZOHO_CLIENT_ID": config["client_id"],
        "TAP_ZOHO_CLIENT_SECRET": config["client_secret"],
        "TAP_ZOHO_REFRESH_TOKEN": config["refresh_token"],
        "TAP_ZOHO_API_DOMAIN": sandbox.base_url,
        "TAP_ZOHO_CRM_MODULES": json.dumps(CRM),
        "TAP_ZOHO_RETRY_BACKOFF_SECONDS": "0",
        "TAP_ZOHO_PRODUCTS_API_DOMAIN": sandbox.base_url,
        "TARGET_CLICKHOUSE_PATH": str(tmp_path / "clickhouse"),
    }
    env.update(extra)
    return env


def meltano(env, *args, timeout=600, check=True, cwd=REPO):
    result = subprocess.run(
        [str(MELTANO), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check:
        assert result.returncode == 0, result.stderr[-4000:]
    return result


def assert_clickhouse_equals_sandbox(sandbox, path: Path) -> None:
    """Every table read with FINAL holds exactly the sandbox's records, field by field."""
    for module in CRM:
        table = f"zoho_{module.lower()}"
        expected = sandbox.records(module)
        problems = differences(expected, table_rows(path, table))
        assert not problems, f"{module}: {problems[:10]}"
        assert query(path, f"SELECT count() FROM {table}_current")[0][0] == len(expected)
    rows = {
        r[0]: r[1:]
        for r in query(
            path,
            "SELECT id, Lead_Status, Annual_Revenue, toString(Modified_Time), Last_Name, "
            "Owner FROM zoho_leads FINAL",
        )
    }
    for rid, record in sandbox.records("Leads").items():
        status, revenue, modified, last_name, owner = rows[rid]
        assert status == record["Lead_Status"]
        expected_revenue = record["Annual_Revenue"]
        assert (revenue is None and expected_revenue is None) or Decimal(revenue) == Decimal(
            str(expected_revenue)
        )
        assert modified.startswith(utc(record["Modified_Time"]))
        assert last_name == record["Last_Name"]
        assert json.loads(owner) == record["Owner"]


def test_full_then_incremental_run_leaves_clickhouse_equal_to_the_sandbox(sandbox, tmp_path):
    env = meltano_env(sandbox, tmp_path)
    meltano(env, "run", "crm-to-clickhouse")
    leads = sorted(sandbox.records("Leads"))
    for rid in leads[:5]:
        sandbox.update("Leads", rid, {"Lead_Status": "Lost", "Annual_Revenue": 10.5})
    sandbox.create("Leads", {"Last_Name": "Newcomer", "Owner": {"name": "Bo", "id": "1"}})
    sandbox.delete("Leads", leads[20])
    sandbox.delete("Deals", sorted(sandbox.records("Deals"))[0], permanent=True)
    sandbox.add_field("Accounts", "Region_X", default=None)
    account = sorted(sandbox.records("Accounts"))[2]
    sandbox.update("Accounts", account, {"Region_X": "EMEA"})
    calls_before = sandbox.stats.requests["records"]

    second = meltano(env, "run", "crm-to-clickhouse")

    assert sandbox.stats.requests["records"] - calls_before < 20  # incremental, not a full read
    assert_clickhouse_equals_sandbox(sandbox, tmp_path / "clickhouse")
    assert query(
        tmp_path / "clickhouse", f"SELECT Region_X FROM zoho_accounts FINAL WHERE id = '{account}'"
    ) == [["EMEA"]]
    state = json.loads(
        meltano(env, "state", "get", "sandbox:tap-zoho-to-target-clickhouse")
        .stdout.strip()
        .splitlines()[-1]
    )
    assert state["singer_state"]["bookmarks"]["leads"]["replication_key_value"]
    assert "Sync summary" in second.stderr
    converted = [r for r in sandbox.records("Leads").values() if r["Converted__s"]]
    assert converted  # compared above with every other lead, like the unapproved ones
    query(tmp_path / "clickhouse", readme_line_item_view())
    items = {
        (row[0], row[1]): row[2:]
        for row in query(
            tmp_path / "clickhouse",
            "SELECT quote_id, line_item_id, product_id, quantity, net_total FROM zoho_quoted_items",
        )
    }
    expected = {
        (rid, item["id"]): [item["Product_Name"]["id"], item["Quantity"], item["Net_Total"]]
        for rid, quote in sandbox.records("Quotes").items()
        for item in quote["Quoted_Items"]
    }
    assert items.keys() == expected.keys()
    for key, (product, quantity, net_total) in items.items():
        assert [product, quantity, Decimal(str(net_total))] == [
            expected[key][0],
            expected[key][1],
            Decimal(str(expected[key][2])),
        ]


def erp_meltano_env(sandbox, tmp_path, erp_db) -> dict[str, str]:
    """``meltano_env`` with target-tsh-postgres writing into ``erp_db`` and its report file."""
    return meltano_env(
        sandbox,
        tmp_path,
        TARGET_TSH_POSTGRES_HOST=erp_db["host"],
        TARGET_TSH_POSTGRES_PORT=str(erp_db["port"]),
        TARGET_TSH_POSTGRES_USER=erp_db["user"],
        TARGET_TSH_POSTGRES_DATABASE=erp_db["database"],
        TARGET_TSH_POSTGRES_REPORT_PATH=str(tmp_path / "report.json"),
    )


def assert_erp_holds_the_books_organisation(sandbox, erp_db, report_path: Path) -> None:
    """Active products are the sandbox's active items, every customer arrived, none refused."""
    org = sandbox.finance.orgs[BOOKS_ORG]
    conn = connect(erp_db)
    with conn.cursor() as cur:
        cur.execute("SELECT zoho_item_id FROM products WHERE is_active")
        active = {r[0] for r in cur.fetchall()}
        cur.execute("SELECT count(*) FROM customers")
        customers = cur.fetchone()[0]
    conn.close()
    assert active == {i for i, r in org.items.items() if r["status"] == "active"}
    assert customers == sum(1 for c in org.contacts.values() if c["contact_type"] == "customer")
    report = json.loads(report_path.read_text())
    assert report["failed"] == 0


def test_the_products_job_loads_the_erp(sandbox, tmp_path, erp_db):
    env = erp_meltano_env(sandbox, tmp_path, erp_db)

    meltano(env, "run", "products-to-erp")

    assert_erp_holds_the_books_organisation(sandbox, erp_db, tmp_path / "report.json")


def saved_state(database: Path, stream: str = "leads") -> str:
    """The state Meltano has committed so far (it saves it while the run goes on), once it holds
    a bookmark of ``stream`` (modules are read side by side: small ones finish first)."""
    try:
        with sqlite3.connect(database) as db:
            rows = db.execute("SELECT completed_state FROM state").fetchall()
    except sqlite3.Error:
        return ""
    if not rows or not rows[0][0]:
        return ""
    state = json.loads(rows[0][0])
    bookmark = state.get("singer_state", state).get("bookmarks", {}).get(stream, {})
    return rows[0][0] if bookmark.get("replication_key_value") else ""


def test_a_run_killed_halfway_resumes_with_nothing_lost_or_duplicated(sandbox, tmp_path):
    env = meltano_env(sandbox, tmp_path, TARGET_CLICKHOUSE_FLUSH_INTERVAL_SECONDS="1")
    sandbox.faults.latency_seconds = 0.2  # slow enough to be killed mid-way
    proc = subprocess.Popen(
        [str(MELTANO), "run", "crm-to-clickhouse"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 180
    saved = ""
    while time.monotonic() < deadline and proc.poll() is None and not saved:
        time.sleep(0.5)
        saved = saved_state(tmp_path / "meltano.db")
    assert proc.poll() is None, "the run ended before it could be interrupted"
    os.killpg(proc.pid, signal.SIGKILL)  # like a machine going down: no clean shutdown
    proc.wait()
    assert '"replication_key_value"' in saved
    sandbox.faults.latency_seconds = 0
    calls_before = sandbox.stats.requests["records"]

    # The killed run's job record looks "running" until it goes stale: --force resumes now.
    meltano(env, "run", "--force", "crm-to-clickhouse")

    assert_clickhouse_equals_sandbox(sandbox, tmp_path / "clickhouse")
    resumed_calls = sandbox.stats.requests["records"] - calls_before
    before_full = sandbox.stats.requests["records"]
    run_tap(sandbox.tap_config(crm_modules=CRM))  # what a run without state would read
    full_calls = sandbox.stats.requests["records"] - before_full
    assert resumed_calls < full_calls  # the resumed run started from the saved state


def test_a_run_under_429s_and_token_revocation_completes(sandbox, tmp_path):
    env = meltano_env(sandbox, tmp_path)
    sandbox.faults.inject("429", times=6, path_contains="/crm/v8/Leads")
    sandbox.faults.inject("500", times=2, path_contains="/crm/v8/Accounts")
    sandbox.faults.revoke_after_calls = 12

    meltano(env, "run", "crm-to-clickhouse")

    assert sandbox.stats.requests["TOO_MANY_REQUESTS"] == 6
    # Once for each call in flight: a module's field groups, and the reference data read meanwhile.
    assert 1 <= sandbox.stats.requests["INVALID_TOKEN"] <= 3
    # Meltano runs the tap twice (discovery, then sync): one token each, plus one refresh.
    assert sandbox.accounts.mint_count == 3
    assert_clickhouse_equals_sandbox(sandbox, tmp_path / "clickhouse")


def test_no_secret_appears_in_the_logs_of_a_run(sandbox, tmp_path):
    env = meltano_env(sandbox, tmp_path, TARGET_CLICKHOUSE_PASSWORD="ch-pass-never-printed")
    result = meltano(env, "--log-level=debug", "run", "crm-to-clickhouse")

    secrets = [
        env["TAP_ZOHO_CLIENT_SECRET"],
        env["TAP_ZOHO_REFRESH_TOKEN"],
        "ch-pass-never-printed",
        *sandbox.accounts.access_tokens,
    ]
    logs = result.stdout + result.stderr
    for log_file in (REPO / ".meltano" / "logs").rglob("*.log"):
        if log_file.stat().st_mtime >= time.time() - 600:
            logs += log_file.read_text(errors="replace")
    for secret in secrets:
        assert secret not in logs
